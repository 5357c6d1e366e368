import { createPublicKey, randomUUID, verify } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeCertificate } from '../helpers/certificates.js';
import { countSamlRequests, samlRequest } from '../helpers/database-facts.js';
import { type Account, API, expectProblem, login, registerOrganization, type Tokens } from '../helpers/fixtures.js';
import { CALLBACK, createSamlConfiguration, serviceProvider } from '../helpers/saml-fixtures.js';
import { authnRequestOf, TestIdentityProvider } from '../helpers/saml-idp.js';
import { startServer, type TestServer } from '../helpers/server.js';

let server: TestServer;
let admin: Account;
let adminTokens: Tokens;
let idp: TestIdentityProvider;
let configId: string;

beforeAll(async () => {
  server = await startServer({ SSO_REDIRECT_ALLOWLIST: 'https://app.example/sso/,http://localhost:3000' });
  admin = await registerOrganization(server);
  adminTokens = await login(server, admin);
  idp = new TestIdentityProvider();
  configId = await createSamlConfiguration(server, admin, adminTokens, idp, { saml_name_id_format: 'urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress' });
});
afterAll(async () => {
  await server.close();
});

const loginPath = (id: string, redirectUri: string) => `${API}/sso/${id}/saml/login?redirect_uri=${encodeURIComponent(redirectUri)}`;

describe('GET /sso/{id}/saml/metadata', () => {
  it('describes this configuration’s service provider, without a signing key when none is configured', async () => {
    const response = await server.request('GET', `${API}/sso/${configId}/saml/metadata`, { headers: { accept: '*/*' } });
    expect(response.status, response.text).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^application\/samlmetadata\+xml/);
    const { entityId, acsUrl } = serviceProvider(server, configId);
    expect(response.text).toContain(`entityID="${entityId}"`);
    expect(response.text).toContain(`Location="${acsUrl}"`);
    expect(response.text).toContain('Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST"');
    expect(response.text).toContain('WantAssertionsSigned="true"');
    expect(response.text).toContain('AuthnRequestsSigned="false"');
    expect(response.text).toContain('<md:NameIDFormat>urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress</md:NameIDFormat>');
    expect(response.text).not.toContain('KeyDescriptor');
  });

  it('is 404 for an unknown, disabled or non-SAML configuration', async () => {
    const disabled = await createSamlConfiguration(server, admin, adminTokens, new TestIdentityProvider(), { is_enabled: false });
    const oauth = await server.request('POST', `${API}/sso`, {
      token: adminTokens.access_token,
      body: {
        organization_id: admin.organizationId,
        provider_type: 'oauth',
        provider_name: 'O',
        oauth_client_id: 'c',
        oauth_authorization_url: 'https://o.example/a',
        oauth_token_url: 'https://o.example/t',
        oauth_userinfo_url: 'https://o.example/u',
      },
    });
    for (const id of [randomUUID(), disabled, oauth.body.id]) {
      expectProblem(await server.request('GET', `${API}/sso/${id}/saml/metadata`), 404, 'sso_configuration_not_found');
      expectProblem(await server.request('GET', loginPath(id, CALLBACK)), 404, 'sso_configuration_not_found');
    }
  });
});

describe('GET /sso/{id}/saml/login', () => {
  it('redirects to the IdP with an AuthnRequest for this service provider, and remembers it', async () => {
    const response = await server.request('GET', loginPath(configId, `${CALLBACK}?state=xyz`));
    expect(response.status, response.text).toBe(302);
    const { id, xml, url } = authnRequestOf(response.headers.get('location') as string);
    expect(`${url.origin}${url.pathname}`).toBe('https://idp.example/sso/saml');
    const { entityId, acsUrl } = serviceProvider(server, configId);
    expect(xml).toContain(`AssertionConsumerServiceURL="${acsUrl}"`);
    expect(xml).toContain('Destination="https://idp.example/sso/saml"');
    expect(xml).toContain(`<saml:Issuer>${entityId}</saml:Issuer>`);
    expect(xml).toContain('Format="urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress"');
    expect(url.searchParams.has('Signature')).toBe(false);
    const stored = await samlRequest(server, id);
    expect(stored).toEqual({ redirect_uri: `${CALLBACK}?state=xyz`, sso_configuration_id: configId, ttl: 600, consumed_at: null });
  });

  it.each([
    ['another origin', 'https://evil.example/sso/callback', 'sso_redirect_uri_not_allowed'],
    ['a look-alike host', 'https://app.example.evil.example/sso/callback', 'sso_redirect_uri_not_allowed'],
    ['a path outside the allowed prefix', 'https://app.example/admin', 'sso_redirect_uri_not_allowed'],
    ['another scheme', 'http://app.example/sso/callback', 'sso_redirect_uri_not_allowed'],
    ['user info', 'https://attacker@app.example/sso/callback', 'sso_redirect_uri_not_allowed'],
    ['a fragment', 'https://app.example/sso/callback#x', 'sso_redirect_uri_not_allowed'],
    ['javascript:', 'javascript:alert(1)', 'sso_redirect_uri_not_allowed'],
    ['a relative URL', '/sso/callback', 'request_invalid'],
  ] as const)('refuses a redirect_uri with %s (422), storing nothing', async (_name, redirectUri, code) => {
    const before = await countSamlRequests(server, configId);
    const response = await server.request('GET', loginPath(configId, redirectUri));
    expectProblem(response, 422, code);
    expect(response.headers.get('location')).toBeNull();
    expect(await countSamlRequests(server, configId)).toBe(before);
  });

  it('accepts any path of an origin-only allow-list entry', async () => {
    expect((await server.request('GET', loginPath(configId, 'http://localhost:3000/any/where'))).status).toBe(302);
  });

  it('requires redirect_uri', async () => {
    expectProblem(await server.request('GET', `${API}/sso/${configId}/saml/login`), 422, 'request_invalid');
  });

  it('signs the AuthnRequest when the service has a signing key, and publishes the certificate', async () => {
    const spKeys = makeCertificate('fm-auth-sp');
    const signing = await startServer({
      SSO_REDIRECT_ALLOWLIST: 'https://app.example/sso/',
      SAML_SP_PRIVATE_KEY: spKeys.privateKey.replace(/\n/g, '\\n'),
      SAML_SP_CERT: spKeys.certificate,
    });
    try {
      const response = await signing.request('GET', loginPath(configId, CALLBACK));
      expect(response.status, response.text).toBe(302);
      const location = response.headers.get('location') as string;
      const { url } = authnRequestOf(location);
      expect(url.searchParams.get('SigAlg')).toBe('http://www.w3.org/2001/04/xmldsig-more#rsa-sha256');
      // HTTP-Redirect binding: the signature covers the raw query string up to &Signature.
      const query = location.slice(location.indexOf('?') + 1);
      const signed = query
        .split('&')
        .filter((part) => !part.startsWith('Signature='))
        .join('&');
      const signature = Buffer.from(url.searchParams.get('Signature') as string, 'base64');
      expect(verify('RSA-SHA256', Buffer.from(signed), createPublicKey(spKeys.certificate), signature)).toBe(true);

      const metadata = await signing.request('GET', `${API}/sso/${configId}/saml/metadata`, { headers: { accept: '*/*' } });
      expect(metadata.text).toContain('AuthnRequestsSigned="true"');
      expect(metadata.text).toContain('<md:KeyDescriptor use="signing">');
      const body = spKeys.certificate.replace(/-----[A-Z ]+-----|\s/g, '');
      expect(metadata.text.replace(/\s/g, '')).toContain(`<ds:X509Certificate>${body}</ds:X509Certificate>`);
    } finally {
      await signing.close();
    }
  });
});

