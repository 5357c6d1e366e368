import { randomInt, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  API,
  auditEvents,
  disableUser,
  expectProblem,
  login,
  organizationWithMember,
  registerOrganization,
  setUserRoles,
  STRONG_PASSWORD,
  SYSTEM_ROLES,
  type Tokens,
  uniqueEmail,
} from '../helpers/fixtures.js';
import { dropPeerListener } from '../helpers/faults.js';
import { postResponse, samlOrganization, startLogin } from '../helpers/saml-fixtures.js';
import { startServer, type TestServer } from '../helpers/server.js';

const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379/0';
const newClient = () => `192.0.${randomInt(0, 3)}.${randomInt(1, 255)}`;

/**
 * Two instances of the service behind one load balancer: one database, one PUBLIC_URL, and, in
 * the second run, one Redis for the counters. What one instance learns, the other must know.
 */
describe.each([
  ['the database', {}],
  ['Redis', { REDIS_URL }],
])('two instances sharing %s', (_store, storeEnv) => {
  let a: TestServer;
  let b: TestServer;
  beforeAll(async () => {
    const shared = { TRUST_PROXY: '1', LOGIN_MAX_FAILURES: '3', RATE_LIMIT_PUBLIC_PER_MINUTE: '30', SSO_REDIRECT_ALLOWLIST: 'https://app.example/sso/', ...storeEnv };
    // One client for each instance's own setup traffic, so other tests' requests never count here.
    a = await startServer(shared, { clientAddress: newClient() });
    b = await startServer({ ...shared, PUBLIC_URL: a.baseUrl }, { clientAddress: newClient() });
  });
  afterAll(async () => {
    await Promise.all([a.close(), b.close()]);
  });

  it('detects on B the reuse of a refresh token rotated on A, and ends the session on both', async () => {
    const account = await registerOrganization(a);
    const first = await login(a, account);
    const rotated = await a.request('POST', `${API}/auth/refresh`, { body: { refresh_token: first.refresh_token } });
    expect(rotated.status, rotated.text).toBe(200);
    const second: Tokens = rotated.body;

    expectProblem(await b.request('POST', `${API}/auth/refresh`, { body: { refresh_token: first.refresh_token } }), 401, 'refresh_token_invalid');
    expectProblem(await a.request('POST', `${API}/auth/refresh`, { body: { refresh_token: second.refresh_token } }), 401, 'refresh_token_invalid');
    expectProblem(await a.request('GET', `${API}/auth/me`, { token: second.access_token }), 401, 'session_ended');
    expectProblem(await b.request('GET', `${API}/auth/me`, { token: second.access_token }), 401, 'session_ended');
  });

  it('holds on B a lockout earned on A', async () => {
    const account = await registerOrganization(a);
    const client = newClient();
    for (let i = 0; i < 3; i += 1) {
      const failed = await a.request('POST', `${API}/auth/login`, { body: { email: account.email, password: 'a wrong password' }, headers: { 'x-forwarded-for': client } });
      expectProblem(failed, 401, 'login_credentials_invalid');
    }
    const onB = await b.request('POST', `${API}/auth/login`, { body: { email: account.email, password: account.password }, headers: { 'x-forwarded-for': client } });
    expectProblem(onB, 429, 'login_throttled');
  });

  it('refuses on B a SAML response already accepted on A', async () => {
    const domain = `replay-${randomUUID().slice(0, 8)}.example`;
    const { adminTokens, idp, configId, sp } = await samlOrganization(a, domain);
    const response = idp.response(sp, {
      inResponseTo: await startLogin(a, configId),
      nameId: `okta|${randomUUID()}`,
      attributes: { mail: `grace@${domain}`, displayName: 'Grace' },
    });
    expect((await postResponse(a, configId, response)).status).toBe(302);
    const replayed = await postResponse(b, configId, response, { accept: 'application/json' });
    expectProblem(replayed, 401, 'saml_request_reused');
    const [audit] = (await auditEvents(b, adminTokens, { event_type: 'auth.sso_login' })).filter((event) => event.request_id === replayed.headers.get('x-request-id'));
    expect(audit?.context.reason).toMatch(/^(request_reused|assertion_replayed)$/);
  });

  it('counts a client’s requests to a public endpoint across both', async () => {
    const client = newClient();
    const discover = (server: TestServer) => server.request('GET', `${API}/sso/discover?email=${encodeURIComponent(uniqueEmail())}`, { headers: { 'x-forwarded-for': client } });
    for (let i = 0; i < 15; i += 1) {
      expect((await discover(a)).status).toBe(404);
      expect((await discover(b)).status).toBe(404);
    }
    expectProblem(await discover(a), 429, 'rate_limited');
    expectProblem(await discover(b), 429, 'rate_limited');
  });
});

/** The value of one sample line of GET /metrics, e.g. `auth_session_cache_lookups_total{result="hit"}`. */
async function metric(server: TestServer, series: string): Promise<number> {
  const { text } = await server.request('GET', '/metrics', { headers: { accept: 'text/plain' } });
  const line = text.split('\n').find((candidate) => candidate.startsWith(`${series} `));
  if (!line) throw new Error(`no sample ${series}`);
  return Number(line.slice(series.length + 1));
}

/** Polls `condition` until it holds or `ms` have passed (notifications and reconnects are asynchronous). */
async function within(ms: number, condition: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await condition()) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
}

