import { randomUUID } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { CLI_TEST_TIMEOUT_MS, runAdminCli } from '../helpers/commands.js';
import {
  type Account,
  API,
  auditEvents,
  createSuperadmin,
  expectProblem,
  login,
  registerOrganization,
  setUserRoles,
  STRONG_PASSWORD,
  SYSTEM_ROLES,
  type Tokens,
  uniqueEmail,
} from '../helpers/fixtures.js';
import { startServer, type TestServer } from '../helpers/server.js';

let server: TestServer;
let root: Tokens;
let admin: Account;
let adminTokens: Tokens;

beforeAll(async () => {
  server = await startServer();
  root = await login(server, await createSuperadmin(inject('databaseUrl')));
  admin = await registerOrganization(server);
  adminTokens = await login(server, admin);
});
afterAll(async () => {
  await server.close();
});

const orgs = `${API}/organizations`;
const slug = (label = 'org') => `${label}-${randomUUID().slice(0, 8)}`;

async function createOrganization(body: Record<string, unknown> = {}) {
  const response = await server.request('POST', orgs, { token: root.access_token, body: { name: 'Created Co', slug: slug(), ...body } });
  expect(response.status, response.text).toBe(201);
  return response.body;
}

/** The organization's audit trail, oldest first, as the platform super-admin reads it. */
async function auditOf(organizationId: string) {
  return (await auditEvents(server, root, { organization_id: organizationId })).reverse().map(({ event_type, status, context }) => ({ event_type, status, context }));
}

describe('npm run admin -- create-superadmin', () => {
  it(
    'promotes an existing user, creates one from --password-file, and refuses bad usage',
    async () => {
      const cli = (args: string[], input = '') => runAdminCli(inject('databaseUrl'), args, input);

      const member = await registerOrganization(server);
      const promoted = await cli(['create-superadmin', '--email', member.email.toUpperCase()]);
      expect(promoted.stdout).toMatch(/promoted/);
      const tokens = await login(server, member);
      const all = await server.request('GET', orgs, { token: tokens.access_token });
      expect(Number(all.headers.get('x-total-count'))).toBeGreaterThan(1);

      const passwordFile = join(mkdtempSync(join(tmpdir(), 'fm-auth-cli-')), 'password');
      writeFileSync(passwordFile, `${STRONG_PASSWORD}\n`);
      const email = `file.${randomUUID()}@example.com`;
      const created = await cli(['create-superadmin', '--email', email, '--password-file', passwordFile]);
      expect(created.stdout).toMatch(/created platform super-admin/);
      expect((await login(server, { email, password: STRONG_PASSWORD })).token_type).toBe('bearer');

      expect((await cli(['create-superadmin'])).status).toBe(2);
      const weak = await cli(['create-superadmin', '--email', `weak.${randomUUID()}@example.com`], 'password\n');
      expect(weak.status).toBe(1);
      expect(weak.stderr).toMatch(/too common/);
    },
    CLI_TEST_TIMEOUT_MS,
  );
});

describe('POST /organizations', () => {
  it('lets the platform super-admin create an organization, audited', async () => {
    const body = {
      name: 'Hopper Labs',
      slug: slug('hopper'),
      plan: 'professional',
      contact_email: 'it@hopper.example',
      contact_name: 'Grace Hopper',
      max_users: 50,
      max_teams: 5,
      allowed_email_domains: ['hopper.example'],
    };
    const response = await server.request('POST', orgs, { token: root.access_token, body });
    expect(response.status).toBe(201);
    expect(response.body).toEqual({ ...body, id: expect.any(String), require_mfa: false, is_active: true, created_at: expect.any(String), updated_at: expect.any(String) });
    expect(await auditOf(response.body.id)).toContainEqual(expect.objectContaining({ event_type: 'organization.create', status: 'success' }));
  });

  it('applies the defaults: trial plan, 25 users, 10 teams, no domains', async () => {
    const created = await createOrganization();
    expect(created).toMatchObject({ plan: 'trial', max_users: 25, max_teams: 10, allowed_email_domains: [], require_mfa: false, contact_email: null });
  });

  it('returns 403 naming the permission for an organization Admin, and audits the refusal', async () => {
    const response = await server.request('POST', orgs, { token: adminTokens.access_token, body: { name: 'Nope', slug: slug() } });
    expectProblem(response, 403, 'permission_denied');
    expect(response.body.detail).toBe('Permission denied: requires organizations:create');
    expect(await auditOf(admin.organizationId)).toContainEqual(
      expect.objectContaining({ event_type: 'permission.denied', status: 'denied', context: { permission: 'organizations:create' } }),
    );
  });

  it('returns 409 for a slug already in use', async () => {
    const taken = await createOrganization();
    expectProblem(await server.request('POST', orgs, { token: root.access_token, body: { name: 'Dup', slug: taken.slug } }), 409, 'organization_slug_taken');
  });

  it.each([
    ['a slug with capitals', { slug: 'Not-Valid' }],
    ['an unknown plan', { plan: 'platinum' }],
    ['a malformed contact email', { contact_email: 'nope' }],
    ['max_users of 0', { max_users: 0 }],
    ['max_teams of 0', { max_teams: 0 }],
    ['a malformed domain', { allowed_email_domains: ['not a domain'] }],
    ['a field outside the spec', { is_superadmin: true }],
    ['a null name', { name: null }],
  ])('returns 422 for %s', async (_label, override) => {
    expectProblem(await server.request('POST', orgs, { token: root.access_token, body: { name: 'Bad', slug: slug(), ...override } }), 422, 'request_invalid');
  });

  it('returns 401 without a token', async () => {
    expectProblem(await server.request('POST', orgs, { body: { name: 'Anon', slug: slug() } }), 401, 'auth_credentials_missing');
  });
});

