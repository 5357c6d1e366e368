import { randomUUID } from 'node:crypto';
import type { components, paths } from 'fm-auth/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type Account,
  API,
  auditEvents,
  expectProblem,
  login,
  loginSuperadmin,
  type ProblemCode,
  registerOrganization,
  STRONG_PASSWORD,
  SYSTEM_ROLES,
  type Tokens,
  uniqueEmail,
  updateOrganization,
} from '../helpers/fixtures.js';
import { startServer, type TestServer } from '../helpers/server.js';

let server: TestServer;
let admin: Account;
let adminTokens: Tokens;
let outsider: Tokens;
let root: Tokens;

beforeAll(async () => {
  server = await startServer();
  admin = await registerOrganization(server);
  adminTokens = await login(server, admin);
  root = await loginSuperadmin(server);
  await updateOrganization(server, root, admin.organizationId, { max_users: 1000, max_teams: 100 });
  outsider = await login(server, await registerOrganization(server));
});
afterAll(async () => {
  await server.close();
});

type User = components['schemas']['User'];
type UserCreate = components['schemas']['UserCreate'];
type UserUpdate = components['schemas']['UserUpdate'];
type Team = components['schemas']['Team'];
type Role = components['schemas']['Role'];
type UserListQuery = paths['/api/v1/enterprise/users/organization/{organization_id}']['get']['parameters']['query'];

const staff = () => ({ organization_id: admin.organizationId, email: uniqueEmail('staff'), full_name: 'Sam Staff', password: STRONG_PASSWORD });

async function createUser(body: Partial<UserCreate> = {}, tokens = adminTokens) {
  return server.client(tokens).api.POST('/api/v1/enterprise/users', { body: { ...staff(), ...body } });
}

/** Untyped, for bodies the spec forbids. */
async function createUserRaw(body: Record<string, unknown>) {
  return server.request('POST', `${API}/users`, { token: adminTokens.access_token, body: { ...staff(), ...body } });
}

const getUser = (userId: string, tokens = adminTokens) => server.client(tokens).api.GET('/api/v1/enterprise/users/{user_id}', { params: { path: { user_id: userId } } });
const updateUser = (userId: string, body: UserUpdate, tokens = adminTokens) =>
  server.client(tokens).api.PUT('/api/v1/enterprise/users/{user_id}', { params: { path: { user_id: userId } }, body });
const deleteUser = (userId: string, tokens = adminTokens) => server.client(tokens).api.DELETE('/api/v1/enterprise/users/{user_id}', { params: { path: { user_id: userId } } });
const setRoles = (userId: string, roleIds: string[], tokens = adminTokens) =>
  server.client(tokens).api.PUT('/api/v1/enterprise/users/{user_id}/roles', { params: { path: { user_id: userId } }, body: { role_ids: roleIds } });
const listUsers = (query: UserListQuery, tokens = adminTokens) =>
  server.client(tokens).api.GET('/api/v1/enterprise/users/organization/{organization_id}', {
    params: { path: { organization_id: admin.organizationId }, query },
  });
const me = (tokens: Tokens) => server.client(tokens).api.GET('/api/v1/enterprise/auth/me');
const createTeam = (tokens: Tokens, body: components['schemas']['TeamCreate']) => server.client(tokens).api.POST('/api/v1/enterprise/teams', { body });
const createRole = (tokens: Tokens, body: components['schemas']['RoleCreate']) => server.client(tokens).api.POST('/api/v1/enterprise/roles', { body });

/** The names of the user's roles, sorted, as `GET /auth/me` shows them to the user. */
async function rolesOf(tokens: Tokens): Promise<string[]> {
  const caller = await me(tokens);
  expect(caller.response.status).toBe(200);
  return (caller.data?.roles ?? []).map((role) => role.name).sort();
}

async function tokensFor(email: string, password = STRONG_PASSWORD) {
  return login(server, { email, password });
}

