import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import Converter from 'openapi-to-postmanv2';
import { parse, stringify } from 'yaml';
import { withAccessSentences } from '../src/http/openapi.js';
import { resolvePointer } from './spec-references.js';

/**
 * The Postman collection QA runs with newman: converted from the spec, then made runnable as a
 * smoke flow (variables, chained tokens, a test per request) and deterministic (stable ids), so
 * that `check:generated` can compare it byte for byte.
 */

interface PostmanEvent {
  listen: 'prerequest' | 'test';
  script: { type: 'text/javascript'; exec: string[] };
}

interface PostmanRequest {
  method: string;
  url: { host?: string[]; path: string[]; variable?: { key: string; value: string }[]; query?: { key: string; value: string; disabled?: boolean }[] };
  header?: { key: string; value: string }[];
  auth?: unknown;
  body?: { mode: 'raw'; raw: string; options: { raw: { language: 'json' } } };
}

interface PostmanItem {
  name: string;
  item?: PostmanItem[];
  request?: PostmanRequest;
  event?: PostmanEvent[];
  [key: string]: unknown;
}

interface FlowStep {
  /** The status the run expects when it is not the operation's documented success (a refusal). */
  status?: number;
  body?: Record<string, unknown>;
  /** Query parameters the run sends (the others stay listed but switched off). */
  query?: Record<string, string>;
  followRedirects?: false;
  prerequest?: string[];
  tests?: string[];
}

const NEW_PASSWORD = 'a fresh passphrase for the smoke run';
/** A self-signed certificate (valid 100 years) standing in for an IdP's; its private key was discarded. */
const QA_IDP_CERTIFICATE = `-----BEGIN CERTIFICATE-----
MIIDLTCCAhWgAwIBAgIUGhSvUbF+JzVKmugNelLUpZRNes4wDQYJKoZIhvcNAQEL
BQAwJTEjMCEGA1UEAwwaZm0tYXV0aCBRQSBwbGFjZWhvbGRlciBJZFAwIBcNMjYx
MTI5MDgzMTA1WhgPMjEyNjExMDUwODMxMDVaMCUxIzAhBgNVBAMMGmZtLWF1dGgg
UUEgcGxhY2Vob2xkZXIgSWRQMIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKC
AQEAuyEJslYLoWGZUfaPlsuoSUQESuf6fAHbhCaXOV50yLi6zzucDzcZWzlR3xVS
MVZT1lGvhQO2ewZDTcpWUhyO58s/RSW3j4j/Xtqhd/kmrBnX4/P5mEQl0q6ciBRR
XYamtRVKly9cTttQR2jQqhn2aPGGK3FcfSbfFsC2r9m0XPlbJp7hgo6uNVGZ6I7L
htXxvJsExtTqFdc2Ne1PqISg2WLusLAOgDfV3+Lt+n6ddO9JlmeO2sPcQdO+u4rP
rmBbyHw4V2Ha6JSwqwV01HwsLueQ6Yl0AsZBdnGjBj3DHIuAPgFzll/hcae6r6iu
DDc8uhEkTSPIRt7mn233mMwNKQIDAQABo1MwUTAdBgNVHQ4EFgQUOssTiBbWHo6S
VKMae+vwXDeSejwwHwYDVR0jBBgwFoAUOssTiBbWHo6SVKMae+vwXDeSejwwDwYD
VR0TAQH/BAUwAwEB/zANBgkqhkiG9w0BAQsFAAOCAQEAFMKvujjKHtJV/V7Pn+/h
UpFwqe90MZTnr6KFI+n2oxU5EmM6dnh0TprL8/zqpQriAXwqhry+P2ao9SskHJ6Z
9h8y/avWbGYk7ZcRMekCs3ZwiMALl2m5UM7yqRqUNQyas+uGtrNAPMTNgnUdV3Us
HsNa5UqGorJkTEwZS3PoOrs2jYz4wIDamnQuUneSOnwWJLguqcvyxZ4CTn8gWPyy
403hy+Qco3vv0wAjCK6EwdU4o4FGrz863gu+FneK/kGKn0kUPZTNW5qyqrWDMM70
nFX629Tu2tEnhyut2qkJpLZJQjDi0h1iNyPqonoNz1CQTtNIAJ+v+A9+rSi+REhY
IQ==
-----END CERTIFICATE-----`;