describe('GET /organizations', () => {
  it('shows an Admin only their own organization', async () => {
    await createOrganization();
    const response = await server.request('GET', orgs, { token: adminTokens.access_token });
    expect(response.status).toBe(200);
    expect(response.body.map((org: { id: string }) => org.id)).toEqual([admin.organizationId]);
    expect(response.headers.get('x-total-count')).toBe('1');
  });

  it('shows the super-admin every organization, paginated in a stable order', async () => {
    await createOrganization();
    await createOrganization();
    const first = await server.request('GET', `${orgs}?limit=2`, { token: root.access_token });
    const second = await server.request('GET', `${orgs}?skip=2&limit=2`, { token: root.access_token });
    const all = await server.request('GET', `${orgs}?limit=100`, { token: root.access_token });
    expect(first.body).toHaveLength(2);
    expect(Number(first.headers.get('x-total-count'))).toBe(Number(all.headers.get('x-total-count')));
    expect([...first.body, ...second.body].map((org: { id: string }) => org.id)).toEqual(all.body.slice(0, 4).map((org: { id: string }) => org.id));
  });

  it.each(['limit=101', 'limit=0', 'skip=-1', 'limit=abc'])('returns 422 for %s', async (query) => {
    expectProblem(await server.request('GET', `${orgs}?${query}`, { token: root.access_token }), 422, 'request_invalid');
  });
});

describe('GET /organizations/{organization_id}', () => {
  it('answers the caller’s own organization', async () => {
    const response = await server.request('GET', `${orgs}/${admin.organizationId}`, { token: adminTokens.access_token });
    expect(response.status).toBe(200);
    expect(response.body.id).toBe(admin.organizationId);
  });

  it('answers another tenant’s organization exactly like an unknown one', async () => {
    const other = await createOrganization();
    const foreign = await server.request('GET', `${orgs}/${other.id}`, { token: adminTokens.access_token });
    const unknown = await server.request('GET', `${orgs}/${randomUUID()}`, { token: adminTokens.access_token });
    expectProblem(foreign, 404, 'organization_not_found');
    expectProblem(unknown, 404, 'organization_not_found');
    expect({ ...foreign.body, instance: undefined, request_id: undefined }).toEqual({ ...unknown.body, instance: undefined, request_id: undefined });
  });

  it('returns 422 for an id that is not a UUID', async () => {
    expectProblem(await server.request('GET', `${orgs}/not-a-uuid`, { token: adminTokens.access_token }), 422, 'request_invalid');
  });
});

