import { sql } from 'drizzle-orm';
import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { API, type Account, expectProblem, login, registerOrganization, type Tokens } from '../helpers/fixtures.js';
import { spawnService, waitForOutput } from '../helpers/process.js';
import { samlOrganization } from '../helpers/saml-fixtures.js';
import { startServer, TEST_JWT_SECRET, type TestServer } from '../helpers/server.js';
import { auditRowDaysAgo, expireSamlRequests, expireSessionDaysAgo, revokedSessionDaysAgo } from '../helpers/time-travel.js';

const sessionOf = (tokens: Tokens) => decodeJwt(tokens.access_token).sid as string;

describe('the retention job', () => {
  let server: TestServer;
  let account: Account;
  const exists = async (table: 'sessions' | 'audit_logs', id: string) =>
    (await server.query<{ found: boolean }>(sql`select exists (select 1 from ${sql.identifier(table)} where id = ${id}) as found`))[0]?.found;

  beforeAll(async () => {
    server = await startServer({ SESSION_RETENTION_DAYS: '7', AUDIT_RETENTION_DAYS: '30', RETENTION_INTERVAL_SECONDS: '0', SSO_REDIRECT_ALLOWLIST: 'https://app.example/sso/' });
    account = await registerOrganization(server);
  });
  afterAll(() => server.close());

  it('deletes sessions dead for longer than the keep period, with their refresh tokens, and nothing live', async () => {
    const live = await login(server, account);
    const expiredLongAgo = await login(server, account);
    const expiredRecently = await login(server, account);
    const revokedLongAgo = await login(server, account);
    await expireSessionDaysAgo(server, sessionOf(expiredLongAgo), 8);
    await expireSessionDaysAgo(server, sessionOf(expiredRecently), 2);
    await server.request('POST', `${API}/auth/logout`, { token: revokedLongAgo.access_token, body: { refresh_token: revokedLongAgo.refresh_token } });
    await revokedSessionDaysAgo(server, sessionOf(revokedLongAgo), 8);

    const deleted = await server.container.retention.runOnce();

    expect(deleted.sessions).toBeGreaterThanOrEqual(2);
    expect(await exists('sessions', sessionOf(expiredLongAgo))).toBe(false);
    expect(await exists('sessions', sessionOf(revokedLongAgo))).toBe(false);
    expect(await exists('sessions', sessionOf(expiredRecently))).toBe(true);
    expect(await exists('sessions', sessionOf(live))).toBe(true);
    const orphans = await server.query<{ count: number }>(sql`select count(*)::int as count from refresh_tokens where session_id not in (select id from sessions)`);
    expect(orphans[0]?.count).toBe(0);
    // A pruned session's refresh token is simply unknown now; the live one still works.
    expectProblem(await server.request('POST', `${API}/auth/refresh`, { body: { refresh_token: revokedLongAgo.refresh_token } }), 401, 'refresh_token_invalid');
    expect((await server.request('POST', `${API}/auth/refresh`, { body: { refresh_token: live.refresh_token } })).status).toBe(200);
    expect((await server.request('GET', `${API}/auth/me`, { token: live.access_token })).status).toBe(200);
  });

  it('deletes expired SAML requests', async () => {
    const saml = await samlOrganization(server, 'retention.example');
    const started = await server.request('GET', `${API}/sso/${saml.configId}/saml/login?redirect_uri=${encodeURIComponent('https://app.example/sso/callback')}`);
    expect(started.status).toBe(302);
    const count = async () =>
      (await server.query<{ count: number }>(sql`select count(*)::int as count from saml_requests where sso_configuration_id = ${saml.configId}`))[0]?.count;
    expect(await count()).toBe(1);
    await server.container.retention.runOnce();
    expect(await count()).toBe(1);
    await expireSamlRequests(server, saml.configId);
    await server.container.retention.runOnce();
    expect(await count()).toBe(0);
  });

  it('deletes audit rows older than AUDIT_RETENTION_DAYS, and the trail stays append-only for everyone else', async () => {
    const old = await auditRowDaysAgo(server, account.organizationId, 31);
    const recent = await auditRowDaysAgo(server, account.organizationId, 29);
    await server.container.retention.runOnce();
    expect(await exists('audit_logs', old)).toBe(false);
    expect(await exists('audit_logs', recent)).toBe(true);
    const appendOnly = { cause: { message: 'audit_logs is append-only' } };
    await expect(server.query(sql`delete from audit_logs where id = ${recent}`)).rejects.toMatchObject(appendOnly);
    await expect(server.query(sql`update audit_logs set status = 'failure' where id = ${recent}`)).rejects.toMatchObject(appendOnly);
  });
});

describe('the retention job in the running service', () => {
  it('runs on its interval, keeps audit rows by default, and counts what it deleted', { timeout: 60_000 }, async () => {
    const server = await startServer();
    const account = await registerOrganization(server);
    const tokens = await login(server, account);
    await expireSessionDaysAgo(server, sessionOf(tokens), 30);
    const ancient = await auditRowDaysAgo(server, account.organizationId, 3650);
    const service = await spawnService({ DATABASE_URL: inject('databaseUrl'), JWT_SECRET_KEY: TEST_JWT_SECRET, ENVIRONMENT: 'test', RETENTION_INTERVAL_SECONDS: '1' });
    try {
      await waitForOutput(service, /retention[^\n]*"sessions":[1-9]/);
      const metrics = await (await fetch(`${service.baseUrl}/metrics`)).text();
      expect(metrics).toMatch(/^retention_deleted_rows_total\{table="sessions"\} [1-9]/m);
      const kept = await server.query<{ found: boolean }>(sql`select exists (select 1 from audit_logs where id = ${ancient}) as found`);
      expect(kept[0]?.found).toBe(true);
    } finally {
      service.signal('SIGTERM');
      expect(await service.exited).toBe(0);
      await server.close();
    }
  });
});
