import * as client from 'openid-client';
import type { ProblemCode } from '../../core/errors.js';

/**
 * Plain OAuth 2.0 through openid-client (oidc.ts builds OpenID Connect on the same library, and
 * these helpers): an authorization code request with PKCE S256 and `state` to endpoints configured
 * by hand (no discovery, no issuer, no nonce), the code grant, and the userinfo request with the
 * access token, whose JSON object is the claim set. An ID token in the token response is dropped
 * unread: without an issuer and its keys nothing could verify it, so nothing may trust it.
 */

/** Seconds to wait for a provider's endpoints. */
export const TIMEOUT_SECONDS = 10;
/** A userinfo answer is a small JSON object; a larger one is not read to its end. */
const MAX_USERINFO_BYTES = 256 * 1024;

/** The spec's `oauth_<reason>` problem codes of the callback, without the prefix. */
export type OAuthRejectionReason = ProblemCode extends infer Code ? (Code extends `oauth_${infer Reason}` ? Reason : never) : never;

/** Why a callback was refused: `reason` is a stable code, `detail` is safe to show the user. */
export class OAuthRejection extends Error {
  constructor(
    readonly reason: OAuthRejectionReason,
    readonly detail: string,
  ) {
    super(detail);
    this.name = 'OAuthRejection';
  }
}

export interface OAuthEndpoints {
  authorizationUrl: string;
  tokenUrl: string;
  userinfoUrl: string;
  clientId: string;
  /** Whether this service's own requests (token, userinfo) may use plain http (see allowsPlainHttp). */
  allowHttp: boolean;
  /** Whether the browser may be sent to a plain http authorization endpoint (outside production). */
  allowHttpAuthorization: boolean;
}

export interface OAuthAuthorizationRequest {
  url: string;
  state: string;
  codeVerifier: string;
}

export type UserinfoClaims = Record<string, unknown>;

/** A plain OAuth 2.0 provider as one configuration's client sees it. */
export class OAuthProvider {
  constructor(private readonly endpoints: OAuthEndpoints) {}

  /** The authorization URL; `scopes` are sent as they are (none: the provider's default grant). */
  async authorizationRequest(redirectUri: string, scopes: readonly string[]): Promise<OAuthAuthorizationRequest> {
    const codeVerifier = client.randomPKCECodeVerifier();
    const state = client.randomState();
    const parameters: Record<string, string> = {
      redirect_uri: redirectUri,
      code_challenge: await client.calculatePKCECodeChallenge(codeVerifier),
      code_challenge_method: 'S256',
      state,
    };
    if (scopes.length > 0) parameters.scope = [...new Set(scopes)].join(' ');
    const url = client.buildAuthorizationUrl(this.configuration(null, this.endpoints.allowHttpAuthorization), parameters);
    return { url: url.href, state, codeVerifier };
  }

  /**
   * Redeems the code of the callback URL (with the client secret when there is one, PKCE
   * always) and answers the userinfo endpoint's JSON object.
   */
  async redeem(callbackUrl: URL, checks: { state: string; codeVerifier: string }, clientSecret: string | null): Promise<UserinfoClaims> {
    const configuration = this.configuration(clientSecret, this.endpoints.allowHttp);
    let accessToken: string;
    try {
      const tokens = await client.authorizationCodeGrant(configuration, callbackUrl, { pkceCodeVerifier: checks.codeVerifier, expectedState: checks.state });
      accessToken = tokens.access_token;
    } catch (err) {
      throw tokenRejection(err);
    }
    return this.userinfo(configuration, accessToken);
  }

  private async userinfo(configuration: client.Configuration, accessToken: string): Promise<UserinfoClaims> {
    let text: string | null;
    try {
      const response = await client.fetchProtectedResource(
        configuration,
        accessToken,
        new URL(this.endpoints.userinfoUrl),
        'GET',
        undefined,
        new Headers({ accept: 'application/json' }),
      );
      if (!response.ok) throw new OAuthRejection('userinfo_unavailable', `the userinfo endpoint answered ${response.status}`);
      text = await boundedText(response, MAX_USERINFO_BYTES);
    } catch (err) {
      if (err instanceof OAuthRejection) throw err;
      if (err instanceof client.WWWAuthenticateChallengeError) throw new OAuthRejection('userinfo_unavailable', 'the userinfo endpoint refused the access token');
      if (isNetworkFailure(err) || err instanceof client.ClientError) throw new OAuthRejection('userinfo_unavailable', 'the userinfo endpoint could not be reached');
      throw err;
    }
    const claims = text === null ? undefined : parseObject(text);
    if (!claims) throw new OAuthRejection('userinfo_invalid', 'the userinfo endpoint did not answer a JSON object');
    return claims;
  }

  private configuration(clientSecret: string | null, allowHttp: boolean): client.Configuration {
    const { authorizationUrl, tokenUrl, userinfoUrl, clientId } = this.endpoints;
    // openid-client needs an issuer; plain OAuth 2.0 has none. Only an ID token or an `iss` callback
    // parameter would be compared with it, and neither reaches openid-client here.
    const metadata: client.ServerMetadata = { issuer: authorizationUrl, authorization_endpoint: authorizationUrl, token_endpoint: tokenUrl, userinfo_endpoint: userinfoUrl };
    const configuration = new client.Configuration(metadata, clientId, undefined, clientAuthentication(metadata, clientSecret));
    configuration.timeout = TIMEOUT_SECONDS;
    // Deprecated only to stand out. Outside production only: loopback token and userinfo endpoints
    // (allowsPlainHttp), or an http authorization endpoint, which only the browser visits.
    // eslint-disable-next-line @typescript-eslint/no-deprecated
    if (allowHttp) client.allowInsecureRequests(configuration);
    configuration[client.customFetch] = async (url, options) => {
      // openid-client's own body types are fetch's (Uint8Array is one), narrower than RequestInit's typing.
      const response = await fetch(url, options as RequestInit);
      return options.method === 'POST' && sameUrl(url, tokenUrl) ? withoutIdToken(response) : response;
    };
    return configuration;
  }
}

