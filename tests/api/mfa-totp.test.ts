import { randomInt } from 'node:crypto';
import { decodeJwt } from 'jose';
import { generate } from 'otplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Account, API, auditCursor, auditEvents, expectProblem, joinOrganization, login, registerOrganization, type Tokens, updateOrganization } from '../helpers/fixtures.js';
import { type ApiResponse, startServer, type TestServer } from '../helpers/server.js';
import { ageLastTotpStep, expireMfaChallengesOf } from '../helpers/time-travel.js';

/** A client address of its own per call (TEST-NET-2), so throttling tests never share counters. */
const newClient = () => `198.51.${randomInt(256)}.${randomInt(1, 255)}`;
const RECOVERY_CODE = /^[2-9a-hjkmnp-z]{5}-[2-9a-hjkmnp-z]{5}$/;

let server: TestServer;
beforeAll(async () => {
  server = await startServer({ TRUST_PROXY: '1', LOGIN_MAX_FAILURES: '3', MFA_MAX_FAILURES: '5', MFA_TOTP_ISSUER: 'FaultMaven QA' });
});
afterAll(async () => {
  await server.close();
});

interface Call {
  body?: unknown;
  token?: string;
  client?: string;
}
const post = (path: string, { body, token, client }: Call = {}): Promise<ApiResponse> =>
  server.request('POST', `${API}${path}`, { body, token, headers: client ? { 'x-forwarded-for': client } : {} });

/** The code the user's app shows `steps` periods from now (otplib, from the secret the API answered). */
const codeAt = (secret: string, steps = 0) => generate({ secret, epoch: Math.floor(Date.now() / 1000) + steps * 30 });

interface Enrolled {
  account: Account;
  tokens: Tokens;
  secret: string;
  recoveryCodes: string[];
}

/** A new organization's Admin with a confirmed authenticator; the current period's code is spent by the confirmation. */
async function enrolled(account?: Account): Promise<Enrolled> {
  const user = account ?? (await registerOrganization(server));
  const tokens = await login(server, user);
  const enrolment = await post('/auth/mfa/totp/enrol', { token: tokens.access_token });
  expect(enrolment.status).toBe(200);
  const confirmed = await post('/auth/mfa/totp/confirm', { token: tokens.access_token, body: { code: await codeAt(enrolment.body.secret) } });
  expect(confirmed.status).toBe(200);
  // As if a period passed: the tests may use the current code again.
  await ageLastTotpStep(server, user.userId, 2);
  return { account: user, tokens, secret: enrolment.body.secret, recoveryCodes: confirmed.body.recovery_codes };
}

async function challenge(account: Account, client?: string): Promise<string> {
  const answer = await post('/auth/login', { body: { email: account.email, password: account.password }, client });
  expect(answer.status).toBe(200);
  expect(answer.body.mfa_required).toBe(true);
  return answer.body.challenge_token;
}

const me = async (token: string) => (await server.request('GET', `${API}/auth/me`, { token })).body;

