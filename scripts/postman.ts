import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import Converter from 'openapi-to-postmanv2';
import { parse } from 'yaml';

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
  url: { path: string[]; variable?: { key: string; value: string }[]; query?: { key: string; value: string; disabled?: boolean }[] };
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
  status: number;
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
  getServiceInfo: { status: 200, tests: ["pm.expect(pm.response.json().service).to.eql('fm-auth');"] },
  getHealth: { status: 200, tests: ["pm.expect(pm.response.json().checks.database.status).to.eql('up');"] },
  getLiveness: { status: 200 },
  getReadiness: { status: 200, tests: ["pm.expect(pm.response.json().status).to.eql('ready');"] },
  // Empty with the default HS256 (its key is secret); the public keys with EdDSA, ES256 or RS256.
  getJwks: {
    status: 200,
    tests: ["pm.expect(pm.response.json().keys).to.be.an('array');", "pm.expect(pm.response.headers.get('Cache-Control')).to.include('max-age');"],
  },
  getOpenApiJson: {
    status: 200,
    tests: ["pm.expect(pm.response.json().servers[0].url).to.match(/^https?:\\/\\//);", "pm.expect(pm.response.headers.get('ETag')).to.match(/^\"sha256-/);"],
  },
  getOpenApiYaml: { status: 200, tests: ["pm.expect(pm.response.headers.get('Content-Type')).to.include('application/yaml');"] },
  getApiDocs: { status: 200, tests: ["pm.expect(pm.response.headers.get('Content-Type')).to.include('text/html');"] },
  register: {
    status: 201,
    prerequest: [
      "pm.collectionVariables.set('email', `qa.${Date.now()}.${Math.floor(Math.random() * 1e6)}@example.com`);",
      "pm.collectionVariables.set('password', 'correct horse battery staple');",
    ],
    body: { email: '{{email}}', password: '{{password}}', full_name: 'QA Smoke', organization_name: 'QA Smoke Organization' },
    tests: [
      "pm.expect(pm.response.json().email).to.eql(pm.collectionVariables.get('email'));",
      "pm.collectionVariables.set('organizationId', pm.response.json().organization_id);",
    ],
  },
  login: {
    status: 200,
    body: { email: '{{email}}', password: '{{password}}' },
    tests: [
      'const tokens = pm.response.json();',
      "pm.expect(tokens.token_type).to.eql('bearer');",
      "pm.collectionVariables.set('accessToken', tokens.access_token);",
      "pm.collectionVariables.set('refreshToken', tokens.refresh_token);",
    ],
  },
  getCurrentUser: {
    status: 200,
    tests: [
      "pm.expect(pm.response.json().email).to.eql(pm.collectionVariables.get('email'));",
      "pm.expect(pm.response.json().permissions).to.include('users:read');",
    ],
  },
  refreshTokens: {
    status: 200,
    body: { refresh_token: '{{refreshToken}}' },
    tests: [
      'const tokens = pm.response.json();',
      "pm.expect(tokens.refresh_token).to.not.eql(pm.collectionVariables.get('refreshToken'));",
      "pm.collectionVariables.set('accessToken', tokens.access_token);",
      "pm.collectionVariables.set('refreshToken', tokens.refresh_token);",
    ],
  },
  changePassword: {
    status: 204,
    body: { current_password: '{{password}}', new_password: NEW_PASSWORD },
    tests: [`pm.collectionVariables.set('password', '${NEW_PASSWORD}');`],
  },
  // Logging out ends the session, so the run logs in again for the folders that follow.
  logout: {
    status: 204,
    tests: [
      'pm.sendRequest({',
      "  url: pm.variables.get('baseUrl') + '/api/v1/enterprise/auth/login',",
      "  method: 'POST',",
      "  header: { 'Content-Type': 'application/json' },",
      "  body: { mode: 'raw', raw: JSON.stringify({ email: pm.collectionVariables.get('email'), password: pm.collectionVariables.get('password') }) },",
      '}, (error, response) => {',
      "  pm.expect(error).to.eql(null);",
      "  pm.collectionVariables.set('accessToken', response.json().access_token);",
      "  pm.collectionVariables.set('refreshToken', response.json().refresh_token);",
      '});',
    ],
  },
  listOrganizations: {
    status: 200,
    tests: [
      "pm.expect(pm.response.json().map((o) => o.id)).to.eql([pm.collectionVariables.get('organizationId')]);",
      "pm.expect(pm.response.headers.get('X-Total-Count')).to.eql('1');",
    ],
  },
  getOrganization: { status: 200, tests: ["pm.expect(pm.response.json().id).to.eql(pm.collectionVariables.get('organizationId'));"] },
  // A domain of this run's own, so that SSO discovery finds this organization alone.
  updateOrganization: {
    status: 200,
    prerequest: ["pm.collectionVariables.set('ssoDomain', `qa-${Date.now()}-${Math.floor(Math.random() * 1e6)}.example`);"],
    body: { name: 'QA Smoke Organization (renamed)', allowed_email_domains: ['{{ssoDomain}}'] },
    tests: ["pm.expect(pm.response.json().allowed_email_domains).to.eql([pm.collectionVariables.get('ssoDomain')]);"],
  },
  // Creating and deleting organizations is for the platform super-admin: an Admin gets 403.
  createOrganization: { status: 403 },
  deleteOrganization: { status: 403 },
  createTeam: {
    status: 201,
    body: { organization_id: '{{organizationId}}', name: 'QA Team', slug: 'qa-team', description: 'Created by the smoke run' },
    tests: ["pm.collectionVariables.set('teamId', pm.response.json().id);"],
  },
  listTeams: { status: 200, tests: ["pm.expect(pm.response.json().map((t) => t.id)).to.eql([pm.collectionVariables.get('teamId')]);"] },
  getTeam: { status: 200, tests: ["pm.expect(pm.response.json().slug).to.eql('qa-team');"] },
  updateTeam: { status: 200, body: { name: 'QA Team (renamed)', description: null }, tests: ["pm.expect(pm.response.json().description).to.eql(null);"] },
  deleteTeam: { status: 204 },
  createUser: {
    status: 201,
    prerequest: ["pm.collectionVariables.set('memberEmail', `qa.member.${Date.now()}.${Math.floor(Math.random() * 1e6)}@example.com`);"],
    body: { organization_id: '{{organizationId}}', email: '{{memberEmail}}', full_name: 'QA Member', password: 'another long smoke passphrase' },
    tests: ["pm.collectionVariables.set('userId', pm.response.json().id);"],
  },
  listUsers: { status: 200, tests: ["pm.expect(pm.response.headers.get('X-Total-Count')).to.eql('2');"] },
  getUser: { status: 200, tests: ["pm.expect(pm.response.json().email).to.eql(pm.collectionVariables.get('memberEmail'));"] },
  updateUser: { status: 200, body: { full_name: 'QA Member (renamed)' }, tests: ["pm.expect(pm.response.json().full_name).to.eql('QA Member (renamed)');"] },
  setUserRoles: {
    status: 200,
    body: { role_ids: ['00000000-0000-4000-8000-000000000003'] },
    tests: ["pm.expect(pm.response.json().map((r) => r.name)).to.eql(['Viewer']);"],
  },
  deleteUser: { status: 204 },
  listRoles: { status: 200, tests: ["pm.expect(pm.response.json().slice(0, 3).map((r) => r.name).sort()).to.eql(['Admin', 'Member', 'Viewer']);"] },
  createRole: {
    status: 201,
    body: { name: 'QA Support', description: 'Created by the smoke run', permissions: ['teams:read', 'users:read'] },
    tests: ["pm.collectionVariables.set('roleId', pm.response.json().id);"],
  },
  getRole: { status: 200, tests: ["pm.expect(pm.response.json().permissions).to.eql(['teams:read', 'users:read']);"] },
  updateRole: { status: 200, body: { permissions: ['users:read'] }, tests: ["pm.expect(pm.response.json().permissions).to.eql(['users:read']);"] },
  deleteRole: { status: 204 },
  createSsoConfiguration: {
    status: 201,
    body: {
      organization_id: '{{organizationId}}',
      provider_type: 'saml',
      provider_name: 'QA SAML',
      saml_entity_id: 'https://idp.qa.example/metadata',
      saml_sso_url: 'https://idp.qa.example/sso',
      saml_x509_cert: QA_IDP_CERTIFICATE,
      attribute_mapping: { email: 'mail', full_name: 'displayName' },
      auto_create_users: true,
    },
    tests: [
      "pm.expect(pm.response.json().saml_certificate_fingerprint).to.match(/^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);",
      "pm.collectionVariables.set('ssoConfigId', pm.response.json().id);",
    ],
  },
  listSsoConfigurations: { status: 200, tests: ["pm.expect(pm.response.headers.get('X-Total-Count')).to.eql('1');"] },
  getSsoConfiguration: { status: 200, tests: ["pm.expect(pm.response.json().provider_name).to.eql('QA SAML');"] },
  getSamlMetadata: {
    status: 200,
    tests: [
      "pm.expect(pm.response.headers.get('Content-Type')).to.include('application/samlmetadata+xml');",
      "pm.expect(pm.response.text()).to.include(`/sso/${pm.collectionVariables.get('ssoConfigId')}/saml/acs`);",
    ],
  },
  // The browser would follow this to the IdP; the run only checks where it points.
  startSamlLogin: {
    status: 302,
    query: { redirect_uri: '{{redirectUri}}' },
    followRedirects: false,
    tests: ["pm.expect(pm.response.headers.get('Location')).to.match(/^https:\\/\\/idp\\.qa\\.example\\/sso\\?SAMLRequest=/);"],
  },
  // No IdP signs for the smoke run: a forged response must be refused.
  consumeSamlResponse: {
    status: 401,
    tests: ["pm.expect(pm.response.json().detail).to.include('SAML response rejected');"],
  },
  discoverSso: {
    status: 200,
    query: { email: 'someone@{{ssoDomain}}' },
    tests: ["pm.expect(pm.response.json().sso_config_id).to.eql(pm.collectionVariables.get('ssoConfigId'));"],
  },
  updateSsoConfiguration: { status: 200, body: { is_enabled: false }, tests: ["pm.expect(pm.response.json().is_enabled).to.eql(false);"] },
  deleteSsoConfiguration: { status: 204 },
  listAuditLogs: {
    status: 200,
    tests: ["pm.expect(pm.response.json().map((e) => e.event_type)).to.include.members(['auth.register', 'auth.login', 'role.delete']);"],
  },
};

