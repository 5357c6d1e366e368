import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { API, expectProblem, login, registerOrganization, STRONG_PASSWORD } from '../helpers/fixtures.js';
import { startServer, type TestServer } from '../helpers/server.js';

let server: TestServer;
beforeAll(async () => {
  server = await startServer();
});
afterAll(async () => {
  await server.close();
});

const refresh = (refreshToken: string) => server.request('POST', `${API}/auth/refresh`, { body: { refresh_token: refreshToken } });
const me = (token: string) => server.request('GET', `${API}/auth/me`, { token });

async function auditEvents(userId: string): Promise<{ event_type: string; status: string }[]> {
  return server.query(sql`select event_type, status from audit_logs where actor_user_id = ${userId} order by created_at`);
}

describe('POST /auth/refresh', () => {
  it('answers a new pair each time, and the new access token works', async () => {
    const account = await registerOrganization(server);
    const first = await login(server, account);
    const second = await refresh(first.refresh_token);
    expect(second.status).toBe(200);
    expect(second.body.token_type).toBe('bearer');
    expect(second.body.refresh_token).not.toBe(first.refresh_token);
    expect(second.body.access_token).not.toBe(first.access_token);
    const third = await refresh(second.body.refresh_token);
    expect(third.status).toBe(200);
    expect(third.body.refresh_token).not.toBe(second.body.refresh_token);
    expect((await me(third.body.access_token)).status).toBe(200);
  });

  it('treats a used refresh token as stolen: 401, and the session’s newer tokens stop working', async () => {
    const account = await registerOrganization(server);
    const first = await login(server, account);
    const rotated = (await refresh(first.refresh_token)).body;
    expect((await me(rotated.access_token)).status).toBe(200);

    expectProblem(await refresh(first.refresh_token), 401);

    expectProblem(await me(rotated.access_token), 401);
    expectProblem(await refresh(rotated.refresh_token), 401);
    expect(await auditEvents(account.userId)).toContainEqual({ event_type: 'auth.refresh_token_reuse', status: 'failure' });
  });

  it('leaves the user’s other sessions alone on reuse', async () => {
    const account = await registerOrganization(server);
    const stolen = await login(server, account);
    const otherDevice = await login(server, account);
    await refresh(stolen.refresh_token);
    await refresh(stolen.refresh_token);
    expect((await me(otherDevice.access_token)).status).toBe(200);
  });

  it('returns 401 for an unknown refresh token', async () => {
    expectProblem(await refresh('b3J0aGlzLWlzLW5vdC1hLXJlYWwtdG9rZW4tYXQtYWxsLW5vcGU'), 401);
  });

  it('returns 401 for an expired refresh token', async () => {
    const account = await registerOrganization(server);
    const tokens = await login(server, account);
    await server.query(
      sql`update refresh_tokens set expires_at = now() - interval '1 minute' where session_id in (select id from sessions where user_id = ${account.userId})`,
    );
    expectProblem(await refresh(tokens.refresh_token), 401);
  });

  it('returns 401 for a deactivated user', async () => {
    const account = await registerOrganization(server);
    const tokens = await login(server, account);
    await server.query(sql`update users set is_active = false where id = ${account.userId}`);
    expectProblem(await refresh(tokens.refresh_token), 401);
  });

  it('returns 422 without a refresh_token', async () => {
    expectProblem(await server.request('POST', `${API}/auth/refresh`, { body: {} }), 422);
  });
});

describe('POST /auth/logout', () => {
  it('answers 204 and ends the session: its access and refresh tokens stop working', async () => {
    const account = await registerOrganization(server);
    const tokens = await login(server, account);
    const other = await login(server, account);
    const response = await server.request('POST', `${API}/auth/logout`, { token: tokens.access_token });
    expect(response.status).toBe(204);
    expect(response.text).toBe('');

    expectProblem(await me(tokens.access_token), 401);
    expectProblem(await server.request('POST', `${API}/auth/logout`, { token: tokens.access_token }), 401);
    expectProblem(await refresh(tokens.refresh_token), 401);
    expect((await me(other.access_token)).status).toBe(200);
    expect(await auditEvents(account.userId)).toContainEqual({ event_type: 'auth.logout', status: 'success' });
  });

  it('returns 401 without a token', async () => {
    expectProblem(await server.request('POST', `${API}/auth/logout`), 401);
  });
});

describe('POST /auth/password', () => {
  const changePassword = (token: string, body: Record<string, unknown>) => server.request('POST', `${API}/auth/password`, { token, body });

  it('changes the password: the old one stops working, the new one works, other sessions end, this one stays', async () => {
    const account = await registerOrganization(server);
    const current = await login(server, account);
    const elsewhere = await login(server, account);
    const newPassword = 'a brand new passphrase 2026';

    const response = await changePassword(current.access_token, { current_password: account.password, new_password: newPassword });
    expect(response.status).toBe(204);

    expect((await me(current.access_token)).status).toBe(200);
    expect((await refresh(current.refresh_token)).status).toBe(200);
    expectProblem(await me(elsewhere.access_token), 401);
    expectProblem(await refresh(elsewhere.refresh_token), 401);
    expectProblem(await server.request('POST', `${API}/auth/login`, { body: { email: account.email, password: account.password } }), 401);
    expect((await server.request('POST', `${API}/auth/login`, { body: { email: account.email, password: newPassword } })).status).toBe(200);
  });

  it('returns 401 for a wrong current password and counts it as a failed login', async () => {
    const account = await registerOrganization(server);
    const tokens = await login(server, account);
    const response = await changePassword(tokens.access_token, { current_password: 'wrong current password', new_password: 'another fine passphrase' });
    expectProblem(response, 401);
    expect(await auditEvents(account.userId)).toContainEqual({ event_type: 'auth.login', status: 'failure' });
    const [row] = await server.query<{ failed_login_count: number }>(sql`select failed_login_count from users where id = ${account.userId}`);
    expect(row?.failed_login_count).toBe(1);
    expect((await server.request('POST', `${API}/auth/login`, { body: { email: account.email, password: account.password } })).status).toBe(200);
  });

  it.each([
    ['too short', 'short'],
    ['common', 'sunshine'],
  ])('returns 422 for a new password that is %s', async (_label, newPassword) => {
    const account = await registerOrganization(server);
    const tokens = await login(server, account);
    expectProblem(await changePassword(tokens.access_token, { current_password: account.password, new_password: newPassword }), 422);
  });

  it('returns 422 for a new password equal to the email', async () => {
    const account = await registerOrganization(server);
    const tokens = await login(server, account);
    expectProblem(await changePassword(tokens.access_token, { current_password: account.password, new_password: account.email }), 422);
  });

  it('returns 401 without a token', async () => {
    expectProblem(await server.request('POST', `${API}/auth/password`, { body: { current_password: STRONG_PASSWORD, new_password: STRONG_PASSWORD } }), 401);
  });
});