describe('TOTP enrolment', () => {
  it('answers the secret once as an otpauth URI, stays pending until a code confirms it, then answers ten recovery codes', async () => {
    const account = await registerOrganization(server);
    const tokens = await login(server, account);
    const enrolment = await post('/auth/mfa/totp/enrol', { token: tokens.access_token });
    expect(enrolment.status).toBe(200);
    expect(enrolment.body).toMatchObject({ secret: expect.stringMatching(/^[A-Z2-7]{32}$/), algorithm: 'SHA1', digits: 6, period: 30 });
    const uri = new URL(enrolment.body.otpauth_uri);
    expect(uri.protocol).toBe('otpauth:');
    expect(uri.searchParams.get('secret')).toBe(enrolment.body.secret);
    expect(uri.searchParams.get('issuer')).toBe('FaultMaven QA');
    expect(decodeURIComponent(uri.pathname)).toContain(account.email);

    // Pending: nothing changes for logins yet.
    expect((await me(tokens.access_token)).mfa_enabled).toBe(false);
    expect((await login(server, account)).access_token).toEqual(expect.any(String));

    expectProblem(await post('/auth/mfa/totp/confirm', { token: tokens.access_token, body: { code: '000000' } }), 401, 'mfa_code_invalid');
    expectProblem(await post('/auth/mfa/totp/confirm', { token: tokens.access_token, body: { code: '12345' } }), 422, 'request_invalid');
    const confirmed = await post('/auth/mfa/totp/confirm', { token: tokens.access_token, body: { code: await codeAt(enrolment.body.secret) } });
    expect(confirmed.status).toBe(200);
    expect(confirmed.body.recovery_codes).toHaveLength(10);
    for (const code of confirmed.body.recovery_codes) expect(code).toMatch(RECOVERY_CODE);
    expect(new Set(confirmed.body.recovery_codes).size).toBe(10);
    expect((await me(tokens.access_token)).mfa_enabled).toBe(true);

    expectProblem(await post('/auth/mfa/totp/enrol', { token: tokens.access_token }), 409, 'mfa_already_enabled');
    expectProblem(await post('/auth/mfa/totp/confirm', { token: tokens.access_token, body: { code: await codeAt(enrolment.body.secret, 1) } }), 409, 'mfa_already_enabled');
  });

  it('refuses to confirm before enrolling, and a new enrolment replaces the pending secret', async () => {
    const account = await registerOrganization(server);
    const tokens = await login(server, account);
    expectProblem(await post('/auth/mfa/totp/confirm', { token: tokens.access_token, body: { code: '123456' } }), 409, 'mfa_enrolment_not_started');
    const first = (await post('/auth/mfa/totp/enrol', { token: tokens.access_token })).body.secret;
    const second = (await post('/auth/mfa/totp/enrol', { token: tokens.access_token })).body.secret;
    expect(second).not.toBe(first);
    const stale = await post('/auth/mfa/totp/confirm', { token: tokens.access_token, body: { code: await codeAt(first) } });
    // The replaced secret's code matches the new one only by a one-in-a-million chance.
    if ((await codeAt(first)) !== (await codeAt(second))) expectProblem(stale, 401, 'mfa_code_invalid');
    expect((await post('/auth/mfa/totp/confirm', { token: tokens.access_token, body: { code: await codeAt(second, 1) } })).status).toBe(200);
  });

  it('needs a signed-in caller', async () => {
    expectProblem(await post('/auth/mfa/totp/enrol'), 401, 'auth_credentials_missing');
  });
});

