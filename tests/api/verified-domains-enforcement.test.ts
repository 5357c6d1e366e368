import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDnsServer, type TestDnsServer } from '../helpers/dns-server.js';
import { proveDomain, uniqueDomain } from '../helpers/domain-fixtures.js';
import { type Account, API, login, loginSuperadmin, registerOrganization, STRONG_PASSWORD, type Tokens, uniqueEmail, updateOrganization } from '../helpers/fixtures.js';
import { postResponse, samlOrganization, startLogin } from '../helpers/saml-fixtures.js';
import { startServer, type ApiResponse, type TestServer } from '../helpers/server.js';

let server: TestServer;
let dns: TestDnsServer;
let root: Tokens;
/** What POST /auth/register answers for an address already registered: the refusal a verified domain's address gets elsewhere. */
let taken: { status: number; body: Record<string, unknown> };

beforeAll(async () => {
  dns = await startDnsServer();
  server = await startServer({ ...dns.env, SSO_REDIRECT_ALLOWLIST: 'https://app.example/sso/' });
  root = await loginSuperadmin(server);
  const existing = await registerOrganization(server);
  const again = await server.request('POST', `${API}/auth/register`, {
    body: { email: existing.email, password: STRONG_PASSWORD, full_name: 'Again', organization_name: 'Again' },
  });
  taken = { status: again.status, body: again.body };
});
afterAll(async () => {
  await server?.close();
  await dns?.close();
});

/** Exactly the taken-address refusal: same status, type, title, code and detail. */
function expectTakenRefusal(response: ApiResponse): void {
  expect(response.status, response.text).toBe(taken.status);
  const { type, title, code, detail } = taken.body;
  expect(response.body).toMatchObject({ type, title, code, detail });
  expect(code).toBe('user_email_taken');
}

interface Tenant {
  admin: Account;
  tokens: Tokens;
}

/** Two organizations that both allow `domain` for joining; the owner has verified it, the other has not. */
async function ownerAndOther(domain: string): Promise<{ owner: Tenant; other: Tenant }> {
  const [ownerAdmin, otherAdmin] = await Promise.all([registerOrganization(server), registerOrganization(server)]);
  const [owner, other] = await Promise.all([ownerAdmin, otherAdmin].map(async (admin) => ({ admin, tokens: await login(server, admin) })));
  for (const tenant of [owner, other] as Tenant[]) await updateOrganization(server, tenant.tokens, tenant.admin.organizationId, { allowed_email_domains: [domain] });
  await proveDomain(server, dns, (owner as Tenant).tokens, (owner as Tenant).admin.organizationId, domain);
  return { owner: owner as Tenant, other: other as Tenant };
}

const newUser = (tenant: Tenant, email: string, token = tenant.tokens.access_token) =>
  server.request('POST', `${API}/users`, { token, body: { organization_id: tenant.admin.organizationId, email, full_name: 'Squatter', password: STRONG_PASSWORD } });

