import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Account, API, expectProblem, login, registerOrganization, type Tokens } from '../helpers/fixtures.js';
import { startServer, type TestServer } from '../helpers/server.js';
import { claimDomain, uniqueDomain } from '../helpers/domain-fixtures.js';

let server: TestServer;
let admin: Account;
let adminTokens: Tokens;

beforeAll(async () => {
  server = await startServer();
  admin = await registerOrganization(server);
  adminTokens = await login(server, admin);
  // Two claims, so the domain list has an order to keep (claiming needs no DNS answer yet).
  for (const domain of [uniqueDomain(), uniqueDomain()]) {
    expect((await claimDomain(server, adminTokens, admin.organizationId, { domain, verification_method: 'dns' })).response.status).toBe(201);
  }
});
afterAll(async () => {
  await server.close();
});

const LISTS = [
  ['listOrganizations', () => '/organizations'],
  ['listTeams', () => `/teams/organization/${admin.organizationId}`],
  ['listUsers', () => `/users/organization/${admin.organizationId}`],
  ['listRoles', () => '/roles'],
  ['listSsoConfigurations', () => `/sso/organization/${admin.organizationId}`],
  ['listAuditLogs', () => '/audit-logs'],
  ['listDomains', () => `/organizations/${admin.organizationId}/domains`],
  // The caller's own passkeys: empty here (registering one takes a browser, tests/e2e/passkeys-browser.test.ts).
  ['listPasskeys', () => '/auth/mfa/passkeys'],
] as const;

describe('every list', () => {
  it('covers every list operation of the spec', () => {
    const lists = Object.values(server.container.apiDocument.paths)
      .flatMap((item) => Object.values(item))
      // Path items also hold `parameters`, which has no operationId (the types know only operations).
      .map((operation) => operation?.operationId)
      .filter((id) => id?.startsWith('list'));
    expect(LISTS.map(([name]) => name).sort()).toEqual(lists.sort());
  });

  it.each(LISTS)('%s: sets X-Total-Count, pages in a stable order, refuses limit 101', async (_name, path) => {
    const all = await server.request('GET', `${API}${path()}`, { token: adminTokens.access_token });
    expect(all.status).toBe(200);
    expect(Number(all.headers.get('x-total-count'))).toBe(all.body.length);
    const again = await server.request('GET', `${API}${path()}`, { token: adminTokens.access_token });
    const second = await server.request('GET', `${API}${path()}?skip=1&limit=1`, { token: adminTokens.access_token });
    if (all.body.length > 1 && !path().startsWith('/audit-logs')) {
      expect(again.body).toEqual(all.body);
      expect(second.body).toEqual([all.body[1]]);
    }
    expectProblem(await server.request('GET', `${API}${path()}?limit=101`, { token: adminTokens.access_token }), 422, 'request_invalid');
  });
});