describe('POST /users', () => {
  it('creates a Member by default who can log in', async () => {
    const email = uniqueEmail('new');
    const response = await createUser({ email });
    expect(response.response.status).toBe(201);
    expect(response.data).toMatchObject({ email, organization_id: admin.organizationId, team_id: null, is_active: true });
    const tokens = await tokensFor(email);
    expect(await rolesOf(tokens)).toEqual(['Member']);
    const caller = await me(tokens);
    expect(caller.data?.permissions).toEqual(['organizations:read', 'teams:read', 'users:read']);
  });

  it('creates an SSO-only user without a password, who cannot log in with one', async () => {
    const email = uniqueEmail('sso');
    expect((await createUser({ email, password: undefined })).response.status).toBe(201);
    expectProblem(await server.client().api.POST('/api/v1/enterprise/auth/login', { body: { email, password: STRONG_PASSWORD } }), 401, 'login_credentials_invalid');
  });

  it('assigns the given roles and team', async () => {
    const team = (await createTeam(adminTokens, { organization_id: admin.organizationId, name: 'Ops', slug: `ops-${randomUUID().slice(0, 6)}` })).data as Team;
    const response = await createUser({ team_id: team.id, role_ids: [SYSTEM_ROLES.viewer, SYSTEM_ROLES.member] });
    expect(response.response.status).toBe(201);
    expect(response.data?.team_id).toBe(team.id);
    expect(await rolesOf(await tokensFor((response.data as User).email))).toEqual(['Member', 'Viewer']);
  });

  it('returns 409 for an email registered in any letter case', async () => {
    const email = uniqueEmail('dup');
    await createUser({ email });
    const duplicate = await createUser({ email: email.toUpperCase() });
    expectProblem(duplicate, 409, 'user_email_taken');
    expect(duplicate.error?.detail).toMatch(/^already exists/);
  });

  it('returns 404 for another tenant’s organization, team or role, and creates nothing', async () => {
    const other = await registerOrganization(server);
    const otherTokens = await login(server, other);
    const otherTeam = (await createTeam(otherTokens, { organization_id: other.organizationId, name: 'Theirs', slug: 'theirs' })).data as Team;
    const otherRole = (await createRole(otherTokens, { name: 'Theirs', permissions: ['users:read'] })).data as Role;
    const email = uniqueEmail('cross');
    const refusals: [{ organization_id?: string; team_id?: string; role_ids?: string[] }, ProblemCode][] = [
      [{ organization_id: other.organizationId }, 'organization_not_found'],
      [{ team_id: otherTeam.id }, 'team_not_found'],
      [{ role_ids: [otherRole.id] }, 'role_not_found'],
      [{ role_ids: [randomUUID()] }, 'role_not_found'],
    ];
    for (const [override, code] of refusals) {
      expectProblem(await createUser({ email, ...override }), 404, code);
    }
    // Wherever one of the attempts could have put the user: this organization or the other one.
    for (const [organizationId, tokens] of [
      [admin.organizationId, adminTokens],
      [other.organizationId, otherTokens],
    ] as const) {
      const found = await server.client(tokens).api.GET('/api/v1/enterprise/users/organization/{organization_id}', {
        params: { path: { organization_id: organizationId }, query: { q: email } },
      });
      expect(found.data).toEqual([]);
    }
  });

  it('returns 403 for a Member, and refuses to grant permissions the caller lacks', async () => {
    const member = (await createUser()).data as User;
    const memberTokens = await tokensFor(member.email);
    const refused = await createUser({}, memberTokens);
    expectProblem(refused, 403, 'permission_denied');
    expect(refused.error?.detail).toBe('Permission denied: requires users:create');

    const creator = (await createRole(adminTokens, { name: `Recruiter ${randomUUID().slice(0, 6)}`, permissions: ['users:create', 'users:read'] })).data as Role;
    const recruiter = (await createUser({ role_ids: [creator.id] })).data as User;
    const escalation = await createUser({ role_ids: [SYSTEM_ROLES.admin] }, await tokensFor(recruiter.email));
    expectProblem(escalation, 403, 'role_permissions_not_held');
    expect(escalation.error?.detail).toMatch(/cannot grant permissions you do not hold/);
  });

  it('enforces max_users under concurrency: one of 10 parallel creates succeeds at max_users - 1', async () => {
    const owner = await registerOrganization(server);
    const tokens = await login(server, owner);
    await updateOrganization(server, root, owner.organizationId, { max_users: 2 });
    const results = await Promise.all(
      Array.from({ length: 10 }, () =>
        server.client(tokens).api.POST('/api/v1/enterprise/users', {
          body: { organization_id: owner.organizationId, email: uniqueEmail('burst'), full_name: 'Burst' },
        }),
      ),
    );
    expect(results.filter((r) => r.response.status === 201)).toHaveLength(1);
    for (const refused of results.filter((r) => r.response.status !== 201)) expectProblem(refused, 403, 'organization_user_limit_reached');
  });

  // Eight characters, as the spec allows: the service refuses it as a common password.
  it('returns 422 for a weak password', async () => {
    expectProblem(await createUser({ password: 'password' }), 422, 'password_too_common');
  });

  it.each([
    ['is_superadmin', { is_superadmin: true }],
    ['an empty role list', { role_ids: [] }],
    ['a malformed email', { email: 'no' }],
  ])('returns 422 for %s', async (_label, override) => {
    expectProblem(await createUserRaw(override), 422, 'request_invalid');
  });
});

