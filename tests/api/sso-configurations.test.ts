import { randomUUID, X509Certificate } from 'node:crypto';
import type { components } from 'fm-auth/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Account, API, auditEvents, expectProblem, login, registerOrganization, SYSTEM_ROLES, type Tokens } from '../helpers/fixtures.js';
import { makeCertificate } from '../helpers/certificates.js';
import { sealedClientSecret } from '../helpers/database-facts.js';
import { startServer, type TestServer } from '../helpers/server.js';

let server: TestServer;
let admin: Account;
let adminTokens: Tokens;
const idp = makeCertificate('okta-test');

beforeAll(async () => {
  server = await startServer();
  admin = await registerOrganization(server);
  adminTokens = await login(server, admin);
});
afterAll(async () => {
  await server.close();
});

const saml = (overrides: Record<string, unknown> = {}) => ({
  organization_id: admin.organizationId,
  provider_type: 'saml',
  provider_name: 'Okta',
  saml_entity_id: 'http://www.okta.example/exk1',
  saml_sso_url: 'https://hopper.okta.example/app/sso/saml',
  saml_x509_cert: idp.certificate,
  attribute_mapping: { email: 'email', full_name: 'displayName' },
  auto_create_users: true,
  ...overrides,
});

/**
 * Untyped: the generated body type makes the fields with a spec default (is_enabled, auto_create_users,
 * allow_idp_initiated) required, so a typed call could not leave them out, and these tests rely on the defaults.
 */
const create = (body: unknown, token = adminTokens.access_token, target = server) => target.request('POST', `${API}/sso`, { token, body });

const ssoConfig = (id: string) => ({ params: { path: { sso_config_id: id } } });
const read = (id: string, tokens = adminTokens) => server.client(tokens).api.GET('/api/v1/enterprise/sso/{sso_config_id}', ssoConfig(id));
const update = (id: string, body: components['schemas']['SsoConfigurationUpdate'], tokens = adminTokens) =>
  server.client(tokens).api.PUT('/api/v1/enterprise/sso/{sso_config_id}', { ...ssoConfig(id), body });
const remove = (id: string, tokens = adminTokens) => server.client(tokens).api.DELETE('/api/v1/enterprise/sso/{sso_config_id}', ssoConfig(id));

describe('POST /sso', () => {
  it('creates a SAML configuration and shows the certificate’s fingerprint and expiry', async () => {
    const response = await create(saml());
    expect(response.status, response.text).toBe(201);
    const certificate = new X509Certificate(idp.certificate);
    expect(response.body).toMatchObject({
      provider_type: 'saml',
      is_enabled: true,
      allow_idp_initiated: false,
      auto_create_users: true,
      has_client_secret: false,
      saml_certificate_fingerprint: certificate.fingerprint256,
      saml_certificate_expires_at: new Date(certificate.validTo).toISOString(),
    });
    const audit = (await auditEvents(server, adminTokens)).filter((event) => event.resource_id === response.body.id);
    expect(audit.map(({ event_type }) => ({ event_type }))).toEqual([{ event_type: 'sso_configuration.create' }]);
  });

  it('encrypts a client secret at rest and never returns it', async () => {
    const secret = `oauth-secret-${randomUUID()}`;
    const response = await create({
      organization_id: admin.organizationId,
      provider_type: 'oidc',
      provider_name: 'Entra',
      oauth_client_id: 'client',
      oauth_client_secret: secret,
      oidc_discovery_url: 'https://login.example/.well-known/openid-configuration',
    });
    expect(response.status).toBe(201);
    expect(response.body.has_client_secret).toBe(true);
    expect(response.text).not.toContain(secret);
    const sealed = await sealedClientSecret(server, response.body.id);
    expect(sealed).toMatch(/^v1:/);
    expect(sealed).not.toContain(secret);
    const list = await server.client(adminTokens).api.GET('/api/v1/enterprise/sso/organization/{organization_id}', {
      params: { path: { organization_id: admin.organizationId } },
      parseAs: 'text',
    });
    expect(list.data).not.toContain(secret);
    const audit = (await auditEvents(server, adminTokens)).filter((event) => event.resource_id === response.body.id).map(({ context }) => context);
    expect(audit).not.toEqual([]);
    expect(JSON.stringify(audit)).not.toContain(secret);
  });

  it.each([
    ['a certificate that is not PEM', { saml_x509_cert: 'MIIC-not-a-certificate' }, 'sso_configuration_invalid'],
    ['a PEM block with garbage inside', { saml_x509_cert: '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----' }, 'sso_configuration_invalid'],
    ['a SAML configuration without entity id', { saml_entity_id: undefined }, 'sso_configuration_invalid'],
    ['a SAML configuration without SSO URL', { saml_sso_url: undefined }, 'sso_configuration_invalid'],
    ['an SSO URL that is not http(s)', { saml_sso_url: 'ftp://idp.example/sso' }, 'request_invalid'],
    ['an unknown provider type', { provider_type: 'kerberos' }, 'request_invalid'],
    ['a field outside the spec', { client_secret_plain: 'x' }, 'request_invalid'],
  ] as const)('returns 422 for %s', async (_label, override, code) => {
    expectProblem(await create(saml(override)), 422, code);
  });

  it('returns 404 for a default_role_id of another organization, and accepts a system role', async () => {
    const other = await registerOrganization(server);
    const theirRole = await server.client(await login(server, other)).api.POST('/api/v1/enterprise/roles', { body: { name: 'Theirs', permissions: ['users:read'] } });
    expectProblem(await create(saml({ default_role_id: theirRole.data?.id })), 404, 'role_not_found');
    expect((await create(saml({ default_role_id: SYSTEM_ROLES.viewer }))).body.default_role_id).toBe(SYSTEM_ROLES.viewer);
  });

  it('refuses an http SSO URL in production', async () => {
    const production = await startServer({
      ENVIRONMENT: 'production',
      PUBLIC_URL: 'https://auth.example.com',
      JWT_SECRET_KEY: 'production-grade-signing-key-for-this-test-run-0123',
      SSO_ENCRYPTION_KEY: Buffer.alloc(32, 7).toString('base64'),
      METRICS_TOKEN: 'a-long-random-metrics-scrape-token',
    });
    try {
      const owner = await registerOrganization(production);
      const tokens = await login(production, owner);
      const response = await create(saml({ organization_id: owner.organizationId, saml_sso_url: 'http://idp.example/sso' }), tokens.access_token, production);
      expectProblem(response, 422, 'sso_configuration_invalid');
      expect(response.body.errors).toContainEqual({ path: '/body/saml_sso_url', message: 'must be an https URL in production' });
    } finally {
      await production.close();
    }
  });
});

