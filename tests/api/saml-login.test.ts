import { randomUUID } from 'node:crypto';
import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type Account,
  API,
  auditCursor,
  auditEvents,
  expectProblem,
  getUser,
  login,
  loginSuperadmin,
  type ProblemCode,
  registerOrganization,
  STRONG_PASSWORD,
  SYSTEM_ROLES,
  type Tokens,
} from '../helpers/fixtures.js';
import { countSessions, hasPassword, ssoSubjectOf } from '../helpers/database-facts.js';
import { CALLBACK, createSamlConfiguration, postResponse, samlOrganization, serviceProvider, startLogin, tokensFromRedirect } from '../helpers/saml-fixtures.js';
import { type AssertionOptions, decodeResponse, encodeResponse, type ServiceProviderTarget, TestIdentityProvider } from '../helpers/saml-idp.js';
import { startServer, type TestServer } from '../helpers/server.js';
import { expireSamlRequest } from '../helpers/time-travel.js';

const DOMAIN = `hopper-${randomUUID().slice(0, 8)}.example`;

let server: TestServer;
let admin: Account;
let adminTokens: Tokens;
let idp: TestIdentityProvider;
let configId: string;
let sp: ServiceProviderTarget;
/** The platform super-admin: reads the whole audit trail, rows tied to no organization included. */
let root: Tokens;

const newEmail = (label = 'grace') => `${label}.${randomUUID().slice(0, 8)}@${DOMAIN}`;
const identity = (email: string, subject = `okta|${randomUUID()}`): AssertionOptions => ({
  nameId: subject,
  attributes: { mail: email, displayName: 'Grace Hopper' },
});

/** How many users of the organization (the admin's unless told) have the email, in any letter case. */
async function usersWithEmail(email: string, organizationId = admin.organizationId, tokens = adminTokens): Promise<number> {
  const found = await server.client(tokens).api.GET('/api/v1/enterprise/users/organization/{organization_id}', {
    params: { path: { organization_id: organizationId }, query: { q: email } },
  });
  expect(found.response.status).toBe(200);
  return (found.data ?? []).filter((user) => user.email.toLowerCase() === email.toLowerCase()).length;
}

async function samlFailures(reason: string): Promise<number> {
  const scrape = await server.request('GET', '/metrics', { headers: { accept: 'text/plain' } });
  return Number(new RegExp(`^saml_responses_total\\{result="failure",reason="${reason}"\\} (\\d+)$`, 'm').exec(scrape.text)?.[1] ?? 0);
}

beforeAll(async () => {
  server = await startServer({ SSO_REDIRECT_ALLOWLIST: 'https://app.example/sso/' });
  ({ admin, adminTokens, idp, configId, sp } = await samlOrganization(server, DOMAIN, { configuration: { default_role_id: SYSTEM_ROLES.viewer } }));
  root = await loginSuperadmin(server);
});
afterAll(async () => {
  await server.close();
});