const FOLDER_ORDER = ['health', 'keys', 'documentation', 'auth', 'organizations', 'teams', 'users', 'roles', 'sso', 'audit-logs'];
const VARIABLES = ['baseUrl', 'accessToken', 'refreshToken', 'email', 'password', 'organizationId', 'teamId', 'memberEmail', 'userId', 'roleId', 'ssoConfigId', 'ssoDomain', 'redirectUri'];
/** Where a QA login lands; on the allow-list of `.env.development` (its CORS_ORIGINS). */
const DEFAULT_VALUES: Record<string, string> = { baseUrl: 'http://127.0.0.1:8000', redirectUri: 'http://localhost:3000/sso/callback' };
const HTTP_METHODS = ['get', 'put', 'post', 'delete', 'patch'];

interface SpecOperation {
  operationId: string;
  isPublic: boolean;
  /** The request body's media-type example, sent when the flow does not name a body. */
  example?: unknown;
}

interface SpecOperationObject {
  operationId: string;
  security?: unknown[];
  requestBody?: { content?: { 'application/json'?: { example?: unknown } } };
}

function specOperations(spec: { paths: Record<string, Record<string, SpecOperationObject>> }) {
  const byRoute = new Map<string, SpecOperation>();
  for (const [path, item] of Object.entries(spec.paths)) {
    for (const method of HTTP_METHODS) {
      const operation = item[method];
      if (!operation) continue;
      const route = `${method.toUpperCase()} ${path.replace(/\{([^}]+)\}/g, ':$1')}`;
      byRoute.set(route, {
        operationId: operation.operationId,
        isPublic: operation.security?.length === 0,
        example: operation.requestBody?.content?.['application/json']?.example,
      });
    }
  }
  return byRoute;
}

