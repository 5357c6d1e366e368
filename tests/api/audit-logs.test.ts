import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { type Account, API, createSuperadmin, expectProblem, login, registerOrganization, STRONG_PASSWORD, SYSTEM_ROLES, type Tokens, uniqueEmail } from '../helpers/fixtures.js';
import { startServer, type TestServer } from '../helpers/server.js';

let server: TestServer;
let admin: Account;
let adminTokens: Tokens;
let outsider: Account;

interface AuditEvent {
  event_type: string;
  status: string;
  organization_id: string | null;
  actor_user_id: string | null;
  resource_type: string | null;
  request_id: string | null;
  created_at: string;
  context: Record<string, unknown>;
}

beforeAll(async () => {
  server = await startServer();
  admin = await registerOrganization(server);
  adminTokens = await login(server, admin);
  outsider = await registerOrganization(server);
});
afterAll(async () => {
  await server.close();
});

async function events(query = '', token = adminTokens.access_token): Promise<AuditEvent[]> {
  const response = await server.request('GET', `${API}/audit-logs${query}`, { token });
  expect(response.status, response.text).toBe(200);
  return response.body;
}

describe('GET /audit-logs', () => {
  it('records every event of a full tenant lifecycle, newest first, without secrets', async () => {
    const api = (method: string, path: string, body?: unknown, token = adminTokens.access_token) => server.request(method, `${API}${path}`, { token, body });
    await server.request('POST', `${API}/auth/login`, { body: { email: admin.email, password: 'wrong password here' } });
    const session = await login(server, admin);
    await server.request('POST', `${API}/auth/refresh`, { body: { refresh_token: session.refresh_token } });
    await server.request('POST', `${API}/auth/refresh`, { body: { refresh_token: session.refresh_token } });
    await api('PUT', `/organizations/${admin.organizationId}`, { name: 'Audited' });
    const team = (await api('POST', '/teams', { organization_id: admin.organizationId, name: 'T', slug: `t-${randomUUID().slice(0, 6)}` })).body;
    await api('PUT', `/teams/${team.id}`, { name: 'T2' });
    const role = (await api('POST', '/roles', { name: `R ${randomUUID().slice(0, 6)}`, permissions: ['users:read'] })).body;
    await api('PUT', `/roles/${role.id}`, { description: 'changed' });
    const user = (await api('POST', '/users', { organization_id: admin.organizationId, email: uniqueEmail(), full_name: 'U', password: STRONG_PASSWORD })).body;
    await api('PUT', `/users/${user.id}`, { full_name: 'U2' });
    await api('PUT', `/users/${user.id}/roles`, { role_ids: [role.id] });
    await api('DELETE', `/users/${user.id}`);
    await api('DELETE', `/roles/${role.id}`);
    await api('DELETE', `/teams/${team.id}`);
    await api('POST', '/organizations', { name: 'Nope', slug: `nope-${randomUUID().slice(0, 6)}` });
    const scratch = await login(server, admin);
    await server.request('POST', `${API}/auth/logout`, { token: scratch.access_token });

    const trail = await events('?limit=100');
    const seen = new Set(trail.map((event) => `${event.event_type}:${event.status}`));
    for (const expected of [
      'auth.register:success',
      'auth.login:failure',
      'auth.login:success',
      'auth.refresh_token_reuse:failure',
      'auth.logout:success',
      'organization.update:success',
      'team.create:success',
      'team.update:success',
      'team.delete:success',
      'role.create:success',
      'role.update:success',
      'role.delete:success',
      'user.create:success',
      'user.update:success',
      'user.roles_update:success',
      'user.delete:success',
      'permission.denied:denied',
    ]) {
      expect(seen, expected).toContain(expected);
    }
    const times = trail.map((event) => Date.parse(event.created_at));
    expect(times).toEqual([...times].sort((a, b) => b - a));
    expect(trail.every((event) => event.organization_id === admin.organizationId)).toBe(true);
    expect(trail.every((event) => event.request_id)).toBe(true);
    const text = JSON.stringify(trail);
    for (const secret of [STRONG_PASSWORD, 'wrong password here', session.access_token, session.refresh_token]) expect(text).not.toContain(secret);
  });

  it('filters by event type, actor and time window, paginated with X-Total-Count', async () => {
    const before = new Date().toISOString();
    await login(server, admin);
    await login(server, admin);
    const logins = await server.request('GET', `${API}/audit-logs?event_type=auth.login&since=${encodeURIComponent(before)}&user_id=${admin.userId}&limit=1`, {
      token: adminTokens.access_token,
    });
    expect(logins.body).toHaveLength(1);
    expect(Number(logins.headers.get('x-total-count'))).toBeGreaterThanOrEqual(2);
    expect(logins.body[0]).toMatchObject({ event_type: 'auth.login', actor_user_id: admin.userId });
    expect(await events(`?until=${encodeURIComponent(before)}&since=${encodeURIComponent(before)}`)).toEqual([]);
  });

  it('takes a leap second (RFC 3339 23:59:60) as the start of the next second', async () => {
    const window = (since: string, until: string) =>
      server.request('GET', `${API}/audit-logs?since=${encodeURIComponent(since)}&until=${encodeURIComponent(until)}`, { token: adminTokens.access_token });
    const leap = await window('2016-12-31T23:59:60Z', '2017-01-01T00:00:01Z');
    expect(leap.status, leap.text).toBe(200);
    expect((await window('2016-12-31T23:59:60.5+00:00', '2017-01-01T00:00:00Z')).status).toBe(200);
  });

  it('keeps each organization to its own trail; the super-admin reads any', async () => {
    const mine = await events();
    expect(mine.some((event) => event.organization_id === outsider.organizationId)).toBe(false);
    expectProblem(await server.request('GET', `${API}/audit-logs?organization_id=${outsider.organizationId}`, { token: adminTokens.access_token }), 404, 'organization_not_found');
    const root = await login(server, await createSuperadmin(inject('databaseUrl')));
    const theirs = await events(`?organization_id=${outsider.organizationId}`, root.access_token);
    expect(theirs.length).toBeGreaterThan(0);
    expect(theirs.every((event) => event.organization_id === outsider.organizationId)).toBe(true);
  });

  it('needs audit:read (403 for a Member) and rejects bad filters with 422', async () => {
    const email = uniqueEmail('reader');
    await server.request('POST', `${API}/users`, {
      token: adminTokens.access_token,
      body: { organization_id: admin.organizationId, email, full_name: 'Reader', password: STRONG_PASSWORD, role_ids: [SYSTEM_ROLES.member] },
    });
    const member = await login(server, { email, password: STRONG_PASSWORD });
    const refused = await server.request('GET', `${API}/audit-logs`, { token: member.access_token });
    expectProblem(refused, 403, 'permission_denied');
    expect(refused.body.detail).toBe('Permission denied: requires audit:read');
    expectProblem(await server.request('GET', `${API}/audit-logs?since=yesterday`, { token: adminTokens.access_token }), 422, 'request_invalid');
    expectProblem(await server.request('GET', `${API}/audit-logs?limit=101`, { token: adminTokens.access_token }), 422, 'request_invalid');
  });
});
