import { randomUUID } from 'node:crypto';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Account, API, expectProblem, login, registerOrganization, STRONG_PASSWORD, SYSTEM_ROLES, type Tokens, uniqueEmail } from '../helpers/fixtures.js';
import { startServer, type TestServer } from '../helpers/server.js';

let server: TestServer;
let admin: Account;
let adminTokens: Tokens;
let outsider: Tokens;

beforeAll(async () => {
  server = await startServer();
  admin = await registerOrganization(server);
  adminTokens = await login(server, admin);
  await server.query(sql`update organizations set max_users = 1000, max_teams = 100 where id = ${admin.organizationId}`);
  outsider = await login(server, await registerOrganization(server));
});
afterAll(async () => {
  await server.close();
});

async function createUser(body: Record<string, unknown> = {}, token = adminTokens.access_token) {
  return server.request('POST', `${API}/users`, {
    token,
    body: { organization_id: admin.organizationId, email: uniqueEmail('staff'), full_name: 'Sam Staff', password: STRONG_PASSWORD, ...body },
  });
}

async function rolesOf(userId: string): Promise<string[]> {
  const rows = await server.query<{ name: string }>(
    sql`select r.name from user_roles ur join roles r on r.id = ur.role_id where ur.user_id = ${userId} order by r.name`,
  );
  return rows.map((row) => row.name);
}

async function tokensFor(email: string, password = STRONG_PASSWORD) {
  return login(server, { email, password });
}

describe('POST /users', () => {
  it('creates a Member by default who can log in', async () => {
    const email = uniqueEmail('new');
    const response = await createUser({ email });
    expect(response.status).toBe(201);
    expect(response.body).toMatchObject({ email, organization_id: admin.organizationId, team_id: null, is_active: true });
    expect(await rolesOf(response.body.id)).toEqual(['Member']);
    const me = await server.request('GET', `${API}/auth/me`, { token: (await tokensFor(email)).access_token });
    expect(me.body.permissions).toEqual(['organizations:read', 'teams:read', 'users:read']);
  });

  it('creates an SSO-only user without a password, who cannot log in with one', async () => {
    const email = uniqueEmail('sso');
    expect((await createUser({ email, password: undefined })).status).toBe(201);
    expectProblem(await server.request('POST', `${API}/auth/login`, { body: { email, password: STRONG_PASSWORD } }), 401);
  });

  it('assigns the given roles and team', async () => {
    const team = await server.request('POST', `${API}/teams`, {
      token: adminTokens.access_token,
      body: { organization_id: admin.organizationId, name: 'Ops', slug: `ops-${randomUUID().slice(0, 6)}` },
    });
    const response = await createUser({ team_id: team.body.id, role_ids: [SYSTEM_ROLES.viewer, SYSTEM_ROLES.member] });
    expect(response.status).toBe(201);
    expect(response.body.team_id).toBe(team.body.id);
    expect(await rolesOf(response.body.id)).toEqual(['Member', 'Viewer']);
  });

  it('returns 409 for an email registered in any letter case', async () => {
    const email = uniqueEmail('dup');
    await createUser({ email });
    const duplicate = await createUser({ email: email.toUpperCase() });
    expectProblem(duplicate, 409);
    expect(duplicate.body.detail).toMatch(/^already exists/);
  });

  it('returns 404 for another tenant’s organization, team or role, and creates nothing', async () => {
    const other = await registerOrganization(server);
    const otherTokens = await login(server, other);
    const otherTeam = await server.request('POST', `${API}/teams`, {
      token: otherTokens.access_token,
      body: { organization_id: other.organizationId, name: 'Theirs', slug: 'theirs' },
    });
    const otherRole = await server.request('POST', `${API}/roles`, {
      token: otherTokens.access_token,
      body: { name: 'Theirs', permissions: ['users:read'] },
    });
    const email = uniqueEmail('cross');
    for (const override of [{ organization_id: other.organizationId }, { team_id: otherTeam.body.id }, { role_ids: [otherRole.body.id] }, { role_ids: [randomUUID()] }]) {
      expectProblem(await createUser({ email, ...override }), 404);
    }
    const rows = await server.query(sql`select id from users where lower(email) = lower(${email})`);
    expect(rows).toEqual([]);
  });

  it('returns 403 for a Member, and refuses to grant permissions the caller lacks', async () => {
    const member = await createUser();
    const memberTokens = await tokensFor(member.body.email);
    const refused = await createUser({}, memberTokens.access_token);
    expectProblem(refused, 403);
    expect(refused.body.detail).toBe('Permission denied: requires users:create');

    const creator = await server.request('POST', `${API}/roles`, {
      token: adminTokens.access_token,
      body: { name: `Recruiter ${randomUUID().slice(0, 6)}`, permissions: ['users:create', 'users:read'] },
    });
    const recruiter = await createUser({ role_ids: [creator.body.id] });
    const escalation = await createUser({ role_ids: [SYSTEM_ROLES.admin] }, (await tokensFor(recruiter.body.email)).access_token);
    expectProblem(escalation, 403);
    expect(escalation.body.detail).toMatch(/cannot grant permissions you do not hold/);
  });

  it('enforces max_users under concurrency: one of 10 parallel creates succeeds at max_users - 1', async () => {
    const owner = await registerOrganization(server);
    const tokens = await login(server, owner);
    await server.query(sql`update organizations set max_users = 2 where id = ${owner.organizationId}`);
    const results = await Promise.all(
      Array.from({ length: 10 }, () =>
        server.request('POST', `${API}/users`, {
          token: tokens.access_token,
          body: { organization_id: owner.organizationId, email: uniqueEmail('burst'), full_name: 'Burst' },
        }),
      ),
    );
    expect(results.filter((r) => r.status === 201)).toHaveLength(1);
    for (const refused of results.filter((r) => r.status !== 201)) expectProblem(refused, 403);
  });

  it.each([
    ['a weak password', { password: 'password' }],
    ['is_superadmin', { is_superadmin: true }],
    ['an empty role list', { role_ids: [] }],
    ['a malformed email', { email: 'no' }],
  ])('returns 422 for %s', async (_label, override) => {
    expectProblem(await createUser(override), 422);
  });
});

