import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { decodeJwt } from 'jose';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { API, auditEvents, expectProblem, type ProblemCode, registerOrganization } from '../helpers/fixtures.js';
import { callBack, type OidcOrganization, oauthOrganization, providerAnswer, startOidcLogin } from '../helpers/oidc-fixtures.js';
import type { OidcAccount } from '../helpers/oidc-idp.js';
import { CALLBACK, tokensFromRedirect } from '../helpers/saml-fixtures.js';
import { startServer, type TestServer } from '../helpers/server.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
// As tests/e2e runs it: without the background-networking flags Chromium keeps trying to reach
// Google's hosts, which this network refuses.
const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const DOMAIN = `hamilton-${randomUUID().slice(0, 8)}.example`;
// Claims named as a non-OpenID provider names them: the mapping, not the standard claims, decides.
const MAPPING = { subject: 'user_id', email: 'mail', full_name: 'display_name' };

let server: TestServer;
let org: OidcOrganization;
let app: Server;
let appUrl: string;
let browser: Browser;

let nextUserId = 4_000_000;
/** A user of the provider: its own `sub`, and (through the mapping) a numeric id and the directory's mail and name. */
const newAccount = (label = 'margaret'): OidcAccount => {
  const mail = `${label}.${randomUUID().slice(0, 8)}@${DOMAIN}`;
  nextUserId += 1;
  return { sub: `sub-${randomUUID()}`, user_id: nextUserId, mail, display_name: 'Margaret Hamilton', email: `standard.${mail}`, email_verified: true };
};

const loginPath = (configId: string, redirectUri = CALLBACK) => `${API}/sso/${configId}/oauth/login?redirect_uri=${encodeURIComponent(redirectUri)}`;

/** A login through the provider up to (not including) the callback. */
async function answeredLogin(alter?: (url: URL) => void): Promise<URL> {
  return providerAnswer(server, org.configId, await startOidcLogin(server, org.configId, CALLBACK, 'oauth'), alter, 'oauth');
}

async function oauthFailures(reason: string): Promise<number> {
  const scrape = await server.request('GET', '/metrics', { headers: { accept: 'text/plain' } });
  return Number(new RegExp(`^oauth_responses_total\\{result="failure",reason="${reason}"\\} (\\d+)$`, 'm').exec(scrape.text)?.[1] ?? 0);
}

/** Changes the configuration for one test and puts it back afterwards. */
async function withConfiguration(changes: Record<string, unknown>, restore: Record<string, unknown>, run: () => Promise<void>): Promise<void> {
  const changed = await server.request('PUT', `${API}/sso/${org.configId}`, { token: org.adminTokens.access_token, body: changes });
  expect(changed.status, changed.text).toBe(200);
  try {
    await run();
  } finally {
    const restored = await server.request('PUT', `${API}/sso/${org.configId}`, { token: org.adminTokens.access_token, body: restore });
    expect(restored.status, restored.text).toBe(200);
  }
}

/** A whole login of a new account whose callback must be refused with `code`, counted under its reason. */
async function expectRefusedLogin(code: ProblemCode, account: OidcAccount = newAccount('refused')): Promise<void> {
  org.idp.account = account;
  const reason = code.replace(/^oauth_/, '');
  const before = await oauthFailures(reason);
  const response = await callBack(server, await answeredLogin());
  expectProblem(response, 401, code);
  expect(response.text).not.toContain(org.client.client_secret);
  expect(await oauthFailures(reason)).toBe(before + 1);
}

/** The front end's callback page the browser finally lands on. */
function startApp(): Promise<Server> {
  const page = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/html' });
    res.end('<!doctype html><html><body><h1>Signed in</h1></body></html>');
  });
  return new Promise((resolve) => page.listen(0, '127.0.0.1', () => resolve(page)));
}

beforeAll(async () => {
  app = await startApp();
  appUrl = `http://127.0.0.1:${(app.address() as AddressInfo).port}`;
  server = await startServer({ SSO_REDIRECT_ALLOWLIST: `https://app.example/sso/,${appUrl}/app/` });
  org = await oauthOrganization(server, DOMAIN, { configuration: { attribute_mapping: MAPPING } });
  browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
});
afterAll(async () => {
  await browser?.close();
  await server?.close();
  await org?.idp.close();
  await new Promise((resolve) => app?.close(resolve));
});

