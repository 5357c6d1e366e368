import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type Account,
  API,
  expectProblem,
  login,
  loginSuperadmin,
  registerOrganization,
  STRONG_PASSWORD,
  SYSTEM_ROLES,
  type Tokens,
  uniqueEmail,
  updateOrganization,
} from '../helpers/fixtures.js';
import { listOperations, loadApiDocument } from '../../src/http/openapi.js';
import { startDnsServer, type TestDnsServer } from '../helpers/dns-server.js';
import { uniqueDomain } from '../helpers/domain-fixtures.js';
import { startServer, type TestServer } from '../helpers/server.js';

let server: TestServer;
let dns: TestDnsServer;
let admin: Account;
let adminTokens: Tokens;
const tokens: Record<string, string> = {};

const CUSTOM_PERMISSIONS = ['audit:read', 'teams:create', 'teams:read', 'users:read'];
const GRANTS: Record<string, ReadonlySet<string>> = {
  Admin: new Set([
    'organizations:read',
    'organizations:update',
    'teams:create',
    'teams:read',
    'teams:update',
    'teams:delete',
    'users:create',
    'users:read',
    'users:update',
    'users:delete',
    'sso:create',
    'sso:read',
    'sso:update',
    'sso:delete',
    'roles:create',
    'roles:read',
    'roles:update',
    'roles:delete',
    'audit:read',
  ]),
  Member: new Set(['organizations:read', 'teams:read', 'users:read']),
  Viewer: new Set(['teams:read', 'users:read']),
  Custom: new Set(CUSTOM_PERMISSIONS),
};

const admin$ = (method: string, path: string, body?: unknown) => server.request(method, `${API}${path}`, { token: adminTokens.access_token, body });
const freshTeam = async () => (await admin$('POST', '/teams', { organization_id: admin.organizationId, name: 'M', slug: `m-${randomUUID().slice(0, 8)}` })).body.id as string;
const freshUser = async () =>
  (await admin$('POST', '/users', { organization_id: admin.organizationId, email: uniqueEmail('m'), full_name: 'M', role_ids: [SYSTEM_ROLES.viewer] })).body.id as string;
const OAUTH = {
  provider_type: 'oauth',
  provider_name: 'Matrix',
  oauth_client_id: 'c',
  oauth_authorization_url: 'https://idp.example/a',
  oauth_token_url: 'https://idp.example/t',
  oauth_userinfo_url: 'https://idp.example/u',
};
const freshSso = async () => (await admin$('POST', '/sso', { organization_id: admin.organizationId, ...OAUTH })).body.id as string;
/** A pending DNS claim of the Admin's organization whose TXT record is published: verifying it succeeds. */
const freshDomain = async () => {
  const claim = (await admin$('POST', `/organizations/${admin.organizationId}/domains`, { domain: uniqueDomain('matrix'), verification_method: 'dns' })).body;
  dns.publishTxt(claim.dns_record.name, claim.dns_record.value);
  return claim.id as string;
};
const domains = () => `/organizations/${admin.organizationId}/domains`;
const freshRole = async () => (await admin$('POST', '/roles', { name: `M ${randomUUID().slice(0, 8)}`, permissions: ['users:read'] })).body.id as string;

type RequestOf = () => Promise<{ method: string; path: string; body?: unknown }>;

