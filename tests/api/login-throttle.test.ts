import { randomInt } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rateLimitKeys } from '../helpers/database-facts.js';
import { API, auditCursor, auditEvents, expectProblem, login, loginSuperadmin, registerOrganization, type Tokens, uniqueEmail } from '../helpers/fixtures.js';
import { type ApiResponse, startServer, type TestServer } from '../helpers/server.js';

/** A client address of its own per call (TEST-NET-2), so tests never share a client's counters. */
const newClient = () => `198.51.${randomInt(256)}.${randomInt(1, 255)}`;

let server: TestServer;
/** The platform super-admin: the only reader of audit rows tied to no organization (a throttled login). */
let root: Tokens;
beforeAll(async () => {
  server = await startServer(
    {
      TRUST_PROXY: '1',
      LOGIN_MAX_FAILURES: '3',
      LOGIN_LOCKOUT_SECONDS: '30',
      LOGIN_IP_MAX_FAILURES: '10',
      LOGIN_SLOWDOWN_AFTER_FAILURES: '6',
      LOGIN_SLOWDOWN_MAX_MS: '400',
    },
    { clientAddress: newClient() },
  );
  root = await loginSuperadmin(server);
});
afterAll(async () => {
  await server.close();
});

const attempt = (email: string, password: string, client: string): Promise<ApiResponse> =>
  server.request('POST', `${API}/auth/login`, { body: { email, password }, headers: { 'x-forwarded-for': client } });

async function fail(email: string, times: number, client: string) {
  for (let i = 0; i < times; i += 1) expectProblem(await attempt(email, 'a wrong password', client), 401, 'login_credentials_invalid');
}

async function throttledCount(limiter: string): Promise<number> {
  const scrape = await server.request('GET', '/metrics', { headers: { accept: 'text/plain' } });
  return Number(new RegExp(`^rate_limited_total\\{limiter="${limiter}"\\} (\\d+)$`, 'm').exec(scrape.text)?.[1] ?? 0);
}

describe('login throttling per account and client', () => {
  it('locks one client out of one account after LOGIN_MAX_FAILURES, with 429 and Retry-After, even for the right password', async () => {
    const account = await registerOrganization(server);
    const attacker = newClient();
    const since = auditCursor();
    const before = await throttledCount('login_account_client');
    await fail(account.email, 3, attacker);
    const locked = await attempt(account.email, account.password, attacker);
    expectProblem(locked, 429, 'login_throttled');
    expect(locked.body.type).toBe('urn:fm-auth:problem:too-many-attempts');
    expect(Number(locked.headers.get('retry-after'))).toBeGreaterThan(25);
    expect(Number(locked.headers.get('retry-after'))).toBeLessThanOrEqual(30);
    expect(locked.text).not.toContain(account.password);
    expect(await throttledCount('login_account_client')).toBe(before + 1);
    const audit = (await auditEvents(server, root, { event_type: 'rate_limit.exceeded', since }))
      .filter((event) => event.request_id === locked.headers.get('x-request-id'))
      .map(({ status, context }) => ({ status, context }));
    expect(audit).toEqual([{ status: 'denied', context: { limiter: 'login_account_client' } }]);
  });

  it('never locks the real user out: from their own client the right password still works', async () => {
    const account = await registerOrganization(server);
    await fail(account.email, 3, newClient());
    expect((await attempt(account.email, account.password, newClient())).status).toBe(200);
  });

  it('throttles unknown emails exactly like real ones', async () => {
    const account = await registerOrganization(server);
    const ghost = uniqueEmail('ghost');
    const client = newClient();
    await fail(account.email, 3, client);
    await fail(ghost, 3, client);
    const real = await attempt(account.email, 'a wrong password', client);
    const unknown = await attempt(ghost, 'a wrong password', client);
    expectProblem(real, 429, 'login_throttled');
    expectProblem(unknown, 429, 'login_throttled');
    expect({ ...real.body, instance: undefined, detail: undefined, request_id: undefined }).toEqual({
      ...unknown.body,
      instance: undefined,
      detail: undefined,
      request_id: undefined,
    });
  });

  it('checks at most LOGIN_MAX_FAILURES passwords however parallel the attempts, and never answers 5xx', async () => {
    const account = await registerOrganization(server);
    const client = newClient();
    const answers = await Promise.all(Array.from({ length: 40 }, () => attempt(account.email, 'a wrong password', client)));
    const statuses = answers.map((answer) => answer.status);
    expect(statuses.filter((status) => status === 401).length).toBeLessThanOrEqual(3);
    expect(statuses.filter((status) => status !== 401 && status !== 429)).toEqual([]);
    // The account's own Admin reads its trail, logged in from a client of its own (this one is locked out).
    const checked = (await auditEvents(server, await login(server, account), { event_type: 'auth.login', user_id: account.userId })).filter((event) => event.status === 'failure');
    expect(checked.length).toBeLessThanOrEqual(3);
  });

  it('lets a successful login reset the client’s count', async () => {
    const account = await registerOrganization(server);
    const client = newClient();
    await fail(account.email, 2, client);
    expect((await attempt(account.email, account.password, client)).status).toBe(200);
    await fail(account.email, 2, client);
    expect((await attempt(account.email, account.password, client)).status).toBe(200);
  });
});