describe('GET /users/organization/{organization_id}', () => {
  it('filters by team, activity and text, paginated with X-Total-Count', async () => {
    const marker = randomUUID().slice(0, 8);
    const team = await server.request('POST', `${API}/teams`, {
      token: adminTokens.access_token,
      body: { organization_id: admin.organizationId, name: 'Filter', slug: `filter-${marker}` },
    });
    const a = await createUser({ full_name: `Alpha ${marker}`, team_id: team.body.id });
    const b = await createUser({ full_name: `Beta ${marker}` });
    await server.request('PUT', `${API}/users/${b.body.id}`, { token: adminTokens.access_token, body: { is_active: false } });
    const list = (query: string) => server.request('GET', `${API}/users/organization/${admin.organizationId}?${query}`, { token: adminTokens.access_token });

    const byText = await list(`q=${marker}`);
    expect(byText.body.map((u: { id: string }) => u.id)).toEqual([a.body.id, b.body.id]);
    expect(byText.headers.get('x-total-count')).toBe('2');
    expect((await list(`q=${marker}&is_active=false`)).body.map((u: { id: string }) => u.id)).toEqual([b.body.id]);
    expect((await list(`team_id=${team.body.id}`)).body.map((u: { id: string }) => u.id)).toEqual([a.body.id]);
    const paged = await list(`q=${marker}&skip=1&limit=1`);
    expect(paged.body.map((u: { id: string }) => u.id)).toEqual([b.body.id]);
    expect((await list('q=%25')).headers.get('x-total-count')).toBe('0');
  });

  it('returns 404 for another tenant and 422 for a bad filter', async () => {
    expectProblem(await server.request('GET', `${API}/users/organization/${admin.organizationId}`, { token: outsider.access_token }), 404);
    expectProblem(await server.request('GET', `${API}/users/organization/${admin.organizationId}?is_active=maybe`, { token: adminTokens.access_token }), 422);
  });
});

