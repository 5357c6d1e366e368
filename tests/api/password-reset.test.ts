import { createHash, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mailedTokenHashesOf, revokedReasonsOf } from '../helpers/database-facts.js';
import {
  type Account,
  API,
  auditCursor,
  auditEvents,
  disableUser,
  expectProblem,
  login,
  loginSuperadmin,
  organizationWithMember,
  registerOrganization,
  type Tokens,
  uniqueClientAddress,
  uniqueEmail,
} from '../helpers/fixtures.js';
import { linkIn, type Mailbox, startMailbox } from '../helpers/mailbox.js';
import { postResponse, samlOrganization, startLogin } from '../helpers/saml-fixtures.js';
import { startServer, type TestServer } from '../helpers/server.js';
import { expireMailedLinksOf } from '../helpers/time-travel.js';

const NEW_PASSWORD = 'a brand new passphrase of mine 77';
const PER_CLIENT = 5;

let server: TestServer;
let mailbox: Mailbox;
let root: Tokens;

/** A client address of its own per test, so no test spends another's mail budget. */
let client = uniqueClientAddress();

const requestReset = (email: string, from = client) => server.request('POST', `${API}/auth/password-reset`, { body: { email }, headers: { 'x-forwarded-for': from } });
const confirmReset = (token: string, newPassword = NEW_PASSWORD) =>
  server.request('POST', `${API}/auth/password-reset/confirm`, { body: { token, new_password: newPassword }, headers: { 'x-forwarded-for': client } });

/** Asks for a reset of the account's password and answers the token of the link that arrives. */
async function resetLink(account: Pick<Account, 'email'>): Promise<string> {
  const answer = await requestReset(account.email);
  expect(answer.status, answer.text).toBe(202);
  const mail = await mailbox.next(account.email, { subject: 'Reset your password' });
  const { url, token } = linkIn(mail);
  expect(`${url.origin}${url.pathname}`).toBe('https://app.fm-auth.test/reset-password');
  return token;
}

beforeAll(async () => {
  mailbox = await startMailbox();
  server = await startServer({
    ...mailbox.env,
    TRUST_PROXY: '1',
    EMAIL_MAX_PER_CLIENT_PER_HOUR: String(PER_CLIENT),
    SSO_REDIRECT_ALLOWLIST: 'https://app.example/sso/',
  });
  root = await loginSuperadmin(server);
});
afterAll(async () => {
  await server.close();
  await mailbox.close();
});