describe('login throttling per account across clients', () => {
  it('only slows an account attacked from many clients, by a bounded delay, and never locks it', async () => {
    const account = await registerOrganization(server);
    for (let i = 0; i < 8; i += 1) await fail(account.email, 1, newClient());
    const started = performance.now();
    const real = await attempt(account.email, account.password, newClient());
    const elapsed = performance.now() - started;
    expect(real.status).toBe(200);
    expect(elapsed).toBeGreaterThanOrEqual(380);
    expect(elapsed).toBeLessThan(3000);
    // The success reset the slow-down.
    const next = performance.now();
    expect((await attempt(account.email, account.password, newClient())).status).toBe(200);
    expect(performance.now() - next).toBeLessThan(380);
  });

  it('answers 401, never 429 or 5xx, to parallel attempts on one account from many clients', async () => {
    const account = await registerOrganization(server);
    const answers = await Promise.all(Array.from({ length: 20 }, () => attempt(account.email, 'a wrong password', newClient())));
    expect(answers.map((answer) => answer.status)).toEqual(Array(20).fill(401));
  });
});

describe('login throttling per client across accounts', () => {
  it('locks out a client spraying passwords across LOGIN_IP_MAX_FAILURES accounts, and no one else', async () => {
    const sprayer = newClient();
    const before = await throttledCount('login_client');
    for (let i = 0; i < 10; i += 1) await fail(uniqueEmail('sprayed'), 1, sprayer);
    const refused = await attempt(uniqueEmail('sprayed'), 'a wrong password', sprayer);
    expectProblem(refused, 429, 'login_throttled');
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(await throttledCount('login_client')).toBe(before + 1);
    const account = await registerOrganization(server);
    expect((await attempt(account.email, account.password, newClient())).status).toBe(200);
  });
});

describe('POST /auth/password', () => {
  const change = (token: string, currentPassword: string, client: string) =>
    server.request('POST', `${API}/auth/password`, {
      token,
      headers: { 'x-forwarded-for': client },
      body: { current_password: currentPassword, new_password: `a brand new passphrase ${randomInt(1e6)}` },
    });

  it('is never blocked by someone else’s failed logins', async () => {
    const account = await registerOrganization(server);
    const own = newClient();
    const tokens = await login(server, account);
    await fail(account.email, 3, newClient());
    await fail(account.email, 3, own);
    expectProblem(await attempt(account.email, account.password, own), 429, 'login_throttled');
    const changed = await change(tokens.access_token, account.password, own);
    expect(changed.status, changed.text).toBe(204);
  });

  it('counts wrong current passwords on their own, and locks only the password change', async () => {
    const account = await registerOrganization(server);
    const client = newClient();
    const tokens = await login(server, account);
    for (let i = 0; i < 3; i += 1) expectProblem(await change(tokens.access_token, 'not my password', client), 401, 'password_incorrect');
    expectProblem(await change(tokens.access_token, account.password, client), 429, 'login_throttled');
    expect((await attempt(account.email, account.password, client)).status).toBe(200);
  });
});

describe('throttle storage', () => {
  it('keeps no email addresses', async () => {
    const email = uniqueEmail('private');
    await fail(email, 1, newClient());
    const rows = await rateLimitKeys(server);
    expect(rows.length).toBeGreaterThan(0);
    expect(JSON.stringify(rows)).not.toContain(email.split('@')[0]);
    expect(JSON.stringify(rows)).not.toContain('@');
  });
});