/**
 * Both instances cache sessions for a minute, far longer than any test here: only the
 * invalidation each change sends can explain a refusal. Each test first has both instances cache
 * the session with a successful request, then changes it on A, and the very next request, on B
 * and on A, must see the change.
 */
describe('two instances caching sessions', () => {
  let a: TestServer;
  let b: TestServer;
  beforeAll(async () => {
    const shared = { SESSION_CACHE_TTL_SECONDS: '60' };
    [a, b] = await Promise.all([startServer(shared), startServer(shared)]);
    // Each starts listening on its own, right after start-up: until then it bypasses its cache.
    for (const server of [a, b]) await within(10_000, async () => (await metric(server, 'auth_session_cache_listening').catch(() => 0)) === 1);
  });
  afterAll(async () => {
    await Promise.all([a.close(), b.close()]);
  });

  const me = (server: TestServer, tokens: Tokens) => server.request('GET', `${API}/auth/me`, { token: tokens.access_token });
  async function warm(tokens: Tokens): Promise<void> {
    for (const server of [a, b]) expect((await me(server, tokens)).status).toBe(200);
  }

  it('answers repeated requests from the cache', async () => {
    const tokens = await login(a, await registerOrganization(a));
    const hits = await metric(b, 'auth_session_cache_lookups_total{result="hit"}');
    const misses = await metric(b, 'auth_session_cache_lookups_total{result="miss"}');
    for (let i = 0; i < 3; i += 1) expect((await me(b, tokens)).status).toBe(200);
    expect(await metric(b, 'auth_session_cache_lookups_total{result="miss"}')).toBe(misses + 1);
    expect(await metric(b, 'auth_session_cache_lookups_total{result="hit"}')).toBe(hits + 2);
    expect(await metric(b, 'auth_session_cache_listening')).toBe(1);
  });

  it('ends a session logged out on A at once on both', async () => {
    const tokens = await login(a, await registerOrganization(a));
    await warm(tokens);
    expect((await a.request('POST', `${API}/auth/logout`, { token: tokens.access_token })).status).toBe(200);
    expectProblem(await me(b, tokens), 401, 'session_ended');
    expectProblem(await me(a, tokens), 401, 'session_ended');
  });

  it('ends the other sessions of a password changed on A at once on both, and keeps the one that changed it', async () => {
    const account = await registerOrganization(a);
    const [changer, other] = [await login(a, account), await login(b, account)];
    await warm(changer);
    await warm(other);
    const changed = await a.request('POST', `${API}/auth/password`, {
      token: changer.access_token,
      body: { current_password: STRONG_PASSWORD, new_password: 'another passphrase entirely 77' },
    });
    expect(changed.status, changed.text).toBe(204);
    expectProblem(await me(b, other), 401, 'session_ended');
    expectProblem(await me(a, other), 401, 'session_ended');
    for (const server of [b, a]) expect((await me(server, changer)).status).toBe(200);
  });

  it('refuses a user deactivated on A at once on both', async () => {
    const { adminTokens, member } = await organizationWithMember(a);
    const tokens = await login(a, member);
    await warm(tokens);
    await disableUser(a, adminTokens, member.userId);
    expectProblem(await me(b, tokens), 401, 'account_disabled');
    expectProblem(await me(a, tokens), 401, 'account_disabled');
  });

  it('applies a role change made on A at once on both', async () => {
    const { admin, adminTokens, member } = await organizationWithMember(a);
    const tokens = await login(a, member);
    const organization = (server: TestServer) => server.request('GET', `${API}/organizations/${admin.organizationId}`, { token: tokens.access_token });
    for (const server of [a, b]) expect((await organization(server)).status).toBe(200);
    // Viewer, unlike Member, may not read the organization.
    await setUserRoles(a, adminTokens, member.userId, [SYSTEM_ROLES.viewer]);
    expectProblem(await organization(b), 403, 'permission_denied');
    expectProblem(await organization(a), 403, 'permission_denied');
  });

  it('ends on both at once the session whose refresh token was reused on A', async () => {
    const first = await login(a, await registerOrganization(a));
    const rotated = await a.request('POST', `${API}/auth/refresh`, { body: { refresh_token: first.refresh_token } });
    expect(rotated.status, rotated.text).toBe(200);
    const second: Tokens = rotated.body;
    await warm(second);
    expectProblem(await a.request('POST', `${API}/auth/refresh`, { body: { refresh_token: first.refresh_token } }), 401, 'refresh_token_invalid');
    expectProblem(await me(b, second), 401, 'session_ended');
    expectProblem(await me(a, second), 401, 'session_ended');
  });

  it('empties the cache of an instance that lost its listener connection, and listens again', async () => {
    const tokens = await login(a, await registerOrganization(a));
    await warm(tokens);
    const lost = 'auth_session_cache_invalidations_total{scope="all",origin="listener"}';
    const before = await metric(b, lost).catch(() => 0);
    expect(await dropPeerListener(a, b)).toBe(true);
    // Dropped, then listening again a second later: each empties the cache (whatever was sent meanwhile is unknown).
    await within(10_000, async () => (await metric(b, lost).catch(() => 0)) >= before + 2);
    expect(await metric(b, lost)).toBe(before + 2);
    expect(await metric(b, 'auth_session_cache_listening')).toBe(1);
    const misses = await metric(b, 'auth_session_cache_lookups_total{result="miss"}');
    expect((await me(b, tokens)).status).toBe(200);
    expect(await metric(b, 'auth_session_cache_lookups_total{result="miss"}')).toBe(misses + 1);
  });
});