describe('GET /users/organization/{organization_id}', () => {
  it('filters by team, activity and text, paginated with X-Total-Count', async () => {
    const marker = randomUUID().slice(0, 8);
    const team = (await createTeam(adminTokens, { organization_id: admin.organizationId, name: 'Filter', slug: `filter-${marker}` })).data as Team;
    const a = (await createUser({ full_name: `Alpha ${marker}`, team_id: team.id })).data as User;
    const b = (await createUser({ full_name: `Beta ${marker}` })).data as User;
    await updateUser(b.id, { is_active: false });
    const list = (query: UserListQuery) => listUsers(query);

    const byText = await list({ q: marker });
    expect(byText.data?.map((u) => u.id)).toEqual([a.id, b.id]);
    expect(byText.response.headers.get('x-total-count')).toBe('2');
    expect((await list({ q: marker, is_active: false })).data?.map((u) => u.id)).toEqual([b.id]);
    expect((await list({ team_id: team.id })).data?.map((u) => u.id)).toEqual([a.id]);
    const paged = await list({ q: marker, skip: 1, limit: 1 });
    expect(paged.data?.map((u) => u.id)).toEqual([b.id]);
    expect((await list({ q: '%' })).response.headers.get('x-total-count')).toBe('0');
  });

  it('returns 404 for another tenant and 422 for a bad filter', async () => {
    expectProblem(await listUsers({}, outsider), 404, 'organization_not_found');
    expectProblem(await server.request('GET', `${API}/users/organization/${admin.organizationId}?is_active=maybe`, { token: adminTokens.access_token }), 422, 'request_invalid');
  });
});

