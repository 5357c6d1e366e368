import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type Account,
  API,
  auditEvents,
  expectProblem,
  getUser,
  joinOrganization,
  login,
  loginSuperadmin,
  registerOrganization,
  setUserRoles,
  SYSTEM_ROLES,
  type Tokens,
  updateOrganization,
  updateUser,
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
  // Many tests create teams in this one organization; its quota is not what they are about.
  await updateOrganization(server, root, admin.organizationId, { max_teams: 1000 });
  outsider = await login(server, await registerOrganization(server));
});
afterAll(async () => {
  await server.close();
});

const slug = () => `team-${randomUUID().slice(0, 8)}`;

async function createTeam(token = adminTokens.access_token, organizationId = admin.organizationId, body: Record<string, unknown> = {}) {
  return server.request('POST', `${API}/teams`, { token, body: { organization_id: organizationId, name: 'Core', slug: slug(), ...body } });
}

async function teamOf(userId: string): Promise<string | null> {
  return (await getUser(server, adminTokens, userId)).team_id;
}

describe('POST /teams', () => {
  it('creates a team and audits it', async () => {
    const response = await createTeam(adminTokens.access_token, admin.organizationId, { name: 'Platform', description: 'Infra' });
    expect(response.status).toBe(201);
    expect(response.body).toEqual({
      id: expect.any(String),
      organization_id: admin.organizationId,
      name: 'Platform',
      slug: expect.stringMatching(/^team-/),
      description: 'Infra',
      created_at: expect.any(String),
      updated_at: expect.any(String),
    });
    const audit = (await auditEvents(server, adminTokens)).filter((event) => event.resource_id === response.body.id);
    expect(audit.map(({ event_type }) => ({ event_type }))).toEqual([{ event_type: 'team.create' }]);
  });

  it('returns 409 for a slug taken in the same organization, but not in another', async () => {
    const first = await createTeam();
    expectProblem(await createTeam(adminTokens.access_token, admin.organizationId, { slug: first.body.slug }), 409, 'team_slug_taken');
    const elsewhere = await registerOrganization(server);
    const elsewhereTokens = await login(server, elsewhere);
    expect((await createTeam(elsewhereTokens.access_token, elsewhere.organizationId, { slug: first.body.slug })).status).toBe(201);
  });

  it('returns 404 for another tenant’s organization, exactly as for an unknown one', async () => {
    const foreign = await createTeam(outsider.access_token, admin.organizationId);
    const unknown = await createTeam(outsider.access_token, randomUUID());
    expectProblem(foreign, 404, 'organization_not_found');
    expectProblem(unknown, 404, 'organization_not_found');
    expect(foreign.body.detail).toBe(unknown.body.detail);
  });

  it('returns 403 naming teams:create for a Member', async () => {
    const member = await joinOrganization(server, admin, adminTokens);
    const response = await createTeam((await login(server, member)).access_token);
    expectProblem(response, 403, 'permission_denied');
    expect(response.body.detail).toBe('Permission denied: requires teams:create');
  });

  it('lets exactly one of 10 concurrent creates through at max_teams - 1', async () => {
    const owner = await registerOrganization(server);
    const tokens = await login(server, owner);
    await updateOrganization(server, root, owner.organizationId, { max_teams: 3 });
    expect((await createTeam(tokens.access_token, owner.organizationId)).status).toBe(201);
    expect((await createTeam(tokens.access_token, owner.organizationId)).status).toBe(201);
    const results = await Promise.all(Array.from({ length: 10 }, () => createTeam(tokens.access_token, owner.organizationId)));
    expect(results.filter((r) => r.status === 201)).toHaveLength(1);
    for (const refused of results.filter((r) => r.status !== 201)) expectProblem(refused, 403, 'organization_team_limit_reached');
  });

  it.each([
    ['a missing name', { name: undefined }],
    ['a bad slug', { slug: 'Has Spaces' }],
    ['a null description', { description: null }],
    ['an unknown field', { team_lead: 'me' }],
    ['a malformed organization_id', { organization_id: 'nope' }],
  ])('returns 422 for %s', async (_label, override) => {
    expectProblem(await createTeam(adminTokens.access_token, admin.organizationId, override), 422, 'request_invalid');
  });
});

