import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import jwt from 'jsonwebtoken';
import { inject } from 'vitest';
import {
  type Account,
  API,
  createSuperadmin,
  joinOrganization,
  login,
  registerOrganization,
  STRONG_PASSWORD,
  SYSTEM_ROLES,
  type Tokens,
  uniqueEmail,
} from '../helpers/fixtures.js';
import { CALLBACK, createSamlConfiguration, serviceProvider } from '../helpers/saml-fixtures.js';
import { TestIdentityProvider } from '../helpers/saml-idp.js';
import { TEST_JWT_SECRET, type TestServer } from '../helpers/server.js';
import { type ForgedCredential, FuzzWorld, type WorldParts } from './fuzz-world.js';

/** The SAML login's allow-list (the server is started with it): the hints' redirect URIs are on it. */
export const REDIRECT_ALLOWLIST = 'https://app.example/sso/';

/** The Admin's organization lets this domain join, and has an enabled SAML configuration for it. */
const JOINABLE_DOMAIN = 'members.example';

async function created(server: TestServer, token: string, path: string, body: Record<string, unknown>): Promise<string> {
  const response = await server.request('POST', `${API}${path}`, { token, body });
  if (response.status !== 201) throw new Error(`fuzz setup: POST ${path} answered ${response.status}: ${response.text}`);
  return response.body.id;
}

/** Creates the kinds of objects the API has, in one organization, as one of its Admins. */
function objectMaker(server: TestServer, organizationId: string, token: string) {
  const short = () => randomUUID().slice(0, 8);
  return {
    team: () => created(server, token, '/teams', { organization_id: organizationId, name: 'Fuzz team', slug: `fuzz-${short()}` }),
    user: (extra: Record<string, unknown> = {}) =>
      created(server, token, '/users', { organization_id: organizationId, email: uniqueEmail('fuzz'), full_name: 'Fuzz User', ...extra }),
    role: () => created(server, token, '/roles', { name: `Fuzz role ${short()}`, permissions: ['teams:read', 'users:read'] }),
    // Pending for good: the run's DNS server publishes no records, so no fuzzed verify succeeds.
    domain: () => created(server, token, `/organizations/${organizationId}/domains`, { domain: `fuzz-${short()}.example`, verification_method: 'dns' }),
    oidc: () =>
      created(server, token, '/sso', {
        organization_id: organizationId,
        provider_type: 'oidc',
        provider_name: 'Fuzz OIDC',
        oauth_client_id: 'fuzz-client',
        // Disabled, so the public OIDC login operations answer 404/401 without discovery; were one
        // enabled by a fuzzed update, its provider is a loopback port nobody listens on: the fuzzer
        // never makes the service reach for a host off this machine.
        is_enabled: false,
        oidc_discovery_url: 'http://127.0.0.1:9/.well-known/openid-configuration',
      }),
    // Enabled: starting its login asks no provider (a 302 to an address nobody listens on), and a
    // callback reaches the token endpoint only with a state the service issued, which the fuzzer never has.
    oauth: () =>
      created(server, token, '/sso', {
        organization_id: organizationId,
        provider_type: 'oauth',
        provider_name: 'Fuzz OAuth',
        oauth_client_id: 'fuzz-client',
        oauth_authorization_url: 'http://127.0.0.1:9/authorize',
        oauth_token_url: 'http://127.0.0.1:9/token',
        oauth_userinfo_url: 'http://127.0.0.1:9/userinfo',
      }),
  };
}

/** The Admin (of an organization whose quotas a super-admin raised: thousands of creates need more than 25 users) and a Member. */
async function sharedAccounts(server: TestServer) {
  const admin = await registerOrganization(server);
  const adminTokens = await login(server, admin);
  const root = await login(server, await createSuperadmin(inject('databaseUrl')));
  const raised = await server.request('PUT', `${API}/organizations/${admin.organizationId}`, { token: root.access_token, body: { max_users: 1_000_000, max_teams: 100_000 } });
  if (raised.status !== 200) throw new Error(`fuzz setup: raising the quotas answered ${raised.status}: ${raised.text}`);
  const member = await joinOrganization(server, admin, adminTokens);
  return { admin, adminTokens, member, memberTokens: await login(server, member) };
}