describe('GET|PUT|DELETE /users/{user_id}', () => {
  it('reads and updates a user; another tenant gets 404 and changes nothing', async () => {
    const user = (await createUser()).body;
    expect((await server.request('GET', `${API}/users/${user.id}`, { token: adminTokens.access_token })).body).toEqual(user);
    expectProblem(await server.request('GET', `${API}/users/${user.id}`, { token: outsider.access_token }), 404);
    expectProblem(await server.request('PUT', `${API}/users/${user.id}`, { token: outsider.access_token, body: { full_name: 'Hijacked' } }), 404);
    const updated = await server.request('PUT', `${API}/users/${user.id}`, { token: adminTokens.access_token, body: { full_name: 'Renamed', is_verified: true } });
    expect(updated.body).toMatchObject({ full_name: 'Renamed', is_verified: true });
  });

  it.each([
    ['organization_id', { organization_id: randomUUID() }],
    ['is_superadmin', { is_superadmin: true }],
    ['a null full_name', { full_name: null }],
    ['password', { password: STRONG_PASSWORD }],
  ])('refuses %s on update with 422', async (_label, body) => {
    const user = (await createUser()).body;
    expectProblem(await server.request('PUT', `${API}/users/${user.id}`, { token: adminTokens.access_token, body }), 422);
  });

  it('deactivating a user ends their sessions at once; their still-signed token learns why, their refresh token does not', async () => {
    const user = (await createUser()).body;
    const tokens = await tokensFor(user.email);
    await server.request('PUT', `${API}/users/${user.id}`, { token: adminTokens.access_token, body: { is_active: false } });
    const me = await server.request('GET', `${API}/auth/me`, { token: tokens.access_token });
    expectProblem(me, 401);
    expect(me.body.detail).toMatch(/^Account is disabled/);
    const refreshed = await server.request('POST', `${API}/auth/refresh`, { body: { refresh_token: tokens.refresh_token } });
    expectProblem(refreshed, 401);
    expect(refreshed.body.detail).toMatch(/^Invalid refresh token/);
  });

  it('deleting a user ends their sessions and frees the email', async () => {
    const user = (await createUser()).body;
    const tokens = await tokensFor(user.email);
    expect((await server.request('DELETE', `${API}/users/${user.id}`, { token: adminTokens.access_token })).status).toBe(204);
    expectProblem(await server.request('GET', `${API}/auth/me`, { token: tokens.access_token }), 401);
    expectProblem(await server.request('GET', `${API}/users/${user.id}`, { token: adminTokens.access_token }), 404);
    expect((await createUser({ email: user.email })).status).toBe(201);
  });

  it('moves a user to a team of the same organization only', async () => {
    const user = (await createUser()).body;
    const other = await registerOrganization(server);
    const otherTeam = await server.request('POST', `${API}/teams`, {
      token: (await login(server, other)).access_token,
      body: { organization_id: other.organizationId, name: 'Theirs', slug: 'theirs' },
    });
    expectProblem(await server.request('PUT', `${API}/users/${user.id}`, { token: adminTokens.access_token, body: { team_id: otherTeam.body.id } }), 404);
  });
});

describe('the last active Admin', () => {
  it('cannot be deactivated, deleted or demoted; with a second Admin they can', async () => {
    const owner = await registerOrganization(server);
    const tokens = await login(server, owner);
    const put = (path: string, body: unknown) => server.request('PUT', `${API}${path}`, { token: tokens.access_token, body });

    expectProblem(await put(`/users/${owner.userId}`, { is_active: false }), 409);
    expectProblem(await server.request('DELETE', `${API}/users/${owner.userId}`, { token: tokens.access_token }), 409);
    expectProblem(await put(`/users/${owner.userId}/roles`, { role_ids: [SYSTEM_ROLES.member] }), 409);
    expect(await rolesOf(owner.userId)).toEqual(['Admin']);

    const second = await server.request('POST', `${API}/users`, {
      token: tokens.access_token,
      body: { organization_id: owner.organizationId, email: uniqueEmail('second'), full_name: 'Second', role_ids: [SYSTEM_ROLES.admin] },
    });
    const demoted = await put(`/users/${owner.userId}/roles`, { role_ids: [SYSTEM_ROLES.member] });
    expect(demoted.status).toBe(200);
    expect(demoted.body).toEqual([{ id: SYSTEM_ROLES.member, name: 'Member', description: expect.any(String) }]);
    expect(await rolesOf(second.body.id)).toEqual(['Admin']);
    expectProblem(await put(`/users/${second.body.id}/roles`, { role_ids: [SYSTEM_ROLES.member] }), 403);
  });
});

describe('PUT /users/{user_id}/roles', () => {
  it('replaces the roles, effective on the user’s next request', async () => {
    const user = (await createUser()).body;
    const tokens = await tokensFor(user.email);
    expect((await server.request('GET', `${API}/organizations/${admin.organizationId}`, { token: tokens.access_token })).status).toBe(200);
    const response = await server.request('PUT', `${API}/users/${user.id}/roles`, { token: adminTokens.access_token, body: { role_ids: [SYSTEM_ROLES.viewer] } });
    expect(response.status).toBe(200);
    expectProblem(await server.request('GET', `${API}/organizations/${admin.organizationId}`, { token: tokens.access_token }), 403);
    const audit = await server.query(sql`select event_type, context from audit_logs where resource_id = ${user.id} and event_type = 'user.roles_update'`);
    expect(audit).toEqual([{ event_type: 'user.roles_update', context: { roles: ['Viewer'] } }]);
  });

  it('returns 404 for another tenant’s user or role', async () => {
    const user = (await createUser()).body;
    expectProblem(await server.request('PUT', `${API}/users/${user.id}/roles`, { token: outsider.access_token, body: { role_ids: [SYSTEM_ROLES.viewer] } }), 404);
    expectProblem(await server.request('PUT', `${API}/users/${user.id}/roles`, { token: adminTokens.access_token, body: { role_ids: [randomUUID()] } }), 404);
  });
});