describe('SAML login: success', () => {
  it('creates the user just in time with the mapped email, name and role, and the tokens work', async () => {
    const email = newEmail();
    const requestId = await startLogin(server, configId);
    const response = await postResponse(server, configId, idp.response(sp, { inResponseTo: requestId, ...identity(email, 'okta|grace') }));

    expect(response.status, response.text).toBe(302);
    expect(response.headers.get('cache-control')).toBe('no-store');
    const tokens = tokensFromRedirect(response.headers.get('location') as string);
    expect(tokens.landing).toBe(CALLBACK);
    expect(tokens.token_type).toBe('bearer');
    expect(tokens.expires_in).toBeGreaterThan(0);

    const me = await server.request('GET', `${API}/auth/me`, { token: tokens.access_token });
    expect(me.status, me.text).toBe(200);
    expect(me.body).toMatchObject({ email, full_name: 'Grace Hopper', organization_id: admin.organizationId, sso_provider: idp.entityId, is_verified: true });
    expect(me.body.roles.map((role: { name: string }) => role.name)).toEqual(['Viewer']);

    const refreshed = await server.request('POST', `${API}/auth/refresh`, { body: { refresh_token: tokens.refresh_token } });
    expect(refreshed.status, refreshed.text).toBe(200);

    // The second login finds the same user by the IdP identity.
    const again = await postResponse(server, configId, idp.response(sp, { inResponseTo: await startLogin(server, configId), ...identity(email, 'okta|grace') }));
    expect(again.status, again.text).toBe(302);
    const secondMe = await server.request('GET', `${API}/auth/me`, { token: tokensFromRedirect(again.headers.get('location') as string).access_token });
    expect(secondMe.body.id).toBe(me.body.id);
    expect(await usersWithEmail(email)).toBe(1);

    expect({ has_password: await hasPassword(server, me.body.id), sso_subject_id: await ssoSubjectOf(server, me.body.id) }).toEqual({
      has_password: false,
      sso_subject_id: 'okta|grace',
    });
    // Oldest first; the user's creation and first login share a transaction, so one instant.
    const audit = (await auditEvents(server, adminTokens, { user_id: me.body.id }))
      .sort((a, b) => Date.parse(a.created_at) - Date.parse(b.created_at) || b.event_type.localeCompare(a.event_type))
      .map(({ event_type, status }) => ({ event_type, status }));
    expect(audit).toEqual([
      { event_type: 'user.create', status: 'success' },
      { event_type: 'auth.sso_login', status: 'success' },
      { event_type: 'auth.sso_login', status: 'success' },
    ]);
  });

  it('answers the token pair as JSON to a client that asks for JSON, with amr ["ext"] (the IdP vouched)', async () => {
    const email = newEmail();
    const response = await postResponse(server, configId, idp.response(sp, { inResponseTo: await startLogin(server, configId), ...identity(email) }), {
      accept: 'application/json',
    });
    expect(response.status, response.text).toBe(200);
    expect(response.body).toEqual({ access_token: expect.any(String), refresh_token: expect.any(String), token_type: 'bearer', expires_in: expect.any(Number) });
    expect(decodeJwt(response.body.access_token).amr).toEqual(['ext']);
    const me = await server.request('GET', `${API}/auth/me`, { token: response.body.access_token });
    expect(me.body.email).toBe(email);
  });

  it('accepts a response signed as a whole instead of on the assertion', async () => {
    const email = newEmail('whole');
    const xml = idp.responseXml(sp, { inResponseTo: await startLogin(server, configId), ...identity(email) });
    const response = await postResponse(server, configId, encodeResponse(idp.signResponse(xml)), { accept: 'application/json' });
    expect(response.status, response.text).toBe(200);
    const me = await server.request('GET', `${API}/auth/me`, { token: response.body.access_token });
    expect(me.body.email).toBe(email);
  });

  it('accepts a response signed twice, on the assertion and then on the whole response (as Okta can)', async () => {
    const email = newEmail('twice');
    const xml = idp.responseXml(sp, { inResponseTo: await startLogin(server, configId), ...identity(email) });
    const response = await postResponse(server, configId, encodeResponse(idp.signResponse(idp.sign(xml))), { accept: 'application/json' });
    expect(response.status, response.text).toBe(200);
  });

  it('accepts an Entra ID-style assertion: default namespace, no prefixes, claim URIs', async () => {
    const email = newEmail('entra');
    const xml = idp.responseXml(sp, {
      inResponseTo: await startLogin(server, configId),
      nameId: 'f3b1c2d4-entra-object-id',
      attributes: {
        'http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress': email,
        'http://schemas.microsoft.com/identity/claims/displayname': 'Entra Person',
      },
    });
    const [before, rest] = xml.split('<saml:Assertion ') as [string, string];
    const [assertion, after] = rest.split('</saml:Assertion>') as [string, string];
    const unprefixed = `<Assertion xmlns="urn:oasis:names:tc:SAML:2.0:assertion" ${assertion.replace(/<(\/?)saml:/g, '<$1')}</Assertion>`;
    const entraConfig = await createSamlConfiguration(server, admin, adminTokens, idp, {
      attribute_mapping: { full_name: 'http://schemas.microsoft.com/identity/claims/displayname' },
    });
    const entraXml = `${before}${unprefixed}${after}`.replaceAll(`/sso/${configId}/`, `/sso/${entraConfig}/`);
    const requestId = await startLogin(server, entraConfig);
    const signed = idp.sign(entraXml.replace(/InResponseTo="[^"]+"/g, `InResponseTo="${requestId}"`));
    const response = await postResponse(server, entraConfig, encodeResponse(signed), { accept: 'application/json' });
    expect(response.status, response.text).toBe(200);
    const me = await server.request('GET', `${API}/auth/me`, { token: response.body.access_token });
    expect(me.body).toMatchObject({ email, full_name: 'Entra Person' });
  });

  it('links an existing account of the organization by email instead of creating one', async () => {
    const email = newEmail('existing');
    const created = await server.request('POST', `${API}/users`, {
      token: adminTokens.access_token,
      body: { organization_id: admin.organizationId, email, full_name: 'Existing Person', password: STRONG_PASSWORD },
    });
    expect(created.status, created.text).toBe(201);
    const response = await postResponse(server, configId, idp.response(sp, { inResponseTo: await startLogin(server, configId), ...identity(email.toUpperCase()) }));
    expect(response.status, response.text).toBe(302);
    const me = await server.request('GET', `${API}/auth/me`, { token: tokensFromRedirect(response.headers.get('location') as string).access_token });
    expect(me.body).toMatchObject({ id: created.body.id, sso_provider: idp.entityId, full_name: 'Existing Person' });
    expect(me.body.roles.map((role: { name: string }) => role.name)).toEqual(['Member']);
    expect(await usersWithEmail(email)).toBe(1);
  });

  it('takes the email from the NameID when no attribute carries one, and Member when no default role is set', async () => {
    const otherIdp = new TestIdentityProvider();
    const plainConfig = await createSamlConfiguration(server, admin, adminTokens, otherIdp, { attribute_mapping: {} });
    const email = newEmail('nameid');
    const response = await postResponse(
      server,
      plainConfig,
      otherIdp.response(serviceProvider(server, plainConfig), {
        inResponseTo: await startLogin(server, plainConfig),
        nameId: email,
        attributes: { givenName: 'Ada', sn: 'Lovelace' },
      }),
    );
    expect(response.status, response.text).toBe(302);
    const me = await server.request('GET', `${API}/auth/me`, { token: tokensFromRedirect(response.headers.get('location') as string).access_token });
    expect(me.body).toMatchObject({ email, full_name: 'Ada Lovelace' });
    expect(me.body.roles.map((role: { name: string }) => role.name)).toEqual(['Member']);
  });
});

interface Rejection {
  name: string;
  /** The stable code in the audit row and the metric label. */
  reason: string;
  detail: RegExp;
  /** Builds the response to post (after any preparation such as a first, accepted, use). */
  build: (context: { requestId: string; email: string }) => Promise<string> | string;
  config?: () => string;
}

const otherKeys = new TestIdentityProvider();

const REJECTIONS: Rejection[] = [
  {
    name: 'no Conditions',
    reason: 'missing_conditions',
    detail: /no Conditions/,
    build: ({ requestId, email }) => idp.response(sp, { inResponseTo: requestId, ...identity(email), conditions: false }),
  },
  {
    name: 'no AudienceRestriction',
    reason: 'missing_audience_restriction',
    detail: /no AudienceRestriction/,
    build: ({ requestId, email }) => idp.response(sp, { inResponseTo: requestId, ...identity(email), audience: null }),
  },
  {
    name: 'a wrong Issuer',
    reason: 'wrong_issuer',
    detail: /another identity provider \(Issuer\)/,
    build: ({ requestId, email }) => idp.response(sp, { inResponseTo: requestId, ...identity(email), issuer: 'https://evil.example/metadata' }),
  },
  {
    name: 'a tampered NameID',
    reason: 'invalid_signature',
    detail: /signature does not verify/,
    build: ({ requestId, email }) => {
      const signed = decodeResponse(idp.response(sp, { inResponseTo: requestId, ...identity(email, 'okta|mallory') }));
      return encodeResponse(signed.replace('okta|mallory', 'okta|grace'));
    },
  },
  {
    name: 'a wrong signing key',
    reason: 'invalid_signature',
    detail: /signature does not verify/,
    build: ({ requestId, email }) => encodeResponse(idp.sign(idp.responseXml(sp, { inResponseTo: requestId, ...identity(email) }), otherKeys.keys.privateKey)),
  },
  {
    name: 'no signature',
    reason: 'invalid_signature',
    detail: /signature does not verify/,
    build: ({ requestId, email }) => encodeResponse(idp.responseXml(sp, { inResponseTo: requestId, ...identity(email) })),
  },
  {
    name: 'an expired assertion',
    reason: 'expired',
    detail: /expired/,
    build: ({ requestId, email }) =>
      idp.response(sp, { inResponseTo: requestId, ...identity(email), notBefore: new Date(Date.now() - 20 * 60_000), notOnOrAfter: new Date(Date.now() - 60_000) }),
  },
  {
    name: 'a not yet valid assertion',
    reason: 'not_yet_valid',
    detail: /not valid yet/,
    build: ({ requestId, email }) => idp.response(sp, { inResponseTo: requestId, ...identity(email), notBefore: new Date(Date.now() + 10 * 60_000) }),
  },
  {
    name: 'a wrong audience',
    reason: 'wrong_audience',
    detail: /another service provider \(audience\)/,
    build: ({ requestId, email }) => idp.response(sp, { inResponseTo: requestId, ...identity(email), audience: 'https://other-sp.example/metadata' }),
  },
  {
    name: 'a wrong Destination',
    reason: 'wrong_destination',
    detail: /another URL \(Destination\)/,
    build: ({ requestId, email }) => idp.response(sp, { inResponseTo: requestId, ...identity(email), destination: 'https://evil.example/acs' }),
  },
  {
    name: 'a wrong Recipient',
    reason: 'wrong_recipient',
    detail: /another URL \(Recipient\)/,
    build: ({ requestId, email }) => idp.response(sp, { inResponseTo: requestId, ...identity(email), recipient: 'https://evil.example/acs' }),
  },
  {
    name: 'no bearer SubjectConfirmation',
    reason: 'missing_subject_confirmation',
    detail: /no bearer SubjectConfirmationData/,
    build: ({ requestId, email }) => idp.response(sp, { inResponseTo: requestId, ...identity(email), subjectConfirmation: null }),
  },
  {
    name: 'a replayed assertion',
    reason: 'request_reused',
    detail: /already used/,
    build: async ({ requestId }) => {
      const response = idp.response(sp, { inResponseTo: requestId, ...identity(newEmail('replayed')) });
      expect((await postResponse(server, configId, response)).status).toBe(302);
      return response;
    },
  },
  {
    name: 'an unknown InResponseTo',
    reason: 'unknown_request',
    detail: /does not answer a login request this service made/,
    build: ({ email }) => idp.response(sp, { inResponseTo: `_${randomUUID()}`, ...identity(email) }),
  },
  {
    name: 'a reused InResponseTo (a second assertion for one request)',
    reason: 'request_reused',
    detail: /login request that was already used/,
    build: async ({ requestId, email }) => {
      expect((await postResponse(server, configId, idp.response(sp, { inResponseTo: requestId, ...identity(newEmail('first')) }))).status).toBe(302);
      return idp.response(sp, { inResponseTo: requestId, ...identity(email) });
    },
  },
  {
    name: 'an expired login request',
    reason: 'request_expired',
    detail: /has expired; sign in again/,
    build: async ({ requestId, email }) => {
      await expireSamlRequest(server, requestId);
      return idp.response(sp, { inResponseTo: requestId, ...identity(email) });
    },
  },
  {
    name: 'signature wrapping: an unsigned assertion before the signed one',
    reason: 'assertion_count',
    detail: /exactly one assertion/,
    build: ({ requestId, email }) => {
      const signed = decodeResponse(idp.response(sp, { inResponseTo: requestId, ...identity(newEmail('victim')) }));
      const forged = /<saml:Assertion[\s\S]*<\/saml:Assertion>/.exec(idp.responseXml(sp, { inResponseTo: requestId, ...identity(email, 'okta|admin') }))?.[0] as string;
      return encodeResponse(signed.replace('<saml:Assertion ', `${forged}<saml:Assertion `));
    },
  },
  {
    name: 'signature wrapping: the signed assertion hidden in Extensions, a forged one in its place',
    reason: 'assertion_count',
    detail: /exactly one assertion/,
    build: ({ requestId, email }) => {
      const signed = decodeResponse(idp.response(sp, { inResponseTo: requestId, ...identity(newEmail('victim')) }));
      const original = /<saml:Assertion[\s\S]*<\/saml:Assertion>/.exec(signed)?.[0] as string;
      const forged = /<saml:Assertion[\s\S]*<\/saml:Assertion>/.exec(idp.responseXml(sp, { inResponseTo: requestId, ...identity(email, 'okta|admin') }))?.[0] as string;
      return encodeResponse(signed.replace(original, forged).replace('<samlp:Status>', `<samlp:Extensions>${original}</samlp:Extensions><samlp:Status>`));
    },
  },
  {
    name: 'an IdP-initiated response while not allowed',
    reason: 'idp_initiated_not_allowed',
    detail: /IdP-initiated logins .* not allowed/,
    build: ({ email }) => idp.response(sp, { ...identity(email) }),
  },
  {
    name: 'an email outside the organization’s domains',
    reason: 'email_domain_not_allowed',
    detail: /domain is not one the organization allows/,
    build: ({ requestId }) => idp.response(sp, { inResponseTo: requestId, ...identity(`grace.${randomUUID().slice(0, 8)}@elsewhere.example`) }),
  },
  { name: 'not SAML at all', reason: 'malformed', detail: /not a SAML 2.0 Response/, build: () => encodeResponse('<html><body>hello</body></html>') },
  { name: 'not base64', reason: 'malformed', detail: /not base64/, build: () => '%%%not base64%%%' },
];

describe('SAML login: each refusal is a 401 with its reason, audited and counted, and creates nothing', () => {
  it.each(REJECTIONS)('$name', async ({ build, detail, reason }) => {
    const email = newEmail('refused');
    const requestId = await startLogin(server, configId);
    const samlResponse = await build({ requestId, email });
    const failuresBefore = await samlFailures(reason);
    const sessionsBefore = await countSessions(server);

    const response = await postResponse(server, configId, samlResponse);

    expectProblem(response, 401, `saml_${reason}` as ProblemCode);
    expect(response.body.detail).toMatch(/^SAML response rejected: /);
    expect(response.body.detail).toMatch(detail);
    expect(response.headers.get('location')).toBeNull();
    expect(await usersWithEmail(email)).toBe(0);
    expect(await countSessions(server)).toBe(sessionsBefore);
    expect(await samlFailures(reason)).toBe(failuresBefore + 1);
    // The row of this very response: found among the organization's only if it was written for the organization.
    const [audit] = (await auditEvents(server, adminTokens, { event_type: 'auth.sso_login' }))
      .filter((event) => event.request_id === response.headers.get('x-request-id'))
      .map(({ status, organization_id, context }) => ({ status, organization_id, context }));
    expect(audit).toEqual({ status: 'failure', organization_id: admin.organizationId, context: { method: 'saml', reason } });
  });

  it('never writes the response, the assertion or the subject to the logs or the audit trail', async () => {
    const since = auditCursor();
    const samlResponse = idp.response(sp, { inResponseTo: `_${randomUUID()}`, ...identity(newEmail('secret'), 'okta|log-canary') });
    expectProblem(await postResponse(server, configId, samlResponse), 401, 'saml_unknown_request');
    const logs = server.logs();
    expect(logs).toContain('saml response rejected');
    for (const secret of [samlResponse.slice(0, 40), 'okta|log-canary', 'SignatureValue']) expect(logs).not.toContain(secret);
    // Every row written since the test began, of every organization and of none.
    const trail = (await auditEvents(server, root, { since })).map(({ context }) => ({ context }));
    expect(JSON.stringify(trail)).not.toContain('log-canary');
  });
});

describe('SAML login: configuration-level refusals', () => {
  it('refuses a disabled configuration', async () => {
    const disabledIdp = new TestIdentityProvider();
    const disabled = await createSamlConfiguration(server, admin, adminTokens, disabledIdp);
    const requestId = await startLogin(server, disabled);
    const update = await server.request('PUT', `${API}/sso/${disabled}`, { token: adminTokens.access_token, body: { is_enabled: false } });
    expect(update.status).toBe(200);
    const email = newEmail('disabled');
    const response = await postResponse(server, disabled, disabledIdp.response(serviceProvider(server, disabled), { inResponseTo: requestId, ...identity(email) }));
    expectProblem(response, 401, 'saml_configuration_disabled');
    expect(response.body.detail).toMatch(/configuration is disabled/);
    expect(await usersWithEmail(email)).toBe(0);
  });

  it('refuses an unknown configuration id', async () => {
    const response = await postResponse(server, randomUUID(), idp.response(sp, { inResponseTo: await startLogin(server, configId), ...identity(newEmail()) }));
    expectProblem(response, 401, 'saml_unknown_configuration');
    expect(response.body.detail).toMatch(/no SAML configuration has this id/);
  });

  it('refuses a user it may not create when auto_create_users is off', async () => {
    const strictIdp = new TestIdentityProvider();
    const strict = await createSamlConfiguration(server, admin, adminTokens, strictIdp, { auto_create_users: false });
    const email = newEmail('unknown');
    const response = await postResponse(
      server,
      strict,
      strictIdp.response(serviceProvider(server, strict), { inResponseTo: await startLogin(server, strict), ...identity(email) }),
    );
    expectProblem(response, 401, 'saml_user_not_provisioned');
    expect(response.body.detail).toMatch(/no account exists/);
    expect(await usersWithEmail(email)).toBe(0);
  });

  it('refuses a login request made for another configuration', async () => {
    const otherIdp = new TestIdentityProvider();
    const other = await createSamlConfiguration(server, admin, adminTokens, otherIdp);
    const requestForOther = await startLogin(server, other);
    const response = await postResponse(server, configId, idp.response(sp, { inResponseTo: requestForOther, ...identity(newEmail()) }));
    expectProblem(response, 401, 'saml_unknown_request');
    expect(response.body.detail).toMatch(/does not answer a login request this service made/);
  });

  it('IdP-initiated when allowed: lands on an allowed RelayState, refuses another, and refuses a replay', async () => {
    const idpInitiated = new TestIdentityProvider();
    const allowing = await createSamlConfiguration(server, admin, adminTokens, idpInitiated, { allow_idp_initiated: true });
    const target = serviceProvider(server, allowing);
    const person = identity(newEmail('idp'), 'okta|idp-initiated');

    const response = idpInitiated.response(target, person);
    const accepted = await postResponse(server, allowing, response, { relayState: 'https://app.example/sso/landing' });
    expect(accepted.status, accepted.text).toBe(302);
    expect(tokensFromRedirect(accepted.headers.get('location') as string).landing).toBe('https://app.example/sso/landing');

    const replayed = await postResponse(server, allowing, response, { relayState: 'https://app.example/sso/landing' });
    expectProblem(replayed, 401, 'saml_assertion_replayed');
    expect(replayed.body.detail).toMatch(/this assertion was already used/);

    const elsewhere = await postResponse(server, allowing, idpInitiated.response(target, person), { relayState: 'https://evil.example/steal' });
    expectProblem(elsewhere, 401, 'saml_relay_state_not_allowed');
    expect(elsewhere.body.detail).toMatch(/RelayState is not an allowed redirect/);

    const withoutTarget = await postResponse(server, allowing, idpInitiated.response(target, person));
    expect(withoutTarget.status, withoutTarget.text).toBe(200);
    expect(withoutTarget.body.token_type).toBe('bearer');
  });

  it('refuses a second IdP user claiming the email of an account already linked to another', async () => {
    const email = newEmail('linked');
    const first = await postResponse(server, configId, idp.response(sp, { inResponseTo: await startLogin(server, configId), ...identity(email, 'okta|first') }));
    expect(first.status, first.text).toBe(302);
    const second = await postResponse(server, configId, idp.response(sp, { inResponseTo: await startLogin(server, configId), ...identity(email, 'okta|second') }));
    expectProblem(second, 401, 'saml_linked_to_other_subject');
    expect(second.body.detail).toMatch(/linked to another user of this identity provider/);
    const linked = await server.request('GET', `${API}/auth/me`, { token: tokensFromRedirect(first.headers.get('location') as string).access_token });
    expect(linked.body.email).toBe(email);
    expect(await ssoSubjectOf(server, linked.body.id)).toBe('okta|first');
  });

  it('refuses an email that belongs to another organization', async () => {
    const other = await registerOrganization(server, { email: newEmail('elsewhere') });
    const response = await postResponse(server, configId, idp.response(sp, { inResponseTo: await startLogin(server, configId), ...identity(other.email) }));
    expectProblem(response, 401, 'saml_email_in_other_organization');
    expect(response.body.detail).toMatch(/belongs to an account outside this organization/);
    const { organization_id } = await getUser(server, await login(server, other), other.userId);
    expect({ organization_id, sso_subject_id: await ssoSubjectOf(server, other.userId) }).toEqual({ organization_id: other.organizationId, sso_subject_id: null });
  });
});

describe('SAML login across organizations', () => {
  let tenantB: Account;
  let tenantBTokens: Tokens;

  beforeAll(async () => {
    tenantB = await registerOrganization(server);
    tenantBTokens = await login(server, tenantB);
  });

  it('an Admin of another organization cannot read, change or delete the configuration (404)', async () => {
    for (const [method, body] of [
      ['GET', undefined],
      ['PUT', { is_enabled: false }],
      ['DELETE', undefined],
    ] as const) {
      const response = await server.request(method, `${API}/sso/${configId}`, { token: tenantBTokens.access_token, body });
      expectProblem(response, 404, 'sso_configuration_not_found');
    }
    const still = await server.request('GET', `${API}/sso/${configId}`, { token: adminTokens.access_token });
    expect(still.body.is_enabled).toBe(true);
  });

  it('a response made for organization A is refused at organization B’s ACS, even when B copies A’s IdP settings', async () => {
    const copied = await createSamlConfiguration(server, tenantB, tenantBTokens, idp);
    const email = newEmail('crossing');
    const forA = idp.response(sp, { inResponseTo: await startLogin(server, configId), ...identity(email) });
    const response = await postResponse(server, copied, forA);
    expectProblem(response, 401, 'saml_wrong_audience');
    expect(await usersWithEmail(email)).toBe(0);
    expect(await usersWithEmail(email, tenantB.organizationId, tenantBTokens)).toBe(0);
    // The same IdP answering B's own request is fine for B, and the user lands in B.
    const forB = idp.response(serviceProvider(server, copied), { inResponseTo: await startLogin(server, copied), ...identity(`b.${randomUUID().slice(0, 8)}@b.example`) });
    const accepted = await postResponse(server, copied, forB, { accept: 'application/json' });
    expect(accepted.status, accepted.text).toBe(200);
    const me = await server.request('GET', `${API}/auth/me`, { token: accepted.body.access_token });
    expect(me.body.organization_id).toBe(tenantB.organizationId);
  });
});
