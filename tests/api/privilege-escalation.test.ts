import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ssoSubjectOf } from '../helpers/database-facts.js';
import { type Account, API, auditEvents, expectProblem, getUser, login, STRONG_PASSWORD, SYSTEM_ROLES, type Tokens, uniqueEmail } from '../helpers/fixtures.js';
import { postResponse, samlOrganization, startLogin, tokensFromRedirect } from '../helpers/saml-fixtures.js';
import type { ServiceProviderTarget, TestIdentityProvider } from '../helpers/saml-idp.js';
import { startServer, type TestServer } from '../helpers/server.js';

const DOMAIN = `corp-${randomUUID().slice(0, 8)}.example`;

let server: TestServer;
let admin: Account;
let adminTokens: Tokens;
let idp: TestIdentityProvider;
let configId: string;
let sp: ServiceProviderTarget;

const corpEmail = (label: string) => `${label}.${randomUUID().slice(0, 8)}@${DOMAIN}`;

beforeAll(async () => {
  server = await startServer({ SSO_REDIRECT_ALLOWLIST: 'https://app.example/sso/' });
  ({ admin, adminTokens, idp, configId, sp } = await samlOrganization(server, DOMAIN, { adminEmail: corpEmail('admin') }));
});
afterAll(async () => {
  await server.close();
});

async function customRole(permissions: string[]): Promise<string> {
  const role = await server.request('POST', `${API}/roles`, {
    token: adminTokens.access_token,
    body: { name: `Role ${randomUUID().slice(0, 8)}`, permissions },
  });
  expect(role.status, role.text).toBe(201);
  return role.body.id;
}

/** A user of the admin's organization holding exactly the given roles, logged in. */
async function userWithRoles(roleIds: string[]): Promise<{ id: string; email: string; tokens: Tokens }> {
  const email = corpEmail('staff');
  const created = await server.request('POST', `${API}/users`, {
    token: adminTokens.access_token,
    body: { organization_id: admin.organizationId, email, full_name: 'Sam Staff', password: STRONG_PASSWORD, role_ids: roleIds },
  });
  expect(created.status, created.text).toBe(201);
  return { id: created.body.id, email, tokens: await login(server, { email, password: STRONG_PASSWORD }) };
}

async function samlLogin(email: string, subject: string) {
  const response = await postResponse(
    server,
    configId,
    idp.response(sp, { inResponseTo: await startLogin(server, configId), nameId: subject, attributes: { mail: email, displayName: 'Someone' } }),
  );
  expect(response.status, response.text).toBe(302);
  const me = await server.request('GET', `${API}/auth/me`, { token: tokensFromRedirect(response.headers.get('location') as string).access_token });
  expect(me.status, me.text).toBe(200);
  return me.body;
}

describe('a user with users:update but fewer permissions than the target', () => {
  it('cannot change an Admin’s email to one they control at the IdP, so an SSO login never becomes the Admin', async () => {
    const editor = await userWithRoles([await customRole(['users:read', 'users:update'])]);
    const attackerAtIdp = corpEmail('attacker');
    const refused = await server.request('PUT', `${API}/users/${admin.userId}`, { token: editor.tokens.access_token, body: { email: attackerAtIdp } });
    expectProblem(refused, 403, 'permission_target_more_privileged');
    expect(refused.body.detail).toMatch(/^Permission denied: you cannot change this user: it holds permissions you do not \(.*users:delete.*\)$/);

    expect((await getUser(server, adminTokens, admin.userId)).email).toBe(admin.email);
    const signedIn = await samlLogin(attackerAtIdp, `okta|${randomUUID()}`);
    expect(signedIn.id).not.toBe(admin.userId);
    expect(signedIn.permissions).not.toContain('users:delete');

    const denied = await auditEvents(server, adminTokens, { event_type: 'permission.denied', user_id: editor.id });
    expect(denied.map((audit) => audit.context.reason)).toEqual(['target_more_privileged']);
  });

  it('cannot deactivate, delete or re-role an Admin', async () => {
    const editor = await userWithRoles([await customRole(['users:read', 'users:update', 'users:delete'])]);
    const token = editor.tokens.access_token;
    expectProblem(await server.request('PUT', `${API}/users/${admin.userId}`, { token, body: { is_active: false } }), 403, 'permission_target_more_privileged');
    expectProblem(
      await server.request('PUT', `${API}/users/${admin.userId}/roles`, { token, body: { role_ids: [SYSTEM_ROLES.member] } }),
      403,
      'permission_target_more_privileged',
    );
    expectProblem(await server.request('DELETE', `${API}/users/${admin.userId}`, { token }), 403, 'permission_target_more_privileged');
    const me = await server.request('GET', `${API}/auth/me`, { token: adminTokens.access_token });
    expect(me.status).toBe(200);
    expect(me.body.roles.map((role: { name: string }) => role.name)).toEqual(['Admin']);
  });

  it('can still change users who hold nothing beyond the editor’s own permissions', async () => {
    const editor = await userWithRoles([await customRole(['organizations:read', 'teams:read', 'users:read', 'users:update', 'users:delete'])]);
    const member = await userWithRoles([SYSTEM_ROLES.member]);
    const renamed = await server.request('PUT', `${API}/users/${member.id}`, { token: editor.tokens.access_token, body: { full_name: 'Renamed' } });
    expect(renamed.status, renamed.text).toBe(200);
    const viewer = await server.request('PUT', `${API}/users/${member.id}/roles`, { token: editor.tokens.access_token, body: { role_ids: [SYSTEM_ROLES.viewer] } });
    expect(viewer.status, viewer.text).toBe(200);
    expect((await server.request('DELETE', `${API}/users/${member.id}`, { token: editor.tokens.access_token })).status).toBe(204);
  });

  it('cannot strip or delete a custom role that grants permissions they lack', async () => {
    const powerful = await customRole(['audit:read', 'users:read']);
    const roleEditor = await userWithRoles([await customRole(['roles:read', 'roles:update', 'roles:delete', 'users:read'])]);
    const token = roleEditor.tokens.access_token;
    const stripped = await server.request('PUT', `${API}/roles/${powerful}`, { token, body: { permissions: ['users:read'] } });
    expectProblem(stripped, 403, 'permission_target_more_privileged');
    expect(stripped.body.detail).toContain('audit:read');
    expectProblem(await server.request('DELETE', `${API}/roles/${powerful}`, { token }), 403, 'permission_target_more_privileged');
  });

  it('lets an Admin change anyone in the organization', async () => {
    const editor = await userWithRoles([await customRole(['users:read', 'users:update'])]);
    const renamed = await server.request('PUT', `${API}/users/${editor.id}`, { token: adminTokens.access_token, body: { full_name: 'Ed Itor' } });
    expect(renamed.status, renamed.text).toBe(200);
  });
});

