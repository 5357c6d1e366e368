import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { API, auditEvents, disableUser, expectProblem, login, organizationWithMember, registerOrganization, STRONG_PASSWORD, type Tokens } from '../helpers/fixtures.js';
import { startServer, type TestServer } from '../helpers/server.js';
import { expireRefreshTokensOf } from '../helpers/time-travel.js';

let server: TestServer;
beforeAll(async () => {
  server = await startServer();
});
afterAll(async () => {
  await server.close();
});

const refresh = (refreshToken: string) => server.client().api.POST('/api/v1/enterprise/auth/refresh', { body: { refresh_token: refreshToken } });
const me = (tokens: Tokens) => server.client(tokens).api.GET('/api/v1/enterprise/auth/me');
const logout = (tokens: Tokens) => server.client(tokens).api.POST('/api/v1/enterprise/auth/logout');
const loginAgain = (body: { email: string; password: string }) => server.client().api.POST('/api/v1/enterprise/auth/login', { body });

/** Asserts the 401 every refused refresh gets, whatever the reason: the phrase the old service's clients match on. */
function expectRefreshRefused(answer: Awaited<ReturnType<typeof refresh>>): void {
  expectProblem(answer, 401, 'refresh_token_invalid');
  expect(answer.error?.detail).toMatch(/^Invalid refresh token/);
}

/** The user's own audit events (they are their organization's Admin), oldest first. */
async function auditEventsOf(tokens: Tokens, userId: string): Promise<{ event_type: string; status: string }[]> {
  return (await auditEvents(server, tokens, { user_id: userId })).reverse().map(({ event_type, status }) => ({ event_type, status }));
}

describe('POST /auth/refresh', () => {
  it('answers a new pair each time, and the new access token works', async () => {
    const account = await registerOrganization(server);
    const first = await login(server, account);
    const second = await refresh(first.refresh_token);
    expect(second.response.status).toBe(200);
    expect(second.data?.token_type).toBe('bearer');
    expect(second.data?.refresh_token).not.toBe(first.refresh_token);
    expect(second.data?.access_token).not.toBe(first.access_token);
    const third = await refresh(second.data?.refresh_token ?? '');
    expect(third.response.status).toBe(200);
    expect(third.data?.refresh_token).not.toBe(second.data?.refresh_token);
    expect((await me(third.data as Tokens)).response.status).toBe(200);
  });

  it('treats a used refresh token as stolen: 401, and the session’s newer tokens stop working', async () => {
    const account = await registerOrganization(server);
    const first = await login(server, account);
    const rotated = (await refresh(first.refresh_token)).data as Tokens;
    expect((await me(rotated)).response.status).toBe(200);

    expectRefreshRefused(await refresh(first.refresh_token));

    expectProblem(await me(rotated), 401, 'session_ended');
    expectRefreshRefused(await refresh(rotated.refresh_token));
    expect(await auditEventsOf(await login(server, account), account.userId)).toContainEqual({ event_type: 'auth.refresh_token_reuse', status: 'failure' });
  });

  it('leaves the user’s other sessions alone on reuse', async () => {
    const account = await registerOrganization(server);
    const stolen = await login(server, account);
    const otherDevice = await login(server, account);
    await refresh(stolen.refresh_token);
    await refresh(stolen.refresh_token);
    expect((await me(otherDevice)).response.status).toBe(200);
  });

  it('returns 401 for an unknown refresh token', async () => {
    expectRefreshRefused(await refresh('b3J0aGlzLWlzLW5vdC1hLXJlYWwtdG9rZW4tYXQtYWxsLW5vcGU'));
  });

  it('returns 401 for an expired refresh token', async () => {
    const account = await registerOrganization(server);
    const tokens = await login(server, account);
    await expireRefreshTokensOf(server, account.userId);
    expectRefreshRefused(await refresh(tokens.refresh_token));
  });

  it('returns 401 for a deactivated user', async () => {
    const { adminTokens, member: account } = await organizationWithMember(server);
    const tokens = await login(server, account);
    await disableUser(server, adminTokens, account.userId);
    expectRefreshRefused(await refresh(tokens.refresh_token));
  });

  it('returns 422 without a refresh_token', async () => {
    expectProblem(await server.request('POST', `${API}/auth/refresh`, { body: {} }), 422, 'request_invalid');
  });
});

