import type { Credentials } from 'fm-auth/client';
import jwt from 'jsonwebtoken';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type Account,
  API,
  deleteUser,
  disableOrganization,
  disableUser,
  expectProblem,
  getUser,
  login,
  loginSuperadmin,
  organizationWithMember,
  registerOrganization,
  type Tokens,
} from '../helpers/fixtures.js';
import { startServer, TEST_JWT_SECRET, type TestServer } from '../helpers/server.js';
import type { ProblemCode } from '../../src/core/errors.js';

let server: TestServer;
let account: Account;
let tokens: Tokens;
/** The platform super-admin, who alone may deactivate an organization. */
let root: Tokens;

beforeAll(async () => {
  server = await startServer();
  account = await registerOrganization(server);
  tokens = await login(server, account);
  root = await loginSuperadmin(server);
});
afterAll(async () => {
  await server.close();
});

/**
 * The token alone as the bearer, on a client holding no pair: given the pair, the client would refresh a refused
 * access token and retry, hiding the refusal these tests are about.
 */
const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
const me = (token: string, target = server) => target.client().api.GET('/api/v1/enterprise/auth/me', { headers: bearer(token) });
const attemptLogin = (body: Credentials) => server.client().api.POST('/api/v1/enterprise/auth/login', { body });

function claimsOf(token: string): Record<string, unknown> {
  return jwt.decode(token) as Record<string, unknown>;
}

function resign(claims: Record<string, unknown>, key = TEST_JWT_SECRET, algorithm: jwt.Algorithm = 'HS256'): string {
  return jwt.sign(claims, key, { algorithm });
}

/** The access token's claims signed with our key, less one (jsonwebtoken adds iat unless told not to). */
function resignWithout(claim: string): string {
  const { [claim]: _dropped, ...claims } = claimsOf(tokens.access_token);
  return jwt.sign(claims, TEST_JWT_SECRET, { algorithm: 'HS256', noTimestamp: claim === 'iat' });
}

describe('POST /auth/login', () => {
  it('answers a bearer token pair whose access token carries the documented claims', async () => {
    expect(tokens).toEqual({ access_token: expect.any(String), refresh_token: expect.any(String), token_type: 'bearer', expires_in: 1800 });
    const claims = claimsOf(tokens.access_token);
    expect(claims).toMatchObject({ sub: account.userId, email: account.email, org_id: account.organizationId, type: 'access', iss: 'fm-auth', aud: 'fm-auth-api' });
    expect(claims.sid).toEqual(expect.any(String));
    expect(claims.jti).toEqual(expect.any(String));
    expect(Number(claims.exp) - Number(claims.iat)).toBe(1800);
    expect(tokens.refresh_token).toMatch(/^[A-Za-z0-9_-]{43}$/);
  });

  it('accepts the email in any letter case and records last_login_at', async () => {
    const response = await attemptLogin({ email: account.email.toUpperCase(), password: account.password });
    expect(response.response.status).toBe(200);
    const row = await getUser(server, tokens, account.userId);
    expect(Date.now() - Date.parse(String(row.last_login_at))).toBeLessThan(60_000);
  });

  it('gives unknown email and wrong password the identical 401 body', async () => {
    const wrongPassword = await attemptLogin({ email: account.email, password: 'not the password at all' });
    const unknownEmail = await attemptLogin({ email: 'nobody-here@example.com', password: 'not the password at all' });
    expectProblem(wrongPassword, 401, 'login_credentials_invalid');
    expectProblem(unknownEmail, 401, 'login_credentials_invalid');
    const { instance: _a, request_id: _c, ...wrongBody } = wrongPassword.error ?? {};
    const { instance: _b, request_id: _d, ...unknownBody } = unknownEmail.error ?? {};
    expect(wrongBody).toEqual(unknownBody);
  });

  it('tells a disabled user and an inactive organization why only once the password is verified', async () => {
    const { adminTokens, member: disabled } = await organizationWithMember(server);
    await disableUser(server, adminTokens, disabled.userId);
    const inactiveOrg = await registerOrganization(server);
    await disableOrganization(server, root, inactiveOrg.organizationId);
    for (const refused of [disabled, inactiveOrg]) {
      const response = await attemptLogin({ email: refused.email, password: refused.password });
      expectProblem(response, 401, 'account_disabled');
      expect(response.error?.detail).toMatch(/^Account is disabled/);
      const guessed = await attemptLogin({ email: refused.email, password: 'not the password at all' });
      expectProblem(guessed, 401, 'login_credentials_invalid');
      expect(guessed.error?.detail).toBe('Incorrect email or password');
    }
  });

  it('refuses a deleted user', async () => {
    const { adminTokens, member: deleted } = await organizationWithMember(server);
    await deleteUser(server, adminTokens, deleted.userId);
    const response = await attemptLogin({ email: deleted.email, password: deleted.password });
    expectProblem(response, 401, 'login_credentials_invalid');
  });

  it('returns 422 for a body without a password', async () => {
    expectProblem(await server.request('POST', `${API}/auth/login`, { body: { email: account.email } }), 422, 'request_invalid');
  });
});