/** What each operation does in the smoke run, in run order within its folder. */
const FLOW: Record<string, FlowStep> = {
  getServiceInfo: { tests: ["pm.expect(pm.response.json().service).to.eql('fm-auth');"] },
  getHealth: { tests: ["pm.expect(pm.response.json().checks.database.status).to.eql('up');"] },
  getLiveness: {},
  getReadiness: { tests: ["pm.expect(pm.response.json().status).to.eql('ready');"] },
  // Empty with the default HS256 (its key is secret); the public keys with EdDSA, ES256 or RS256.
  getJwks: {
    tests: ["pm.expect(pm.response.json().keys).to.be.an('array');", "pm.expect(pm.response.headers.get('Cache-Control')).to.include('max-age');"],
  },
  getOpenApiJson: {
    tests: ['pm.expect(pm.response.json().servers[0].url).to.match(/^https?:\\/\\//);', "pm.expect(pm.response.headers.get('ETag')).to.match(/^\"sha256-/);"],
  },
  getOpenApiYaml: { tests: ["pm.expect(pm.response.headers.get('Content-Type')).to.include('application/yaml');"] },
  getApiDocs: { tests: ["pm.expect(pm.response.headers.get('Content-Type')).to.include('text/html');"] },
  register: {
    prerequest: [
      "pm.collectionVariables.set('email', `qa.${Date.now()}.${Math.floor(Math.random() * 1e6)}@example.com`);",
      "pm.collectionVariables.set('password', 'correct horse battery staple');",
    ],
    body: { email: '{{email}}', password: '{{password}}', full_name: 'QA Smoke', organization_name: 'QA Smoke Organization' },
    tests: [
      "pm.expect(pm.response.json().email).to.eql(pm.collectionVariables.get('email'));",
      "pm.collectionVariables.set('organization_id', pm.response.json().organization_id);",
    ],
  },
  login: {
    body: { email: '{{email}}', password: '{{password}}' },
    tests: [
      'const tokens = pm.response.json();',
      "pm.expect(tokens.token_type).to.eql('bearer');",
      "pm.collectionVariables.set('access_token', tokens.access_token);",
      "pm.collectionVariables.set('refresh_token', tokens.refresh_token);",
    ],
  },
  getCurrentUser: {
    tests: ["pm.expect(pm.response.json().email).to.eql(pm.collectionVariables.get('email'));", "pm.expect(pm.response.json().permissions).to.include('users:read');"],
  },
  refreshTokens: {
    body: { refresh_token: '{{refresh_token}}' },
    tests: [
      'const tokens = pm.response.json();',
      "pm.expect(tokens.refresh_token).to.not.eql(pm.collectionVariables.get('refresh_token'));",
      "pm.collectionVariables.set('access_token', tokens.access_token);",
      "pm.collectionVariables.set('refresh_token', tokens.refresh_token);",
    ],
  },
  changePassword: {
    body: { current_password: '{{password}}', new_password: NEW_PASSWORD },
    tests: [`pm.collectionVariables.set('password', '${NEW_PASSWORD}');`],
  },
  // The answer is the same for every address; the mail itself is for a person to open.
  requestPasswordReset: { body: { email: '{{email}}' }, tests: ["pm.expect(pm.response.json().message).to.include('on its way');"] },
  resendVerificationEmail: { body: { email: '{{email}}' }, tests: ["pm.expect(pm.response.json().message).to.include('on its way');"] },
  // Without a mailbox the run has no real token: a made-up one must be refused.
  confirmPasswordReset: {
    status: 400,
    body: { token: 'not-a-token-from-any-mail', new_password: 'a passphrase nobody will get to set' },
    tests: ["pm.expect(pm.response.json().code).to.eql('password_reset_token_invalid');"],
  },
  acceptInvitation: {
    status: 400,
    body: { token: 'not-a-token-from-any-mail', password: 'a passphrase nobody will get to set' },
    tests: ["pm.expect(pm.response.json().code).to.eql('invitation_token_invalid');"],
  },
  verifyEmail: { status: 400, body: { token: 'not-a-token-from-any-mail' }, tests: ["pm.expect(pm.response.json().code).to.eql('email_verification_token_invalid');"] },
  // A pending authenticator changes no login; the run cannot compute TOTP codes, so each code-taking
  // step checks the refusal of a wrong code or an unknown challenge.
  enrolTotp: { tests: ['pm.expect(pm.response.json().otpauth_uri).to.match(/^otpauth:\\/\\/totp\\//);'] },
  confirmTotp: { status: 401, body: { code: '000000' }, tests: ["pm.expect(pm.response.json().code).to.eql('mfa_code_invalid');"] },
  regenerateRecoveryCodes: { status: 409, body: { code: '000000' }, tests: ["pm.expect(pm.response.json().code).to.eql('mfa_not_enabled');"] },
  disableTotp: { status: 409, body: { code: '000000' }, tests: ["pm.expect(pm.response.json().code).to.eql('mfa_not_enabled');"] },
  // A passkey needs a browser's authenticator: the run asks for the options, then checks that an
  // answer no authenticator made is refused.
  startPasskeyRegistration: { tests: ["pm.expect(pm.response.json().rp.name).to.be.a('string');", 'pm.expect(pm.response.json().challenge).to.match(/^[A-Za-z0-9_-]+$/);'] },
  registerPasskey: {
    status: 422,
    body: { credential: { id: 'AAAA', rawId: 'AAAA', type: 'public-key', response: { clientDataJSON: 'e30', attestationObject: 'oA' }, clientExtensionResults: {} } },
    tests: ["pm.expect(pm.response.json().code).to.eql('passkey_registration_invalid');"],
  },
  listPasskeys: { tests: ['pm.expect(pm.response.json()).to.eql([]);', "pm.expect(pm.response.headers.get('X-Total-Count')).to.eql('0');"] },
  deletePasskey: {
    status: 404,
    prerequest: ["pm.collectionVariables.set('passkey_id', pm.variables.replaceIn('{{$guid}}'));"],
    tests: ["pm.expect(pm.response.json().code).to.eql('passkey_not_found');"],
  },
  startPasskeyVerification: { status: 401, body: { challenge_token: 'not-a-challenge' }, tests: ["pm.expect(pm.response.json().code).to.eql('mfa_challenge_invalid');"] },
  startPasskeyRegistrationForChallenge: {
    status: 401,
    body: { challenge_token: 'not-a-challenge' },
    tests: ["pm.expect(pm.response.json().code).to.eql('mfa_challenge_invalid');"],
  },
  registerPasskeyForChallenge: {
    status: 401,
    body: {
      challenge_token: 'not-a-challenge',
      credential: { id: 'AAAA', rawId: 'AAAA', type: 'public-key', response: { clientDataJSON: 'e30', attestationObject: 'oA' }, clientExtensionResults: {} },
    },
    tests: ["pm.expect(pm.response.json().code).to.eql('mfa_challenge_invalid');"],
  },
  verifyMfa: {
    status: 401,
    body: { challenge_token: 'not-a-challenge', code: '000000' },
    tests: ["pm.expect(pm.response.json().code).to.eql('mfa_challenge_invalid');"],
  },
  enrolTotpForChallenge: { status: 401, body: { challenge_token: 'not-a-challenge' }, tests: ["pm.expect(pm.response.json().code).to.eql('mfa_challenge_invalid');"] },
  confirmTotpForChallenge: {
    status: 401,
    body: { challenge_token: 'not-a-challenge', code: '000000' },
    tests: ["pm.expect(pm.response.json().code).to.eql('mfa_challenge_invalid');"],
  },
  // Logging out ends the session: with the tokens cleared, the collection's pre-request script logs in again.
  logout: { tests: ["pm.collectionVariables.set('access_token', '');", "pm.collectionVariables.set('refresh_token', '');"] },
  listOrganizations: {
    tests: [
      "pm.expect(pm.response.json().map((o) => o.id)).to.eql([pm.collectionVariables.get('organization_id')]);",
      "pm.expect(pm.response.headers.get('X-Total-Count')).to.eql('1');",
    ],
  },
  getOrganization: { tests: ["pm.expect(pm.response.json().id).to.eql(pm.collectionVariables.get('organization_id'));"] },
  // A domain of this run's own, so that SSO discovery finds this organization alone.
  updateOrganization: {
    prerequest: ["pm.collectionVariables.set('sso_domain', `qa-${Date.now()}-${Math.floor(Math.random() * 1e6)}.example`);"],
    body: { name: 'QA Smoke Organization (renamed)', allowed_email_domains: ['{{sso_domain}}'] },
    tests: ["pm.expect(pm.response.json().allowed_email_domains).to.eql([pm.collectionVariables.get('sso_domain')]);"],
  },
  // Creating and deleting organizations is for the platform super-admin: an Admin gets 403.
  createOrganization: { status: 403 },
  deleteOrganization: { status: 403 },
  // Claimed by email, so the run needs no DNS: the mail goes to the domain's postmaster, whom the run cannot read.
  claimDomain: {
    prerequest: ["pm.collectionVariables.set('claimed_domain', `qa-${Date.now()}-${Math.floor(Math.random() * 1e6)}.example`);"],
    body: { domain: '{{claimed_domain}}', verification_method: 'email', email: 'postmaster@{{claimed_domain}}' },
    tests: ["pm.expect(pm.response.json().status).to.eql('pending');", "pm.collectionVariables.set('domain_id', pm.response.json().id);"],
  },
  listDomains: { tests: ["pm.expect(pm.response.json().map((d) => d.id)).to.eql([pm.collectionVariables.get('domain_id')]);"] },
  getDomain: { tests: ["pm.expect(pm.response.json().domain).to.eql(pm.collectionVariables.get('claimed_domain'));"] },
  // A claim proved by mail has no DNS record to check.
  verifyDomain: { status: 409, tests: ["pm.expect(pm.response.json().code).to.eql('domain_verification_method_mismatch');"] },
  confirmDomain: { status: 400, body: { token: 'not-a-token-from-any-mail' }, tests: ["pm.expect(pm.response.json().code).to.eql('domain_verification_token_invalid');"] },
  deleteDomain: {},
  createTeam: {
    body: { organization_id: '{{organization_id}}', name: 'QA Team', slug: 'qa-team', description: 'Created by the smoke run' },
    tests: ["pm.collectionVariables.set('team_id', pm.response.json().id);"],
  },
  listTeams: { tests: ["pm.expect(pm.response.json().map((t) => t.id)).to.eql([pm.collectionVariables.get('team_id')]);"] },
  getTeam: { tests: ["pm.expect(pm.response.json().slug).to.eql('qa-team');"] },
  updateTeam: { body: { name: 'QA Team (renamed)', description: null }, tests: ['pm.expect(pm.response.json().description).to.eql(null);'] },
  deleteTeam: {},
  createUser: {
    prerequest: ["pm.collectionVariables.set('member_email', `qa.member.${Date.now()}.${Math.floor(Math.random() * 1e6)}@example.com`);"],
    body: { organization_id: '{{organization_id}}', email: '{{member_email}}', full_name: 'QA Member', password: 'another long smoke passphrase' },
    tests: ["pm.collectionVariables.set('user_id', pm.response.json().id);"],
  },
  listUsers: { tests: ["pm.expect(pm.response.headers.get('X-Total-Count')).to.eql('2');"] },
  getUser: { tests: ["pm.expect(pm.response.json().email).to.eql(pm.collectionVariables.get('member_email'));"] },
  updateUser: { body: { full_name: 'QA Member (renamed)' }, tests: ["pm.expect(pm.response.json().full_name).to.eql('QA Member (renamed)');"] },
  setUserRoles: {
    body: { role_ids: ['00000000-0000-4000-8000-000000000003'] },
    tests: ["pm.expect(pm.response.json().map((r) => r.name)).to.eql(['Viewer']);"],
  },
  deleteUser: {},
  // The invited user exists at once, unverified; the link in the mail sets the password (acceptInvitation).
  inviteUser: {
    body: { organization_id: '{{organization_id}}', email: 'qa.invited.{{$guid}}@example.com', full_name: 'QA Invited' },
    tests: ['pm.expect(pm.response.json().is_verified).to.eql(false);'],
  },
  listRoles: { tests: ["pm.expect(pm.response.json().slice(0, 3).map((r) => r.name).sort()).to.eql(['Admin', 'Member', 'Viewer']);"] },
  createRole: {
    body: { name: 'QA Support', description: 'Created by the smoke run', permissions: ['teams:read', 'users:read'] },
    tests: ["pm.collectionVariables.set('role_id', pm.response.json().id);"],
  },
  getRole: { tests: ["pm.expect(pm.response.json().permissions).to.eql(['teams:read', 'users:read']);"] },
  updateRole: { body: { permissions: ['users:read'] }, tests: ["pm.expect(pm.response.json().permissions).to.eql(['users:read']);"] },
  deleteRole: {},
  createSsoConfiguration: {
    body: {
      organization_id: '{{organization_id}}',
      provider_type: 'saml',
      provider_name: 'QA SAML',
      saml_entity_id: 'https://idp.qa.example/metadata',
      saml_sso_url: 'https://idp.qa.example/sso',
      saml_x509_cert: QA_IDP_CERTIFICATE,
      attribute_mapping: { email: 'mail', full_name: 'displayName' },
      auto_create_users: true,
    },
    tests: [
      'pm.expect(pm.response.json().saml_certificate_fingerprint).to.match(/^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);',
      "pm.collectionVariables.set('sso_config_id', pm.response.json().id);",
    ],
  },
  listSsoConfigurations: { tests: ["pm.expect(pm.response.headers.get('X-Total-Count')).to.eql('1');"] },
  getSsoConfiguration: { tests: ["pm.expect(pm.response.json().provider_name).to.eql('QA SAML');"] },
  getSamlMetadata: {
    tests: [
      "pm.expect(pm.response.headers.get('Content-Type')).to.include('application/samlmetadata+xml');",
      "pm.expect(pm.response.text()).to.include(`/sso/${pm.collectionVariables.get('sso_config_id')}/saml/acs`);",
    ],
  },
  // The browser would follow this to the IdP; the run only checks where it points.
  startSamlLogin: {
    query: { redirect_uri: '{{redirect_uri}}' },
    followRedirects: false,
    tests: ["pm.expect(pm.response.headers.get('Location')).to.match(/^https:\\/\\/idp\\.qa\\.example\\/sso\\?SAMLRequest=/);"],
  },
  // No IdP signs for the smoke run: a forged response must be refused.
  consumeSamlResponse: {
    status: 401,
    tests: ["pm.expect(pm.response.json().detail).to.include('SAML response rejected');"],
  },
  // The run's configuration is SAML, and no OpenID provider answers it: both OIDC steps are refusals.
  startOidcLogin: {
    query: { redirect_uri: '{{redirect_uri}}' },
    status: 404,
    tests: ["pm.expect(pm.response.json().code).to.eql('sso_configuration_not_found');"],
  },
  completeOidcLogin: {
    query: { state: 'forged-state', code: 'forged-code' },
    status: 401,
    tests: ["pm.expect(pm.response.json().code).to.eql('oidc_unknown_configuration');"],
  },
  // Nor an OAuth 2.0 provider: both OAuth steps are refusals too.
  startOauthLogin: {
    query: { redirect_uri: '{{redirect_uri}}' },
    status: 404,
    tests: ["pm.expect(pm.response.json().code).to.eql('sso_configuration_not_found');"],
  },
  completeOauthLogin: {
    query: { state: 'forged-state', code: 'forged-code' },
    status: 401,
    tests: ["pm.expect(pm.response.json().code).to.eql('oauth_unknown_configuration');"],
  },
  discoverSso: {
    query: { email: 'someone@{{sso_domain}}' },
    tests: ["pm.expect(pm.response.json().sso_config_id).to.eql(pm.collectionVariables.get('sso_config_id'));"],
  },
  updateSsoConfiguration: { body: { is_enabled: false }, tests: ['pm.expect(pm.response.json().is_enabled).to.eql(false);'] },
  deleteSsoConfiguration: {},
  listAuditLogs: {
    tests: ["pm.expect(pm.response.json().map((e) => e.event_type)).to.include.members(['auth.register', 'auth.login', 'role.delete']);"],
  },
};

