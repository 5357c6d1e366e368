import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import {
  countCodeFlowLogins,
  countOrphanRefreshTokens,
  countSamlRequests,
  deleteAuditRow,
  rateLimitCounterKeys,
  sessionExists,
  updateAuditRow,
} from '../helpers/database-facts.js';
import { API, type Account, auditEvents, expectProblem, login, registerOrganization, type Tokens } from '../helpers/fixtures.js';
import { spawnService, waitForOutput } from '../helpers/process.js';
import { oauthOrganization, startOidcLogin } from '../helpers/oidc-fixtures.js';
import { samlOrganization } from '../helpers/saml-fixtures.js';
import { startServer, TEST_JWT_SECRET, type TestServer } from '../helpers/server.js';
import { auditRowDaysAgo, expireCodeFlowLogins, expireRateLimitCounter, expireSamlRequests, expireSessionDaysAgo, revokedSessionDaysAgo } from '../helpers/time-travel.js';

const sessionOf = (tokens: Tokens) => decodeJwt(tokens.access_token).sid as string;

describe('the retention job', () => {
  let server: TestServer;
  let account: Account;
  /** Whether the audit row is still in the trail, as the organization's Admin reads it. */
  const inTrail = async (tokens: Tokens, id: string) => (await auditEvents(server, tokens, { event_type: 'test.aged' })).some((event) => event.id === id);

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
    expect(await sessionExists(server, sessionOf(expiredLongAgo))).toBe(false);
    expect(await sessionExists(server, sessionOf(revokedLongAgo))).toBe(false);
    expect(await sessionExists(server, sessionOf(expiredRecently))).toBe(true);
    expect(await sessionExists(server, sessionOf(live))).toBe(true);
    expect(await countOrphanRefreshTokens(server)).toBe(0);
    // A pruned session's refresh token is simply unknown now; the live one still works.
    expectProblem(await server.request('POST', `${API}/auth/refresh`, { body: { refresh_token: revokedLongAgo.refresh_token } }), 401, 'refresh_token_invalid');
    expect((await server.request('POST', `${API}/auth/refresh`, { body: { refresh_token: live.refresh_token } })).status).toBe(200);
    expect((await server.request('GET', `${API}/auth/me`, { token: live.access_token })).status).toBe(200);
  });

  it('deletes expired SAML requests', async () => {
    const saml = await samlOrganization(server, 'retention.example');
    const started = await server.request('GET', `${API}/sso/${saml.configId}/saml/login?redirect_uri=${encodeURIComponent('https://app.example/sso/callback')}`);
    expect(started.status).toBe(302);
    const count = () => countSamlRequests(server, saml.configId);
    expect(await count()).toBe(1);
    await server.container.retention.runOnce();
    expect(await count()).toBe(1);
    await expireSamlRequests(server, saml.configId);
    await server.container.retention.runOnce();
    expect(await count()).toBe(0);
  });

  it('deletes expired OIDC and OAuth logins (the only place they are deleted)', async () => {
    const oauth = await oauthOrganization(server, 'retention-oauth.example');
    try {
      await startOidcLogin(server, oauth.configId, 'https://app.example/sso/callback', 'oauth');
      await startOidcLogin(server, oauth.configId, 'https://app.example/sso/callback', 'oauth');
      const count = () => countCodeFlowLogins(server, oauth.configId);
      expect(await count()).toBe(2);
      await server.container.retention.runOnce();
      expect(await count()).toBe(2);
      await expireCodeFlowLogins(server, oauth.configId);
      await server.container.retention.runOnce();
      expect(await count()).toBe(0);
    } finally {
      await oauth.idp.close();
    }
  });

  it('deletes rate-limit counters whose window has passed, and no live one', async () => {
    const before = new Set(await rateLimitCounterKeys(server, 'fm-auth:'));
    // A wrong password counts against the account and the client in the shared counters.
    expectProblem(await server.request('POST', `${API}/auth/login`, { body: { email: account.email, password: 'not the password at all' } }), 401, 'login_credentials_invalid');
    const counted = (await rateLimitCounterKeys(server, 'fm-auth:')).filter((key) => !before.has(key));
    expect(counted.length).toBeGreaterThanOrEqual(2);
    const [ended, ...live] = counted as [string, ...string[]];
    await expireRateLimitCounter(server, ended);

    const deleted = await server.container.retention.runOnce();

    expect(deleted.rate_limits).toBeGreaterThanOrEqual(1);
    const left = await rateLimitCounterKeys(server, 'fm-auth:');
    expect(left).not.toContain(ended);
    expect(left).toEqual(expect.arrayContaining(live));
  });

  it('deletes audit rows older than AUDIT_RETENTION_DAYS, and the trail stays append-only for everyone else', async () => {
    const old = await auditRowDaysAgo(server, account.organizationId, 31);
    const recent = await auditRowDaysAgo(server, account.organizationId, 29);
    await server.container.retention.runOnce();
    const tokens = await login(server, account);
    expect(await inTrail(tokens, old)).toBe(false);
    expect(await inTrail(tokens, recent)).toBe(true);
    const appendOnly = { cause: { message: 'audit_logs is append-only' } };
    await expect(deleteAuditRow(server, recent)).rejects.toMatchObject(appendOnly);
    await expect(updateAuditRow(server, recent)).rejects.toMatchObject(appendOnly);
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
      // Read by the organization's Admin on a new session: the old one was pruned.
      const trail = await auditEvents(server, await login(server, account), { event_type: 'test.aged' });
      expect(trail.some((event) => event.id === ancient)).toBe(true);
    } finally {
      service.signal('SIGTERM');
      expect(await service.exited).toBe(0);
      await server.close();
    }
  });
});