describe('POST /auth/password-reset', () => {
  it('mails a link whose token sets a new password once, revokes every session, and is audited', async () => {
    client = uniqueClientAddress();
    const since = auditCursor();
    const account = await registerOrganization(server);
    const first = await login(server, account);
    const second = await login(server, account);

    const token = await resetLink(account);
    const hashes = await mailedTokenHashesOf(server, account.userId);
    expect(hashes).toContain(createHash('sha256').update(token).digest('hex'));
    expect(hashes).not.toContain(token);

    expect((await confirmReset(token)).status).toBe(204);
    for (const tokens of [first, second]) {
      expectProblem(await server.request('GET', `${API}/auth/me`, { token: tokens.access_token }), 401, 'session_ended');
      expectProblem(await server.request('POST', `${API}/auth/refresh`, { body: { refresh_token: tokens.refresh_token } }), 401, 'refresh_token_invalid');
    }
    expect(await revokedReasonsOf(server, account.userId)).toEqual(['password_reset']);
    expectProblem(await server.request('POST', `${API}/auth/login`, { body: { email: account.email, password: account.password } }), 401, 'login_credentials_invalid');
    const fresh = await login(server, { email: account.email, password: NEW_PASSWORD });
    const me = await server.request('GET', `${API}/auth/me`, { token: fresh.access_token });
    expect(me.body.is_verified).toBe(true);

    expectProblem(await confirmReset(token, 'yet another passphrase of mine 88'), 400, 'password_reset_token_invalid');

    const events = await auditEvents(server, root, { since });
    const mine = events.filter((event) => event.actor_user_id === account.userId);
    expect(mine.find((event) => event.event_type === 'auth.password_reset_request')).toMatchObject({ status: 'success', context: { mail_sent: true } });
    expect(mine.find((event) => event.event_type === 'auth.password_reset')).toMatchObject({ status: 'success', context: { sessions_revoked: 2 } });
    expect(events.some((event) => event.event_type === 'auth.password_reset' && event.status === 'failure')).toBe(true);
  });

  it('answers a known, an unknown, a disabled and an SSO-linked address alike, and mails only the known one', async () => {
    client = uniqueClientAddress();
    const since = auditCursor();
    const { admin, adminTokens, member } = await organizationWithMember(server);
    await disableUser(server, adminTokens, member.userId);
    const domain = `reset-${randomUUID().slice(0, 8)}.example`;
    const { idp, configId, sp } = await samlOrganization(server, domain);
    const ssoEmail = `grace.${randomUUID().slice(0, 8)}@${domain}`;
    const signedIn = await postResponse(
      server,
      configId,
      idp.response(sp, { inResponseTo: await startLogin(server, configId), nameId: `okta|${randomUUID()}`, attributes: { mail: ssoEmail, displayName: 'Grace Hopper' } }),
    );
    expect(signedIn.status, signedIn.text).toBe(302);
    const unknown = uniqueEmail('nobody');

    const answers = await Promise.all([admin.email, unknown, member.email, ssoEmail].map((email) => requestReset(email)));
    for (const answer of answers) {
      expect(answer.status).toBe(202);
      expect(answer.body).toEqual(answers[0]?.body);
    }
    await mailbox.next(admin.email, { subject: 'Reset your password' });
    expect([unknown, member.email, ssoEmail].map((email) => mailbox.count(email, 'Reset your password'))).toEqual([0, 0, 0]);

    const requestIds = new Set(answers.map((answer) => answer.headers.get('x-request-id')));
    const reasons = (await auditEvents(server, root, { since, event_type: 'auth.password_reset_request' }))
      .filter((event) => requestIds.has(event.request_id))
      .map((event) => event.context.reason ?? 'sent');
    expect(reasons.sort()).toEqual(['account_inactive', 'sent', 'sso_account', 'unknown_email']);
  });

  it('refuses an expired link, and a weak password without spending the link', async () => {
    client = uniqueClientAddress();
    const account = await registerOrganization(server);
    const token = await resetLink(account);
    expectProblem(await confirmReset(token, 'password'), 422, 'password_too_common');
    expectProblem(await confirmReset(token, account.email), 422, 'password_matches_email');
    await expireMailedLinksOf(server, account.userId);
    expectProblem(await confirmReset(token), 400, 'password_reset_token_invalid');
    expectProblem(await confirmReset('made-up-token'), 400, 'password_reset_token_invalid');
  });

  it('mails one address at most 3 times an hour, still answering 202, and refuses a client past its budget with 429', async () => {
    client = uniqueClientAddress();
    const account = await registerOrganization(server);
    for (let i = 0; i < 4; i += 1) expect((await requestReset(account.email)).status).toBe(202);
    for (let i = 0; i < 3; i += 1) await mailbox.next(account.email, { subject: 'Reset your password' });
    // The fourth request sent nothing: a mail asked for after it arrives, and still only three reset links came.
    const other = await registerOrganization(server);
    expect((await requestReset(other.email)).status).toBe(202);
    await mailbox.next(other.email, { subject: 'Reset your password' });
    expect(mailbox.count(account.email, 'Reset your password')).toBe(3);

    const refused = await requestReset(uniqueEmail('flood'));
    expectProblem(refused, 429, 'rate_limited');
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
  });

  it('keeps tokens and full addresses out of the log', async () => {
    client = uniqueClientAddress();
    const account = await registerOrganization(server);
    const token = await resetLink(account);
    expect((await confirmReset(token)).status).toBe(204);
    const logs = server.logs();
    expect(logs).not.toContain(token);
    expect(logs).not.toContain(account.email);
    expect(logs).not.toContain(NEW_PASSWORD);
  });
});
