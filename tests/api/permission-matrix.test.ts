import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Account, API, expectProblem, login, loginSuperadmin, registerOrganization, STRONG_PASSWORD, SYSTEM_ROLES, type Tokens, uniqueEmail, updateOrganization } from '../helpers/fixtures.js';
import { startServer, type TestServer } from '../helpers/server.js';

let server: TestServer;
let admin: Account;
let adminTokens: Tokens;
const tokens: Record<string, string> = {};

const CUSTOM_PERMISSIONS = ['audit:read', 'teams:create', 'teams:read', 'users:read'];
const GRANTS: Record<string, ReadonlySet<string>> = {
  Admin: new Set([
    'organizations:read', 'organizations:update', 'teams:create', 'teams:read', 'teams:update', 'teams:delete',
    'users:create', 'users:read', 'users:update', 'users:delete', 'sso:create', 'sso:read', 'sso:update', 'sso:delete',
    'roles:create', 'roles:read', 'roles:update', 'roles:delete', 'audit:read',
  ]),
  Member: new Set(['organizations:read', 'teams:read', 'users:read']),
  Viewer: new Set(['teams:read', 'users:read']),
  Custom: new Set(CUSTOM_PERMISSIONS),
};

const admin$ = (method: string, path: string, body?: unknown) => server.request(method, `${API}${path}`, { token: adminTokens.access_token, body });
const freshTeam = async () => (await admin$('POST', '/teams', { organization_id: admin.organizationId, name: 'M', slug: `m-${randomUUID().slice(0, 8)}` })).body.id as string;
const freshUser = async () =>
  (await admin$('POST', '/users', { organization_id: admin.organizationId, email: uniqueEmail('m'), full_name: 'M', role_ids: [SYSTEM_ROLES.viewer] })).body.id as string;
const OAUTH = { provider_type: 'oauth', provider_name: 'Matrix', oauth_client_id: 'c', oauth_authorization_url: 'https://idp.example/a', oauth_token_url: 'https://idp.example/t' };
const freshSso = async () => (await admin$('POST', '/sso', { organization_id: admin.organizationId, ...OAUTH })).body.id as string;
const freshRole = async () => (await admin$('POST', '/roles', { name: `M ${randomUUID().slice(0, 8)}`, permissions: ['users:read'] })).body.id as string;

interface Case {
  operation: string;
  permission: string;
  request: () => Promise<{ method: string; path: string; body?: unknown }>;
}