const FOLDER_ORDER = ['health', 'keys', 'documentation', 'auth', 'organizations', 'domains', 'teams', 'users', 'roles', 'sso', 'audit-logs'];
const VARIABLES = [
  'base_url',
  'access_token',
  'refresh_token',
  'email',
  'password',
  'organization_id',
  'claimed_domain',
  'domain_id',
  'team_id',
  'member_email',
  'user_id',
  'role_id',
  'sso_config_id',
  'sso_domain',
  'redirect_uri',
];
/** Where a QA login lands; on the allow-list of `.env.development` (its CORS_ORIGINS). */
const DEFAULT_VALUES: Record<string, string> = { base_url: 'http://127.0.0.1:8000', redirect_uri: 'http://localhost:3000/sso/callback' };
const HTTP_METHODS = ['get', 'put', 'post', 'delete', 'patch'];

type JsonSchema = Record<string, unknown>;

interface SpecOperation {
  operationId: string;
  isPublic: boolean;
  /** The request body's media-type example, sent when the flow does not name a body. */
  example?: unknown;
  /** The documented success: the lowest 2xx or 3xx status. */
  successStatus: number;
  /** The JSON (or problem+json) schema of each documented status, $refs resolved. */
  schemas: Map<number, JsonSchema>;
}

interface SpecResponse {
  $ref?: string;
  content?: Record<string, { schema?: unknown }>;
}