describe('PUT /organizations/{organization_id}', () => {
  it('lets an Admin change name, contacts and allowed domains', async () => {
    const owner = await registerOrganization(server);
    const tokens = await login(server, owner);
    const body = { name: 'Renamed', contact_email: 'ops@renamed.example', contact_name: null, allowed_email_domains: ['renamed.example'] };
    const response = await server.request('PUT', `${orgs}/${owner.organizationId}`, { token: tokens.access_token, body });
    expect(response.status).toBe(200);
    expect(response.body).toMatchObject(body);
    const audit = await auditOf(owner.organizationId);
    expect(audit).toContainEqual(
      expect.objectContaining({ event_type: 'organization.update', context: { changed: ['name', 'contact_email', 'contact_name', 'allowed_email_domains'] } }),
    );
  });

  it.each([
    ['plan', { plan: 'enterprise' }],
    ['max_users', { max_users: 1000 }],
    ['is_active', { is_active: false }],
    ['slug', { slug: 'taken-over' }],
  ])('refuses %s from an organization Admin with 403 and changes nothing', async (_field, body) => {
    const owner = await registerOrganization(server);
    const tokens = await login(server, owner);
    const before = await server.request('GET', `${orgs}/${owner.organizationId}`, { token: tokens.access_token });
    const response = await server.request('PUT', `${orgs}/${owner.organizationId}`, { token: tokens.access_token, body: { name: 'Sneaky', ...body } });
    expectProblem(response, 403, 'organization_fields_reserved');
    const after = await server.request('GET', `${orgs}/${owner.organizationId}`, { token: tokens.access_token });
    expect(after.body).toEqual(before.body);
  });

  it('lets the super-admin change plan and quotas', async () => {
    const created = await createOrganization();
    const response = await server.request('PUT', `${orgs}/${created.id}`, { token: root.access_token, body: { plan: 'enterprise', max_users: 500, max_teams: 50 } });
    expect(response.status).toBe(200);
    expect(response.body).toMatchObject({ plan: 'enterprise', max_users: 500, max_teams: 50 });
  });

  it('returns 422 when max_users would drop below the current users', async () => {
    const owner = await registerOrganization(server);
    const response = await server.request('PUT', `${orgs}/${owner.organizationId}`, { token: root.access_token, body: { max_users: 1 } });
    expect(response.status).toBe(200);
    // Room for a second user, who then joins.
    expect((await server.request('PUT', `${orgs}/${owner.organizationId}`, { token: root.access_token, body: { max_users: 2 } })).status).toBe(200);
    const extra = await server.client(root).api.POST('/api/v1/enterprise/users', {
      body: { organization_id: owner.organizationId, email: uniqueEmail('extra'), full_name: 'Extra' },
    });
    expect(extra.response.status).toBe(201);
    const refused = await server.request('PUT', `${orgs}/${owner.organizationId}`, { token: root.access_token, body: { max_users: 1 } });
    expectProblem(refused, 422, 'organization_limit_below_usage');
  });

  it.each([
    ['a null name', { name: null }],
    ['an empty body', {}],
    ['organization_id', { organization_id: randomUUID() }],
    ['is_superadmin', { is_superadmin: true }],
  ])('returns 422 for %s', async (_label, body) => {
    expectProblem(await server.request('PUT', `${orgs}/${admin.organizationId}`, { token: adminTokens.access_token, body }), 422, 'request_invalid');
  });

  it('returns 404 for another tenant’s organization and leaves it unchanged', async () => {
    const other = await createOrganization({ name: 'Untouched' });
    expectProblem(await server.request('PUT', `${orgs}/${other.id}`, { token: adminTokens.access_token, body: { name: 'Hijacked' } }), 404, 'organization_not_found');
    const after = await server.request('GET', `${orgs}/${other.id}`, { token: root.access_token });
    expect(after.body.name).toBe('Untouched');
  });

  it('returns 409 when the new slug is taken', async () => {
    const first = await createOrganization();
    const second = await createOrganization();
    expectProblem(await server.request('PUT', `${orgs}/${second.id}`, { token: root.access_token, body: { slug: first.slug } }), 409, 'organization_slug_taken');
  });
});

describe('DELETE /organizations/{organization_id}', () => {
  it('soft-deletes: its users cannot log in, and their access and refresh tokens stop working', async () => {
    const doomed = await registerOrganization(server);
    const tokens = await login(server, doomed);
    const response = await server.request('DELETE', `${orgs}/${doomed.organizationId}`, { token: root.access_token });
    expect(response.status).toBe(204);

    expectProblem(await server.request('GET', `${API}/auth/me`, { token: tokens.access_token }), 401, 'session_ended');
    expectProblem(await server.request('POST', `${API}/auth/refresh`, { body: { refresh_token: tokens.refresh_token } }), 401, 'refresh_token_invalid');
    expectProblem(await server.request('POST', `${API}/auth/login`, { body: { email: doomed.email, password: doomed.password } }), 401, 'account_disabled');
    expectProblem(await server.request('GET', `${orgs}/${doomed.organizationId}`, { token: root.access_token }), 404, 'organization_not_found');
    expect(await auditOf(doomed.organizationId)).toContainEqual(expect.objectContaining({ event_type: 'organization.delete' }));
  });

  it('returns 403 for an organization Admin, even on their own organization', async () => {
    const response = await server.request('DELETE', `${orgs}/${admin.organizationId}`, { token: adminTokens.access_token });
    expectProblem(response, 403, 'permission_denied');
    expect(response.body.detail).toBe('Permission denied: requires organizations:delete');
  });

  it('returns 404 for an unknown organization and 409 for the super-admin’s own', async () => {
    expectProblem(await server.request('DELETE', `${orgs}/${randomUUID()}`, { token: root.access_token }), 404, 'organization_not_found');
    const me = await server.request('GET', `${API}/auth/me`, { token: root.access_token });
    expectProblem(await server.request('DELETE', `${orgs}/${me.body.organization_id}`, { token: root.access_token }), 409, 'organization_self_delete');
  });
});

describe('role changes', () => {
  it('take effect on the next request, not at the next login', async () => {
    const member = await registerOrganization(server);
    const tokens = await login(server, member);
    // A second Admin, so the registrant is not the organization's last one and may become a Viewer.
    const second = await server.client(root).api.POST('/api/v1/enterprise/users', {
      body: { organization_id: member.organizationId, email: uniqueEmail('second'), full_name: 'Second', role_ids: [SYSTEM_ROLES.admin] },
    });
    expect(second.response.status).toBe(201);
    expect((await server.request('GET', `${orgs}/${member.organizationId}`, { token: tokens.access_token })).status).toBe(200);
    await setUserRoles(server, root, member.userId, [SYSTEM_ROLES.viewer]);
    const response = await server.request('GET', `${orgs}/${member.organizationId}`, { token: tokens.access_token });
    expectProblem(response, 403, 'permission_denied');
    expect(response.body.detail).toBe('Permission denied: requires organizations:read');
  });
});
