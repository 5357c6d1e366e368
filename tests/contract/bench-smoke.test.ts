import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCommand } from '../helpers/commands.js';

const scratch = mkdtempSync(join(tmpdir(), 'fm-auth-bench-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const SCENARIOS = ['POST /auth/login', 'POST /auth/refresh', 'GET /auth/me', 'GET /users/{user_id}', 'GET /users/organization/{id}', 'mix:', 'POST /sso/{id}/saml/acs', 'bare node:http baseline'];

interface Results {
  scenarios: { scenario: string; requests: number; errors: number; requestsPerSecond: number; p95: number; requestsPerServiceCpuSecond: number }[];
  authMeOfBaseline: number;
  coldStartPostgresSeconds: number;
  idleRssMb: number;
  productionInstallMb: number;
}

// The benchmark is a tool, not a timed test: this smoke run only proves it still runs end to end.
describe('npm run bench -- --smoke', () => {
  it('runs every scenario without an error and writes the figures as JSON', { timeout: 180_000 }, async () => {
    const file = join(scratch, 'results.json');
    const result = await runCommand('npm', ['run', 'bench', '--', '--smoke', '--json', file]);
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