interface SpecOperationObject {
  operationId: string;
  security?: unknown[];
  requestBody?: { content?: { 'application/json'?: { example?: unknown } } };
  responses: Record<string, SpecResponse>;
}

interface Spec {
  paths: Record<string, Record<string, SpecOperationObject>>;
}

/** The schema with every $ref replaced by its target: the Postman sandbox sees one schema, not the spec. */
function inline(spec: unknown, node: unknown): unknown {
  if (Array.isArray(node)) return node.map((child) => inline(spec, child));
  if (node === null || typeof node !== 'object') return node;
  const record = node as Record<string, unknown>;
  if (typeof record.$ref === 'string') return inline(spec, resolvePointer(spec, record.$ref));
  return Object.fromEntries(Object.entries(record).map(([key, value]) => [key, inline(spec, value)]));
}

function responseSchemas(spec: Spec, responses: Record<string, SpecResponse>): Map<number, JsonSchema> {
  const schemas = new Map<number, JsonSchema>();
  for (const [status, declared] of Object.entries(responses)) {
    if (!/^\d{3}$/.test(status)) continue;
    const response = (declared.$ref ? resolvePointer(spec, declared.$ref) : declared) as SpecResponse;
    const schema = response.content?.['application/json']?.schema ?? response.content?.['application/problem+json']?.schema;
    if (schema) schemas.set(Number(status), inline(spec, schema) as JsonSchema);
  }
  return schemas;
}