describe('GET|PUT|DELETE /sso/{sso_config_id}', () => {
  it('re-validates the whole configuration on update', async () => {
    const config = (await create(saml())).body;
    expectProblem(await update(config.id, { saml_x509_cert: null }), 422, 'sso_configuration_invalid');
    expectProblem(await update(config.id, { saml_x509_cert: 'junk' }), 422, 'sso_configuration_invalid');
    const rotated = makeCertificate('okta-rotated');
    const updated = await update(config.id, { saml_x509_cert: rotated.certificate, allow_idp_initiated: true });
    expect(updated.response.status).toBe(200);
    expect(updated.data?.saml_certificate_fingerprint).toBe(new X509Certificate(rotated.certificate).fingerprint256);
    expect(updated.data?.allow_idp_initiated).toBe(true);
  });

  it('replaces and removes a client secret', async () => {
    const config = (
      await create({
        organization_id: admin.organizationId,
        provider_type: 'oauth',
        provider_name: 'GitHub',
        oauth_client_id: 'id',
        oauth_authorization_url: 'https://github.example/login/oauth/authorize',
        oauth_token_url: 'https://github.example/login/oauth/access_token',
        oauth_userinfo_url: 'https://api.github.example/user',
      })
    ).body;
    expect(config.has_client_secret).toBe(false);
    const set = await update(config.id, { oauth_client_secret: 'new-secret' });
    expect(set.data?.has_client_secret).toBe(true);
    const cleared = await update(config.id, { oauth_client_secret: null });
    expect(cleared.data?.has_client_secret).toBe(false);
  });

  it('lets another organization’s Admin neither read, change nor delete it (404)', async () => {
    const config = (await create(saml())).body;
    const outsider = await login(server, await registerOrganization(server));
    expectProblem(await read(config.id, outsider), 404, 'sso_configuration_not_found');
    expectProblem(await update(config.id, { is_enabled: false }, outsider), 404, 'sso_configuration_not_found');
    expectProblem(await remove(config.id, outsider), 404, 'sso_configuration_not_found');
    expect((await read(config.id)).data).toEqual(config);
  });

  it('deletes: 204, then 404', async () => {
    const config = (await create(saml())).body;
    expect((await remove(config.id)).response.status).toBe(204);
    expectProblem(await read(config.id), 404, 'sso_configuration_not_found');
  });
});