describe('GET /teams/organization/{organization_id}', () => {
  it('lists the organization’s teams oldest first with X-Total-Count, paginated', async () => {
    const owner = await registerOrganization(server);
    const tokens = await login(server, owner);
    const created = [];
    for (let i = 0; i < 3; i += 1) created.push((await createTeam(tokens.access_token, owner.organizationId)).body.id);
    const page = await server.request('GET', `${API}/teams/organization/${owner.organizationId}?skip=1&limit=1`, { token: tokens.access_token });
    expect(page.status).toBe(200);
    expect(page.headers.get('x-total-count')).toBe('3');
    expect(page.body.map((team: { id: string }) => team.id)).toEqual([created[1]]);
  });

  it('lets a Viewer read', async () => {
    const viewer = await joinOrganization(server, admin, adminTokens);
    await setUserRoles(server, adminTokens, viewer.userId, [SYSTEM_ROLES.viewer]);
    const response = await server.request('GET', `${API}/teams/organization/${admin.organizationId}`, { token: (await login(server, viewer)).access_token });
    expect(response.status).toBe(200);
  });

  it('returns 404 for another tenant’s organization and 422 for limit 101', async () => {
    expectProblem(await server.request('GET', `${API}/teams/organization/${admin.organizationId}`, { token: outsider.access_token }), 404, 'organization_not_found');
    expectProblem(await server.request('GET', `${API}/teams/organization/${admin.organizationId}?limit=101`, { token: adminTokens.access_token }), 422, 'request_invalid');
  });
});

describe('GET /teams/{team_id}', () => {
  it('answers the team, and 404 to another tenant', async () => {
    const team = (await createTeam()).body;
    expect((await server.request('GET', `${API}/teams/${team.id}`, { token: adminTokens.access_token })).body).toEqual(team);
    expectProblem(await server.request('GET', `${API}/teams/${team.id}`, { token: outsider.access_token }), 404, 'team_not_found');
    expectProblem(await server.request('GET', `${API}/teams/${randomUUID()}`, { token: adminTokens.access_token }), 404, 'team_not_found');
  });
});

describe('PUT /teams/{team_id}', () => {
  it('changes the fields given', async () => {
    const team = (await createTeam(adminTokens.access_token, admin.organizationId, { description: 'Old' })).body;
    const response = await server.request('PUT', `${API}/teams/${team.id}`, { token: adminTokens.access_token, body: { name: 'New name', description: null } });
    expect(response.status).toBe(200);
    expect(response.body).toMatchObject({ id: team.id, name: 'New name', slug: team.slug, description: null });
  });

  it.each([
    ['organization_id', { organization_id: randomUUID() }],
    ['a null name', { name: null }],
    ['an empty body', {}],
  ])('returns 422 for %s and changes nothing', async (_label, body) => {
    const team = (await createTeam()).body;
    expectProblem(await server.request('PUT', `${API}/teams/${team.id}`, { token: adminTokens.access_token, body }), 422, 'request_invalid');
    expect((await server.request('GET', `${API}/teams/${team.id}`, { token: adminTokens.access_token })).body).toEqual(team);
  });

  it('returns 409 for a slug another team has, and 404 for another tenant', async () => {
    const first = (await createTeam()).body;
    const second = (await createTeam()).body;
    expectProblem(await server.request('PUT', `${API}/teams/${second.id}`, { token: adminTokens.access_token, body: { slug: first.slug } }), 409, 'team_slug_taken');
    expectProblem(await server.request('PUT', `${API}/teams/${second.id}`, { token: outsider.access_token, body: { name: 'Hijack' } }), 404, 'team_not_found');
  });
});

describe('DELETE /teams/{team_id}', () => {
  it('deletes the team and clears its members’ team_id', async () => {
    const team = (await createTeam()).body;
    const member = await joinOrganization(server, admin, adminTokens);
    await updateUser(server, adminTokens, member.userId, { team_id: team.id });
    expect(await teamOf(member.userId)).toBe(team.id);

    expect((await server.request('DELETE', `${API}/teams/${team.id}`, { token: adminTokens.access_token })).status).toBe(204);
    expect(await teamOf(member.userId)).toBeNull();
    expectProblem(await server.request('GET', `${API}/teams/${team.id}`, { token: adminTokens.access_token }), 404, 'team_not_found');
    expect((await createTeam(adminTokens.access_token, admin.organizationId, { slug: team.slug })).status).toBe(201);
  });

  it('returns 404 for another tenant and leaves the team', async () => {
    const team = (await createTeam()).body;
    expectProblem(await server.request('DELETE', `${API}/teams/${team.id}`, { token: outsider.access_token }), 404, 'team_not_found');
    expect((await server.request('GET', `${API}/teams/${team.id}`, { token: adminTokens.access_token })).status).toBe(200);
  });
});