describe('GET /auth/me', () => {
  it('answers the caller with roles and sorted permissions', async () => {
    const response = await me(tokens.access_token);
    expect(response.response.status).toBe(200);
    expect(response.data).toMatchObject({
      id: account.userId,
      email: account.email,
      organization_id: account.organizationId,
      team_id: null,
      is_active: true,
      is_verified: false,
      sso_provider: null,
      roles: [{ id: '00000000-0000-4000-8000-000000000001', name: 'Admin', description: expect.any(String) }],
    });
    expect(response.data?.permissions).toEqual([...(response.data?.permissions ?? [])].sort());
    expect(response.data?.permissions).toHaveLength(19);
  });

  it('returns 401 with a Bearer challenge without a token', async () => {
    const response = await server.client().api.GET('/api/v1/enterprise/auth/me');
    expectProblem(response, 401, 'auth_credentials_missing');
    expect(response.response.headers.get('www-authenticate')).toBe('Bearer');
  });

  it('returns 401 for a non-bearer Authorization header', async () => {
    expectProblem(await server.client().api.GET('/api/v1/enterprise/auth/me', { headers: { authorization: 'Basic dXNlcjpwYXNz' } }), 401, 'auth_header_malformed');
  });

  describe('token attacks, each 401', () => {
    it.each<[string, () => string]>([
      ['alg none', () => jwt.sign(claimsOf(tokens.access_token), '', { algorithm: 'none' })],
      ['signed with another key', () => resign(claimsOf(tokens.access_token), 'another-key-another-key-another-key-123')],
      ['signed with another HMAC algorithm', () => resign(claimsOf(tokens.access_token), TEST_JWT_SECRET, 'HS512')],
      ['expired', () => resign({ ...claimsOf(tokens.access_token), iat: 1_600_000_000, exp: 1_600_000_600 })],
      ['wrong iss', () => resign({ ...claimsOf(tokens.access_token), iss: 'someone-else' })],
      ['wrong aud', () => resign({ ...claimsOf(tokens.access_token), aud: 'another-api' })],
      ['not an access token', () => resign({ ...claimsOf(tokens.access_token), type: 'refresh' })],
      ['a session id that never existed', () => resign({ ...claimsOf(tokens.access_token), sid: '0b7a9b52-1d55-4c1e-9f0e-3d2b7c9a1e44' })],
      [
        'payload tampered',
        () => {
          const [header, , signature] = tokens.access_token.split('.');
          const payload = Buffer.from(JSON.stringify({ ...claimsOf(tokens.access_token), email: 'boss@example.com' })).toString('base64url');
          return `${header}.${payload}.${signature}`;
        },
      ],
      ['without exp', () => resignWithout('exp')],
      ['without iat', () => resignWithout('iat')],
      ['without jti', () => resignWithout('jti')],
      ['without sid', () => resignWithout('sid')],
      ['a refresh token sent as a bearer token', () => tokens.refresh_token],
      ['garbage', () => 'not-a-jwt'],
    ])('%s', async (label, forge) => {
      const response = await me(forge());
      const expected: Partial<Record<string, ProblemCode>> = { expired: 'token_expired', 'a session id that never existed': 'session_ended' };
      expectProblem(response, 401, expected[label] ?? 'token_invalid');
      expect(response.response.headers.get('www-authenticate')).toMatch(/^Bearer/);
    });

    it('an access token of a user deactivated after it was issued', async () => {
      const { adminTokens, member: victim } = await organizationWithMember(server);
      const victimTokens = await login(server, victim);
      expect((await me(victimTokens.access_token)).response.status).toBe(200);
      await disableUser(server, adminTokens, victim.userId);
      expectProblem(await me(victimTokens.access_token), 401, 'account_disabled');
    });

    it('an access token of an organization deactivated after it was issued', async () => {
      const victim = await registerOrganization(server);
      const victimTokens = await login(server, victim);
      await disableOrganization(server, root, victim.organizationId);
      expectProblem(await me(victimTokens.access_token), 401, 'account_disabled');
    });
  });
});

describe('JWT_SECRET_KEY_PREVIOUS', () => {
  it('keeps tokens signed with the previous key valid during rotation, and signs with the new one', async () => {
    const rotated = await startServer({ JWT_SECRET_KEY: 'the-new-signing-key-after-rotation-0123456789', JWT_SECRET_KEY_PREVIOUS: TEST_JWT_SECRET });
    try {
      expect((await me(tokens.access_token, rotated)).response.status).toBe(200);
      const fresh = await login(rotated, account);
      expect((await me(fresh.access_token)).response.status).toBe(401);
    } finally {
      await rotated.close();
    }
  });
});