/** The Admin's organization's objects: one of each kind to read, two to change, and users for logins and password changes. */
async function ownObjects(server: TestServer, admin: Account, adminTokens: Tokens, idp: TestIdentityProvider) {
  const own = objectMaker(server, admin.organizationId, adminTokens.access_token);
  const saml = (overrides: Record<string, unknown>) => createSamlConfiguration(server, admin, adminTokens, idp, overrides);
  // Users of their own for the login hints and for password changes: their failures lock only them.
  const loginTarget = { email: uniqueEmail('login-target'), password: STRONG_PASSWORD };
  const passwordOwner = { email: uniqueEmail('password-owner'), password: STRONG_PASSWORD };
  const [team, user, role, domain, sso, teams, users, roles, ssoConfigs] = await Promise.all([
    own.team(),
    own.user(),
    own.role(),
    own.domain(),
    saml({ allow_idp_initiated: true }),
    Promise.all([own.team(), own.team()]),
    Promise.all([own.user(), own.user()]),
    Promise.all([own.role(), own.role()]),
    Promise.all([saml({}), own.oidc(), own.oauth()]),
    own.user(loginTarget),
    own.user(passwordOwner),
  ]);
  const passwordOwnerToken = (await login(server, passwordOwner)).access_token;
  return { make: own, stable: { team, user, role, domain, sso }, scratch: { teams, users, roles, ssoConfigs }, loginTarget, passwordOwnerToken };
}

/** Another organization with one object of each kind. */
async function foreignObjects(server: TestServer) {
  const other = await registerOrganization(server);
  const tokens = await login(server, other);
  const theirs = objectMaker(server, other.organizationId, tokens.access_token);
  const [team, role, domain, sso] = await Promise.all([theirs.team(), theirs.role(), theirs.domain(), theirs.oidc()]);
  return { organization_id: other.organizationId, team_id: team, user_id: other.userId, role_id: role, domain_id: domain, sso_config_id: sso };
}

const base64url = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

/** Authorization headers that must all be refused, with a 401 and never a 5xx. */
function forgedCredentials(adminToken: string, refreshToken: string): Record<ForgedCredential, string | undefined> {
  const claims = jwt.decode(adminToken) as Record<string, unknown>;
  const now = Math.floor(Date.now() / 1000);
  const sign = (payload: Record<string, unknown>, key = TEST_JWT_SECRET) => `Bearer ${jwt.sign(payload, key, { algorithm: 'HS256' })}`;
  return {
    none: undefined,
    garbage: 'Bearer not-a-token',
    'alg-none': `Bearer ${base64url({ alg: 'none', typ: 'JWT' })}.${base64url(claims)}.`,
    expired: sign({ ...claims, iat: now - 7200, exp: now - 3600 }),
    'wrong-key': sign(claims, 'another-signing-key-that-the-service-never-had-0123'),
    'wrong-type': sign({ ...claims, type: 'refresh' }),
    'unknown-session': sign({ ...claims, sid: randomUUID(), jti: randomUUID() }),
    'refresh-as-access': `Bearer ${refreshToken}`,
    'basic-scheme': `Basic ${Buffer.from('admin:password').toString('base64')}`,
    'empty-bearer': 'Bearer ',
    'token-with-junk': `Bearer ${adminToken} junk`,
    oversized: `Bearer ${'a'.repeat(8000)}`,
    'latin1-token': 'Bearer caf\u00e9',
  };
}

type Hints = Record<string, fc.Arbitrary<unknown>>;

interface HintInputs {
  admin: Account;
  member: Account;
  own: Awaited<ReturnType<typeof ownObjects>>;
  foreign: Awaited<ReturnType<typeof foreignObjects>>;
  idp: TestIdentityProvider;
  refreshTokens: string[];
  samlResponses: string[];
}

