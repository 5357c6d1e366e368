import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Account, API, login, registerOrganization, STRONG_PASSWORD, type Tokens, uniqueEmail } from '../helpers/fixtures.js';
import { startServer, type TestServer } from '../helpers/server.js';

let server: TestServer;

interface Tenant {
  account: Account;
  tokens: Tokens;
  teamId: string;
  userId: string;
  roleId: string;
  ssoConfigId: string;
}

let victim: Tenant;
let attacker: Tenant;

async function tenant(): Promise<Tenant> {
  const account = await registerOrganization(server);
  const tokens = await login(server, account);
  const call = (path: string, body: unknown) => server.request('POST', `${API}${path}`, { token: tokens.access_token, body });
  const team = await call('/teams', { organization_id: account.organizationId, name: 'Team', slug: 'team' });
  const role = await call('/roles', { name: 'Custom', permissions: ['users:read'] });
  const sso = await call('/sso', {
    organization_id: account.organizationId,
    provider_type: 'oauth',
    provider_name: 'Theirs',
    oauth_client_id: 'c',
    oauth_client_secret: 'victim-secret',
    oauth_authorization_url: 'https://idp.example/a',
    oauth_token_url: 'https://idp.example/t',
    oauth_userinfo_url: 'https://idp.example/u',
  });
  const user = await call('/users', { organization_id: account.organizationId, email: uniqueEmail('victim'), full_name: 'V', password: STRONG_PASSWORD, team_id: team.body.id });
  return { account, tokens, teamId: team.body.id, userId: user.body.id, roleId: role.body.id, ssoConfigId: sso.body.id };
}

/** Everything an Admin of the victim organization can read of it, to prove nothing changed. */
async function snapshot(owner: Tenant) {
  const get = async (path: string) => (await server.request('GET', `${API}${path}`, { token: owner.tokens.access_token })).body;
  return {
    organization: await get(`/organizations/${owner.account.organizationId}`),
    teams: await get(`/teams/organization/${owner.account.organizationId}`),
    users: await get(`/users/organization/${owner.account.organizationId}`),
    role: await get(`/roles/${owner.roleId}`),
    sso: await get(`/sso/organization/${owner.account.organizationId}`),
  };
}

interface Ids {
  organizationId: string;
  teamId: string;
  userId: string;
  roleId: string;
  ssoConfigId: string;
}

/** Each id-bearing operation, and each body that names an organization, team or role. */
const CASES: [string, (ids: Ids) => { method: string; path: string; body?: unknown }][] = [
  ['getOrganization', (ids) => ({ method: 'GET', path: `/organizations/${ids.organizationId}` })],
  ['updateOrganization', (ids) => ({ method: 'PUT', path: `/organizations/${ids.organizationId}`, body: { name: 'Pwned' } })],
  ['deleteOrganization', (ids) => ({ method: 'DELETE', path: `/organizations/${ids.organizationId}` })],
  ['listTeams', (ids) => ({ method: 'GET', path: `/teams/organization/${ids.organizationId}` })],
  ['createTeam with organization_id', (ids) => ({ method: 'POST', path: '/teams', body: { organization_id: ids.organizationId, name: 'X', slug: 'planted' } })],
  ['getTeam', (ids) => ({ method: 'GET', path: `/teams/${ids.teamId}` })],
  ['updateTeam', (ids) => ({ method: 'PUT', path: `/teams/${ids.teamId}`, body: { name: 'Pwned' } })],
  ['deleteTeam', (ids) => ({ method: 'DELETE', path: `/teams/${ids.teamId}` })],
  ['listUsers', (ids) => ({ method: 'GET', path: `/users/organization/${ids.organizationId}` })],
  ['createUser with organization_id', (ids) => ({ method: 'POST', path: '/users', body: { organization_id: ids.organizationId, email: uniqueEmail('planted'), full_name: 'P' } })],
  ['getUser', (ids) => ({ method: 'GET', path: `/users/${ids.userId}` })],
  ['updateUser', (ids) => ({ method: 'PUT', path: `/users/${ids.userId}`, body: { full_name: 'Pwned' } })],
  ['deleteUser', (ids) => ({ method: 'DELETE', path: `/users/${ids.userId}` })],
  ['setUserRoles', (ids) => ({ method: 'PUT', path: `/users/${ids.userId}/roles`, body: { role_ids: ['00000000-0000-4000-8000-000000000001'] } })],
  ['getRole', (ids) => ({ method: 'GET', path: `/roles/${ids.roleId}` })],
  ['updateRole', (ids) => ({ method: 'PUT', path: `/roles/${ids.roleId}`, body: { name: 'Pwned' } })],
  ['deleteRole', (ids) => ({ method: 'DELETE', path: `/roles/${ids.roleId}` })],
  [
    'createSsoConfiguration with organization_id',
    (ids) => ({
      method: 'POST',
      path: '/sso',
      body: {
        organization_id: ids.organizationId,
        provider_type: 'oauth',
        provider_name: 'P',
        oauth_client_id: 'c',
        oauth_authorization_url: 'https://e.example/a',
        oauth_token_url: 'https://e.example/t',
        oauth_userinfo_url: 'https://e.example/u',
      },
    }),
  ],
  ['listSsoConfigurations', (ids) => ({ method: 'GET', path: `/sso/organization/${ids.organizationId}` })],
  ['getSsoConfiguration', (ids) => ({ method: 'GET', path: `/sso/${ids.ssoConfigId}` })],
  ['updateSsoConfiguration', (ids) => ({ method: 'PUT', path: `/sso/${ids.ssoConfigId}`, body: { provider_name: 'Pwned' } })],
  ['deleteSsoConfiguration', (ids) => ({ method: 'DELETE', path: `/sso/${ids.ssoConfigId}` })],
  ['listAuditLogs with organization_id', (ids) => ({ method: 'GET', path: `/audit-logs?organization_id=${ids.organizationId}` })],
];