describe('POST /auth/logout', () => {
  it("answers 200 with the old service's message and ends the session: its access and refresh tokens stop working", async () => {
    const account = await registerOrganization(server);
    const tokens = await login(server, account);
    const other = await login(server, account);
    const response = await logout(tokens);
    expect(response.response.status).toBe(200);
    expect(response.data).toEqual({ message: 'Successfully logged out' });

    expectProblem(await me(tokens), 401, 'session_ended');
    expectProblem(await logout(tokens), 401, 'session_ended');
    expectRefreshRefused(await refresh(tokens.refresh_token));
    expect((await me(other)).response.status).toBe(200);
    expect(await auditEventsOf(other, account.userId)).toContainEqual({ event_type: 'auth.logout', status: 'success' });
  });

  it('returns 401 without a token', async () => {
    expectProblem(await server.client().api.POST('/api/v1/enterprise/auth/logout'), 401, 'auth_credentials_missing');
  });
});

describe('POST /auth/password', () => {
  const changePassword = (tokens: Tokens, body: { current_password: string; new_password: string }) => server.client(tokens).api.POST('/api/v1/enterprise/auth/password', { body });

  it('changes the password: the old one stops working, the new one works, other sessions end, this one stays', async () => {
    const account = await registerOrganization(server);
    const current = await login(server, account);
    const elsewhere = await login(server, account);
    const newPassword = 'a brand new passphrase 2026';

    const response = await changePassword(current, { current_password: account.password, new_password: newPassword });
    expect(response.response.status).toBe(204);

    expect((await me(current)).response.status).toBe(200);
    expect((await refresh(current.refresh_token)).response.status).toBe(200);
    expectProblem(await me(elsewhere), 401, 'session_ended');
    expectRefreshRefused(await refresh(elsewhere.refresh_token));
    expectProblem(await loginAgain({ email: account.email, password: account.password }), 401, 'login_credentials_invalid');
    expect((await loginAgain({ email: account.email, password: newPassword })).response.status).toBe(200);
  });

  it('returns 401 for a wrong current password and counts it as a failed login', async () => {
    const account = await registerOrganization(server);
    const tokens = await login(server, account);
    const response = await changePassword(tokens, { current_password: 'wrong current password', new_password: 'another fine passphrase' });
    expectProblem(response, 401, 'password_incorrect');
    expect(await auditEventsOf(tokens, account.userId)).toContainEqual({ event_type: 'auth.login', status: 'failure' });
    expect((await loginAgain({ email: account.email, password: account.password })).response.status).toBe(200);
  });

  it.each([
    ['too short', 'short', 'request_invalid'],
    ['common', 'sunshine', 'password_too_common'],
  ] as const)('returns 422 for a new password that is %s', async (_label, newPassword, code) => {
    const account = await registerOrganization(server);
    const tokens = await login(server, account);
    expectProblem(await changePassword(tokens, { current_password: account.password, new_password: newPassword }), 422, code);
  });

  it('returns 422 for a new password equal to the email', async () => {
    const account = await registerOrganization(server);
    const tokens = await login(server, account);
    expectProblem(await changePassword(tokens, { current_password: account.password, new_password: account.email }), 422, 'password_matches_email');
  });

  it('returns 401 without a token', async () => {
    expectProblem(
      await server.client().api.POST('/api/v1/enterprise/auth/password', { body: { current_password: STRONG_PASSWORD, new_password: STRONG_PASSWORD } }),
      401,
      'auth_credentials_missing',
    );
  });
});
