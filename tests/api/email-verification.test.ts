import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type Account,
  API,
  auditCursor,
  auditEvents,
  expectProblem,
  getUser,
  login,
  registerOrganization,
  STRONG_PASSWORD,
  type Tokens,
  uniqueClientAddress,
  uniqueEmail,
  updateUser,
} from '../helpers/fixtures.js';
import { linkIn, type Mailbox, startMailbox } from '../helpers/mailbox.js';
import { startServer, type TestServer } from '../helpers/server.js';
import { expireMailedLinksOf } from '../helpers/time-travel.js';

const CONFIRM = 'Confirm your email address';

let server: TestServer;
let mailbox: Mailbox;

const verify = (token: string) => server.request('POST', `${API}/auth/verify-email`, { body: { token } });
const resend = (email: string) => server.request('POST', `${API}/auth/verify-email/resend`, { body: { email }, headers: { 'x-forwarded-for': uniqueClientAddress() } });
const loginAnswer = (account: Pick<Account, 'email' | 'password'>) => server.request('POST', `${API}/auth/login`, { body: { email: account.email, password: account.password } });

/** The token of the next verification link mailed to the address, after checking where the link points. */
async function verificationToken(email: string): Promise<string> {
  const { url, token } = linkIn(await mailbox.next(email, { subject: CONFIRM }));
  expect(`${url.origin}${url.pathname}`).toBe('https://app.fm-auth.test/verify-email');
  return token;
}

/** A new organization whose Admin opened their verification link and logged in. */
async function verifiedAdmin(): Promise<{ admin: Account; adminTokens: Tokens }> {
  const admin = await registerOrganization(server);
  expect((await verify(await verificationToken(admin.email))).status).toBe(204);
  return { admin, adminTokens: await login(server, admin) };
}

beforeAll(async () => {
  mailbox = await startMailbox();
  server = await startServer({ ...mailbox.env, TRUST_PROXY: '1', REQUIRE_VERIFIED_EMAIL: 'true' });
});
afterAll(async () => {
  await server.close();
  await mailbox.close();
});

describe('POST /auth/verify-email', () => {
  it('verifies the registrant through the mailed link, once; until then login answers 403 after the password check', async () => {
    const since = auditCursor();
    const account = await registerOrganization(server);
    expectProblem(await loginAnswer(account), 403, 'email_not_verified');
    expectProblem(await loginAnswer({ email: account.email, password: 'not the password at all' }), 401, 'login_credentials_invalid');

    const token = await verificationToken(account.email);
    expect((await verify(token)).status).toBe(204);
    const tokens = await login(server, account);
    expect((await server.request('GET', `${API}/auth/me`, { token: tokens.access_token })).body.is_verified).toBe(true);
    expectProblem(await verify(token), 400, 'email_verification_token_invalid');

    const events = await auditEvents(server, tokens, { since });
    expect(events.find((event) => event.event_type === 'auth.email_verified')).toMatchObject({ status: 'success', actor_user_id: account.userId });
    expect(events.find((event) => event.event_type === 'auth.login' && event.status === 'failure' && event.context.reason === 'email_not_verified')).toBeDefined();
  });

  it('mails users created with a password, not SSO-only ones, and a link dies with an expiry or an address change', async () => {
    const { admin, adminTokens } = await verifiedAdmin();
    const create = (body: Record<string, unknown>) =>
      server.request('POST', `${API}/users`, { token: adminTokens.access_token, body: { organization_id: admin.organizationId, full_name: 'New Person', ...body } });
    const ssoOnly = (await create({ email: uniqueEmail('sso') })).body;
    const withPassword = (await create({ email: uniqueEmail('pw'), password: STRONG_PASSWORD })).body;
    const other = (await create({ email: uniqueEmail('other'), password: STRONG_PASSWORD })).body;
    expect([ssoOnly.is_verified, withPassword.is_verified]).toEqual([false, false]);

    const expiring = await verificationToken(withPassword.email);
    const moved = await verificationToken(other.email);
    expect(mailbox.count(ssoOnly.email)).toBe(0);
    await expireMailedLinksOf(server, withPassword.id);
    expectProblem(await verify(expiring), 400, 'email_verification_token_invalid');
    await updateUser(server, adminTokens, other.id, { email: uniqueEmail('moved') });
    expectProblem(await verify(moved), 400, 'email_verification_token_invalid');
    expect((await getUser(server, adminTokens, other.id)).is_verified).toBe(false);
  });
});

describe('POST /auth/verify-email/resend', () => {
  it('answers every address alike and mails a new link only to an unverified account', async () => {
    const account = await registerOrganization(server);
    const first = await verificationToken(account.email);
    const { admin: verified } = await verifiedAdmin();

    const answers = [await resend(account.email), await resend(uniqueEmail('nobody')), await resend(verified.email)];
    for (const answer of answers) {
      expect(answer.status).toBe(202);
      expect(answer.body).toEqual(answers[0]?.body);
    }
    const second = await verificationToken(account.email);
    expect(second).not.toBe(first);
    expect((await verify(second)).status).toBe(204);
    expect(mailbox.count(verified.email, CONFIRM)).toBe(1);
    expect((await loginAnswer(account)).status).toBe(200);
  });
});