function specOperations(spec: Spec) {
  const byRoute = new Map<string, SpecOperation>();
  for (const [path, item] of Object.entries(spec.paths)) {
    for (const method of HTTP_METHODS) {
      const operation = item[method];
      if (!operation) continue;
      const route = `${method.toUpperCase()} ${path.replace(/\{([^}]+)\}/g, ':$1')}`;
      const successes = Object.keys(operation.responses)
        .filter((status) => /^[23]\d\d$/.test(status))
        .map(Number);
      if (successes.length === 0) throw new Error(`${operation.operationId} documents no success response`);
      byRoute.set(route, {
        operationId: operation.operationId,
        isPublic: operation.security?.length === 0,
        example: operation.requestBody?.content?.['application/json']?.example,
        successStatus: Math.min(...successes),
        schemas: responseSchemas(spec, operation.responses),
      });
    }
  }
  return byRoute;
}

function convert(spec: string): Promise<Record<string, unknown> & { item: PostmanItem[] }> {
  return new Promise((resolve, reject) => {
    Converter.convert({ type: 'string', data: spec }, { folderStrategy: 'Tags', parametersResolution: 'Example' }, (err, result) => {
      const converted = result as { result: boolean; reason?: string; output: { data: never }[] } | undefined;
      if (err) reject(new Error(`openapi-to-postmanv2: ${err.message}`));
      else if (!converted?.result) reject(new Error(`openapi-to-postmanv2: ${converted?.reason}`));
      else if (!converted.output[0]) reject(new Error('openapi-to-postmanv2: no collection in its output'));
      else resolve(converted.output[0].data);
    });
  });
}

