import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JWTPayload } from 'jose';
import { API, auditEvents, expectProblem, loginSuperadmin, type ProblemCode, registerOrganization, STRONG_PASSWORD, SYSTEM_ROLES, type Tokens } from '../helpers/fixtures.js';
import { callBack, type OidcOrganization, oidcOrganization, providerAnswer, startOidcLogin } from '../helpers/oidc-fixtures.js';
import { rsaKey } from '../helpers/oidc-idp.js';
import { CALLBACK, tokensFromRedirect } from '../helpers/saml-fixtures.js';
import { startServer, type TestServer } from '../helpers/server.js';

const DOMAIN = `lovelace-${randomUUID().slice(0, 8)}.example`;

let server: TestServer;
let org: OidcOrganization;
let root: Tokens;

const newAccount = (label = 'ada') => ({ sub: `sub-${randomUUID()}`, email: `${label}.${randomUUID().slice(0, 8)}@${DOMAIN}`, email_verified: true, name: 'Ada Lovelace' });

/** A login through the provider up to (not including) the callback. */
async function answeredLogin(alter?: (url: URL) => void): Promise<URL> {
  return providerAnswer(server, org.configId, await startOidcLogin(server, org.configId, CALLBACK), alter);
}

async function oidcFailures(reason: string): Promise<number> {
  const scrape = await server.request('GET', '/metrics', { headers: { accept: 'text/plain' } });
  return Number(new RegExp(`^oidc_responses_total\\{result="failure",reason="${reason}"\\} (\\d+)$`, 'm').exec(scrape.text)?.[1] ?? 0);
}

/** A login whose ID token the provider replaces with `forge(real claims)`; expects the refusal `code`. */
async function expectForgedRefusal(forge: (claims: JWTPayload) => Promise<string>, code: ProblemCode): Promise<void> {
  org.idp.account = newAccount('forged');
  org.idp.tamperIdToken = forge;
  try {
    const response = await callBack(server, await answeredLogin());
    expectProblem(response, 401, code);
    expect(response.text).not.toContain('eyJ');
  } finally {
    org.idp.tamperIdToken = null;
  }
}

beforeAll(async () => {
  server = await startServer({ SSO_REDIRECT_ALLOWLIST: 'https://app.example/sso/' });
  org = await oidcOrganization(server, DOMAIN, { configuration: { default_role_id: SYSTEM_ROLES.viewer } });
  root = await loginSuperadmin(server);
});
afterAll(async () => {
  await server?.close();
  await org?.idp.close();
});

describe('GET /sso/{id}/oidc/login', () => {
  it('redirects to the provider’s authorization endpoint with PKCE S256, state, nonce and the callback URL', async () => {
    const authorization = await startOidcLogin(server, org.configId, CALLBACK);
    expect(authorization.origin).toBe(org.idp.issuer);
    const params = Object.fromEntries(authorization.searchParams);
    expect(params).toMatchObject({
      response_type: 'code',
      client_id: org.client.client_id,
      redirect_uri: org.client.redirect_uris[0],
      code_challenge_method: 'S256',
      scope: 'openid email profile',
    });
    expect(params.code_challenge).toMatch(/^[\w-]{43}$/);
    expect(params.state).toMatch(/^[\w-]{20,}$/);
    expect(params.nonce).toMatch(/^[\w-]{20,}$/);
    expect(params).not.toHaveProperty('client_secret');
  });

  it('refuses a redirect URI off the allow-list (422) and an unknown configuration (404)', async () => {
    expectProblem(
      await server.request('GET', `${API}/sso/${org.configId}/oidc/login?redirect_uri=${encodeURIComponent('https://evil.example/')}`),
      422,
      'sso_redirect_uri_not_allowed',
    );
    expectProblem(await server.request('GET', `${API}/sso/${randomUUID()}/oidc/login?redirect_uri=${encodeURIComponent(CALLBACK)}`), 404, 'sso_configuration_not_found');
  });
});

describe('GET /sso/{id}/oidc/login: an unreachable provider', () => {
  it('answers 503 oidc_discovery_failed with Retry-After', async () => {
    const created = await server.request('POST', `${API}/sso`, {
      token: org.adminTokens.access_token,
      // Nothing listens on the discard port of this machine.
      body: { organization_id: org.admin.organizationId, provider_type: 'oidc', provider_name: 'Down', oidc_discovery_url: 'http://127.0.0.1:9', oauth_client_id: 'down' },
    });
    expect(created.status, created.text).toBe(201);
    const response = await server.request('GET', `${API}/sso/${created.body.id}/oidc/login?redirect_uri=${encodeURIComponent(CALLBACK)}`);
    expectProblem(response, 503, 'oidc_discovery_failed');
    expect(response.headers.get('retry-after')).toBe('5');
    const removed = await server.request('DELETE', `${API}/sso/${created.body.id}`, { token: org.adminTokens.access_token });
    expect(removed.status).toBe(204);
  });
});