describe('GET /sso/{id}/oauth/login', () => {
  it('redirects to the configured authorization endpoint with PKCE S256, state, the scopes and the callback URL, and no nonce', async () => {
    const authorization = await startOidcLogin(server, org.configId, CALLBACK, 'oauth');
    expect(`${authorization.origin}${authorization.pathname}`).toBe(org.idp.endpoints.authorization);
    const params = Object.fromEntries(authorization.searchParams);
    expect(params).toMatchObject({
      response_type: 'code',
      client_id: org.client.client_id,
      redirect_uri: org.client.redirect_uris[0],
      code_challenge_method: 'S256',
      scope: 'openid email profile directory',
    });
    expect(params.code_challenge).toMatch(/^[\w-]{43}$/);
    expect(params.state).toMatch(/^[\w-]{20,}$/);
    expect(params).not.toHaveProperty('nonce');
    expect(params).not.toHaveProperty('client_secret');
  });

  it('refuses a redirect URI off the allow-list (422), an unknown configuration and another protocol’s (404)', async () => {
    expectProblem(await server.request('GET', loginPath(org.configId, 'https://evil.example/')), 422, 'sso_redirect_uri_not_allowed');
    expectProblem(await server.request('GET', loginPath(randomUUID())), 404, 'sso_configuration_not_found');
    const oidc = await server.request('POST', `${API}/sso`, {
      token: org.adminTokens.access_token,
      body: {
        organization_id: org.admin.organizationId,
        provider_type: 'oidc',
        provider_name: 'Other',
        oidc_discovery_url: org.idp.issuer,
        oauth_client_id: 'x',
        is_enabled: false,
      },
    });
    expect(oidc.status, oidc.text).toBe(201);
    expectProblem(await server.request('GET', loginPath(oidc.body.id)), 404, 'sso_configuration_not_found');
    const removed = await server.request('DELETE', `${API}/sso/${oidc.body.id}`, { token: org.adminTokens.access_token });
    expect(removed.status).toBe(204);
  });
});

describe('POST /sso: an OAuth configuration', () => {
  it('needs a userinfo URL (422): the claims come from there', async () => {
    const { endpoints } = org.idp;
    const created = await server.request('POST', `${API}/sso`, {
      token: org.adminTokens.access_token,
      body: {
        organization_id: org.admin.organizationId,
        provider_type: 'oauth',
        provider_name: 'No userinfo',
        oauth_client_id: 'x',
        oauth_authorization_url: endpoints.authorization,
        oauth_token_url: endpoints.token,
      },
    });
    expectProblem(created, 422, 'sso_configuration_invalid');
    expect(created.body.errors).toEqual([{ path: '/body/oauth_userinfo_url', message: 'is required for oauth configurations' }]);
  });
});

describe('GET /sso/discover', () => {
  it('answers the OAuth configuration and its login URL for the organization’s domain', async () => {
    const found = await server.request('GET', `${API}/sso/discover?email=someone@${DOMAIN}`);
    expect(found.status, found.text).toBe(200);
    expect(found.body).toEqual({ sso_config_id: org.configId, provider_name: 'Test OAuth provider', login_url: `${server.baseUrl}${API}/sso/${org.configId}/oauth/login` });
  });
});

describe('GET /sso/{id}/oauth/callback: success', () => {
  it('signs in through the real provider in headless Chromium and lands on the redirect URI with working tokens', async () => {
    const account = newAccount('browser');
    org.idp.account = account;
    const page = await browser.newPage();
    try {
      const landing = `${appUrl}/app/callback`;
      await page.goto(`${server.baseUrl}${loginPath(org.configId, landing)}`);
      await page.waitForURL((url) => url.href.startsWith(landing), { timeout: 15_000 });
      expect(await page.textContent('h1')).toBe('Signed in');
      const tokens = tokensFromRedirect(page.url());
      expect(tokens.landing).toBe(landing);
      expect(tokens.token_type).toBe('bearer');
      const me = await server.request('GET', `${API}/auth/me`, { token: tokens.access_token });
      expect(me.status, me.text).toBe(200);
      expect(me.body).toMatchObject({ email: account.mail, full_name: 'Margaret Hamilton', organization_id: org.admin.organizationId, sso_provider: org.idp.endpoints.userinfo });
      // Like every SSO login: the provider, not this service, proved who it is.
      expect(decodeJwt(tokens.access_token).amr).toEqual(['ext']);
      const refreshed = await server.request('POST', `${API}/auth/refresh`, { body: { refresh_token: tokens.refresh_token } });
      expect(refreshed.status, refreshed.text).toBe(200);
    } finally {
      await page.close();
    }
  });

  it('creates the user just in time through attribute_mapping (numeric subject), links the next login by it, and audits both', async () => {
    const account = newAccount();
    org.idp.account = account;
    const response = await callBack(server, await answeredLogin());
    expect(response.status, response.text).toBe(302);
    expect(response.headers.get('cache-control')).toBe('no-store');
    const tokens = tokensFromRedirect(response.headers.get('location') as string);
    expect(tokens.landing).toBe(CALLBACK);
    const me = await server.request('GET', `${API}/auth/me`, { token: tokens.access_token });
    expect(me.body).toMatchObject({ email: account.mail, full_name: 'Margaret Hamilton', is_verified: true });
    expect(me.body.roles.map((role: { name: string }) => role.name)).toEqual(['Member']);

    // Another `sub` and a new address, the same numeric id: the same user, whose email follows.
    org.idp.account = { ...account, sub: `sub-${randomUUID()}`, mail: `renamed.${account.mail}` };
    const answer = await answeredLogin();
    // Parameters a provider adds (oidc-provider sends `iss`, RFC 9207) are ignored.
    expect(answer.searchParams.get('iss')).toBe(org.idp.issuer);
    answer.searchParams.set('scope', 'openid email');
    const again = await callBack(server, answer, 'application/json');
    expect(again.status, again.text).toBe(200);
    const secondMe = await server.request('GET', `${API}/auth/me`, { token: again.body.access_token });
    expect(secondMe.body).toMatchObject({ id: me.body.id, email: `renamed.${account.mail}` });

    const audit = await auditEvents(server, org.adminTokens, { user_id: me.body.id });
    expect(audit.map(({ event_type, status }) => `${event_type}:${status}`).sort()).toEqual(['auth.sso_login:success', 'auth.sso_login:success', 'user.create:success']);
    const logins = audit.filter((event) => event.event_type === 'auth.sso_login').map((event) => event.context);
    expect(logins).toHaveLength(2);
    expect(logins).toEqual(
      expect.arrayContaining([expect.objectContaining({ method: 'oauth', provisioned: true }), expect.objectContaining({ method: 'oauth', provisioned: false })]),
    );
  });
});

