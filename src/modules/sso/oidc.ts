import * as client from 'openid-client';
import type { ProblemCode } from '../../core/errors.js';
import { clientAuthentication, safeOAuthError, TIMEOUT_SECONDS, tokenEndpointRefusal } from './oauth.js';

/**
 * OpenID Connect through openid-client (with oauth.ts, the only modules that know it; the shared
 * OAuth 2.0 helpers are there). It finds the provider by discovery, builds the
 * authorization request (PKCE S256, state, nonce) and redeems the code, verifying the ID token:
 * the signature through the provider's JWKS (only with enableNonRepudiationChecks), `iss`, `aud`,
 * `exp` and `nonce`; openid-client checks `azp` only when there are several audiences and `iat`
 * only for its type, so `verifiedClaims` checks those two itself.
 */

/** How far ahead of our clock a provider's `iat` may be. */
const CLOCK_SKEW_SECONDS = 60;

/** The spec's `oidc_<reason>` problem codes of the callback, without the prefix. */
export type OidcRejectionReason = ProblemCode extends infer Code ? (Code extends `oidc_${infer Reason}` ? Exclude<Reason, 'discovery_failed'> : never) : never;

/** Why a callback was refused: `reason` is a stable code, `detail` is safe to show the user. */
export class OidcRejection extends Error {
  constructor(
    readonly reason: OidcRejectionReason,
    readonly detail: string,
  ) {
    super(detail);
    this.name = 'OidcRejection';
  }
}

export interface OidcClientSettings {
  discoveryUrl: string;
  clientId: string;
  clientSecret: string | null;
  /** Lets every request to the provider use plain http (openid-client refuses it otherwise). */
  allowHttp: boolean;
}

export interface AuthorizationRequest {
  url: string;
  state: string;
  nonce: string;
  codeVerifier: string;
}

export interface CallbackChecks {
  state: string;
  nonce: string;
  codeVerifier: string;
}

export type Claims = Record<string, unknown> & { iss: string; sub: string };

/** The provider as one configuration's client sees it; keeps the provider's keys between logins. */
export class OidcProvider {
  private constructor(private readonly configuration: client.Configuration) {}

  /** Reads the discovery document (`oidc_discovery_url`: the issuer, or the document's own URL). */
  static async discover(settings: OidcClientSettings): Promise<OidcProvider> {
    // Deprecated only to stand out: the caller allows it for a loopback provider outside production.
    // eslint-disable-next-line @typescript-eslint/no-deprecated
    const execute = settings.allowHttp ? [client.allowInsecureRequests] : [];
    const discovered = await client.discovery(new URL(settings.discoveryUrl), settings.clientId, undefined, client.None(), { execute, timeout: TIMEOUT_SECONDS });
    const metadata = discovered.serverMetadata();
    // Built again from the discovered metadata: the client authentication depends on what the provider supports.
    const configuration = new client.Configuration(metadata, settings.clientId, undefined, clientAuthentication(metadata, settings.clientSecret));
    configuration.timeout = TIMEOUT_SECONDS;
    // eslint-disable-next-line @typescript-eslint/no-deprecated
    for (const extension of execute) extension(configuration);
    // Without it openid-client trusts an ID token from the token endpoint unverified (TLS alone, as
    // OIDC Core allows); the signature is checked against the provider's JWKS instead.
    client.enableNonRepudiationChecks(configuration);
    return new OidcProvider(configuration);
  }

  get issuer(): string {
    return this.configuration.serverMetadata().issuer;
  }

  async authorizationRequest(redirectUri: string, scopes: readonly string[]): Promise<AuthorizationRequest> {
    const codeVerifier = client.randomPKCECodeVerifier();
    const state = client.randomState();
    const nonce = client.randomNonce();
    const url = client.buildAuthorizationUrl(this.configuration, {
      redirect_uri: redirectUri,
      scope: [...new Set(['openid', ...scopes])].join(' '),
      code_challenge: await client.calculatePKCECodeChallenge(codeVerifier),
      code_challenge_method: 'S256',
      state,
      nonce,
    });
    return { url: url.href, state, nonce, codeVerifier };
  }