describe('GET /sso/discover', () => {
  it('answers the OIDC configuration and its login URL for the organization’s domain', async () => {
    const found = await server.request('GET', `${API}/sso/discover?email=someone@${DOMAIN}`);
    expect(found.status, found.text).toBe(200);
    expect(found.body).toEqual({ sso_config_id: org.configId, provider_name: 'Test OpenID provider', login_url: `${server.baseUrl}${API}/sso/${org.configId}/oidc/login` });
  });
});

describe('GET /sso/{id}/oidc/callback: success', () => {
  it('creates the user just in time, lands on the redirect URI with working tokens, and links the next login', async () => {
    const account = newAccount();
    org.idp.account = account;
    const response = await callBack(server, await answeredLogin());
    expect(response.status, response.text).toBe(302);
    expect(response.headers.get('cache-control')).toBe('no-store');
    const tokens = tokensFromRedirect(response.headers.get('location') as string);
    expect(tokens.landing).toBe(CALLBACK);
    expect(tokens.token_type).toBe('bearer');

    const me = await server.request('GET', `${API}/auth/me`, { token: tokens.access_token });
    expect(me.status, me.text).toBe(200);
    expect(me.body).toMatchObject({ email: account.email, full_name: 'Ada Lovelace', organization_id: org.admin.organizationId, sso_provider: org.idp.issuer, is_verified: true });
    expect(me.body.roles.map((role: { name: string }) => role.name)).toEqual(['Viewer']);
    const refreshed = await server.request('POST', `${API}/auth/refresh`, { body: { refresh_token: tokens.refresh_token } });
    expect(refreshed.status, refreshed.text).toBe(200);

    // The provider changed the address: the user, found by `sub`, follows it.
    org.idp.account = { ...account, email: `renamed.${account.email}` };
    const answer = await answeredLogin();
    // Parameters some providers add (Google, Entra ID) are ignored, not refused.
    for (const [name, value] of [
      ['session_state', 'abc.123'],
      ['scope', 'openid email'],
      ['authuser', '0'],
    ])
      answer.searchParams.set(name as string, value as string);
    const again = await callBack(server, answer, 'application/json');
    expect(again.status, again.text).toBe(200);
    const secondMe = await server.request('GET', `${API}/auth/me`, { token: again.body.access_token });
    expect(secondMe.body).toMatchObject({ id: me.body.id, email: `renamed.${account.email}` });

    const audit = (await auditEvents(server, org.adminTokens, { user_id: me.body.id })).map(({ event_type, status }) => `${event_type}:${status}`).sort();
    expect(audit).toEqual(['auth.sso_login:success', 'auth.sso_login:success', 'user.create:success']);
  });

  it('links an existing account by email once, and refuses another tenant’s user, a disallowed domain and an unverified email', async () => {
    // Another organization's admin, with an address of this organization's domain.
    const outsider = await registerOrganization(server, { email: `outsider.${randomUUID().slice(0, 8)}@${DOMAIN}` });
    org.idp.account = { sub: `sub-${randomUUID()}`, email: outsider.email, email_verified: true };
    expectProblem(await callBack(server, await answeredLogin()), 401, 'oidc_email_in_other_organization');

    // An account made by the admin (with a password) is linked to the provider's subject on its first SSO login.
    const email = `linked.${randomUUID().slice(0, 8)}@${DOMAIN}`;
    const made = await server.request('POST', `${API}/users`, {
      token: org.adminTokens.access_token,
      body: { organization_id: org.admin.organizationId, email, full_name: 'Linked User', password: STRONG_PASSWORD },
    });
    expect(made.status, made.text).toBe(201);
    org.idp.account = { sub: `sub-${randomUUID()}`, email, email_verified: true };
    const linked = await callBack(server, await answeredLogin(), 'application/json');
    expect(linked.status, linked.text).toBe(200);
    const me = await server.request('GET', `${API}/auth/me`, { token: linked.body.access_token });
    expect(me.body).toMatchObject({ id: made.body.id, sso_provider: org.idp.issuer });
    // Another subject of the same provider may not take the linked account over.
    org.idp.account = { sub: `sub-${randomUUID()}`, email, email_verified: true };
    expectProblem(await callBack(server, await answeredLogin()), 401, 'oidc_linked_to_other_subject');

    org.idp.account = { sub: `sub-${randomUUID()}`, email: `someone@not-${DOMAIN}`, email_verified: true };
    expectProblem(await callBack(server, await answeredLogin()), 401, 'oidc_email_domain_not_allowed');
    org.idp.account = { ...newAccount(), email_verified: false };
    expectProblem(await callBack(server, await answeredLogin()), 401, 'oidc_email_not_verified');
  });
});