function script(listen: PostmanEvent['listen'], exec: string[]): PostmanEvent {
  return { listen, script: { type: 'text/javascript', exec } };
}

function applyFlow(item: PostmanItem, operation: SpecOperation): void {
  const step = FLOW[operation.operationId];
  const request = item.request;
  if (!step || !request) throw new Error(`No smoke-run step for operation ${operation.operationId}`);
  if (operation.isPublic) request.auth = { type: 'noauth' };
  else delete request.auth;
  // The converter names the server {{baseUrl}}; the collection's variables are snake_case.
  request.url.host = ['{{base_url}}'];
  for (const example of (item.response ?? []) as { originalRequest?: PostmanRequest }[]) {
    if (example.originalRequest) example.originalRequest.url.host = ['{{base_url}}'];
  }
  // Path parameters come from the ids earlier steps saved: organization_id → {{organization_id}}.
  for (const variable of request.url.variable ?? []) {
    variable.value = `{{${variable.key}}}`;
  }
  // Optional query parameters (paging, filters) stay listed for QA to switch on, but off in the run.
  for (const parameter of request.url.query ?? []) {
    const value = step.query?.[parameter.key];
    if (value === undefined) parameter.disabled = true;
    else parameter.value = value;
  }
  if (step.followRedirects === false) item.protocolProfileBehavior = { followRedirects: false };
  const body = step.body ?? operation.example;
  if (body !== undefined) {
    request.body = { mode: 'raw', raw: JSON.stringify(body, null, 2), options: { raw: { language: 'json' } } };
  }
  const status = step.status ?? operation.successStatus;
  const schema = operation.schemas.get(status);
  const tests = [
    `pm.test('answers ${status}', () => pm.response.to.have.status(${status}));`,
    // Formats are the service's own check; the sandbox's Ajv knows none of them.
    ...(schema ? [`pm.test('answers the documented schema', () => pm.response.to.have.jsonSchema(${JSON.stringify(schema)}, { strict: false, validateFormats: false }));`] : []),
    ...(step.tests ? [`pm.test('answers the documented body', () => {`, ...step.tests.map((line) => `  ${line}`), '});'] : []),
  ];
  item.event = [...(step.prerequest ? [script('prerequest', step.prerequest)] : []), script('test', tests)];
}