function convert(spec: string): Promise<Record<string, unknown> & { item: PostmanItem[] }> {
  return new Promise((resolve, reject) => {
    Converter.convert(
      { type: 'string', data: spec },
      { folderStrategy: 'Tags', parametersResolution: 'Example' },
      (err, result) => {
        const converted = result as { result: boolean; reason?: string; output: { data: never }[] } | undefined;
        if (err) reject(new Error(`openapi-to-postmanv2: ${err.message}`));
        else if (!converted?.result) reject(new Error(`openapi-to-postmanv2: ${converted?.reason}`));
        else resolve(converted.output[0]!.data);
      },
    );
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
  // Path parameters come from the ids earlier steps saved: organization_id → {{organizationId}}.
  for (const variable of request.url.variable ?? []) {
    variable.value = `{{${variable.key.replace(/_([a-z])/g, (_match, letter: string) => letter.toUpperCase())}}}`;
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
  const tests = [
    `pm.test('answers ${step.status}', () => pm.response.to.have.status(${step.status}));`,
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

export async function buildPostmanCollection(specPath: string): Promise<Record<string, unknown>> {
  const text = readFileSync(specPath, 'utf8');
  const operations = specOperations(parse(text));
  const collection = await convert(text);
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
  collection.auth = { type: 'bearer', bearer: [{ key: 'token', value: '{{accessToken}}', type: 'string' }] };
  collection.variable = VARIABLES.map((key) => ({ key, value: DEFAULT_VALUES[key] ?? '', type: 'string' }));
  stabilizeIds(collection, '');
  return collection;
}