describe('login with a second factor', () => {
  it('answers a challenge instead of tokens, and the verified code the token pair, amr and all, kept across refresh', async () => {
    const { account, secret } = await enrolled();
    const answer = await post('/auth/login', { body: { email: account.email, password: account.password } });
    expect(answer.status).toBe(200);
    expect(answer.body).toEqual({ mfa_required: true, mfa_enrollment_required: false, challenge_token: expect.any(String), methods: ['totp', 'recovery_code'], expires_in: 300 });

    const verified = await post('/auth/mfa/verify', { body: { challenge_token: answer.body.challenge_token, code: await codeAt(secret) } });
    expect(verified.status).toBe(200);
    expect(verified.body.token_type).toBe('bearer');
    expect(decodeJwt(verified.body.access_token).amr).toEqual(['pwd', 'otp', 'mfa']);
    expect((await me(verified.body.access_token)).email).toBe(account.email);

    const refreshed = await post('/auth/refresh', { body: { refresh_token: verified.body.refresh_token } });
    expect(refreshed.status).toBe(200);
    expect(decodeJwt(refreshed.body.access_token).amr).toEqual(['pwd', 'otp', 'mfa']);
  });

  it('keeps the plain token pair for users without MFA, with amr ["pwd"]', async () => {
    const tokens = await login(server, await registerOrganization(server));
    expect(decodeJwt(tokens.access_token).amr).toEqual(['pwd']);
    expect((await me(tokens.access_token)).mfa_enabled).toBe(false);
  });

  it('refuses a wrong code and a replayed one', async () => {
    const { account, secret } = await enrolled();
    const token = await challenge(account);
    expectProblem(await post('/auth/mfa/verify', { body: { challenge_token: token, code: '000000' } }), 401, 'mfa_code_invalid');
    const code = await codeAt(secret);
    expect((await post('/auth/mfa/verify', { body: { challenge_token: token, code } })).status).toBe(200);
    // The same code within its 30 seconds, on a new login: refused.
    expectProblem(await post('/auth/mfa/verify', { body: { challenge_token: await challenge(account), code } }), 401, 'mfa_code_invalid');
    // The next period's code is another code: accepted.
    expect((await post('/auth/mfa/verify', { body: { challenge_token: await challenge(account), code: await codeAt(secret, 1) } })).status).toBe(200);
  });

  it('spends a challenge on use, on expiry and after five wrong codes', async () => {
    const { account, secret } = await enrolled();
    const used = await challenge(account);
    expect((await post('/auth/mfa/verify', { body: { challenge_token: used, code: await codeAt(secret) } })).status).toBe(200);
    await ageLastTotpStep(server, account.userId, 2);
    expectProblem(await post('/auth/mfa/verify', { body: { challenge_token: used, code: await codeAt(secret) } }), 401, 'mfa_challenge_invalid');

    const expiring = await challenge(account);
    await expireMfaChallengesOf(server, account.userId);
    expectProblem(await post('/auth/mfa/verify', { body: { challenge_token: expiring, code: await codeAt(secret) } }), 401, 'mfa_challenge_invalid');

    // From clients of their own, so the throttle (3 per client) is not what stops them.
    const exhausted = await challenge(account);
    for (let i = 0; i < 5; i += 1) {
      expectProblem(await post('/auth/mfa/verify', { body: { challenge_token: exhausted, code: '000000' }, client: newClient() }), 401, 'mfa_code_invalid');
    }
    expectProblem(await post('/auth/mfa/verify', { body: { challenge_token: exhausted, code: await codeAt(secret) }, client: newClient() }), 401, 'mfa_challenge_invalid');
    expectProblem(await post('/auth/mfa/verify', { body: { challenge_token: 'mfa_unknown', code: await codeAt(secret) } }), 401, 'mfa_challenge_invalid');
  });

  it('takes exactly one of code and recovery_code', async () => {
    const { account, secret, recoveryCodes } = await enrolled();
    const token = await challenge(account);
    expectProblem(await post('/auth/mfa/verify', { body: { challenge_token: token } }), 422, 'mfa_code_ambiguous');
    expectProblem(await post('/auth/mfa/verify', { body: { challenge_token: token, code: await codeAt(secret), recovery_code: recoveryCodes[0] } }), 422, 'mfa_code_ambiguous');
  });
});

describe('recovery codes', () => {
  it('let the user in once each, in any letter case, and regenerating them needs a code and retires the old ones', async () => {
    const { account, tokens, secret, recoveryCodes } = await enrolled();
    const [first, second] = recoveryCodes as [string, string];
    const typed = first.toUpperCase().replace('-', ' ');
    const verified = await post('/auth/mfa/verify', { body: { challenge_token: await challenge(account), recovery_code: typed } });
    expect(verified.status).toBe(200);
    expect(decodeJwt(verified.body.access_token).amr).toEqual(['pwd', 'mfa']);
    expectProblem(await post('/auth/mfa/verify', { body: { challenge_token: await challenge(account), recovery_code: first } }), 401, 'mfa_code_invalid');

    expectProblem(await post('/auth/mfa/recovery-codes', { token: tokens.access_token, body: { code: '000000' } }), 401, 'mfa_code_invalid');
    const regenerated = await post('/auth/mfa/recovery-codes', { token: tokens.access_token, body: { code: await codeAt(secret) } });
    expect(regenerated.status).toBe(200);
    expect(regenerated.body.recovery_codes).toHaveLength(10);
    expect(regenerated.body.recovery_codes).not.toContain(second);
    expectProblem(await post('/auth/mfa/verify', { body: { challenge_token: await challenge(account), recovery_code: second } }), 401, 'mfa_code_invalid');
    expect((await post('/auth/mfa/verify', { body: { challenge_token: await challenge(account), recovery_code: regenerated.body.recovery_codes[0] } })).status).toBe(200);
  });
});

