import { randomUUID } from 'node:crypto';
import type { components } from 'fm-auth/client';
import { expect } from 'vitest';
import { runAdminCli } from './commands.js';
import type { TestServer } from './server.js';

export type ProblemCode = components['schemas']['ProblemCode'];

export const API = '/api/v1/enterprise';
export const STRONG_PASSWORD = 'correct horse battery staple 42';

export function uniqueEmail(label = 'user', domain = 'example.com'): string {
  return `${label}.${randomUUID().slice(0, 12)}@${domain}`;
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

/** Registers a new organization whose first user (its Admin) is returned. */
export async function registerOrganization(server: TestServer, overrides: Partial<components['schemas']['RegisterRequest']> = {}): Promise<Account> {
  const email = overrides.email ?? uniqueEmail('admin');
  const password = overrides.password ?? STRONG_PASSWORD;
  const user = expectSuccess(
    await server.client().api.POST('/api/v1/enterprise/auth/register', {
      body: { email, password, full_name: 'Ada Admin', organization_name: `Org ${randomUUID().slice(0, 8)}`, ...overrides },
    }),
    201,
  );
  return { email, password, userId: user.id, organizationId: user.organization_id };
}

export async function login(server: TestServer, account: Pick<Account, 'email' | 'password'>): Promise<Tokens> {
  return expectSuccess(
    await server.client().api.POST('/api/v1/enterprise/auth/login', { body: { email: account.email, password: account.password } }),
    200,
  );
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
  const user = expectSuccess(
    await server.client().api.POST('/api/v1/enterprise/auth/register', {
      body: { email, password: STRONG_PASSWORD, full_name: 'Mo Member', organization_id: admin.organizationId },
    }),
    201,
  );
  return { email, password: STRONG_PASSWORD, userId: user.id, organizationId: admin.organizationId };
}
