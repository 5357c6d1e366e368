import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hasPassword } from '../helpers/database-facts.js';
import {
  type Account,
  API,
  auditCursor,
  auditEvents,
  expectProblem,
  getUser,
  joinOrganization,
  login,
  registerOrganization,
  STRONG_PASSWORD,
  SYSTEM_ROLES,
  type Tokens,
  uniqueEmail,
} from '../helpers/fixtures.js';
import { linkIn, type Mailbox, startMailbox } from '../helpers/mailbox.js';
import { startServer, type TestServer } from '../helpers/server.js';
import { expireMailedLinksOf } from '../helpers/time-travel.js';

let server: TestServer;
let mailbox: Mailbox;
let admin: Account;
let adminTokens: Tokens;

const invite = (body: Record<string, unknown>, tokens = adminTokens) =>
  server.request('POST', `${API}/users/invitations`, { token: tokens.access_token, body: { organization_id: admin.organizationId, full_name: 'Alan Turing', ...body } });
const accept = (body: Record<string, unknown>) => server.request('POST', `${API}/auth/invitations/accept`, { body });

/** The token of the next invitation mailed to the address, after checking its subject and page. */
async function invitationToken(email: string): Promise<string> {
  const mail = await mailbox.next(email, { subject: `You are invited to ${organizationName}` });
  expect(mail.text).toContain('Ada Admin invited you');
  const { url, token } = linkIn(mail);
  expect(`${url.origin}${url.pathname}`).toBe('https://app.fm-auth.test/accept-invitation');
  return token;
}
let organizationName: string;

beforeAll(async () => {
  mailbox = await startMailbox();
  server = await startServer(mailbox.env);
  admin = await registerOrganization(server);
  adminTokens = await login(server, admin);
  organizationName = (await server.request('GET', `${API}/organizations/${admin.organizationId}`, { token: adminTokens.access_token })).body.name;
});
afterAll(async () => {
  await server.close();
  await mailbox.close();
});

describe('POST /users/invitations', () => {
  it('creates a user who cannot log in until the mailed link sets a password, once; audited', async () => {
    const since = auditCursor();
    const email = uniqueEmail('invited');
    const created = await invite({ email, role_ids: [SYSTEM_ROLES.viewer] });
    expect(created.status, created.text).toBe(201);
    expect(created.body).toMatchObject({ email, is_verified: false, is_active: true });
    expect(await hasPassword(server, created.body.id)).toBe(false);
    expectProblem(await server.request('POST', `${API}/auth/login`, { body: { email, password: STRONG_PASSWORD } }), 401, 'login_credentials_invalid');

    const token = await invitationToken(email);
    expectProblem(await accept({ token, password: 'password' }), 422, 'password_too_common');
    expect((await accept({ token, password: STRONG_PASSWORD, full_name: 'Alan M. Turing' })).status).toBe(204);
    expectProblem(await accept({ token, password: 'another passphrase entirely 9' }), 400, 'invitation_token_invalid');

    const tokens = await login(server, { email, password: STRONG_PASSWORD });
    const me = (await server.request('GET', `${API}/auth/me`, { token: tokens.access_token })).body;
    expect(me).toMatchObject({ full_name: 'Alan M. Turing', is_verified: true, roles: [{ name: 'Viewer' }] });

    const events = await auditEvents(server, adminTokens, { since });
    expect(events.find((event) => event.event_type === 'user.invite')).toMatchObject({ actor_user_id: admin.userId, resource_id: created.body.id, context: { roles: ['Viewer'] } });
    expect(events.find((event) => event.event_type === 'user.invitation_accept')).toMatchObject({ status: 'success', actor_user_id: created.body.id });
  });

  it('refuses a taken address, an unknown or expired token, another tenant and a Member', async () => {
    expectProblem(await invite({ email: admin.email }), 409, 'user_email_taken');
    const email = uniqueEmail('late');
    const created = await invite({ email });
    const token = await invitationToken(email);
    await expireMailedLinksOf(server, created.body.id);
    expectProblem(await accept({ token, password: STRONG_PASSWORD }), 400, 'invitation_token_invalid');
    expectProblem(await accept({ token: 'made-up-token', password: STRONG_PASSWORD }), 400, 'invitation_token_invalid');
    expect((await getUser(server, adminTokens, created.body.id)).is_verified).toBe(false);

    const other = await registerOrganization(server);
    expectProblem(await invite({ email: uniqueEmail('x'), organization_id: other.organizationId }), 404, 'organization_not_found');
    const memberTokens = await login(server, await joinOrganization(server, admin, adminTokens));
    expectProblem(await invite({ email: uniqueEmail('y') }, memberTokens), 403, 'permission_denied');
    expectProblem(await invite({ email: uniqueEmail('z'), role_ids: [SYSTEM_ROLES.admin] }, memberTokens), 403, 'permission_denied');
  });
});