describe('turning TOTP off', () => {
  it('needs a fresh code, then logins answer tokens again', async () => {
    const { account, tokens, secret } = await enrolled();
    expectProblem(await post('/auth/mfa/totp/disable', { token: tokens.access_token, body: { code: '000000' } }), 401, 'mfa_code_invalid');
    expect((await me(tokens.access_token)).mfa_enabled).toBe(true);
    const code = await codeAt(secret);
    expect((await post('/auth/mfa/verify', { body: { challenge_token: await challenge(account), code } })).status).toBe(200);
    // The code just used for a login is not fresh.
    expectProblem(await post('/auth/mfa/totp/disable', { token: tokens.access_token, body: { code } }), 401, 'mfa_code_invalid');
    expect((await post('/auth/mfa/totp/disable', { token: tokens.access_token, body: { code: await codeAt(secret, 1) } })).status).toBe(204);
    expect((await me(tokens.access_token)).mfa_enabled).toBe(false);
    expect(decodeJwt((await login(server, account)).access_token).amr).toEqual(['pwd']);
    expectProblem(await post('/auth/mfa/totp/disable', { token: tokens.access_token, body: { code: await codeAt(secret) } }), 409, 'mfa_not_enabled');
    expectProblem(await post('/auth/mfa/recovery-codes', { token: tokens.access_token, body: { code: await codeAt(secret) } }), 409, 'mfa_not_enabled');
  });
});

describe('organization policy require_mfa', () => {
  it('makes a user without a factor enrol before getting tokens, and keeps the factor on', async () => {
    const admin = await registerOrganization(server);
    const adminTokens = await login(server, admin);
    const member = await joinOrganization(server, admin, adminTokens);
    expect((await server.request('GET', `${API}/organizations/${admin.organizationId}`, { token: adminTokens.access_token })).body.require_mfa).toBe(false);
    expect((await updateOrganization(server, adminTokens, admin.organizationId, { require_mfa: true })).require_mfa).toBe(true);

    const answer = await post('/auth/login', { body: { email: member.email, password: member.password } });
    expect(answer.body).toEqual({ mfa_required: true, mfa_enrollment_required: true, challenge_token: expect.any(String), methods: ['totp', 'webauthn'], expires_in: 300 });
    const token = answer.body.challenge_token;
    expectProblem(await post('/auth/mfa/verify', { body: { challenge_token: token, code: '123456' } }), 401, 'mfa_challenge_invalid');

    const enrolment = await post('/auth/mfa/challenge/totp/enrol', { body: { challenge_token: token } });
    expect(enrolment.status).toBe(200);
    expectProblem(await post('/auth/mfa/challenge/totp/confirm', { body: { challenge_token: token, code: '000000' } }), 401, 'mfa_code_invalid');
    const confirmed = await post('/auth/mfa/challenge/totp/confirm', { body: { challenge_token: token, code: await codeAt(enrolment.body.secret) } });
    expect(confirmed.status).toBe(200);
    expect(confirmed.body.recovery_codes).toHaveLength(10);
    expect(decodeJwt(confirmed.body.access_token).amr).toEqual(['pwd', 'otp', 'mfa']);
    expect((await me(confirmed.body.access_token)).mfa_enabled).toBe(true);
    expectProblem(await post('/auth/mfa/challenge/totp/enrol', { body: { challenge_token: token } }), 401, 'mfa_challenge_invalid');

    // From now on the ordinary challenge, and the factor cannot be turned off.
    const next = await post('/auth/login', { body: { email: member.email, password: member.password } });
    expect(next.body.mfa_enrollment_required).toBe(false);
    expectProblem(
      await post('/auth/mfa/totp/disable', { token: confirmed.body.access_token, body: { code: await codeAt(enrolment.body.secret, 1) } }),
      403,
      'mfa_required_by_organization',
    );
  });
});