/** A request each operation with a permission accepts from someone who holds it. */
const REQUESTS: Record<string, RequestOf> = {
  listOrganizations: async () => ({ method: 'GET', path: '/organizations' }),
  getOrganization: async () => ({ method: 'GET', path: `/organizations/${admin.organizationId}` }),
  updateOrganization: async () => ({ method: 'PUT', path: `/organizations/${admin.organizationId}`, body: { contact_name: 'Matrix' } }),
  createOrganization: async () => ({ method: 'POST', path: '/organizations', body: { name: 'X', slug: `x-${randomUUID().slice(0, 8)}` } }),
  deleteOrganization: async () => ({ method: 'DELETE', path: `/organizations/${admin.organizationId}` }),
  claimDomain: async () => ({ method: 'POST', path: domains(), body: { domain: uniqueDomain('matrix'), verification_method: 'dns' } }),
  listDomains: async () => ({ method: 'GET', path: domains() }),
  getDomain: async () => ({ method: 'GET', path: `${domains()}/${await freshDomain()}` }),
  deleteDomain: async () => ({ method: 'DELETE', path: `${domains()}/${await freshDomain()}` }),
  verifyDomain: async () => ({ method: 'POST', path: `${domains()}/${await freshDomain()}/verify` }),
  createTeam: async () => ({ method: 'POST', path: '/teams', body: { organization_id: admin.organizationId, name: 'C', slug: `c-${randomUUID().slice(0, 8)}` } }),
  listTeams: async () => ({ method: 'GET', path: `/teams/organization/${admin.organizationId}` }),
  getTeam: async () => ({ method: 'GET', path: `/teams/${await freshTeam()}` }),
  updateTeam: async () => ({ method: 'PUT', path: `/teams/${await freshTeam()}`, body: { name: 'U' } }),
  deleteTeam: async () => ({ method: 'DELETE', path: `/teams/${await freshTeam()}` }),
  createUser: async () => ({
    method: 'POST',
    path: '/users',
    body: { organization_id: admin.organizationId, email: uniqueEmail('c'), full_name: 'C', role_ids: [SYSTEM_ROLES.viewer] },
  }),
  inviteUser: async () => ({ method: 'POST', path: '/users/invitations', body: { organization_id: admin.organizationId, email: uniqueEmail('i'), full_name: 'I' } }),
  listUsers: async () => ({ method: 'GET', path: `/users/organization/${admin.organizationId}` }),
  getUser: async () => ({ method: 'GET', path: `/users/${await freshUser()}` }),
  updateUser: async () => ({ method: 'PUT', path: `/users/${await freshUser()}`, body: { full_name: 'U' } }),
  deleteUser: async () => ({ method: 'DELETE', path: `/users/${await freshUser()}` }),
  setUserRoles: async () => ({ method: 'PUT', path: `/users/${await freshUser()}/roles`, body: { role_ids: [SYSTEM_ROLES.viewer] } }),
  listRoles: async () => ({ method: 'GET', path: '/roles' }),
  getRole: async () => ({ method: 'GET', path: `/roles/${await freshRole()}` }),
  createRole: async () => ({ method: 'POST', path: '/roles', body: { name: `C ${randomUUID().slice(0, 8)}`, permissions: ['users:read'] } }),
  updateRole: async () => ({ method: 'PUT', path: `/roles/${await freshRole()}`, body: { description: 'U' } }),
  deleteRole: async () => ({ method: 'DELETE', path: `/roles/${await freshRole()}` }),
  createSsoConfiguration: async () => ({ method: 'POST', path: '/sso', body: { organization_id: admin.organizationId, ...OAUTH } }),
  listSsoConfigurations: async () => ({ method: 'GET', path: `/sso/organization/${admin.organizationId}` }),
  getSsoConfiguration: async () => ({ method: 'GET', path: `/sso/${await freshSso()}` }),
  updateSsoConfiguration: async () => ({ method: 'PUT', path: `/sso/${await freshSso()}`, body: { is_enabled: false } }),
  deleteSsoConfiguration: async () => ({ method: 'DELETE', path: `/sso/${await freshSso()}` }),
  listAuditLogs: async () => ({ method: 'GET', path: '/audit-logs' }),
};

// The spec says which permission each operation needs: the matrix checks what the router enforces.
const GUARDED = listOperations(loadApiDocument('/api/v1')).filter((operation) => operation.permission !== null);

beforeAll(async () => {
  dns = await startDnsServer();
  server = await startServer(dns.env);
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
  await dns.close();
});

describe('permission matrix', () => {
  it('has a request for every operation whose spec names a permission', () => {
    expect(Object.keys(REQUESTS).sort()).toEqual(GUARDED.map((operation) => operation.operationId).sort());
  });

  for (const role of Object.keys(GRANTS)) {
    for (const { operationId, permission, platformOnly } of GUARDED) {
      const allowed = !platformOnly && (GRANTS[role]?.has(permission as string) ?? false);
      it(`${role} × ${operationId}: ${allowed ? 'succeeds' : `403 naming ${permission}`}`, async () => {
        const { method, path, body } = await (REQUESTS[operationId] as RequestOf)();
        const response = await server.request(method, `${API}${path}`, { token: tokens[role], body });
        if (allowed) {
          expect(response.status, response.text).toBeGreaterThanOrEqual(200);
          expect(response.status, response.text).toBeLessThan(300);
        } else {
          expectProblem(response, 403, 'permission_denied');
          expect(response.body.detail).toBe(`Permission denied: requires ${permission}`);
        }
      });
    }
  }
});
