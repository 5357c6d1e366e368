import type { components } from 'fm-auth/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  API,
  disableOrganization,
  expectProblem,
  loginSuperadmin,
  type ProblemCode,
  registerOrganization,
  STRONG_PASSWORD,
  type Tokens,
  uniqueEmail,
  updateOrganization,
} from '../helpers/fixtures.js';
import { startServer, type TestServer } from '../helpers/server.js';

let server: TestServer;
/** The platform super-admin, who alone may set an organization's max_users or deactivate it. */
let root: Tokens;
beforeAll(async () => {
  server = await startServer();
  root = await loginSuperadmin(server);
});
afterAll(async () => {
  await server.close();
});

type RegisterRequest = components['schemas']['RegisterRequest'];

const register = (body: RegisterRequest, target = server) => target.client().api.POST('/api/v1/enterprise/auth/register', { body });
/** Untyped, for bodies the spec forbids. */
const registerRaw = (body: Record<string, unknown>) => server.request('POST', `${API}/auth/register`, { body });

/** Logs the new user in with the typed client and answers `GET /auth/me`. */
async function callerAfterLogin(email: string) {
  const client = server.client();
  expect((await client.login({ email, password: STRONG_PASSWORD })).response.status).toBe(200);
  return (await client.api.GET('/api/v1/enterprise/auth/me')).data;
}

