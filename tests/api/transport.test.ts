import { connect } from 'node:net';
import { describe, expect, inject, it } from 'vitest';
import { CLI_TEST_TIMEOUT_MS } from '../helpers/commands.js';
import { API, auditCursor, auditEvents, expectProblem, loginSuperadmin, uniqueEmail } from '../helpers/fixtures.js';
import { spawnService, waitForOutput } from '../helpers/process.js';
import { startServer, TEST_JWT_SECRET } from '../helpers/server.js';

/** Sends the headers and part of a body, then stalls; resolves when the server ends the connection. */
function stallBody(baseUrl: string): Promise<{ closedAfterMs: number; response: string }> {
  const { hostname, port } = new URL(baseUrl);
  return new Promise((resolve, reject) => {
    const started = performance.now();
    let response = '';
    const socket = connect(Number(port), hostname, () => {
      socket.write(`POST ${API}/auth/login HTTP/1.1\r\nHost: ${hostname}\r\nContent-Type: application/json\r\nContent-Length: 500\r\n\r\n{"email":`);
    });
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      response += chunk;
    });
    socket.on('close', () => resolve({ closedAfterMs: performance.now() - started, response }));
    socket.on('error', reject);
    setTimeout(() => reject(new Error('the server kept a stalled request open for 10 s')), 10_000).unref();
  });
}

describe('HTTP timeouts', () => {
  it('cuts off a request whose body stalls after HTTP_REQUEST_TIMEOUT_MS', async () => {
    const server = await startServer({ HTTP_HEADERS_TIMEOUT_MS: '500', HTTP_REQUEST_TIMEOUT_MS: '1000' });
    try {
      const { closedAfterMs, response } = await stallBody(server.baseUrl);
      expect(closedAfterMs).toBeGreaterThanOrEqual(900);
      expect(closedAfterMs).toBeLessThan(4000);
      expect(response).toMatch(/^HTTP\/1\.1 408/);
    } finally {
      await server.close();
    }
  });
});

describe('MANAGEMENT_PORT', () => {
  it('serves /metrics on its own listener only', { timeout: 60_000 }, async () => {
    const service = await spawnService({
      DATABASE_URL: inject('databaseUrl'),
      JWT_SECRET_KEY: TEST_JWT_SECRET,
      ENVIRONMENT: 'test',
      MANAGEMENT_PORT: '0',
    });
    try {
      const [, managementPort] = await waitForOutput(service, /management \(metrics\) listening on http:\/\/127\.0\.0\.1:(\d+)/);
      const onApiPort = await fetch(`${service.baseUrl}/metrics`);
      expect(onApiPort.status).toBe(404);
      const onManagementPort = await fetch(`http://127.0.0.1:${managementPort}/metrics`);
      expect(onManagementPort.status).toBe(200);
      expect(await onManagementPort.text()).toMatch(/^# HELP /m);
      expect((await fetch(`http://127.0.0.1:${managementPort}${API}/auth/me`)).status).toBe(404);
    } finally {
      service.signal('SIGTERM');
      expect(await service.exited, service.output()).toBe(0);
    }
  });
});

describe('TRUST_PROXY', () => {
  it(
    'takes the client address from X-Forwarded-For only for the trusted hops',
    async () => {
      const trusting = await startServer({ TRUST_PROXY: '1' });
      const ignoring = await startServer();
      try {
        // The platform super-admin: the only reader of audit rows tied to no organization (a login for an unknown email).
        const root = await loginSuperadmin(trusting);
        const since = auditCursor();
        for (const [server, expected] of [
          [trusting, '203.0.113.9'],
          [ignoring, '127.0.0.1'],
        ] as const) {
          const email = uniqueEmail('proxied');
          const failed = await server.request('POST', `${API}/auth/login`, {
            body: { email, password: 'a wrong password' },
            headers: { 'x-forwarded-for': '198.51.100.1, 203.0.113.9' },
          });
          expectProblem(failed, 401, 'login_credentials_invalid');
          const [row] = (await auditEvents(server, root, { event_type: 'auth.login', since })).filter((event) => event.request_id === failed.headers.get('x-request-id'));
          expect(row?.ip_address).toBe(expected);
        }
      } finally {
        await trusting.close();
        await ignoring.close();
      }
    },
    CLI_TEST_TIMEOUT_MS,
  );
});