/** Replaces the converter's random ids with ones derived from where they stand. */
function stabilizeIds(node: unknown, location: string): void {
  if (Array.isArray(node)) {
    node.forEach((child, index) => stabilizeIds(child, `${location}/${index}`));
    return;
  }
  if (node === null || typeof node !== 'object') return;
  const record = node as Record<string, unknown>;
  for (const [key, value] of Object.entries(record)) {
    if ((key === 'id' || key === '_postman_id') && typeof value === 'string') {
      const hex = createHash('sha256').update(`${location}/${key}`).digest('hex');
      record[key] = `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-8${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
    } else {
      stabilizeIds(value, `${location}/${key}`);
    }
  }
}

/**
 * Runs before every request. Bearer operations get a live access token: a login (with the run's
 * email and password) when there is none, a refresh (rotating both tokens) once it has expired,
 * judged by the JWT's own `exp`. Public operations, login and refresh among them, are left alone.
 */
const ENSURE_ACCESS_TOKEN = [
  "const isPublic = pm.request.auth && pm.request.auth.type === 'noauth';",
  "const accessToken = pm.collectionVariables.get('access_token');",
  "const refreshToken = pm.collectionVariables.get('refresh_token');",
  "const email = pm.collectionVariables.get('email');",
  'const expired = (token) => {',
  "  const payload = token.split('.')[1].replace(/-/g, '+').replace(/_/g, '/');",
  '  return JSON.parse(atob(payload)).exp * 1000 <= Date.now() + 5000;',
  '};',
  'const obtainTokens = (path, body) => pm.sendRequest({',
  "  url: pm.variables.get('base_url') + '/api/v1/enterprise/auth/' + path,",
  "  method: 'POST',",
  "  header: { 'Content-Type': 'application/json' },",
  "  body: { mode: 'raw', raw: JSON.stringify(body) },",
  '}, (error, response) => {',
  '  if (error || response.code !== 200) throw new Error(`${path} for the access token failed: ${error || response.code}`);',
  "  pm.collectionVariables.set('access_token', response.json().access_token);",
  "  pm.collectionVariables.set('refresh_token', response.json().refresh_token);",
  '});',
  'if (!isPublic && !accessToken && email) {',
  "  obtainTokens('login', { email, password: pm.collectionVariables.get('password') });",
  '} else if (!isPublic && accessToken && refreshToken && expired(accessToken)) {',
  "  obtainTokens('refresh', { refresh_token: refreshToken });",
  '}',
];

export async function buildPostmanCollection(specPath: string): Promise<Record<string, unknown>> {
  const spec = parse(readFileSync(specPath, 'utf8')) as Spec;
  const operations = specOperations(spec);
  // Who may call each request is told as the served documents tell it (from x-permission).
  const collection = await convert(stringify(withAccessSentences(spec)));
  const flowOrder = Object.keys(FLOW);

  for (const folder of collection.item) {
    for (const item of folder.item ?? []) {
      const request = item.request as PostmanRequest;
      const path = `/${request.url.path.join('/')}`;
      const operation = operations.get(`${request.method} ${path}`);
      if (!operation) throw new Error(`Postman item ${request.method} ${path} matches no spec operation`);
      applyFlow(item, operation);
      item.operationId = operation.operationId;
    }
    folder.item?.sort((a, b) => flowOrder.indexOf(a.operationId as string) - flowOrder.indexOf(b.operationId as string));
    for (const item of folder.item ?? []) delete item.operationId;
  }
  collection.item.sort((a, b) => FOLDER_ORDER.indexOf(a.name) - FOLDER_ORDER.indexOf(b.name));
  collection.event = [script('prerequest', ENSURE_ACCESS_TOKEN)];
  collection.auth = { type: 'bearer', bearer: [{ key: 'token', value: '{{access_token}}', type: 'string' }] };
  collection.variable = VARIABLES.map((key) => ({ key, value: DEFAULT_VALUES[key] ?? '', type: 'string' }));
  stabilizeIds(collection, '');
  return collection;
}