describe('throttling wrong codes', () => {
  it('locks one client out of one account after LOGIN_MAX_FAILURES wrong codes, across new logins, while another client still gets in', async () => {
    const { account, secret } = await enrolled();
    const attacker = newClient();
    for (let i = 0; i < 3; i += 1) {
      expectProblem(await post('/auth/mfa/verify', { body: { challenge_token: await challenge(account, attacker), code: '000000' }, client: attacker }), 401, 'mfa_code_invalid');
    }
    // A correct password does not reset the count of wrong codes.
    const locked = await post('/auth/mfa/verify', { body: { challenge_token: await challenge(account, attacker), code: await codeAt(secret) }, client: attacker });
    expectProblem(locked, 429, 'login_throttled');
    expect(Number(locked.headers.get('retry-after'))).toBeGreaterThan(0);
    const owner = newClient();
    expect((await post('/auth/mfa/verify', { body: { challenge_token: await challenge(account, owner), code: await codeAt(secret) }, client: owner })).status).toBe(200);
  });

  it('locks the account after MFA_MAX_FAILURES wrong codes from all clients', async () => {
    const { account, secret } = await enrolled();
    for (let i = 0; i < 5; i += 1) {
      const client = newClient();
      expectProblem(await post('/auth/mfa/verify', { body: { challenge_token: await challenge(account, client), code: '000000' }, client }), 401, 'mfa_code_invalid');
    }
    const client = newClient();
    expectProblem(await post('/auth/mfa/verify', { body: { challenge_token: await challenge(account, client), code: await codeAt(secret) }, client }), 429, 'login_throttled');
  });
});

describe('audit trail and secrecy', () => {
  it('audits every MFA event, and no secret, code or challenge token reaches a log line, an audit row or an error body', async () => {
    const since = auditCursor();
    const { account, tokens, secret, recoveryCodes } = await enrolled();
    const wrong = await post('/auth/mfa/verify', { body: { challenge_token: await challenge(account), code: '000000' } });
    const token = await challenge(account);
    const code = await codeAt(secret);
    expect((await post('/auth/mfa/verify', { body: { challenge_token: token, code } })).status).toBe(200);
    const replayed = await post('/auth/mfa/verify', { body: { challenge_token: token, code } });
    const recovery = recoveryCodes[0] as string;
    expect((await post('/auth/mfa/verify', { body: { challenge_token: await challenge(account), recovery_code: recovery } })).status).toBe(200);
    const regenerated = await post('/auth/mfa/recovery-codes', { token: tokens.access_token, body: { code: await codeAt(secret, 1) } });
    await ageLastTotpStep(server, account.userId, 2);
    expect((await post('/auth/mfa/totp/disable', { token: tokens.access_token, body: { code: await codeAt(secret) } })).status).toBe(204);

    const events = (await auditEvents(server, tokens, { user_id: account.userId, since })).reverse();
    const seen = events.filter(({ event_type }) => event_type.startsWith('mfa.') || event_type === 'auth.login').map(({ event_type, status }) => `${event_type}:${status}`);
    // Rows of one transaction share its timestamp, so only the set of events is stable, not their order.
    expect([...seen].sort()).toEqual(
      [
        'auth.login:success',
        'mfa.totp_enrol:success',
        'mfa.totp_confirm:success',
        'mfa.challenge_issue:success',
        'mfa.verify:failure',
        'mfa.challenge_issue:success',
        'mfa.verify:success',
        'auth.login:success',
        'mfa.challenge_refused:denied',
        'mfa.challenge_issue:success',
        'mfa.recovery_code_used:success',
        'mfa.verify:success',
        'auth.login:success',
        'mfa.recovery_codes_regenerate:success',
        'mfa.totp_disable:success',
      ].sort(),
    );
    expect(events.find(({ event_type }) => event_type === 'mfa.challenge_refused')?.context).toEqual({ reason: 'used' });
    expect(events.filter(({ event_type }) => event_type === 'auth.login').map(({ context }) => context.amr)).toEqual([['pwd'], ['pwd', 'otp', 'mfa'], ['pwd', 'mfa']]);

    const secrets = [secret, code, token, recovery, ...recoveryCodes, ...(regenerated.body.recovery_codes as string[])];
    const logs = server.logs();
    const audit = JSON.stringify(events);
    const errorBodies = [wrong, replayed].map(({ text }) => text).join('\n');
    for (const value of secrets) {
      expect(logs).not.toContain(value);
      expect(audit).not.toContain(value);
      expect(errorBodies).not.toContain(value);
    }
  });
});