describe('GET /sso/{id}/oidc/callback: refusals', () => {
  it('refuses an ID token for another nonce than the login’s, audited and counted', async () => {
    org.idp.account = newAccount('nonce');
    const before = await oidcFailures('wrong_nonce');
    // The provider is asked (and answers) for another nonce than the one this service remembered.
    const callback = await answeredLogin((url) => url.searchParams.set('nonce', `forged-${randomUUID()}`));
    expectProblem(await callBack(server, callback), 401, 'oidc_wrong_nonce');
    expect(await oidcFailures('wrong_nonce')).toBe(before + 1);
    const failures = await auditEvents(server, root, { event_type: 'auth.sso_login' });
    expect(failures.find((event) => event.status === 'failure' && event.context?.reason === 'wrong_nonce')).toMatchObject({ organization_id: org.admin.organizationId });
  });

  it('refuses a replayed callback (state used once), even after a successful login', async () => {
    org.idp.account = newAccount('replay');
    const callback = await answeredLogin();
    expect((await callBack(server, callback)).status).toBe(302);
    expectProblem(await callBack(server, callback), 401, 'oidc_state_reused');
    const unknown = new URL(callback);
    unknown.searchParams.set('state', randomUUID());
    expectProblem(await callBack(server, unknown), 401, 'oidc_unknown_state');
  });

  it('refuses an ID token issued for another client', async () => {
    await expectForgedRefusal((claims) => org.idp.sign({ ...claims, aud: 'another-client' }), 'oidc_wrong_audience');
    await expectForgedRefusal((claims) => org.idp.sign({ ...claims, azp: 'another-client' }), 'oidc_wrong_authorized_party');
  });

  it('refuses an expired ID token', async () => {
    const now = Math.floor(Date.now() / 1000);
    await expectForgedRefusal((claims) => org.idp.sign({ ...claims, iat: now - 3600, exp: now - 600 }), 'oidc_expired');
  });

  it('refuses an ID token signed by another key (same kid)', async () => {
    const { privateKey } = await rsaKey();
    await expectForgedRefusal((claims) => org.idp.sign(claims, privateKey), 'oidc_invalid_signature');
  });

  it('refuses an ID token from another issuer, and a callback naming another issuer', async () => {
    await expectForgedRefusal((claims) => org.idp.sign({ ...claims, iss: 'http://127.0.0.1:9/other-issuer' }), 'oidc_wrong_issuer');
    org.idp.account = newAccount('iss');
    const callback = await answeredLogin();
    callback.searchParams.set('iss', 'http://127.0.0.1:9/other-issuer');
    expectProblem(await callBack(server, callback), 401, 'oidc_wrong_issuer');
  });

  it('refuses a provider error and a code the provider did not issue', async () => {
    org.idp.account = newAccount('error');
    const cancelled = await answeredLogin();
    cancelled.searchParams.delete('code');
    cancelled.searchParams.set('error', 'access_denied');
    expectProblem(await callBack(server, cancelled), 401, 'oidc_idp_refused');
    const forgedCode = await answeredLogin();
    forgedCode.searchParams.set('code', 'not-a-code-the-provider-issued');
    expectProblem(await callBack(server, forgedCode), 401, 'oidc_token_exchange_failed');
  });

  it('refuses the provider’s own error answer (an error_description with `+` for spaces) and a wrong client secret (a Basic challenge)', async () => {
    org.idp.account = newAccount('prompt');
    const refused = await answeredLogin((url) => url.searchParams.set('prompt', 'none'));
    expect(refused.searchParams.get('error')).toBe('login_required');
    expectProblem(await callBack(server, refused), 401, 'oidc_idp_refused');

    const sso = (secret: string) => server.request('PUT', `${API}/sso/${org.configId}`, { token: org.adminTokens.access_token, body: { oauth_client_secret: secret } });
    expect((await sso('not-the-secret')).status).toBe(200);
    try {
      org.idp.account = newAccount('secret');
      expectProblem(await callBack(server, await answeredLogin()), 401, 'oidc_token_exchange_failed');
    } finally {
      expect((await sso(org.client.client_secret)).status).toBe(200);
    }
  });
});
