import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { runCommand } from '../helpers/commands.js';

const scratch = mkdtempSync(join(tmpdir(), 'fm-auth-bench-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const SCENARIOS = [
  'POST /auth/login',
  'POST /auth/refresh',
  'GET /auth/me',
  'GET /users/{user_id}',
  'GET /users/organization/{id}',
  'mix:',
  'POST /sso/{id}/saml/acs',
  'bare node:http baseline',
];

interface Results {
  scenarios: { scenario: string; requests: number; errors: number; requestsPerSecond: number; p95: number; requestsPerServiceCpuSecond: number }[];
  authMeOfBaseline: number;
  coldStartPostgresSeconds: number;
  idleRssMb: number;
  productionInstallMb: number;
}

interface ScaleResults {
  scenarios: { scenario: string; empty: { requests: number; errors: number }; scaled: { requests: number; errors: number }; p50Ratio: number }[];
  seeding: { seconds: number; rows: Record<string, number> };
  auditPageP50Ms: number;
}

const SCALE_SCENARIOS = [
  'POST /auth/login',
  'POST /auth/refresh',
  'GET /auth/me',
  'GET /users/organization/{id}',
  'GET /audit-logs (one organization',
  'GET /audit-logs (platform-wide)',
];

// The benchmark is a tool, not a timed test: this smoke run only proves it still runs end to end.
describe('npm run bench -- --smoke', () => {
  it('runs every scenario without an error and writes the figures as JSON', { timeout: 180_000 }, async () => {
    const file = join(scratch, 'results.json');
    const result = await runCommand('npm', ['run', 'bench', '--', '--smoke', '--app', inject('appDirectory'), '--json', file], { env: { ...process.env, BENCH_REQUESTS: '20' } });
    expect(result.status, result.stderr).toBe(0);
    const results = JSON.parse(readFileSync(file, 'utf8')) as Results;
    for (const scenario of SCENARIOS) {
      const row = results.scenarios.find((candidate) => candidate.scenario.startsWith(scenario));
      expect(row, scenario).toBeDefined();
      expect(row?.requests, scenario).toBeGreaterThan(0);
      expect(row?.errors, scenario).toBe(0);
      expect(row?.requestsPerServiceCpuSecond, scenario).toBeGreaterThan(0);
      expect(result.stdout).toContain(row?.scenario);
    }
    expect(results.authMeOfBaseline).toBeGreaterThan(0);
    expect(results.coldStartPostgresSeconds).toBeGreaterThan(0);
    expect(results.idleRssMb).toBeGreaterThan(20);
    expect(results.productionInstallMb).toBeGreaterThan(1);
  });
});

// A thousandth of the full size, so the seeding SQL keeps up with the schema.
describe('npm run bench -- --scale', () => {
  it('measures every scenario before and after seeding, and seeds every table', { timeout: 120_000 }, async () => {
    const file = join(scratch, 'scale.json');
    const result = await runCommand('npm', ['run', 'bench', '--', '--smoke', '--scale', '--app', inject('appDirectory'), '--json', file], {
      env: { ...process.env, BENCH_SCALE: '0.001', BENCH_SECONDS: '1' },
    });
    expect(result.status, result.stderr).toBe(0);
    const results = JSON.parse(readFileSync(file, 'utf8')) as ScaleResults;
    for (const scenario of SCALE_SCENARIOS) {
      const rows = results.scenarios.filter((candidate) => candidate.scenario.startsWith(scenario));
      expect(rows.length, scenario).toBeGreaterThan(0);
      for (const row of rows) {
        for (const phase of [row.empty, row.scaled]) {
          expect(phase.requests, row.scenario).toBeGreaterThan(0);
          expect(phase.errors, row.scenario).toBe(0);
        }
        expect(result.stdout).toContain(row.scenario);
      }
    }
    // The seeded rows come on top of the benchmark's own.
    const minimum = { organizations: 10, teams: 30, users: 1000, user_roles: 1000, sessions: 2000, refresh_tokens: 3000, audit_logs: 5000 };
    for (const [table, rows] of Object.entries(minimum)) expect(results.seeding.rows[table], table).toBeGreaterThanOrEqual(rows);
    expect(results.auditPageP50Ms).toBeGreaterThan(0);
  });
});

describe('npm run bench -- --profile', () => {
  it('attributes the CPU of GET /auth/me to layers, next to the baseline', { timeout: 120_000 }, async () => {
    const file = join(scratch, 'profile.json');
    const result = await runCommand('npm', ['run', 'bench', '--', '--smoke', '--profile', '--app', inject('appDirectory'), '--json', file], {
      env: { ...process.env, BENCH_REQUESTS: '2000' },
    });
    expect(result.status, result.stderr).toBe(0);
    const { profile, baseline } = JSON.parse(readFileSync(file, 'utf8')) as {
      profile: { requests: number; errors: number; layers: { layer: string; microsecondsPerRequest: number; share: number }[] };
      baseline: { requests: number; errors: number };
    };
    expect([profile.errors, baseline.errors]).toEqual([0, 0]);
    expect(profile.layers.map((layer) => layer.layer)).toEqual(expect.arrayContaining(['validation (express-openapi-validator, ajv)', 'Node HTTP, sockets, streams']));
    expect(profile.layers.reduce((sum, layer) => sum + layer.share, 0)).toBeCloseTo(1, 5);
    expect(result.stdout).toContain('µs/request');
  });
});

describe('npm run bench -- --better-auth', () => {
  it('measures GET /auth/me next to Better Auth’s get-session, with and without its cookie cache', { timeout: 180_000 }, async () => {
    const file = join(scratch, 'better-auth.json');
    const result = await runCommand('npm', ['run', 'bench', '--', '--smoke', '--better-auth', '--app', inject('appDirectory'), '--json', file], {
      env: { ...process.env, BENCH_REQUESTS: '200' },
    });
    expect(result.status, result.stderr).toBe(0);
    const { authMe, betterAuth } = JSON.parse(readFileSync(file, 'utf8')) as {
      authMe: { requests: number; errors: number };
      betterAuth: { scenario: string; requests: number; errors: number }[];
    };
    expect(betterAuth.map((row) => row.scenario)).toEqual(['Better Auth get-session', 'Better Auth get-session (cookie cache)']);
    for (const row of [authMe, ...betterAuth]) expect([row.requests, row.errors]).toEqual([200, 0]);
  });
});