/** Realistic values by field name: for the random cases (mixed with generated ones), and for the happy path. */
function hintTables({ admin, member, own, foreign, idp, refreshTokens, samlResponses }: HintInputs): { hints: Hints; happyHints: Hints } {
  const hints: Hints = {
    organization_id: fc.constantFrom(admin.organizationId, admin.organizationId, foreign.organization_id),
    team_id: fc.constantFrom(own.stable.team, own.stable.team, foreign.team_id),
    user_id: fc.constantFrom(own.stable.user, admin.userId, member.userId),
    role_ids: fc.shuffledSubarray([SYSTEM_ROLES.member, SYSTEM_ROLES.viewer, SYSTEM_ROLES.admin, own.stable.role], { minLength: 1, maxLength: 2 }),
    default_role_id: fc.constantFrom(SYSTEM_ROLES.member, SYSTEM_ROLES.viewer, own.stable.role, foreign.role_id),
    // Joinable (and discoverable) addresses, and one that can log in.
    email: fc.oneof(
      fc.uuid().map((id) => `join.${id.slice(0, 8)}@${JOINABLE_DOMAIN}`),
      fc.constant(own.loginTarget.email),
    ),
    password: fc.constant(STRONG_PASSWORD),
    current_password: fc.constant(STRONG_PASSWORD),
    refresh_token: fc.constantFrom(...refreshTokens),
    redirect_uri: fc.constantFrom(CALLBACK, `${CALLBACK}?state=fuzz`),
    SAMLResponse: fc.constantFrom(...samlResponses),
    RelayState: fc.constant(CALLBACK),
    saml_x509_cert: fc.constant(idp.certificate),
    saml_entity_id: fc.constant(idp.entityId),
  };
  // The happy path: only the organization's own objects, and addresses nobody has registered yet.
  const happyHints: Hints = {
    ...hints,
    organization_id: fc.constant(admin.organizationId),
    team_id: fc.constant(own.stable.team),
    user_id: fc.constant(own.stable.user),
    default_role_id: fc.constant(SYSTEM_ROLES.member),
    email: fc.uuid().map((id) => `happy.${id.slice(0, 8)}@${JOINABLE_DOMAIN}`),
  };
  return { hints, happyHints };
}

/** The real server's world: accounts, objects of every kind (own and another organization's), tokens, hints. */
export async function buildWorld(server: TestServer): Promise<FuzzWorld> {
  const { admin, adminTokens, member, memberTokens } = await sharedAccounts(server);
  const idp = new TestIdentityProvider();
  const own = await ownObjects(server, admin, adminTokens, idp);
  const foreign = await foreignObjects(server);
  // Sessions of the Member's whose refresh tokens the fuzzer may spend (and reuse: that ends only them).
  const refreshTokens = (await Promise.all(Array.from({ length: 16 }, () => login(server, member)))).map((tokens) => tokens.refresh_token);
  // IdP-initiated responses signed by the configured IdP: the ACS accepts each once.
  const samlResponses = Array.from({ length: 4 }, () => {
    const email = uniqueEmail('sso', JOINABLE_DOMAIN);
    return idp.response(serviceProvider(server, own.stable.sso), { nameId: email, attributes: { mail: email, displayName: 'Sam Single' } });
  });

  const { hints, happyHints } = hintTables({ admin, member, own, foreign, idp, refreshTokens, samlResponses });
  const document = server.container.apiDocument;

  const parts: WorldParts = {
    server,
    scopes: { random: { document, hint: (field) => hints[field] }, happy: { document, hint: (field) => happyHints[field], hintsOnly: true } },
    accounts: { admin, member, adminTokens, memberTokens, passwordOwnerToken: own.passwordOwnerToken },
    stable: {
      organization_id: [admin.organizationId],
      team_id: [own.stable.team],
      user_id: [own.stable.user, admin.userId, member.userId],
      role_id: [own.stable.role, SYSTEM_ROLES.member, SYSTEM_ROLES.admin],
      sso_config_id: [own.stable.sso],
      domain_id: [own.stable.domain],
    },
    scratch: {
      organization_id: [admin.organizationId],
      team_id: own.scratch.teams,
      user_id: own.scratch.users,
      role_id: [...own.scratch.roles, SYSTEM_ROLES.viewer],
      sso_config_id: own.scratch.ssoConfigs,
    },
    foreign,
    fresh: { team_id: own.make.team, user_id: () => own.make.user(), role_id: own.make.role, sso_config_id: own.make.oidc, domain_id: own.make.domain },
    forged: forgedCredentials(adminTokens.access_token, refreshTokens[0] as string),
  };
  return new FuzzWorld(parts);
}
