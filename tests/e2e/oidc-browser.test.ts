import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { API } from '../helpers/fixtures.js';
import { type OidcOrganization, oidcOrganization } from '../helpers/oidc-fixtures.js';
import { tokensFromRedirect } from '../helpers/saml-fixtures.js';
import { startServer, type TestServer } from '../helpers/server.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
// As the machine's probe runs it: without the background-networking flags Chromium keeps trying
// to reach Google's hosts, which this network refuses.
const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const DOMAIN = `e2e-${randomUUID().slice(0, 8)}.example`;

let service: TestServer;
let app: Server;
let appUrl: string;
let browser: Browser;
let org: OidcOrganization;

/** The front end's callback page the browser finally lands on. */
function startApp(): Promise<Server> {
  const server = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/html' });
    res.end('<!doctype html><html><body><h1>Signed in</h1></body></html>');
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

beforeAll(async () => {
  app = await startApp();
  appUrl = `http://127.0.0.1:${(app.address() as AddressInfo).port}`;
  service = await startServer({ SSO_REDIRECT_ALLOWLIST: `${appUrl}/app/` });
  // oidc-provider's own default: the ID token carries only `sub`, the service reads the rest from userinfo.
  org = await oidcOrganization(service, DOMAIN, { claimsInIdToken: false });
  browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
});
afterAll(async () => {
  await browser?.close();
  await service?.close();
  await org?.idp.close();
  await new Promise((resolve) => app?.close(resolve));
});

describe('OIDC login in a real browser (headless Chromium)', () => {
  it('goes from the login URL through the real OpenID provider to the redirect URI with working tokens (claims from userinfo)', async () => {
    const email = `grace.browser@${DOMAIN}`;
    org.idp.account = { sub: 'browser-user-1', email, email_verified: true, given_name: 'Grace', family_name: 'Hopper' };
    const page = await browser.newPage();
    const callback = `${appUrl}/app/callback`;
    await page.goto(`${service.baseUrl}${API}/sso/${org.configId}/oidc/login?redirect_uri=${encodeURIComponent(callback)}`);
    await page.waitForURL((url) => url.href.startsWith(callback), { timeout: 15_000 });
    expect(await page.textContent('h1')).toBe('Signed in');

    const tokens = tokensFromRedirect(page.url());
    expect(tokens.landing).toBe(callback);
    const me = await service.request('GET', `${API}/auth/me`, { token: tokens.access_token });
    expect(me.status, me.text).toBe(200);
    expect(me.body).toMatchObject({ email, full_name: 'Grace Hopper', sso_provider: org.idp.issuer, organization_id: org.admin.organizationId });
    await page.close();
  });
});