const sameUrl = (a: string, b: string) => new URL(a).href === new URL(b).href;

/** The token response without `id_token` (see the module comment); anything but a JSON object passes as it came. */
async function withoutIdToken(response: Response): Promise<Response> {
  const body = parseObject(await response.clone().text());
  if (!body || !('id_token' in body)) return response;
  delete body.id_token;
  const headers = new Headers(response.headers);
  headers.delete('content-length');
  return new Response(JSON.stringify(body), { status: response.status, statusText: response.statusText, headers });
}

function parseObject(text: string): UserinfoClaims | undefined {
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as UserinfoClaims) : undefined;
  } catch {
    return undefined;
  }
}

/** The body as text, or null when it is longer than `limit` bytes (then not read further). */
async function boundedText(response: Response, limit: number): Promise<string | null> {
  if (!response.body) return '';
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (let read = await reader.read(); !read.done; read = await reader.read()) {
    size += read.value.byteLength;
    if (size > limit) {
      await reader.cancel();
      return null;
    }
    chunks.push(read.value);
  }
  return Buffer.concat(chunks).toString('utf8');
}

const isNetworkFailure = (err: unknown) => err instanceof TypeError || (err instanceof Error && ['TimeoutError', 'AbortError'].includes(err.name));

/** The refusal an error of the code grant stands for, without repeating a code or a token. */
function tokenRejection(err: unknown): OAuthRejection {
  const refusal = tokenEndpointRefusal(err);
  if (refusal !== undefined) return new OAuthRejection('token_exchange_failed', `the token endpoint refused the code (${refusal})`);
  if (err instanceof client.AuthorizationResponseError) return new OAuthRejection('idp_refused', `the provider refused the login (${safeOAuthError(err.error)})`);
  if (!(err instanceof client.ClientError)) {
    if (isNetworkFailure(err)) return new OAuthRejection('provider_unavailable', 'the token endpoint could not be reached');
    throw err;
  }
  switch (err.code) {
    case 'OAUTH_INVALID_RESPONSE': {
      // Some providers (GitHub) answer a refused code with 200 and an `error` member.
      const processing = err.cause instanceof Error ? err.cause : undefined;
      const body = (processing?.cause as { body?: { error?: unknown } } | undefined)?.body;
      if (typeof body?.error === 'string') return new OAuthRejection('token_exchange_failed', `the token endpoint refused the code (${safeOAuthError(body.error)})`);
      return new OAuthRejection('invalid_response', 'the token endpoint’s answer is not an OAuth 2.0 token response with a bearer access token');
    }
    case 'OAUTH_HTTP_REQUEST_FORBIDDEN':
      return new OAuthRejection('provider_unavailable', 'the provider’s endpoints must be https (plain http only on a loopback address, outside production)');
    case 'OAUTH_RESPONSE_IS_NOT_CONFORM':
    case 'OAUTH_RESPONSE_IS_NOT_JSON':
    case 'OAUTH_TIMEOUT':
      return new OAuthRejection('provider_unavailable', 'the token endpoint did not answer as expected');
    default:
      return new OAuthRejection('invalid_response', 'the token endpoint’s answer is not an OAuth 2.0 token response with a bearer access token');
  }
}

/**
 * The OAuth error code (safe to repeat) of a token endpoint that refused the grant: in an error
 * body, or (a refused client authentication, RFC 6749 5.2) in a `WWW-Authenticate` challenge.
 */
export function tokenEndpointRefusal(err: unknown): string | undefined {
  if (err instanceof client.ResponseBodyError) return safeOAuthError(err.error);
  if (err instanceof client.WWWAuthenticateChallengeError) {
    const error = err.cause.find((challenge) => typeof challenge.parameters.error === 'string')?.parameters.error;
    return safeOAuthError(error ?? 'invalid_client');
  }
  return undefined;
}

const LOOPBACK_HOSTS = new Set(['localhost', '[::1]']);

/**
 * openid-client talks https only. Outside production a provider on this machine (a developer's
 * or the tests' IdP) may be plain http; nothing else ever is.
 */
export function allowsPlainHttp(url: string, environment: string): boolean {
  const { protocol, hostname } = new URL(url);
  return environment !== 'production' && protocol === 'http:' && (LOOPBACK_HOSTS.has(hostname) || /^127\.\d+\.\d+\.\d+$/.test(hostname));
}

/** client_secret_basic unless the provider says it only takes client_secret_post; none without a secret (PKCE alone). */
export function clientAuthentication(metadata: client.ServerMetadata, secret: string | null): client.ClientAuth {
  if (secret === null) return client.None();
  const supported = metadata.token_endpoint_auth_methods_supported;
  return supported && !supported.includes('client_secret_basic') && supported.includes('client_secret_post') ? client.ClientSecretPost(secret) : client.ClientSecretBasic(secret);
}

/** OAuth error codes are ASCII words; anything else from the provider is not repeated. */
const OAUTH_ERROR = /^[\w.-]{1,64}$/;

export const safeOAuthError = (error: string): string => (OAUTH_ERROR.test(error) ? error : 'error');
