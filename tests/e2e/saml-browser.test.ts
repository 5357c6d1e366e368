import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { API, login, registerOrganization } from '../helpers/fixtures.js';
import { createSamlConfiguration, serviceProvider, tokensFromRedirect } from '../helpers/saml-fixtures.js';
import { authnRequestOf, TestIdentityProvider } from '../helpers/saml-idp.js';
import { startServer, type TestServer } from '../helpers/server.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
// As the machine's probe runs it: without the background-networking flags Chromium keeps trying
// to reach Google's hosts, which this network refuses.
const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

const escapeHtml = (value: string) => value.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;');

let service: TestServer;
let pages: Server;
let pagesUrl: string;
let browser: Browser;
const idp = new TestIdentityProvider();
const email = 'ada.browser@e2e.example';

/**
 * Two small sites on one port: the test IdP's login page, which answers the AuthnRequest with a
 * signed response in a form that posts itself to the ACS (the HTTP-POST binding, as Okta does),
 * and the front end's callback page the browser finally lands on.
 */
function startPages(acsUrlOf: () => { entityId: string; acsUrl: string }): Promise<Server> {
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', pagesUrl);
    if (url.pathname === '/idp/sso') {
      const request = authnRequestOf(url.href);
      const sp = acsUrlOf();
      const samlResponse = idp.response(sp, { inResponseTo: request.id, nameId: 'okta|ada', attributes: { mail: email, displayName: 'Ada Lovelace' } });
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end(
        `<!doctype html><html><body><form method="post" action="${escapeHtml(sp.acsUrl)}">` +
          `<input type="hidden" name="SAMLResponse" value="${escapeHtml(samlResponse)}"></form>` +
          '<script>document.forms[0].submit()</script></body></html>',
      );
      return;
    }
    if (url.pathname === '/app/callback') {
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end('<!doctype html><html><body><h1>Signed in</h1></body></html>');
      return;
    }
    res.writeHead(404).end();
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

let configId: string;

beforeAll(async () => {
  pages = await startPages(() => serviceProvider(service, configId));
  pagesUrl = `http://127.0.0.1:${(pages.address() as AddressInfo).port}`;
  service = await startServer({ SSO_REDIRECT_ALLOWLIST: `${pagesUrl}/app/` });
  const admin = await registerOrganization(service);
  const tokens = await login(service, admin);
  configId = await createSamlConfiguration(service, admin, tokens, idp, { saml_sso_url: `${pagesUrl}/idp/sso` });
  browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
});
afterAll(async () => {
  await browser?.close();
  await service?.close();
  await new Promise((resolve) => pages?.close(resolve));
});

describe('SAML login in a real browser (headless Chromium)', () => {
  it('goes from the login URL through the IdP’s auto-posted response to the redirect URI with working tokens', async () => {
    const page = await browser.newPage();
    const callback = `${pagesUrl}/app/callback`;
    await page.goto(`${service.baseUrl}${API}/sso/${configId}/saml/login?redirect_uri=${encodeURIComponent(callback)}`);
    await page.waitForURL((url) => url.href.startsWith(callback), { timeout: 15_000 });
    expect(await page.textContent('h1')).toBe('Signed in');

    const tokens = tokensFromRedirect(page.url());
    expect(tokens.landing).toBe(callback);
    const me = await service.request('GET', `${API}/auth/me`, { token: tokens.access_token });
    expect(me.status, me.text).toBe(200);
    expect(me.body).toMatchObject({ email, full_name: 'Ada Lovelace', sso_provider: idp.entityId });
    await page.close();
  });
});