describe('GET /sso/{id}/oauth/callback: refusals', () => {
  it('refuses a replayed callback (state used once) and an unknown state, audited with method oauth', async () => {
    org.idp.account = newAccount('replay');
    const callback = await answeredLogin();
    expect((await callBack(server, callback)).status).toBe(302);
    expectProblem(await callBack(server, callback), 401, 'oauth_state_reused');
    const unknown = new URL(callback);
    unknown.searchParams.set('state', randomUUID());
    expectProblem(await callBack(server, unknown), 401, 'oauth_unknown_state');
    const failures = await auditEvents(server, org.adminTokens, { event_type: 'auth.sso_login' });
    expect(failures.find((event) => event.status === 'failure' && event.context?.reason === 'unknown_state')).toMatchObject({
      organization_id: org.admin.organizationId,
      context: { method: 'oauth', reason: 'unknown_state' },
    });
  });

  it('refuses the provider’s error answer and a callback without a code', async () => {
    org.idp.account = newAccount('error');
    // No session at the provider and no prompt allowed: the provider itself answers with an error
    // (and an error_description written with `+` for spaces).
    const refused = await answeredLogin((url) => url.searchParams.set('prompt', 'none'));
    expect(refused.searchParams.get('error')).toBe('login_required');
    expect(refused.search).toContain('error_description=End-User+authentication');
    const response = await callBack(server, refused);
    expectProblem(response, 401, 'oauth_idp_refused');
    expect(response.body.detail).toBe('OAuth login rejected: the provider refused the login (login_required)');
    const codeless = await answeredLogin();
    codeless.searchParams.delete('code');
    expectProblem(await callBack(server, codeless), 401, 'oauth_missing_code');
  });

  it('refuses a login whose token exchange fails: a wrong client secret, a code the provider did not issue', async () => {
    await withConfiguration({ oauth_client_secret: 'not-the-secret' }, { oauth_client_secret: org.client.client_secret }, () => expectRefusedLogin('oauth_token_exchange_failed'));
    org.idp.account = newAccount('forged');
    const forged = await answeredLogin();
    forged.searchParams.set('code', 'not-a-code-the-provider-issued');
    expectProblem(await callBack(server, forged), 401, 'oauth_token_exchange_failed');
  });

  it('refuses a userinfo answer without a usable email, and one that marks it unverified', async () => {
    await expectRefusedLogin('oauth_missing_email', { ...newAccount('no-mail'), mail: undefined });
    await expectRefusedLogin('oauth_email_not_verified', { ...newAccount('unverified'), email_verified: false });
  });

  it('refuses a userinfo endpoint that is unreachable, does not answer JSON, or answers no subject', async () => {
    const restore = { oauth_userinfo_url: org.idp.endpoints.userinfo };
    // Nothing listens on the discard port of this machine.
    await withConfiguration({ oauth_userinfo_url: 'http://127.0.0.1:9/me' }, restore, () => expectRefusedLogin('oauth_userinfo_unavailable'));
    // The front end's page: 200, but HTML.
    await withConfiguration({ oauth_userinfo_url: `${appUrl}/app/` }, restore, () => expectRefusedLogin('oauth_userinfo_invalid'));
    // The provider's JWKS: a JSON object without `user_id`.
    await withConfiguration({ oauth_userinfo_url: org.idp.endpoints.jwks }, restore, () => expectRefusedLogin('oauth_missing_subject'));
  });

  it('refuses another organization’s user and a disallowed domain by the shared sign-in rules', async () => {
    // Another organization's admin, with an address of this organization's domain.
    const outsider = await registerOrganization(server, { email: `outsider.${randomUUID().slice(0, 8)}@${DOMAIN}` });
    await expectRefusedLogin('oauth_email_in_other_organization', { ...newAccount('outsider'), mail: outsider.email });
    await expectRefusedLogin('oauth_email_domain_not_allowed', { ...newAccount('elsewhere'), mail: `someone@not-${DOMAIN}` });
  });

  it('never writes the client secret to the log', () => {
    expect(server.logs()).toContain('oauth login rejected');
    expect(server.logs()).not.toContain(org.client.client_secret);
  });
});
