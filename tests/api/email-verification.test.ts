import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type Account,
  API,
  auditCursor,
  auditEvents,
  expectProblem,
  getUser,
  login,
  loginSuperadmin,
  STRONG_PASSWORD,
  type Tokens,
  uniqueClientAddress,
  uniqueEmail,
  updateUser,
} from '../helpers/fixtures.js';
import { startDnsServer, type TestDnsServer } from '../helpers/dns-server.js';
import { proveDomain, uniqueDomain } from '../helpers/domain-fixtures.js';
import { linkIn, type Mailbox, startMailbox } from '../helpers/mailbox.js';
import { startServer, type TestServer } from '../helpers/server.js';
import { expireMailedLinksOf } from '../helpers/time-travel.js';

const CONFIRM = 'Confirm your email address';

let server: TestServer;
let mailbox: Mailbox;
let dns: TestDnsServer;

const verify = (token: string) => server.request('POST', `${API}/auth/verify-email`, { body: { token } });
const resend = (email: string) => server.request('POST', `${API}/auth/verify-email/resend`, { body: { email }, headers: { 'x-forwarded-for': uniqueClientAddress() } });
const loginAnswer = (account: Pick<Account, 'email' | 'password'>) => server.request('POST', `${API}/auth/login`, { body: { email: account.email, password: account.password } });

/** The token of the next verification link mailed to the address, after checking where the link points. */
async function verificationToken(email: string): Promise<string> {
  const { url, token } = linkIn(await mailbox.next(email, { subject: CONFIRM }));
  expect(`${url.origin}${url.pathname}`).toBe('https://app.fm-auth.test/verify-email');
  return token;
}

const REGISTERING = { message: 'Check your inbox to finish registering' };
const register = (body: Record<string, unknown>) => server.request('POST', `${API}/auth/register`, { body, headers: { 'x-forwarded-for': uniqueClientAddress() } });

/** Registers a new organization as anyone does here: the answer is a 202 that names no account. */
async function registerPending(): Promise<Pick<Account, 'email' | 'password'>> {
  const email = uniqueEmail('admin');
  const answer = await register({ email, password: STRONG_PASSWORD, full_name: 'Ada Admin', organization_name: `Org ${randomUUID().slice(0, 8)}` });
  expect(answer.status, answer.text).toBe(202);
  expect(answer.body).toEqual(REGISTERING);
  return { email, password: STRONG_PASSWORD };
}

/** The account's ids, read as its owner once logged in. */
async function accountOf(credentials: Pick<Account, 'email' | 'password'>): Promise<{ account: Account; tokens: Tokens }> {
  const tokens = await login(server, credentials);
  const me = (await server.request('GET', `${API}/auth/me`, { token: tokens.access_token })).body;
  return { account: { ...credentials, userId: me.id, organizationId: me.organization_id }, tokens };
}

/** A new organization whose Admin opened their verification link and logged in. */
async function verifiedAdmin(): Promise<{ admin: Account; adminTokens: Tokens }> {
  const registered = await registerPending();
  expect((await verify(await verificationToken(registered.email))).status).toBe(204);
  const { account, tokens } = await accountOf(registered);
  return { admin: account, adminTokens: tokens };
}

beforeAll(async () => {
  mailbox = await startMailbox();
  dns = await startDnsServer();
  server = await startServer({ ...mailbox.env, ...dns.env, TRUST_PROXY: '1', REQUIRE_VERIFIED_EMAIL: 'true' });
});
afterAll(async () => {
  await server.close();
  await mailbox.close();
  await dns.close();
});

