import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { API, expectProblem, login, registerOrganization } from '../helpers/fixtures.js';
import { startServer, type TestServer } from '../helpers/server.js';

let server: TestServer;
beforeAll(async () => {
  server = await startServer();
});
afterAll(async () => {
  await server.close();
});

const UPSTREAM_LINT_FINDINGS = new Set(['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total']);

/** The value of one sample line, e.g. `auth_login_attempts_total{result="failure"}`. */
function sample(exposition: string, series: string): number {
  const line = exposition.split('\n').find((candidate) => candidate.startsWith(`${series} `));
  if (!line) throw new Error(`no sample ${series}`);
  return Number(line.slice(series.length + 1));
}

async function scrape(target = server, token?: string) {
  const response = await target.request('GET', '/metrics', { token, headers: { accept: 'text/plain' } });
  expect(response.status).toBe(200);
  return response.text;
}

describe('GET /metrics', () => {
  it('counts real traffic and passes promtool check metrics', async () => {
    const before = await scrape();
    const account = await registerOrganization(server);
    const tokens = await login(server, account);
    await server.request('POST', `${API}/auth/login`, { body: { email: account.email, password: 'definitely not it' } });
    await server.request('POST', `${API}/auth/refresh`, { body: { refresh_token: tokens.refresh_token } });
    await server.request('POST', `${API}/auth/refresh`, { body: { refresh_token: tokens.refresh_token } });
    await server.request('GET', `${API}/auth/me`, { token: tokens.access_token });

    const after = await scrape();
    const delta = (series: string) => sample(after, series) - sample(before, series);
    expect(delta('auth_login_attempts_total{result="success"}')).toBe(1);
    expect(delta('auth_login_attempts_total{result="failure"}')).toBe(1);
    expect(delta('auth_tokens_issued_total{type="access"}')).toBe(2);
    expect(delta('auth_tokens_issued_total{type="refresh"}')).toBe(2);
    expect(delta('auth_refresh_reuse_detected_total')).toBe(1);
    expect(sample(after, 'http_requests_total{method="POST",route="/api/v1/enterprise/auth/login",status="401"}')).toBeGreaterThanOrEqual(1);
    expect(sample(after, 'http_requests_total{method="GET",route="/api/v1/enterprise/auth/me",status="401"}')).toBeGreaterThanOrEqual(1);
    expect(sample(after, 'http_request_duration_seconds_count{method="POST",route="/api/v1/enterprise/auth/register"}')).toBeGreaterThanOrEqual(1);
    expect(delta('db_query_duration_seconds_count')).toBeGreaterThan(5);
    expect(sample(after, 'db_up')).toBe(1);
    expect(sample(after, 'db_pool_connections{state="max"}')).toBe(10);
    expect(sample(after, 'active_sessions')).toBeGreaterThanOrEqual(0);
    expect(after).toContain('saml_responses_total{result="success"} 0');
    expect(after).toContain('process_cpu_seconds_total');
    expect(after).not.toMatch(/route="\/api\/v1\/enterprise\/[^"]*[0-9a-f]{8}-[0-9a-f]{4}/);

    const promtool = spawnSync('promtool', ['check', 'metrics'], { input: after, encoding: 'utf8' });
    expect(promtool.error, 'promtool must be installed (Debian package prometheus)').toBeUndefined();
    // Exit 3 means lint findings only (listed below); anything else is a parse failure.
    expect([0, 3]).toContain(promtool.status);
    // prom-client's own default gauges break one naming lint; every metric of ours must be clean.
    const lintFindings = `${promtool.stdout}${promtool.stderr}`.split('\n').filter((line) => line.trim() !== '');
    expect(lintFindings.filter((line) => !UPSTREAM_LINT_FINDINGS.has(line.split(' ')[0] ?? ''))).toEqual([]);
  });

  it('requires the bearer token when METRICS_TOKEN is set', async () => {
    const guarded = await startServer({ METRICS_TOKEN: 'scrape-token-for-tests-1234567890' });
    try {
      expectProblem(await guarded.request('GET', '/metrics'), 401, 'metrics_token_invalid');
      expectProblem(await guarded.request('GET', '/metrics', { token: 'wrong-token' }), 401, 'metrics_token_invalid');
      expect(await scrape(guarded, 'scrape-token-for-tests-1234567890')).toContain('http_requests_total');
    } finally {
      await guarded.close();
    }
  });
});