describe('GET|PUT|DELETE /users/{user_id}', () => {
  it('reads and updates a user; another tenant gets 404 and changes nothing', async () => {
    const user = (await createUser()).data as User;
    expect((await getUser(user.id)).data).toEqual(user);
    expectProblem(await getUser(user.id, outsider), 404, 'user_not_found');
    expectProblem(await updateUser(user.id, { full_name: 'Hijacked' }, outsider), 404, 'user_not_found');
    const updated = await updateUser(user.id, { full_name: 'Renamed', is_verified: true });
    expect(updated.data).toMatchObject({ full_name: 'Renamed', is_verified: true });
  });

  it.each([
    ['organization_id', { organization_id: randomUUID() }],
    ['is_superadmin', { is_superadmin: true }],
    ['a null full_name', { full_name: null }],
    ['password', { password: STRONG_PASSWORD }],
  ])('refuses %s on update with 422', async (_label, body) => {
    const user = (await createUser()).data as User;
    expectProblem(await server.request('PUT', `${API}/users/${user.id}`, { token: adminTokens.access_token, body }), 422, 'request_invalid');
  });

  it('deactivating a user ends their sessions at once; their still-signed token learns why, their refresh token does not', async () => {
    const user = (await createUser()).data as User;
    const tokens = await tokensFor(user.email);
    await updateUser(user.id, { is_active: false });
    const caller = await me(tokens);
    expectProblem(caller, 401, 'account_disabled');
    expect(caller.error?.detail).toMatch(/^Account is disabled/);
    const refreshed = await server.client().api.POST('/api/v1/enterprise/auth/refresh', { body: { refresh_token: tokens.refresh_token } });
    expectProblem(refreshed, 401, 'refresh_token_invalid');
    expect(refreshed.error?.detail).toMatch(/^Invalid refresh token/);
  });

  it('deleting a user ends their sessions and frees the email', async () => {
    const user = (await createUser()).data as User;
    const tokens = await tokensFor(user.email);
    expect((await deleteUser(user.id)).response.status).toBe(204);
    expectProblem(await me(tokens), 401, 'session_ended');
    expectProblem(await getUser(user.id), 404, 'user_not_found');
    expect((await createUser({ email: user.email })).response.status).toBe(201);
  });

  it('moves a user to a team of the same organization only', async () => {
    const user = (await createUser()).data as User;
    const other = await registerOrganization(server);
    const otherTeam = (await createTeam(await login(server, other), { organization_id: other.organizationId, name: 'Theirs', slug: 'theirs' })).data as Team;
    expectProblem(await updateUser(user.id, { team_id: otherTeam.id }), 404, 'team_not_found');
  });
});

describe('the last active Admin', () => {
  it('cannot be deactivated, deleted or demoted; with a second Admin they can', async () => {
    const owner = await registerOrganization(server);
    const tokens = await login(server, owner);

    expectProblem(await updateUser(owner.userId, { is_active: false }, tokens), 409, 'user_last_admin');
    expectProblem(await deleteUser(owner.userId, tokens), 409, 'user_last_admin');
    expectProblem(await setRoles(owner.userId, [SYSTEM_ROLES.member], tokens), 409, 'user_last_admin');
    expect(await rolesOf(tokens)).toEqual(['Admin']);

    const second = (
      await server.client(tokens).api.POST('/api/v1/enterprise/users', {
        body: { organization_id: owner.organizationId, email: uniqueEmail('second'), full_name: 'Second', password: STRONG_PASSWORD, role_ids: [SYSTEM_ROLES.admin] },
      })
    ).data as User;
    const demoted = await setRoles(owner.userId, [SYSTEM_ROLES.member], tokens);
    expect(demoted.response.status).toBe(200);
    expect(demoted.data).toEqual([{ id: SYSTEM_ROLES.member, name: 'Member', description: expect.any(String) }]);
    expect(await rolesOf(await tokensFor(second.email))).toEqual(['Admin']);
    expectProblem(await setRoles(second.id, [SYSTEM_ROLES.member], tokens), 403, 'permission_denied');
  });
});

describe('PUT /users/{user_id}/roles', () => {
  it('replaces the roles, effective on the user’s next request', async () => {
    const user = (await createUser()).data as User;
    const tokens = await tokensFor(user.email);
    const organization = () => server.client(tokens).api.GET('/api/v1/enterprise/organizations/{organization_id}', { params: { path: { organization_id: admin.organizationId } } });
    expect((await organization()).response.status).toBe(200);
    const response = await setRoles(user.id, [SYSTEM_ROLES.viewer]);
    expect(response.response.status).toBe(200);
    expectProblem(await organization(), 403, 'permission_denied');
    const audit = (await auditEvents(server, adminTokens, { event_type: 'user.roles_update' })).filter((event) => event.resource_id === user.id);
    expect(audit.map(({ event_type, context }) => ({ event_type, context }))).toEqual([{ event_type: 'user.roles_update', context: { roles: ['Viewer'] } }]);
  });

  it('returns 404 for another tenant’s user or role', async () => {
    const user = (await createUser()).data as User;
    expectProblem(await setRoles(user.id, [SYSTEM_ROLES.viewer], outsider), 404, 'user_not_found');
    expectProblem(await setRoles(user.id, [randomUUID()]), 404, 'role_not_found');
  });
});