describe('an address in a domain another organization verified', () => {
  it('cannot register a new organization, nor join another one, but joins the owner', async () => {
    const domain = uniqueDomain();
    const { owner, other } = await ownerAndOther(domain);
    const register = (body: Record<string, unknown>) => server.request('POST', `${API}/auth/register`, { body: { password: STRONG_PASSWORD, full_name: 'Ceo', ...body } });
    expectTakenRefusal(await register({ email: `ceo@${domain}`, organization_name: 'Squatters' }));
    expectTakenRefusal(await register({ email: `ceo@${domain.toUpperCase()}`, organization_id: other.admin.organizationId }));
    const joined = await register({ email: `ceo@${domain}`, organization_id: owner.admin.organizationId });
    expect(joined.status, joined.text).toBe(201);
  });

  it('cannot be created or invited in another organization, even by the platform super-admin; the owner can', async () => {
    const domain = uniqueDomain();
    const { owner, other } = await ownerAndOther(domain);
    expectTakenRefusal(await newUser(other, uniqueEmail('ceo', domain)));
    expectTakenRefusal(await newUser(other, uniqueEmail('ceo', domain), root.access_token));
    const invite = (tenant: Tenant) =>
      server.request('POST', `${API}/users/invitations`, {
        token: tenant.tokens.access_token,
        body: { organization_id: tenant.admin.organizationId, email: uniqueEmail('cfo', domain), full_name: 'Cfo' },
      });
    expectTakenRefusal(await invite(other));
    expect((await invite(owner)).status).toBe(201);
    expect((await newUser(owner, uniqueEmail('ceo', domain))).status).toBe(201);
  });

  it('leaves existing users alone, but refuses changing another user’s address into the domain', async () => {
    const domain = uniqueDomain();
    const [ownerAdmin, other] = await Promise.all([registerOrganization(server), registerOrganization(server)]);
    const otherTokens = await login(server, other);
    const early = await newUser({ admin: other, tokens: otherTokens }, uniqueEmail('early', domain));
    expect(early.status).toBe(201);
    await proveDomain(server, dns, await login(server, ownerAdmin), ownerAdmin.organizationId, domain);

    expect((await login(server, { email: early.body.email, password: STRONG_PASSWORD })).token_type).toBe('bearer');
    const renamed = await server.request('PUT', `${API}/users/${early.body.id}`, { token: otherTokens.access_token, body: { full_name: 'Still here', email: early.body.email } });
    expect(renamed.status, renamed.text).toBe(200);
    const plain = await newUser({ admin: other, tokens: otherTokens }, uniqueEmail('plain'));
    expectTakenRefusal(await server.request('PUT', `${API}/users/${plain.body.id}`, { token: otherTokens.access_token, body: { email: uniqueEmail('moved', domain) } }));
  });

  it('is free again once the owner removes the domain or is deleted', async () => {
    const domain = uniqueDomain();
    const { owner, other } = await ownerAndOther(domain);
    expectTakenRefusal(await newUser(other, uniqueEmail('ceo', domain)));
    const deleted = await server.request('DELETE', `${API}/organizations/${owner.admin.organizationId}`, { token: root.access_token });
    expect(deleted.status).toBe(204);
    expect((await newUser(other, uniqueEmail('ceo', domain))).status).toBe(201);
  });
});

describe('SSO with a verified domain', () => {
  it('refuses JIT provisioning into another organization as a taken address is refused, and provisions into the owner', async () => {
    const domain = uniqueDomain();
    const [owner, other] = await Promise.all([samlOrganization(server, domain), samlOrganization(server, domain)]);
    await proveDomain(server, dns, owner.adminTokens, owner.admin.organizationId, domain);
    const identity = (email: string) => ({ nameId: `idp|${email}`, attributes: { mail: email, displayName: 'Jit User' } });

    const signIn = async (organization: typeof owner, email: string) =>
      postResponse(
        server,
        organization.configId,
        organization.idp.response(organization.sp, { inResponseTo: await startLogin(server, organization.configId), ...identity(email) }),
      );
    const elsewhere = uniqueEmail('jit', domain);
    const refused = await signIn(other, elsewhere);
    // An account of the owner's: the refusal an address taken there gets.
    const takenAddress = uniqueEmail('taken', domain);
    expect((await newUser({ admin: owner.admin, tokens: owner.adminTokens }, takenAddress)).status).toBe(201);
    const takenThere = await signIn(other, takenAddress);
    expect(takenThere.status).toBe(401);
    expect(refused.status).toBe(401);
    expect({ code: refused.body.code, detail: refused.body.detail }).toEqual({ code: 'saml_email_in_other_organization', detail: takenThere.body.detail });

    const provisioned = await signIn(owner, elsewhere);
    expect(provisioned.status, provisioned.text).toBe(302);
  });

  it('routes home-realm discovery to the organization that verified the domain', async () => {
    const domain = uniqueDomain();
    const allowing = await samlOrganization(server, domain);
    const discover = async () => (await server.request('GET', `${API}/sso/discover?email=someone@${domain}`)).body.sso_config_id;
    expect(await discover()).toBe(allowing.configId);

    const owner = await samlOrganization(server, uniqueDomain('other'));
    const verified = await proveDomain(server, dns, owner.adminTokens, owner.admin.organizationId, domain);
    expect(await discover()).toBe(owner.configId);

    await server.request('DELETE', `${API}/organizations/${owner.admin.organizationId}/domains/${verified.id}`, { token: owner.adminTokens.access_token });
    expect(await discover()).toBe(allowing.configId);
  });
});
