import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { API, expectProblem, login, registerOrganization, uniqueEmail } from '../helpers/fixtures.js';
import { startServer, type TestServer } from '../helpers/server.js';

let server: TestServer;
beforeAll(async () => {
  server = await startServer({ LOGIN_MAX_FAILURES: '3', LOGIN_LOCKOUT_SECONDS: '30' });
});
afterAll(async () => {
  await server.close();
});

const attempt = (email: string, password: string) => server.request('POST', `${API}/auth/login`, { body: { email, password } });

async function fail(email: string, times: number) {
  for (let i = 0; i < times; i += 1) expectProblem(await attempt(email, 'a wrong password'), 401);
}

describe('login throttling', () => {
  it('locks an email after LOGIN_MAX_FAILURES failures with 429 and Retry-After, even for the right password', async () => {
    const account = await registerOrganization(server);
    await fail(account.email, 3);
    const locked = await attempt(account.email, account.password);
    expectProblem(locked, 429);
    expect(Number(locked.headers.get('retry-after'))).toBeGreaterThan(25);
    expect(Number(locked.headers.get('retry-after'))).toBeLessThanOrEqual(30);
    expect(locked.text).not.toContain(account.password);
  });

  it('throttles unknown emails exactly like real ones', async () => {
    const account = await registerOrganization(server);
    const ghost = uniqueEmail('ghost');
    await fail(account.email, 3);
    await fail(ghost, 3);
    const real = await attempt(account.email, 'a wrong password');
    const unknown = await attempt(ghost, 'a wrong password');
    expectProblem(real, 429);
    expectProblem(unknown, 429);
    expect({ ...real.body, instance: undefined, detail: undefined }).toEqual({ ...unknown.body, instance: undefined, detail: undefined });
  });

  it('doubles the lock with each further failure, and a successful login resets the streak', async () => {
    const account = await registerOrganization(server);
    await fail(account.email, 2);
    expect((await attempt(account.email, account.password)).status).toBe(200);
    await fail(account.email, 2);
    expect((await attempt(account.email, account.password)).status).toBe(200);

    await fail(account.email, 3);
    // Let the first lock pass, then fail once more: the next lock is twice as long.
    await server.query(
      sql`update login_throttles set locked_until = now() - interval '1 second' where email_hash = encode(sha256(convert_to(lower(${account.email}), 'UTF8')), 'hex')`,
    );
    expectProblem(await attempt(account.email, 'a wrong password'), 401);
    const longer = await attempt(account.email, account.password);
    expectProblem(longer, 429);
    expect(Number(longer.headers.get('retry-after'))).toBeGreaterThan(55);
  });

  it('counts wrong current passwords on /auth/password towards the same lock', async () => {
    const account = await registerOrganization(server);
    const tokens = await login(server, account);
    for (let i = 0; i < 3; i += 1) {
      const wrong = await server.request('POST', `${API}/auth/password`, {
        token: tokens.access_token,
        body: { current_password: 'not my password', new_password: 'a brand new passphrase 77' },
      });
      expectProblem(wrong, 401);
    }
    expectProblem(await attempt(account.email, account.password), 429);
  });

  it('stores no email addresses in the throttle table', async () => {
    const email = uniqueEmail('private');
    await fail(email, 1);
    const rows = await server.query<{ email_hash: string }>(sql`select email_hash from login_throttles`);
    expect(JSON.stringify(rows)).not.toContain(email.split('@')[0]);
    expect(rows.every((row) => /^[0-9a-f]{64}$/.test(row.email_hash))).toBe(true);
  });
});