describe('SSO links stay bound to their subject', () => {
  it('keeps the link on its account when an Admin changes the email, and the next login updates it from the IdP', async () => {
    const subject = `okta|${randomUUID()}`;
    const first = await samlLogin(corpEmail('linked'), subject);
    const changed = await server.request('PUT', `${API}/users/${first.id}`, { token: adminTokens.access_token, body: { email: corpEmail('renamed') } });
    expect(changed.status, changed.text).toBe(200);

    const idpEmail = corpEmail('from-idp');
    const again = await samlLogin(idpEmail, subject);
    expect(again.id).toBe(first.id);
    expect(again.email).toBe(idpEmail);
  });

  it('never moves a link onto the account that now has the linked user’s old email', async () => {
    const subject = `okta|${randomUUID()}`;
    const oldEmail = corpEmail('old');
    const linked = await samlLogin(oldEmail, subject);
    const moved = await server.request('PUT', `${API}/users/${linked.id}`, { token: adminTokens.access_token, body: { email: corpEmail('moved') } });
    expect(moved.status, moved.text).toBe(200);
    const newcomer = await server.request('POST', `${API}/users`, {
      token: adminTokens.access_token,
      body: { organization_id: admin.organizationId, email: oldEmail, full_name: 'New Comer', password: STRONG_PASSWORD },
    });
    expect(newcomer.status, newcomer.text).toBe(201);

    const again = await samlLogin(oldEmail, subject);
    expect(again.id).toBe(linked.id);
    expect(await ssoSubjectOf(server, newcomer.body.id)).toBeNull();
  });

  it('refuses an SSO-linked user changing their own email', async () => {
    const subject = `okta|${randomUUID()}`;
    const linked = await samlLogin(corpEmail('self'), subject);
    const role = await customRole(['users:read', 'users:update']);
    const assigned = await server.request('PUT', `${API}/users/${linked.id}/roles`, { token: adminTokens.access_token, body: { role_ids: [role] } });
    expect(assigned.status, assigned.text).toBe(200);
    const response = await postResponse(
      server,
      configId,
      idp.response(sp, { inResponseTo: await startLogin(server, configId), nameId: subject, attributes: { mail: linked.email, displayName: 'Self' } }),
    );
    const tokens = tokensFromRedirect(response.headers.get('location') as string);

    const refused = await server.request('PUT', `${API}/users/${linked.id}`, { token: tokens.access_token, body: { email: uniqueEmail('elsewhere', DOMAIN) } });
    expectProblem(refused, 403, 'user_email_managed_by_identity_provider');
    expect(refused.body.detail).toBe('Your email address comes from your identity provider; change it there');
    const renamed = await server.request('PUT', `${API}/users/${linked.id}`, { token: tokens.access_token, body: { full_name: 'Still Me' } });
    expect(renamed.status, renamed.text).toBe(200);
  });
});
