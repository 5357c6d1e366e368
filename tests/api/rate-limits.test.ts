import { randomInt } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { API, auditCursor, auditEvents, expectProblem, loginSuperadmin, STRONG_PASSWORD, type Tokens, uniqueEmail } from '../helpers/fixtures.js';
import { startServer, type TestServer } from '../helpers/server.js';

/** A client address of its own per call (TEST-NET-3), so tests never share a client's budget. */
const newClient = () => `203.0.${randomInt(114, 256)}.${randomInt(1, 255)}`;

const discover = (server: TestServer, client: string) =>
  server.request('GET', `${API}/sso/discover?email=${encodeURIComponent(uniqueEmail('who'))}`, { headers: { 'x-forwarded-for': client } });

describe('the per-client limit of the public endpoints', () => {
  let server: TestServer;
  /** The platform super-admin: the only reader of audit rows tied to no organization (a flood of a public endpoint). */
  let root: Tokens;
  beforeAll(async () => {
    server = await startServer({ TRUST_PROXY: '1', RATE_LIMIT_PUBLIC_PER_MINUTE: '5' }, { clientAddress: newClient() });
    root = await loginSuperadmin(server);
  });
  afterAll(async () => {
    await server.close();
  });

  it('announces the budget in RateLimit headers, then answers 429 with Retry-After', async () => {
    const client = newClient();
    const remaining: string[] = [];
    for (let i = 0; i < 5; i += 1) {
      const answer = await discover(server, client);
      expect(answer.status).toBe(404);
      expect(answer.headers.get('ratelimit-policy')).toContain('"public";q=5;w=60');
      remaining.push(/"public";r=(\d+)/.exec(answer.headers.get('ratelimit') ?? '')?.[1] ?? '');
    }
    expect(remaining).toEqual(['4', '3', '2', '1', '0']);
    const refused = await discover(server, client);
    expectProblem(refused, 429, 'rate_limited');
    expect(refused.body.type).toBe('urn:fm-auth:problem:rate-limited');
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(Number(refused.headers.get('retry-after'))).toBeLessThanOrEqual(60);
    expect(refused.headers.get('ratelimit')).toMatch(/"public";r=0;t=\d+/);
  });

  it('counts each endpoint and each client apart', async () => {
    const client = newClient();
    for (let i = 0; i < 5; i += 1) await discover(server, client);
    expectProblem(await discover(server, client), 429, 'rate_limited');
    expect((await discover(server, newClient())).status).toBe(404);
    const register = await server.request('POST', `${API}/auth/register`, {
      headers: { 'x-forwarded-for': client },
      body: { email: uniqueEmail(), password: STRONG_PASSWORD, full_name: 'Rae Limit', organization_name: 'Limits Inc' },
    });
    expect(register.status, register.text).toBe(201);
  });

  it('writes one audit row per client and window however long the flood', async () => {
    const client = newClient();
    const since = auditCursor();
    const answers = [];
    for (let i = 0; i < 12; i += 1) answers.push(await discover(server, client));
    expect(answers.filter((answer) => answer.status === 429)).toHaveLength(7);
    const requestIds = answers.map((answer) => answer.headers.get('x-request-id') as string);
    const audit = (await auditEvents(server, root, { event_type: 'rate_limit.exceeded', since })).filter((event) => requestIds.includes(event.request_id as string));
    expect(audit).toHaveLength(1);
  });

  it('leaves authenticated endpoints to the global limit', async () => {
    const client = newClient();
    for (let i = 0; i < 8; i += 1) {
      const me = await server.request('GET', `${API}/auth/me`, { headers: { 'x-forwarded-for': client } });
      expectProblem(me, 401, 'auth_credentials_missing');
      expect(me.headers.get('ratelimit-policy')).not.toContain('"public"');
    }
  });
});

describe('the global per-client limit', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer({ TRUST_PROXY: '1', RATE_LIMIT_GLOBAL_PER_MINUTE: '4' }, { clientAddress: newClient() });
  });
  afterAll(async () => {
    await server.close();
  });

  it('refuses a client past its budget on any endpoint, but never the health probes', async () => {
    const client = newClient();
    for (let i = 0; i < 4; i += 1) {
      const answer = await server.request('GET', `${API}/auth/me`, { headers: { 'x-forwarded-for': client } });
      expect(answer.status).toBe(401);
      expect(answer.headers.get('ratelimit-policy')).toContain('"global";q=4;w=60');
    }
    expectProblem(await server.request('GET', `${API}/organizations`, { headers: { 'x-forwarded-for': client } }), 429, 'rate_limited');
    expect((await server.request('GET', '/health/live', { headers: { 'x-forwarded-for': client } })).status).toBe(200);
    expect((await server.request('GET', `${API}/auth/me`, { headers: { 'x-forwarded-for': newClient() } })).status).toBe(401);
  });
});

describe('RATE_LIMIT_ENABLED=false', () => {
  it('turns the request limits off (for load measurements), not the login throttle', async () => {
    const server = await startServer({ TRUST_PROXY: '1', RATE_LIMIT_ENABLED: 'false', RATE_LIMIT_PUBLIC_PER_MINUTE: '1', LOGIN_MAX_FAILURES: '2' }, { clientAddress: newClient() });
    try {
      const client = newClient();
      for (let i = 0; i < 3; i += 1) {
        const answer = await discover(server, client);
        expect(answer.status).toBe(404);
        expect(answer.headers.get('ratelimit')).toBeNull();
      }
      const email = uniqueEmail('locked');
      const login = () => server.request('POST', `${API}/auth/login`, { body: { email, password: 'wrong password' }, headers: { 'x-forwarded-for': client } });
      expectProblem(await login(), 401, 'login_credentials_invalid');
      expectProblem(await login(), 401, 'login_credentials_invalid');
      expectProblem(await login(), 429, 'login_throttled');
    } finally {
      await server.close();
    }
  });
});
