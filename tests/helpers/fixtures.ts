import { randomUUID } from 'node:crypto';
import type { components, paths } from 'fm-auth/client';
import { expect, inject } from 'vitest';
import { runAdminCli } from './commands.js';
import type { TestServer } from './server.js';

export type ProblemCode = components['schemas']['ProblemCode'];

export const API = '/api/v1/enterprise';
export const STRONG_PASSWORD = 'correct horse battery staple 42';

export function uniqueEmail(label = 'user', domain = 'example.com'): string {
  return `${label}.${randomUUID().slice(0, 12)}@${domain}`;
}

/**
 * A client address no other test of the run uses (IPv6 documentation prefix, a random /64 of it),
 * for tests that spend a per-client budget in the counters every test of the run shares.
 */
export function uniqueClientAddress(): string {
  const [a, b] = randomUUID().split('-') as [string, string];
  return `2001:db8:${a.slice(0, 4)}:${b}::1`;
}

export interface Account {
  email: string;
  password: string;
  userId: string;
  organizationId: string;
}

export interface Tokens {
  access_token: string;
  refresh_token: string;
  token_type: 'bearer';
  expires_in: number;
}

/** Asserts a typed client's result has the status, showing the problem otherwise, and answers its success body. */
function expectSuccess<T>(result: { data?: T; error?: unknown; response: Response }, status: number): T {
  expect(result.response.status, JSON.stringify(result.error)).toBe(status);
  return result.data as T;
}

/** The user a registration answered with its 201 (a server requiring verified addresses answers 202 without one). */
function expectRegistered(result: { data?: unknown; error?: unknown; response: Response }): components['schemas']['RegisteredUser'] {
  return expectSuccess(result, 201) as components['schemas']['RegisteredUser'];
}

/** Registers a new organization whose first user (its Admin) is returned. */
export async function registerOrganization(server: TestServer, overrides: Partial<components['schemas']['RegisterRequest']> = {}): Promise<Account> {
  const email = overrides.email ?? uniqueEmail('admin');
  const password = overrides.password ?? STRONG_PASSWORD;
  const user = expectRegistered(
    await server.client().api.POST('/api/v1/enterprise/auth/register', {
      body: { email, password, full_name: 'Ada Admin', organization_name: `Org ${randomUUID().slice(0, 8)}`, ...overrides },
    }),
  );
  return { email, password, userId: user.id, organizationId: user.organization_id };
}

/** A password login that answers tokens (a user without MFA); fails the test on an MFA challenge. */
export async function login(server: TestServer, account: Pick<Account, 'email' | 'password'>): Promise<Tokens> {
  const answer = expectSuccess(await server.client().api.POST('/api/v1/enterprise/auth/login', { body: { email: account.email, password: account.password } }), 200);
  if ('mfa_required' in answer) throw new Error('the login answered an MFA challenge, not tokens');
  return answer;
}

/** A raw answer (`server.request`) or a typed client's result, whose problem body is its `error`. */
type Answer = { status: number; headers: Headers; body: any } | { response: Response; error?: unknown };

/** Asserts the RFC 9457 shape every error of the service has. */
/**
 * Asserts the one problem shape: status, `code` (the spec's reason, or a pattern of them where a
 * test sweeps many inputs), and `request_id` matching the X-Request-ID header.
 */
export function expectProblem(answer: Answer, status: number, code: ProblemCode | RegExp): void {
  const response = 'response' in answer ? { status: answer.response.status, headers: answer.response.headers, body: answer.error as any } : answer;
  expect(response.status).toBe(status);
  expect(response.headers.get('content-type')).toMatch(/^application\/problem\+json/);
  expect(response.body).toMatchObject({ status, type: expect.stringMatching(/^urn:fm-auth:problem:/), title: expect.any(String) });
  expect(typeof response.body.detail).toBe('string');
  expect(response.body.code).toMatch(typeof code === 'string' ? new RegExp(`^${code}$`) : code);
  expect(response.body.request_id).toBe(response.headers.get('x-request-id'));
  if (status === 401) expect(response.headers.get('www-authenticate')).toMatch(/^Bearer/);
}

/** Creates a platform super-admin with the real CLI (`npm run admin -- create-superadmin`). */
export async function createSuperadmin(databaseUrl: string): Promise<{ email: string; password: string; output: string }> {
  const email = uniqueEmail('root');
  const result = await runAdminCli(databaseUrl, ['create-superadmin', '--email', email], `${STRONG_PASSWORD}\n`);
  expect(result.status, `${result.stdout}${result.stderr}`).toBe(0);
  return { email, password: STRONG_PASSWORD, output: result.stdout };
}

export const SYSTEM_ROLES = {
  admin: '00000000-0000-4000-8000-000000000001',
  member: '00000000-0000-4000-8000-000000000002',
  viewer: '00000000-0000-4000-8000-000000000003',
} as const;

/** Adds a Member to the Admin's organization the way users join: by registering with its id. */
export async function joinOrganization(server: TestServer, admin: Account, adminTokens: Tokens): Promise<Account> {
  const domain = 'members.example';
  expectSuccess(
    await server.client(adminTokens).api.PUT('/api/v1/enterprise/organizations/{organization_id}', {
      params: { path: { organization_id: admin.organizationId } },
      body: { allowed_email_domains: [domain] },
    }),
    200,
  );
  const email = uniqueEmail('member', domain);
  const user = expectRegistered(
    await server.client().api.POST('/api/v1/enterprise/auth/register', {
      body: { email, password: STRONG_PASSWORD, full_name: 'Mo Member', organization_id: admin.organizationId },
    }),
  );
  return { email, password: STRONG_PASSWORD, userId: user.id, organizationId: admin.organizationId };
}

