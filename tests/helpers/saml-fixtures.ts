import { randomUUID } from 'node:crypto';
import { expect } from 'vitest';
import { API, type Account, login, registerOrganization, type Tokens } from './fixtures.js';
import { authnRequestOf, type ServiceProviderTarget, TestIdentityProvider } from './saml-idp.js';
import type { ApiResponse, TestServer } from './server.js';

export const CALLBACK = 'https://app.example/sso/callback';

/** Creates a SAML configuration for the IdP in the admin's organization; answers its id. */
export async function createSamlConfiguration(
  server: TestServer,
  admin: Account,
  tokens: Tokens,
  idp: TestIdentityProvider,
  overrides: Record<string, unknown> = {},
): Promise<string> {
  const response = await server.request('POST', `${API}/sso`, {
    token: tokens.access_token,
    body: {
      organization_id: admin.organizationId,
      provider_type: 'saml',
      provider_name: `Test IdP ${randomUUID().slice(0, 4)}`,
      saml_entity_id: idp.entityId,
      saml_sso_url: 'https://idp.example/sso/saml',
      saml_x509_cert: idp.certificate,
      attribute_mapping: { email: 'mail', full_name: 'displayName' },
      auto_create_users: true,
      ...overrides,
    },
  });
  expect(response.status, response.text).toBe(201);
  return response.body.id;
}

export interface SamlOrganization {
  admin: Account;
  adminTokens: Tokens;
  idp: TestIdentityProvider;
  configId: string;
  sp: ServiceProviderTarget;
}

/**
 * A new organization that allows `domain` and signs in through its own test IdP: its Admin
 * (registered with `adminEmail` when given), the IdP, and the SAML configuration.
 */
export async function samlOrganization(
  server: TestServer,
  domain: string,
  options: { adminEmail?: string; configuration?: Record<string, unknown> } = {},
): Promise<SamlOrganization> {
  const admin = await registerOrganization(server, options.adminEmail ? { email: options.adminEmail } : {});
  const adminTokens = await login(server, admin);
  const domains = await server.request('PUT', `${API}/organizations/${admin.organizationId}`, {
    token: adminTokens.access_token,
    body: { allowed_email_domains: [domain] },
  });
  expect(domains.status, domains.text).toBe(200);
  const idp = new TestIdentityProvider();
  const configId = await createSamlConfiguration(server, admin, adminTokens, idp, options.configuration);
  return { admin, adminTokens, idp, configId, sp: serviceProvider(server, configId) };
}

/** The service provider as the IdP sees it for one configuration. */
export function serviceProvider(server: TestServer, configId: string): ServiceProviderTarget {
  const base = `${server.baseUrl}${API}/sso/${configId}/saml`;
  return { entityId: `${base}/metadata`, acsUrl: `${base}/acs` };
}

/** Starts a login as a browser would; answers the AuthnRequest id the IdP must answer. */
export async function startLogin(server: TestServer, configId: string, redirectUri = CALLBACK): Promise<string> {
  const response = await server.request('GET', `${API}/sso/${configId}/saml/login?redirect_uri=${encodeURIComponent(redirectUri)}`);
  expect(response.status, response.text).toBe(302);
  return authnRequestOf(response.headers.get('location') as string).id;
}

/** Posts a SAML response to the ACS the way the IdP's auto-submitting form does. */
export function postResponse(server: TestServer, configId: string, samlResponse: string, options: { accept?: string; relayState?: string } = {}): Promise<ApiResponse> {
  const form = new URLSearchParams({ SAMLResponse: samlResponse, ...(options.relayState ? { RelayState: options.relayState } : {}) });
  return server.request('POST', `${API}/sso/${configId}/saml/acs`, {
    rawBody: form.toString(),
    headers: { 'content-type': 'application/x-www-form-urlencoded', accept: options.accept ?? 'text/html,application/xhtml+xml,*/*;q=0.8' },
  });
}

/** The token pair a successful ACS redirect carries in its fragment. */
export function tokensFromRedirect(location: string): Tokens & { landing: string } {
  const [landing, fragment] = location.split('#') as [string, string];
  const values = new URLSearchParams(fragment);
  return {
    landing,
    access_token: values.get('access_token') as string,
    refresh_token: values.get('refresh_token') as string,
    token_type: values.get('token_type') as 'bearer',
    expires_in: Number(values.get('expires_in')),
  };
}