const CASES: Case[] = [
  { operation: 'listOrganizations', permission: 'organizations:read', request: async () => ({ method: 'GET', path: '/organizations' }) },
  { operation: 'getOrganization', permission: 'organizations:read', request: async () => ({ method: 'GET', path: `/organizations/${admin.organizationId}` }) },
  { operation: 'updateOrganization', permission: 'organizations:update', request: async () => ({ method: 'PUT', path: `/organizations/${admin.organizationId}`, body: { contact_name: 'Matrix' } }) },
  { operation: 'createOrganization', permission: 'organizations:create', request: async () => ({ method: 'POST', path: '/organizations', body: { name: 'X', slug: `x-${randomUUID().slice(0, 8)}` } }) },
  { operation: 'deleteOrganization', permission: 'organizations:delete', request: async () => ({ method: 'DELETE', path: `/organizations/${admin.organizationId}` }) },
  { operation: 'createTeam', permission: 'teams:create', request: async () => ({ method: 'POST', path: '/teams', body: { organization_id: admin.organizationId, name: 'C', slug: `c-${randomUUID().slice(0, 8)}` } }) },
  { operation: 'listTeams', permission: 'teams:read', request: async () => ({ method: 'GET', path: `/teams/organization/${admin.organizationId}` }) },
  { operation: 'getTeam', permission: 'teams:read', request: async () => ({ method: 'GET', path: `/teams/${await freshTeam()}` }) },
  { operation: 'updateTeam', permission: 'teams:update', request: async () => ({ method: 'PUT', path: `/teams/${await freshTeam()}`, body: { name: 'U' } }) },
  { operation: 'deleteTeam', permission: 'teams:delete', request: async () => ({ method: 'DELETE', path: `/teams/${await freshTeam()}` }) },
  {
    operation: 'createUser',
    permission: 'users:create',
    request: async () => ({ method: 'POST', path: '/users', body: { organization_id: admin.organizationId, email: uniqueEmail('c'), full_name: 'C', role_ids: [SYSTEM_ROLES.viewer] } }),
  },
  { operation: 'listUsers', permission: 'users:read', request: async () => ({ method: 'GET', path: `/users/organization/${admin.organizationId}` }) },
  { operation: 'getUser', permission: 'users:read', request: async () => ({ method: 'GET', path: `/users/${await freshUser()}` }) },
  { operation: 'updateUser', permission: 'users:update', request: async () => ({ method: 'PUT', path: `/users/${await freshUser()}`, body: { full_name: 'U' } }) },
  { operation: 'deleteUser', permission: 'users:delete', request: async () => ({ method: 'DELETE', path: `/users/${await freshUser()}` }) },
  { operation: 'setUserRoles', permission: 'users:update', request: async () => ({ method: 'PUT', path: `/users/${await freshUser()}/roles`, body: { role_ids: [SYSTEM_ROLES.viewer] } }) },
  { operation: 'listRoles', permission: 'roles:read', request: async () => ({ method: 'GET', path: '/roles' }) },
  { operation: 'getRole', permission: 'roles:read', request: async () => ({ method: 'GET', path: `/roles/${await freshRole()}` }) },
  { operation: 'createRole', permission: 'roles:create', request: async () => ({ method: 'POST', path: '/roles', body: { name: `C ${randomUUID().slice(0, 8)}`, permissions: ['users:read'] } }) },
  { operation: 'updateRole', permission: 'roles:update', request: async () => ({ method: 'PUT', path: `/roles/${await freshRole()}`, body: { description: 'U' } }) },
  { operation: 'deleteRole', permission: 'roles:delete', request: async () => ({ method: 'DELETE', path: `/roles/${await freshRole()}` }) },
  { operation: 'createSsoConfiguration', permission: 'sso:create', request: async () => ({ method: 'POST', path: '/sso', body: { organization_id: admin.organizationId, ...OAUTH } }) },
  { operation: 'listSsoConfigurations', permission: 'sso:read', request: async () => ({ method: 'GET', path: `/sso/organization/${admin.organizationId}` }) },
  { operation: 'getSsoConfiguration', permission: 'sso:read', request: async () => ({ method: 'GET', path: `/sso/${await freshSso()}` }) },
  { operation: 'updateSsoConfiguration', permission: 'sso:update', request: async () => ({ method: 'PUT', path: `/sso/${await freshSso()}`, body: { is_enabled: false } }) },
  { operation: 'deleteSsoConfiguration', permission: 'sso:delete', request: async () => ({ method: 'DELETE', path: `/sso/${await freshSso()}` }) },
  { operation: 'listAuditLogs', permission: 'audit:read', request: async () => ({ method: 'GET', path: '/audit-logs' }) },
];

beforeAll(async () => {
  server = await startServer();
  admin = await registerOrganization(server);
  adminTokens = await login(server, admin);
  await updateOrganization(server, await loginSuperadmin(server), admin.organizationId, { max_users: 1000, max_teams: 1000 });
  tokens.Admin = adminTokens.access_token;
  const custom = await admin$('POST', '/roles', { name: 'Custom', permissions: CUSTOM_PERMISSIONS });
  const roleIds: Record<string, string> = { Member: SYSTEM_ROLES.member, Viewer: SYSTEM_ROLES.viewer, Custom: custom.body.id };
  for (const [name, roleId] of Object.entries(roleIds)) {
    const email = uniqueEmail(name.toLowerCase());
    const created = await admin$('POST', '/users', { organization_id: admin.organizationId, email, full_name: name, password: STRONG_PASSWORD, role_ids: [roleId] });
    expect(created.status, created.text).toBe(201);
    tokens[name] = (await login(server, { email, password: STRONG_PASSWORD })).access_token;
  }
});
afterAll(async () => {
  await server.close();
});

describe('permission matrix', () => {
  it('covers every operation that needs a permission', () => {
    const documented = Object.values(server.container.apiDocument.paths)
      .flatMap((item) => Object.values(item))
      .filter((operation) => operation && (operation.security ?? server.container.apiDocument.security ?? []).length > 0)
      .map((operation) => operation?.operationId);
    const selfService = ['logout', 'getCurrentUser', 'changePassword'];
    expect(CASES.map((c) => c.operation).sort()).toEqual(documented.filter((id) => id && !selfService.includes(id)).sort());
  });

  for (const role of Object.keys(GRANTS)) {
    for (const matrixCase of CASES) {
      const allowed = GRANTS[role]?.has(matrixCase.permission) ?? false;
      it(`${role} × ${matrixCase.operation}: ${allowed ? 'succeeds' : `403 naming ${matrixCase.permission}`}`, async () => {
        const { method, path, body } = await matrixCase.request();
        const response = await server.request(method, `${API}${path}`, { token: tokens[role], body });
        if (allowed) {
          expect(response.status, response.text).toBeGreaterThanOrEqual(200);
          expect(response.status, response.text).toBeLessThan(300);
        } else {
          expectProblem(response, 403);
          expect(response.body.detail).toBe(`Permission denied: requires ${matrixCase.permission}`);
        }
      });
    }
  }
});
