import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Account, API, auditEvents, expectProblem, login, registerOrganization, STRONG_PASSWORD, SYSTEM_ROLES, type Tokens, uniqueEmail } from '../helpers/fixtures.js';
import { startServer, type TestServer } from '../helpers/server.js';

let server: TestServer;
let admin: Account;
let adminTokens: Tokens;
let outsider: Tokens;

beforeAll(async () => {
  server = await startServer();
  admin = await registerOrganization(server);
  adminTokens = await login(server, admin);
  outsider = await login(server, await registerOrganization(server));
});
afterAll(async () => {
  await server.close();
});

const roleName = () => `Role ${randomUUID().slice(0, 8)}`;
const createRole = (body: Record<string, unknown> = {}, token = adminTokens.access_token) =>
  server.request('POST', `${API}/roles`, { token, body: { name: roleName(), permissions: ['users:read', 'teams:read'], ...body } });

describe('GET /roles', () => {
  it('lists the system roles first, then this organization’s roles only', async () => {
    const mine = (await createRole()).body;
    const theirs = (await createRole({}, outsider.access_token)).body;
    const response = await server.request('GET', `${API}/roles`, { token: adminTokens.access_token });
    expect(response.status).toBe(200);
    const ids = response.body.map((role: { id: string }) => role.id);
    expect(ids.slice(0, 3).sort()).toEqual(Object.values(SYSTEM_ROLES).sort());
    expect(ids).toContain(mine.id);
    expect(ids).not.toContain(theirs.id);
    expect(response.headers.get('x-total-count')).toBe(String(ids.length));
    const member = response.body.find((role: { id: string }) => role.id === SYSTEM_ROLES.member);
    expect(member).toMatchObject({ name: 'Member', is_system: true, organization_id: null, permissions: ['organizations:read', 'teams:read', 'users:read'] });
  });
});

describe('POST /roles', () => {
  it('creates a custom role with sorted permissions, audited', async () => {
    const response = await createRole({ name: 'Support', description: 'Helps', permissions: ['users:read', 'audit:read'] });
    expect(response.status).toBe(201);
    expect(response.body).toMatchObject({
      name: 'Support',
      description: 'Helps',
      is_system: false,
      organization_id: admin.organizationId,
      permissions: ['audit:read', 'users:read'],
    });
    const audit = (await auditEvents(server, adminTokens)).filter((event) => event.resource_id === response.body.id);
    expect(audit.map(({ event_type }) => ({ event_type }))).toEqual([{ event_type: 'role.create' }]);
  });

  it('returns 409 for a name taken in the organization (any case) or a system role’s name', async () => {
    const name = roleName();
    await createRole({ name });
    expectProblem(await createRole({ name: name.toUpperCase() }), 409, 'role_name_taken');
    expectProblem(await createRole({ name: 'admin' }), 409, 'role_name_reserved');
    expect((await createRole({ name }, outsider.access_token)).status).toBe(201);
  });

  it.each([
    ['a platform permission', { permissions: ['organizations:delete'] }],
    ['an unknown permission', { permissions: ['users:fly'] }],
    ['organization_id', { organization_id: randomUUID() }],
    ['a missing name', { name: undefined }],
  ])('returns 422 for %s', async (_label, body) => {
    expectProblem(await createRole(body), 422, 'request_invalid');
  });

  it('refuses permissions the caller does not hold', async () => {
    const limited = await createRole({ permissions: ['roles:create', 'users:read'] });
    const email = uniqueEmail('limited');
    await server.request('POST', `${API}/users`, {
      token: adminTokens.access_token,
      body: { organization_id: admin.organizationId, email, full_name: 'Limited', password: STRONG_PASSWORD, role_ids: [limited.body.id] },
    });
    const tokens = await login(server, { email, password: STRONG_PASSWORD });
    const response = await createRole({ permissions: ['users:delete'] }, tokens.access_token);
    expectProblem(response, 403, 'role_permissions_not_held');
    expect(response.body.detail).toBe('You cannot grant permissions you do not hold: users:delete');
    expect((await createRole({ permissions: ['users:read'] }, tokens.access_token)).status).toBe(201);
  });
});

describe('GET|PUT|DELETE /roles/{role_id}', () => {
  it('reads a system role and the organization’s own; another tenant’s is 404', async () => {
    expect((await server.request('GET', `${API}/roles/${SYSTEM_ROLES.viewer}`, { token: adminTokens.access_token })).body.name).toBe('Viewer');
    const mine = (await createRole()).body;
    expect((await server.request('GET', `${API}/roles/${mine.id}`, { token: adminTokens.access_token })).body).toEqual(mine);
    expectProblem(await server.request('GET', `${API}/roles/${mine.id}`, { token: outsider.access_token }), 404, 'role_not_found');
  });

  it('updates a custom role; the change applies to its holders on their next request', async () => {
    const role = (await createRole({ permissions: ['organizations:read'] })).body;
    const email = uniqueEmail('holder');
    await server.request('POST', `${API}/users`, {
      token: adminTokens.access_token,
      body: { organization_id: admin.organizationId, email, full_name: 'Holder', password: STRONG_PASSWORD, role_ids: [role.id] },
    });
    const tokens = await login(server, { email, password: STRONG_PASSWORD });
    expect((await server.request('GET', `${API}/organizations/${admin.organizationId}`, { token: tokens.access_token })).status).toBe(200);
    const updated = await server.request('PUT', `${API}/roles/${role.id}`, { token: adminTokens.access_token, body: { permissions: ['teams:read'], description: null } });
    expect(updated.body).toMatchObject({ permissions: ['teams:read'], description: null, name: role.name });
    expectProblem(await server.request('GET', `${API}/organizations/${admin.organizationId}`, { token: tokens.access_token }), 403, 'permission_denied');
  });

  it('keeps system roles read-only and another tenant’s roles untouchable', async () => {
    expectProblem(
      await server.request('PUT', `${API}/roles/${SYSTEM_ROLES.member}`, { token: adminTokens.access_token, body: { permissions: ['users:read'] } }),
      403,
      'role_system_read_only',
    );
    expectProblem(await server.request('DELETE', `${API}/roles/${SYSTEM_ROLES.viewer}`, { token: adminTokens.access_token }), 403, 'role_system_read_only');
    const theirs = (await createRole({}, outsider.access_token)).body;
    expectProblem(await server.request('PUT', `${API}/roles/${theirs.id}`, { token: adminTokens.access_token, body: { name: 'Mine now' } }), 404, 'role_not_found');
    expectProblem(await server.request('DELETE', `${API}/roles/${theirs.id}`, { token: adminTokens.access_token }), 404, 'role_not_found');
    expect((await server.request('GET', `${API}/roles/${theirs.id}`, { token: outsider.access_token })).body.name).toBe(theirs.name);
  });

  it('deletes a custom role: 204, then 404', async () => {
    const role = (await createRole()).body;
    expect((await server.request('DELETE', `${API}/roles/${role.id}`, { token: adminTokens.access_token })).status).toBe(204);
    expectProblem(await server.request('GET', `${API}/roles/${role.id}`, { token: adminTokens.access_token }), 404, 'role_not_found');
  });
});
