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

/** The authorization-code protocols whose provider these fixtures run. */
export type CodeFlowProtocol = 'oidc' | 'oauth';

/** The callback URL of a configuration, to register at the provider. */
export const oidcCallbackUrl = (server: TestServer, configId: string, protocol: CodeFlowProtocol = 'oidc') => `${server.baseUrl}${API}/sso/${configId}/${protocol}/callback`;

interface ProviderOrganizationOptions {
  configuration?: Record<string, unknown>;
  claimsInIdToken?: boolean;
}

/**
 * A new organization that allows `domain` and signs in through its own running OpenID provider
 * (issuer on a loopback port), with an OIDC configuration for the client `client`.
 */
export function oidcOrganization(server: TestServer, domain: string, options: ProviderOrganizationOptions = {}): Promise<OidcOrganization> {
  return providerOrganization(server, domain, 'oidc', (idp) => ({ oidc_discovery_url: idp.issuer }), options);
}

/**
 * The same with a plain OAuth 2.0 configuration (`provider_type: oauth`) that names the
 * provider's authorization, token and userinfo endpoints itself: no discovery, no ID token.
 */
export function oauthOrganization(server: TestServer, domain: string, options: ProviderOrganizationOptions = {}): Promise<OidcOrganization> {
  return providerOrganization(
    server,
    domain,
    'oauth',
    ({ endpoints }) => ({
      oauth_authorization_url: endpoints.authorization,
      oauth_token_url: endpoints.token,
      oauth_userinfo_url: endpoints.userinfo,
      oauth_scopes: ['openid', 'email', 'profile', 'directory'],
    }),
    options,
  );
}

async function providerOrganization(
  server: TestServer,
  domain: string,
  protocol: CodeFlowProtocol,
  endpointsOf: (idp: TestOpenIdProvider) => Record<string, unknown>,
  options: ProviderOrganizationOptions,
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
      provider_type: protocol,
      provider_name: protocol === 'oidc' ? 'Test OpenID provider' : 'Test OAuth provider',
      ...endpointsOf(idp),
      oauth_client_id: clientId,
      oauth_client_secret: secret,
      auto_create_users: true,
      ...options.configuration,
    },
  });
  expect(created.status, created.text).toBe(201);
  const configId = created.body.id as string;
  const client = { client_id: clientId, client_secret: secret, redirect_uris: [oidcCallbackUrl(server, configId, protocol)] };
  await idp.start([client], { claimsInIdToken: options.claimsInIdToken });
  return { admin, adminTokens, idp, configId, client };
}

/** Starts a login at the service as a browser would; answers the provider's authorization URL. */
export async function startOidcLogin(server: TestServer, configId: string, redirectUri: string, protocol: CodeFlowProtocol = 'oidc'): Promise<URL> {
  const response = await server.request('GET', `${API}/sso/${configId}/${protocol}/login?redirect_uri=${encodeURIComponent(redirectUri)}`);
  expect(response.status, response.text).toBe(302);
  expect(response.headers.get('cache-control')).toBe('no-store');
  return new URL(response.headers.get('location') as string);
}

/**
 * Goes through the provider from an authorization URL (changed by `alter` first, when given) and
 * answers the callback URL the provider sends the browser to, without calling it.
 */
export async function providerAnswer(server: TestServer, configId: string, authorization: URL, alter?: (url: URL) => void, protocol: CodeFlowProtocol = 'oidc'): Promise<URL> {
  alter?.(authorization);
  return followToCallback(authorization.href, oidcCallbackUrl(server, configId, protocol));
}

/** Calls the callback the way the browser does after the provider's redirect. */
export function callBack(server: TestServer, callback: URL, accept = 'text/html,application/xhtml+xml,*/*;q=0.8'): Promise<ApiResponse> {
  return server.request('GET', `${callback.pathname}${callback.search}`, { headers: { accept } });
}
