import { randomInt, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { API, auditEvents, expectProblem, login, registerOrganization, type Tokens, uniqueEmail } from '../helpers/fixtures.js';
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