describe('POST /auth/verify-email', () => {
  it('verifies the registrant through the mailed link, once; until then login answers 403 after the password check', async () => {
    const since = auditCursor();
    const account = await registerPending();
    expectProblem(await loginAnswer(account), 403, 'email_not_verified');
    expectProblem(await loginAnswer({ email: account.email, password: 'not the password at all' }), 401, 'login_credentials_invalid');

    const token = await verificationToken(account.email);
    expect((await verify(token)).status).toBe(204);
    const { account: verified, tokens } = await accountOf(account);
    expect((await server.request('GET', `${API}/auth/me`, { token: tokens.access_token })).body.is_verified).toBe(true);
    expectProblem(await verify(token), 400, 'email_verification_token_invalid');

    const events = await auditEvents(server, tokens, { since });
    expect(events.find((event) => event.event_type === 'auth.email_verified')).toMatchObject({ status: 'success', actor_user_id: verified.userId });
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
    const account = await registerPending();
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

describe('POST /auth/register with verified addresses required', () => {
  const NOTICE = 'Someone tried to register with your email address';

  it('answers a new and a taken address alike, mails the newcomer a link and the owner a notice, and changes nothing of the owner', async () => {
    const root = await loginSuperadmin(server);
    const since = auditCursor();
    const { admin: owner } = await verifiedAdmin();
    const squatter = { password: 'a squatter passphrase 2026', full_name: 'Not The Owner' };
    const takenOrganization = `Squat ${randomUUID().slice(0, 8)}`;

    const fresh = await register({ email: uniqueEmail('newcomer'), ...squatter, organization_name: `Fresh ${randomUUID().slice(0, 8)}` });
    const taken = await register({ email: owner.email.toUpperCase(), ...squatter, organization_name: takenOrganization });
    for (const answer of [fresh, taken]) {
      expect(answer.status).toBe(202);
      expect(answer.body).toEqual(REGISTERING);
      expect(answer.headers.get('content-type')).toBe(fresh.headers.get('content-type'));
    }

    const notice = await mailbox.next(owner.email, { subject: NOTICE });
    expect(notice.text).toContain('https://app.fm-auth.test/reset-password');
    expect(notice.text).not.toMatch(/#token=/);
    expect(mailbox.count(owner.email, CONFIRM)).toBe(1);
    // The owner's account is untouched, the squatter's password opens nothing, and no organization was made.
    expect((await loginAnswer(owner)).status).toBe(200);
    expectProblem(await loginAnswer({ email: owner.email, password: squatter.password }), 401, 'login_credentials_invalid');
    const organizations = (await server.request('GET', `${API}/organizations?limit=100`, { token: root.access_token, headers: { 'x-forwarded-for': uniqueClientAddress() } })).body;
    expect(organizations.map((organization: { name: string }) => organization.name)).not.toContain(takenOrganization);
    const attempts = (await auditEvents(server, root, { since, event_type: 'auth.register' })).filter((event) => event.status === 'failure');
    expect(attempts).toEqual([expect.objectContaining({ organization_id: owner.organizationId, context: { reason: 'email_taken', owner_notified: true } })]);
  });

  it('answers an address of a domain another organization verified as it answers a taken one, and mails nobody', async () => {
    const { admin: owner, adminTokens } = await verifiedAdmin();
    const domain = uniqueDomain();
    await proveDomain(server, dns, adminTokens, owner.organizationId, domain);
    const outsider = { email: `someone@${domain}`, password: STRONG_PASSWORD };

    const answer = await register({ ...outsider, full_name: 'Out Sider', organization_name: `Outside ${randomUUID().slice(0, 8)}` });
    expect(answer.status).toBe(202);
    expect(answer.body).toEqual(REGISTERING);
    // A mail sent after the attempt arrives; none came for the address, and it has no account.
    await verifiedAdmin();
    expect(mailbox.count(outsider.email)).toBe(0);
    expectProblem(await loginAnswer(outsider), 401, 'login_credentials_invalid');
  });

  it('notifies an owner at most as often as the per-address mail limit allows, answering 202 throughout', async () => {
    const { admin: owner } = await verifiedAdmin();
    // The owner's own registration spent one of the address's 3 mails of the hour.
    for (let i = 0; i < 4; i += 1)
      expect((await register({ email: owner.email, password: STRONG_PASSWORD, full_name: 'Again', organization_name: `Again ${i}` })).status).toBe(202);
    for (let i = 0; i < 2; i += 1) await mailbox.next(owner.email, { subject: NOTICE });
    // A mail sent after the four attempts arrives, and still only two notices came.
    const { admin: other } = await verifiedAdmin();
    expect(other.email).not.toBe(owner.email);
    expect(mailbox.count(owner.email, NOTICE)).toBe(2);
  });
});
