import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { API, auditCursor, auditEvents, expectProblem, loginSuperadmin, STRONG_PASSWORD, type Tokens, uniqueEmail } from '../helpers/fixtures.js';
import { startServer, type TestServer } from '../helpers/server.js';

let server: TestServer;
/** The platform super-admin: the only reader of audit rows tied to no organization (a login for an unknown email). */
let root: Tokens;
beforeAll(async () => {
  server = await startServer();
  root = await loginSuperadmin(server);
});
afterAll(async () => {
  await server.close();
});

describe('GET /', () => {
  it('names the service and its version', async () => {
    const response = await server.request('GET', '/');
    expect(response.status).toBe(200);
    expect(response.body).toEqual({ service: 'fm-auth', version: expect.stringMatching(/^\d+\.\d+\.\d+/), status: 'ok' });
  });
});

describe('GET /health', () => {
  it('reports the database up with its latency', async () => {
    const response = await server.request('GET', '/health');
    expect(response.status).toBe(200);
    expect(response.body).toMatchObject({ status: 'ok', checks: { database: { status: 'up', latency_ms: expect.any(Number) } } });
  });
});

describe('GET /health/live', () => {
  it('answers ok while the process runs', async () => {
    const response = await server.request('GET', '/health/live');
    expect(response.status).toBe(200);
    expect(response.body).toEqual({ status: 'ok' });
  });
});

describe('GET /health/ready', () => {
  it('is ready when the database is reachable and migrated', async () => {
    const response = await server.request('GET', '/health/ready');
    expect(response.status).toBe(200);
    expect(response.body).toMatchObject({ status: 'ready', checks: { database: { status: 'up' }, migrations: { status: 'up' } } });
  });

  it('answers 503 problem+json while shutting down', async () => {
    const stopping = await startServer();
    try {
      stopping.container.lifecycle.shuttingDown = true;
      const response = await stopping.request('GET', '/health/ready');
      expectProblem(response, 503, 'service_not_ready');
      expect(response.body.detail).toBe('The service is shutting down');
    } finally {
      await stopping.close();
    }
  });

  it('answers 503 when the database is unreachable, and /health reports it degraded', async () => {
    const unreachable = await startServer({ DATABASE_URL: 'postgres://postgres@127.0.0.1:1/nowhere' });
    try {
      expectProblem(await unreachable.request('GET', '/health/ready'), 503, 'service_not_ready');
      const health = await unreachable.request('GET', '/health');
      expect(health.status).toBe(503);
      expect(health.body).toMatchObject({ status: 'degraded', checks: { database: { status: 'down' } } });
      const login = await unreachable.request('POST', `${API}/auth/login`, { body: { email: uniqueEmail(), password: STRONG_PASSWORD } });
      expectProblem(login, 503, 'database_unavailable');
    } finally {
      await unreachable.close();
    }
  });
});

describe('errors', () => {
  it('answers 404 problem+json for a path outside the spec', async () => {
    expectProblem(await server.request('GET', `${API}/no-such-thing`), 404, 'route_not_found');
  });

  it('answers 405 with Allow for a method the path does not have', async () => {
    const response = await server.request('DELETE', `${API}/auth/login`);
    expectProblem(response, 405, 'route_method_not_allowed');
    expect(response.headers.get('allow')).toMatch(/POST/);
  });

  it('answers 415 for a body that is not JSON', async () => {
    const response = await server.request('POST', `${API}/auth/login`, { rawBody: 'email=a', headers: { 'content-type': 'text/plain' } });
    expectProblem(response, 415, 'request_media_type_unsupported');
  });

  it('answers 422 for malformed JSON', async () => {
    const response = await server.request('POST', `${API}/auth/login`, { rawBody: '{"email":', headers: { 'content-type': 'application/json' } });
    expectProblem(response, 422, 'request_body_malformed');
  });

  it('answers 422 with a field list naming each invalid field', async () => {
    const response = await server.request('POST', `${API}/auth/register`, { body: { email: 'nope', password: 'x', full_name: 'X', organization_name: 'X' } });
    expectProblem(response, 422, 'request_invalid');
    const paths = response.body.errors.map((error: { path: string }) => error.path);
    expect(paths).toEqual(expect.arrayContaining(['/body/email', '/body/password']));
  });

  it('answers 413 for an oversized body', async () => {
    const response = await server.request('POST', `${API}/auth/login`, { body: { email: 'a@b.co', password: 'x'.repeat(200_000) } });
    expectProblem(response, 413, 'request_body_too_large');
  });

  it('carries the request id into the access log line and the audit row of that request', async () => {
    const requestId = `trace-${Date.now()}`;
    const since = auditCursor();
    const response = await server.request('POST', `${API}/auth/login`, {
      body: { email: uniqueEmail('traced'), password: STRONG_PASSWORD },
      headers: { 'x-request-id': requestId },
    });
    expectProblem(response, 401, 'login_credentials_invalid');
    const lines = server
      .logs()
      .split('\n')
      .filter((line) => line.includes(requestId))
      .map((line) => JSON.parse(line));
    expect(lines).toContainEqual(expect.objectContaining({ message: 'request', route: '/api/v1/enterprise/auth/login', status: 401, request_id: requestId }));
    const rows = (await auditEvents(server, root, { since })).filter((event) => event.request_id === requestId);
    expect(rows.map(({ event_type, status }) => ({ event_type, status }))).toEqual([{ event_type: 'auth.login', status: 'failure' }]);
  });

  it('echoes a well-formed X-Request-ID and generates one otherwise', async () => {
    const echoed = await server.request('GET', '/health/live', { headers: { 'x-request-id': 'client-req-12345' } });
    expect(echoed.headers.get('x-request-id')).toBe('client-req-12345');
    const replaced = await server.request('GET', '/health/live', { headers: { 'x-request-id': 'bad id\twith tabs' } });
    expect(replaced.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
  });
});
