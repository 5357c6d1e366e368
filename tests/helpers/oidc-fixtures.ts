import { randomUUID } from 'node:crypto';
import { expect } from 'vitest';
import { API, type Account, login, registerOrganization, type Tokens } from './fixtures.js';
import { followToCallback, type OidcClient, TestOpenIdProvider } from './oidc-idp.js';
import type { ApiResponse, TestServer } from './server.js';

export interface OidcOrganization {
  admin: Account;
  adminTokens: Tokens;
  idp: TestOpenIdProvider;
  configId: string;
  client: OidcClient;
}

/** The callback URL of a configuration, to register at the provider. */
export const oidcCallbackUrl = (server: TestServer, configId: string) => `${server.baseUrl}${API}/sso/${configId}/oidc/callback`;

/**
 * A new organization that allows `domain` and signs in through its own running OpenID provider
 * (issuer on a loopback port), with an OIDC configuration for the client `client`.
 */
export async function oidcOrganization(
  server: TestServer,
  domain: string,
  options: { configuration?: Record<string, unknown>; claimsInIdToken?: boolean } = {},
): Promise<OidcOrganization> {
  const admin = await registerOrganization(server);
  const adminTokens = await login(server, admin);
  const domains = await server.request('PUT', `${API}/organizations/${admin.organizationId}`, { token: adminTokens.access_token, body: { allowed_email_domains: [domain] } });
  expect(domains.status, domains.text).toBe(200);
  const idp = await TestOpenIdProvider.listen();
  const secret = `secret-${randomUUID()}`;
  const clientId = `fm-auth-${randomUUID().slice(0, 8)}`;
  const created = await server.request('POST', `${API}/sso`, {
    token: adminTokens.access_token,
    body: {
      organization_id: admin.organizationId,
      provider_type: 'oidc',
      provider_name: 'Test OpenID provider',
      oidc_discovery_url: idp.issuer,
      oauth_client_id: clientId,
      oauth_client_secret: secret,
      auto_create_users: true,
      ...options.configuration,
    },
  });
  expect(created.status, created.text).toBe(201);
  const configId = created.body.id as string;
  const client = { client_id: clientId, client_secret: secret, redirect_uris: [oidcCallbackUrl(server, configId)] };
  await idp.start([client], { claimsInIdToken: options.claimsInIdToken });
  return { admin, adminTokens, idp, configId, client };
}

/** Starts a login at the service as a browser would; answers the provider's authorization URL. */
export async function startOidcLogin(server: TestServer, configId: string, redirectUri: string): Promise<URL> {
  const response = await server.request('GET', `${API}/sso/${configId}/oidc/login?redirect_uri=${encodeURIComponent(redirectUri)}`);
  expect(response.status, response.text).toBe(302);
  expect(response.headers.get('cache-control')).toBe('no-store');
  return new URL(response.headers.get('location') as string);
}

/**
 * Goes through the provider from an authorization URL (changed by `alter` first, when given) and
 * answers the callback URL the provider sends the browser to, without calling it.
 */
export async function providerAnswer(server: TestServer, configId: string, authorization: URL, alter?: (url: URL) => void): Promise<URL> {
  alter?.(authorization);
  return followToCallback(authorization.href, oidcCallbackUrl(server, configId));
}

/** Calls the callback the way the browser does after the provider's redirect. */
export function callBack(server: TestServer, callback: URL, accept = 'text/html,application/xhtml+xml,*/*;q=0.8'): Promise<ApiResponse> {
  return server.request('GET', `${callback.pathname}${callback.search}`, { headers: { accept } });
}