  /**
   * Redeems the code the callback URL carries and answers the verified ID token claims, with the
   * userinfo claims added when `wantsUserinfo` says the ID token lacks something.
   */
  async redeem(callbackUrl: URL, checks: CallbackChecks, wantsUserinfo: (claims: Claims) => boolean): Promise<Claims> {
    try {
      const tokens = await client.authorizationCodeGrant(this.configuration, callbackUrl, {
        pkceCodeVerifier: checks.codeVerifier,
        expectedState: checks.state,
        expectedNonce: checks.nonce,
        idTokenExpected: true,
      });
      const claims = this.verifiedClaims(tokens.claims());
      if (!wantsUserinfo(claims) || !this.configuration.serverMetadata().userinfo_endpoint) return claims;
      const userinfo = await client.fetchUserInfo(this.configuration, tokens.access_token, claims.sub);
      // The ID token's own claims win: userinfo only fills in.
      return { ...userinfo, ...claims };
    } catch (err) {
      throw err instanceof OidcRejection ? err : rejectionFor(err);
    }
  }

  private verifiedClaims(claims: client.IDToken | undefined): Claims {
    if (!claims) throw new OidcRejection('invalid_response', 'the token response carries no ID token');
    const { client_id: clientId } = this.configuration.clientMetadata();
    if (claims.azp !== undefined && claims.azp !== clientId) throw new OidcRejection('wrong_authorized_party', 'the ID token was issued to another client (azp)');
    if (claims.iat > Math.floor(Date.now() / 1000) + CLOCK_SKEW_SECONDS)
      throw new OidcRejection('issued_in_future', 'the ID token is issued in the future (iat); check the clocks');
    return claims;
  }
}

const CLAIM_REASONS: Record<string, OidcRejectionReason> = { iss: 'wrong_issuer', aud: 'wrong_audience', azp: 'wrong_authorized_party', nonce: 'wrong_nonce' };
const CLAIM_DETAILS: Record<string, string> = {
  iss: 'the ID token was issued by another provider (iss)',
  aud: 'the ID token is meant for another client (aud)',
  azp: 'the ID token was issued to another client (azp)',
  nonce: 'the ID token does not answer this login (nonce)',
};
/** The refusal an openid-client error stands for, without repeating tokens or codes. */
function rejectionFor(err: unknown): OidcRejection {
  const refusal = tokenEndpointRefusal(err);
  if (refusal !== undefined) return new OidcRejection('token_exchange_failed', `the token endpoint refused the code (${refusal})`);
  if (err instanceof client.AuthorizationResponseError) {
    return new OidcRejection('idp_refused', `the provider refused the login (${safeOAuthError(err.error)})`);
  }
  if (!(err instanceof client.ClientError)) {
    if (err instanceof TypeError || (err instanceof Error && err.name === 'TimeoutError')) {
      return new OidcRejection('provider_unavailable', 'the provider could not be reached');
    }
    throw err;
  }
  const processing = err.cause instanceof Error ? err.cause : undefined;
  const facts = (processing?.cause ?? {}) as { claim?: string; attribute?: string };
  switch (err.code) {
    case 'OAUTH_JWT_CLAIM_COMPARISON_FAILED': {
      const claim = facts.claim ?? '';
      const reason = CLAIM_REASONS[claim];
      return reason ? new OidcRejection(reason, CLAIM_DETAILS[claim] as string) : new OidcRejection('invalid_response', 'the ID token has an unexpected claim value');
    }
    case 'OAUTH_JWT_TIMESTAMP_CHECK_FAILED':
      return facts.claim === 'exp'
        ? new OidcRejection('expired', 'the ID token has expired')
        : new OidcRejection('invalid_response', `the ID token is not valid now (${facts.claim ?? 'timestamp'})`);
    case 'OAUTH_KEY_SELECTION_FAILED':
      return new OidcRejection('invalid_signature', 'the ID token is not signed with a key of the provider’s JWKS');
    case 'OAUTH_INVALID_RESPONSE':
      if (processing?.message === 'JWT signature verification failed') {
        return new OidcRejection('invalid_signature', 'the ID token is not signed with a key of the provider’s JWKS');
      }
      if (processing?.message.includes('"iss" (issuer)')) return new OidcRejection('wrong_issuer', 'the callback names another issuer (iss)');
      return new OidcRejection('invalid_response', 'the provider’s response is not a valid OpenID Connect response');
    case 'OAUTH_RESPONSE_IS_NOT_CONFORM':
    case 'OAUTH_RESPONSE_IS_NOT_JSON':
    case 'OAUTH_TIMEOUT':
    case 'OAUTH_HTTP_REQUEST_FORBIDDEN':
      return new OidcRejection('provider_unavailable', 'the provider did not answer as expected');
    default:
      return new OidcRejection('invalid_response', 'the provider’s response is not a valid OpenID Connect response');
  }
}