describe('POST /auth/register', () => {
  it('creates an organization whose registrant is its Admin, and answers the user without tokens', async () => {
    const email = uniqueEmail('founder');
    const response = await register({ email, password: STRONG_PASSWORD, full_name: 'Grace Founder', organization_name: 'Hopper Labs' });
    expect(response.response.status).toBe(201);
    expect(response.data).toEqual({
      message: 'User registered successfully',
      id: expect.any(String),
      email,
      full_name: 'Grace Founder',
      organization_id: expect.any(String),
      team_id: null,
      is_active: true,
      is_verified: false,
      sso_provider: null,
      last_login_at: null,
      created_at: expect.any(String),
      updated_at: expect.any(String),
    });
    expect(response.data).not.toHaveProperty('access_token');

    const me = await callerAfterLogin(email);
    expect(me?.roles.map((role) => role.name)).toEqual(['Admin']);
    expect(me?.permissions).toContain('users:create');
    expect(me?.permissions).not.toContain('organizations:delete');
  });

  it('joins an existing organization as Member when the email domain is allowed', async () => {
    const admin = await registerOrganization(server);
    await allowDomains(admin.organizationId, ['joiners.example']);
    const email = uniqueEmail('joiner', 'Joiners.Example');
    const response = await register({ email, password: STRONG_PASSWORD, full_name: 'Jo Iner', organization_id: admin.organizationId });
    expect(response.response.status).toBe(201);
    expect(response.data).toMatchObject({ organization_id: admin.organizationId });

    const me = await callerAfterLogin(email);
    expect(me?.roles.map((role) => role.name)).toEqual(['Member']);
    expect(me?.permissions).toEqual(['organizations:read', 'teams:read', 'users:read']);
  });

  it('returns 403 when the email domain is not allowed by the organization', async () => {
    const admin = await registerOrganization(server);
    await allowDomains(admin.organizationId, ['allowed.example']);
    const response = await register({
      email: uniqueEmail('outsider', 'elsewhere.example'),
      password: STRONG_PASSWORD,
      full_name: 'Out Sider',
      organization_id: admin.organizationId,
    });
    expectProblem(response, 403, 'registration_email_domain_refused');
  });

  it('returns 403 when the organization is at max_users, even under concurrent joins', async () => {
    const admin = await registerOrganization(server);
    await allowDomains(admin.organizationId, ['quota.example'], 3);
    const attempts = await Promise.all(
      Array.from({ length: 6 }, () => register({ email: uniqueEmail('q', 'quota.example'), password: STRONG_PASSWORD, full_name: 'Q', organization_id: admin.organizationId })),
    );
    expect(attempts.filter((r) => r.response.status === 201)).toHaveLength(2);
    for (const refused of attempts.filter((r) => r.response.status !== 201)) expectProblem(refused, 403, 'organization_user_limit_reached');
  });

  it('returns 404 for an unknown organization_id', async () => {
    const response = await register({
      email: uniqueEmail(),
      password: STRONG_PASSWORD,
      full_name: 'Nobody',
      organization_id: '3f0b8a52-7f52-4d55-9a43-6b2f3f1c9e10',
    });
    expectProblem(response, 404, 'organization_not_found');
  });

  it('returns 404 for an inactive organization', async () => {
    const admin = await registerOrganization(server);
    await allowDomains(admin.organizationId, ['inactive.example']);
    await disableOrganization(server, root, admin.organizationId);
    const response = await register({
      email: uniqueEmail('late', 'inactive.example'),
      password: STRONG_PASSWORD,
      full_name: 'Late',
      organization_id: admin.organizationId,
    });
    expectProblem(response, 404, 'organization_not_found');
  });

  it('returns 403 when organization signup is disabled', async () => {
    const closed = await startServer({ ALLOW_ORGANIZATION_SIGNUP: 'false' });
    try {
      const response = await register({ email: uniqueEmail(), password: STRONG_PASSWORD, full_name: 'Closed', organization_name: 'Closed Inc' }, closed);
      expectProblem(response, 403, 'registration_organization_creation_disabled');
    } finally {
      await closed.close();
    }
  });

  it('returns 409 for an email already registered in any letter case', async () => {
    const local = `alice.${Date.now()}`;
    await registerOrganization(server, { email: `${local}@x.com` });
    const response = await register({ email: `${local.replace('alice', 'Alice')}@X.COM`, password: STRONG_PASSWORD, full_name: 'Alice', organization_name: 'Other' });
    expectProblem(response, 409, 'user_email_taken');
    expect(response.error?.detail).toBe('already exists: a user with this email address');
  });

  it('lets exactly one of 20 concurrent registrations of one email succeed', async () => {
    const email = uniqueEmail('race');
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        register({ email: i % 2 === 0 ? email : email.toUpperCase(), password: STRONG_PASSWORD, full_name: 'Racer', organization_name: `Race ${i}` }),
      ),
    );
    expect(results.filter((r) => r.response.status === 201)).toHaveLength(1);
    for (const loser of results.filter((r) => r.response.status !== 201)) expectProblem(loser, 409, 'user_email_taken');
  });

  // Bodies the spec allows, which the service refuses.
  it.each<[string, Partial<RegisterRequest>, ProblemCode]>([
    ['a common password', { password: 'baseball' }, 'password_too_common'],
    ['a common password in other letter case', { password: 'SuperMan1' }, 'password_too_common'],
    ['both organization_name and organization_id', { organization_id: '3f0b8a52-7f52-4d55-9a43-6b2f3f1c9e10' }, 'registration_target_ambiguous'],
  ])('returns 422 for %s', async (_label, override, code) => {
    const response = await register({ email: uniqueEmail(), password: STRONG_PASSWORD, full_name: 'V', organization_name: 'Valid', ...override });
    expectProblem(response, 422, code);
  });

  // Bodies the spec forbids.
  it.each([
    ['a password shorter than 8 characters', { password: 'short1!' }],
    ['a password longer than 128 characters', { password: 'x'.repeat(129) }],
    ['a malformed email', { email: 'not-an-email' }],
    ['an empty full name', { full_name: '' }],
    ['an unknown field', { is_superadmin: true }],
    ['a slug with capitals', { organization_slug: 'Bad Slug' }],
  ])('returns 422 for %s', async (_label, override) => {
    const response = await registerRaw({ email: uniqueEmail(), password: STRONG_PASSWORD, full_name: 'V', organization_name: 'Valid', ...override });
    expectProblem(response, 422, 'request_invalid');
  });

  it('returns 422 when neither organization_name nor organization_id is given', async () => {
    const response = await register({ email: uniqueEmail(), password: STRONG_PASSWORD, full_name: 'V' });
    expectProblem(response, 422, 'registration_target_ambiguous');
  });

  it('returns 422 for a password equal to the email, without echoing it', async () => {
    const email = uniqueEmail('same');
    const response = await register({ email, password: email, full_name: 'Same', organization_name: 'Same' });
    expectProblem(response, 422, 'password_matches_email');
    expect(JSON.stringify(response.error)).not.toContain(email);
  });

  it('returns 409 for an organization slug already taken', async () => {
    const slug = `taken-${Date.now()}`;
    await registerOrganization(server, { organization_slug: slug });
    const response = await register({ email: uniqueEmail(), password: STRONG_PASSWORD, full_name: 'S', organization_name: 'S', organization_slug: slug });
    expectProblem(response, 409, 'organization_slug_taken');
    expect(response.error?.detail).toBe('already exists: an organization with this slug');
  });
});

/** Sets the organization's allowed email domains, and its max_users when given (`PUT /organizations/{id}` as the super-admin). */
async function allowDomains(organizationId: string, domains: string[], maxUsers?: number) {
  await updateOrganization(server, root, organizationId, { allowed_email_domains: domains, ...(maxUsers ? { max_users: maxUsers } : {}) });
}