/** Bodies of the attacker's own objects that point at the victim's team or role. */
const OWN_OBJECT_CASES: [string, (own: Tenant, ids: Ids) => { method: string; path: string; body?: unknown }][] = [
  [
    'createUser with team_id',
    (own, ids) => ({ method: 'POST', path: '/users', body: { organization_id: own.account.organizationId, email: uniqueEmail('x'), full_name: 'X', team_id: ids.teamId } }),
  ],
  [
    'createUser with role_ids',
    (own, ids) => ({ method: 'POST', path: '/users', body: { organization_id: own.account.organizationId, email: uniqueEmail('x'), full_name: 'X', role_ids: [ids.roleId] } }),
  ],
  ['updateUser with team_id', (own, ids) => ({ method: 'PUT', path: `/users/${own.userId}`, body: { team_id: ids.teamId } })],
  ['setUserRoles with role_ids', (own, ids) => ({ method: 'PUT', path: `/users/${own.userId}/roles`, body: { role_ids: [ids.roleId] } })],
  ['updateSsoConfiguration with default_role_id', (own, ids) => ({ method: 'PUT', path: `/sso/${own.ssoConfigId}`, body: { default_role_id: ids.roleId } })],
];

beforeAll(async () => {
  server = await startServer();
  victim = await tenant();
  attacker = await tenant();
});
afterAll(async () => {
  await server.close();
});

function randomIds(): Ids {
  return { organizationId: randomUUID(), teamId: randomUUID(), userId: randomUUID(), roleId: randomUUID(), ssoConfigId: randomUUID() };
}

async function send(request: { method: string; path: string; body?: unknown }) {
  const response = await server.request(request.method, `${API}${request.path}`, { token: attacker.tokens.access_token, body: request.body });
  return { status: response.status, type: response.body?.type, detail: response.body?.detail };
}

describe('tenant isolation: an Admin of another organization', () => {
  const victimIds = (): Ids => ({
    organizationId: victim.account.organizationId,
    teamId: victim.teamId,
    userId: victim.userId,
    roleId: victim.roleId,
    ssoConfigId: victim.ssoConfigId,
  });

  it.each(CASES)('%s: answered exactly as for an unknown id, and nothing changes', async (_name, build) => {
    const before = await snapshot(victim);
    const foreign = await send(build(victimIds()));
    const unknown = await send(build(randomIds()));
    expect(foreign).toEqual(unknown);
    expect([403, 404]).toContain(foreign.status);
    expect(await snapshot(victim)).toEqual(before);
  });

  it.each(OWN_OBJECT_CASES)('%s naming the victim’s object: 404 as for an unknown id', async (_name, build) => {
    const before = await snapshot(victim);
    const foreign = await send(build(attacker, victimIds()));
    const unknown = await send(build(attacker, randomIds()));
    expect(foreign).toEqual(unknown);
    expect(foreign.status).toBe(404);
    expect(await snapshot(victim)).toEqual(before);
  });
});