describe('GET /sso/discover', () => {
  const claim = async (account: Account, tokens: Tokens, domains: string[]) => {
    const response = await server.request('PUT', `${API}/organizations/${account.organizationId}`, { token: tokens.access_token, body: { allowed_email_domains: domains } });
    expect(response.status, response.text).toBe(200);
  };

  it('finds the enabled SAML configuration of the organization claiming the domain, without credentials', async () => {
    const domain = `d-${randomUUID().slice(0, 8)}.example`;
    await claim(admin, adminTokens, [domain]);
    const response = await server.request('GET', `${API}/sso/discover?email=${encodeURIComponent(`Grace@${domain.toUpperCase()}`)}`);
    expect(response.status, response.text).toBe(200);
    expect(response.body).toEqual({
      sso_config_id: configId,
      provider_name: expect.any(String),
      login_url: `${server.baseUrl}${API}/sso/${configId}/saml/login`,
    });
    const started = await server.request('GET', `${response.body.login_url.slice(server.baseUrl.length)}?redirect_uri=${encodeURIComponent(CALLBACK)}`);
    expect(started.status).toBe(302);
  });

  it('is 404 for an unclaimed domain, for a domain two organizations claim, and without an enabled SAML configuration', async () => {
    const unclaimed = await server.request('GET', `${API}/sso/discover?email=someone@unclaimed-${randomUUID().slice(0, 8)}.example`);
    expectProblem(unclaimed, 404, 'sso_domain_not_configured');

    const shared = `shared-${randomUUID().slice(0, 8)}.example`;
    const other = await registerOrganization(server);
    const otherTokens = await login(server, other);
    await createSamlConfiguration(server, other, otherTokens, new TestIdentityProvider());
    await claim(other, otherTokens, [shared]);
    await claim(admin, adminTokens, [shared]);
    expectProblem(await server.request('GET', `${API}/sso/discover?email=a@${shared}`), 404, 'sso_domain_not_configured');

    const lonely = `lonely-${randomUUID().slice(0, 8)}.example`;
    const third = await registerOrganization(server);
    const thirdTokens = await login(server, third);
    await createSamlConfiguration(server, third, thirdTokens, new TestIdentityProvider(), { is_enabled: false });
    await claim(third, thirdTokens, [lonely]);
    expectProblem(await server.request('GET', `${API}/sso/discover?email=a@${lonely}`), 404, 'sso_domain_not_configured');
  });

  it('refuses a missing or malformed email (422)', async () => {
    expectProblem(await server.request('GET', `${API}/sso/discover`), 422, 'request_invalid');
    expectProblem(await server.request('GET', `${API}/sso/discover?email=not-an-email`), 422, 'request_invalid');
  });
});

describe('POST /sso/{id}/saml/acs input', () => {
  it('refuses a form without SAMLResponse (422) and a JSON body (415)', async () => {
    const acs = `${API}/sso/${configId}/saml/acs`;
    expectProblem(await server.request('POST', acs, { rawBody: 'RelayState=x', headers: { 'content-type': 'application/x-www-form-urlencoded' } }), 422, 'request_invalid');
    expectProblem(await server.request('POST', acs, { body: { SAMLResponse: 'x' } }), 415, 'request_media_type_unsupported');
  });
});