/**
 * A platform super-admin logged in on `server` (a new session): on the run's database the one the
 * global setup made with the real CLI, on any other database a new one (`createSuperadmin`).
 */
export async function loginSuperadmin(server: TestServer, databaseUrl = inject('databaseUrl')): Promise<Tokens> {
  return login(server, databaseUrl === inject('databaseUrl') ? inject('superadmin') : await createSuperadmin(databaseUrl));
}

/**
 * `PUT /organizations/{id}`. An Admin may change name, contacts and `allowed_email_domains`; `slug`,
 * `plan`, `max_users`, `max_teams` and `is_active` need the platform super-admin's tokens.
 */
export async function updateOrganization(
  server: TestServer,
  tokens: Tokens,
  organizationId: string,
  body: components['schemas']['OrganizationUpdate'],
): Promise<components['schemas']['Organization']> {
  return expectSuccess(
    await server.client(tokens).api.PUT('/api/v1/enterprise/organizations/{organization_id}', { params: { path: { organization_id: organizationId } }, body }),
    200,
  );
}

/** Deactivates the organization (super-admin only): its users cannot log in, their sessions end. */
export async function disableOrganization(server: TestServer, superadminTokens: Tokens, organizationId: string): Promise<void> {
  await updateOrganization(server, superadminTokens, organizationId, { is_active: false });
}

/** `GET /users/{id}` as the caller. */
export async function getUser(server: TestServer, tokens: Tokens, userId: string): Promise<components['schemas']['User']> {
  return expectSuccess(await server.client(tokens).api.GET('/api/v1/enterprise/users/{user_id}', { params: { path: { user_id: userId } } }), 200);
}

/** `PUT /users/{id}` (a partial update: team, activity, email, name). */
export async function updateUser(server: TestServer, tokens: Tokens, userId: string, body: components['schemas']['UserUpdate']): Promise<components['schemas']['User']> {
  return expectSuccess(await server.client(tokens).api.PUT('/api/v1/enterprise/users/{user_id}', { params: { path: { user_id: userId } }, body }), 200);
}

/** Deactivates a user as an Admin would; their sessions end at once. The organization's last active Admin cannot be. */
export async function disableUser(server: TestServer, adminTokens: Tokens, userId: string): Promise<void> {
  await updateUser(server, adminTokens, userId, { is_active: false });
}

/** Soft-deletes a user as an Admin would (`DELETE /users/{id}`). */
export async function deleteUser(server: TestServer, adminTokens: Tokens, userId: string): Promise<void> {
  expectSuccess(await server.client(adminTokens).api.DELETE('/api/v1/enterprise/users/{user_id}', { params: { path: { user_id: userId } } }), 204);
}

/** Replaces a user's roles as an Admin would (`PUT /users/{id}/roles`). */
export async function setUserRoles(server: TestServer, adminTokens: Tokens, userId: string, roleIds: string[]): Promise<components['schemas']['RoleSummary'][]> {
  return expectSuccess(
    await server.client(adminTokens).api.PUT('/api/v1/enterprise/users/{user_id}/roles', { params: { path: { user_id: userId } }, body: { role_ids: roleIds } }),
    200,
  );
}

/** A new organization with its Admin (logged in) and one Member who joined it: for tests that disable or delete a user. */
export async function organizationWithMember(server: TestServer): Promise<{ admin: Account; adminTokens: Tokens; member: Account }> {
  const admin = await registerOrganization(server);
  const adminTokens = await login(server, admin);
  return { admin, adminTokens, member: await joinOrganization(server, admin, adminTokens) };
}

export type AuditEvent = components['schemas']['AuditEvent'];
type AuditFilters = Omit<NonNullable<paths['/api/v1/enterprise/audit-logs']['get']['parameters']['query']>, 'skip' | 'limit'>;

/**
 * Every audit event the caller may read that matches the filters (`GET /audit-logs`, all pages),
 * newest first. An Admin reads their organization's; the super-admin every organization's and
 * the events tied to none. The API filters by event type, actor, organization and time; filter
 * the answer for anything else (resource, request id).
 */
export async function auditEvents(server: TestServer, tokens: Tokens, filters: AuditFilters = {}): Promise<AuditEvent[]> {
  const PAGE = 100;
  const events = new Map<string, AuditEvent>();
  for (let skip = 0; ; skip += PAGE) {
    const page = expectSuccess(await server.client(tokens).api.GET('/api/v1/enterprise/audit-logs', { params: { query: { ...filters, skip, limit: PAGE } } }), 200);
    // Rows written meanwhile push older ones onto the next page: seen twice, kept once.
    for (const event of page) if (!events.has(event.id)) events.set(event.id, event);
    if (page.length < PAGE) return [...events.values()];
  }
}

/** A `since` for `auditEvents` a little before now: the rows a test writes from here on, whatever the clocks' skew. */
export function auditCursor(): string {
  return new Date(Date.now() - 5_000).toISOString();
}
