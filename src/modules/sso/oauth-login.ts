import { and, eq } from 'drizzle-orm';
import type { SecretBox } from '../../auth/secret-box.js';
import type { TokenPair } from '../../auth/sessions.js';
import type { Config } from '../../config/index.js';
import { AppError } from '../../core/errors.js';
import type { RequestMeta } from '../../core/request-meta.js';
import type { Database } from '../../db/client.js';
import { type SsoConfigurationRow as SsoRow, ssoConfigurations } from '../../db/schema.js';
import type { Logger } from '../../observability/logger.js';
import type { Metrics } from '../../observability/metrics.js';
import { LoginStateRejection, LoginStates } from './login-states.js';
import { claimsIdentity } from './mapped-identity.js';
import { allowsPlainHttp, OAuthProvider, OAuthRejection, safeOAuthError, type UserinfoClaims } from './oauth.js';
import { assertAllowedRedirect } from './redirect-allowlist.js';
import { SignInRejection, type SsoSignIn } from './sso-sign-in.js';

const NOT_FOUND = 'No enabled OAuth configuration with a userinfo URL has this id';
/** The userinfo members tried for the user's stable identifier when `attribute_mapping` has no `subject`. */
const SUBJECT_CLAIMS = ['sub', 'id'];
const MAX_SUBJECT_LENGTH = 255;

export interface OAuthCallback {
  state: string;
  code?: string;
  error?: string;
}

export interface OAuthLogin {
  tokens: TokenPair;
  redirectUri: string;
}

export interface OAuthLoginDependencies {
  db: Database;
  signIn: SsoSignIn;
  secrets: SecretBox;
  metrics: Metrics;
  logger: Logger;
  config: Pick<Config, 'publicUrl' | 'apiPrefix' | 'saml' | 'environment'>;
}

/**
 * The plain OAuth 2.0 login flow (`provider_type: oauth`): the authorization request and the
 * callback, which trusts what the configured userinfo endpoint answers for the access token.
 */
export class OAuthLoginService {
  private readonly logins: LoginStates;

  constructor(private readonly dependencies: OAuthLoginDependencies) {
    this.logins = new LoginStates(dependencies.db);
  }

  /** The provider URL to send the browser to; remembers the login so its answer is accepted once. */
  async startLogin(configId: string, redirectUri: string): Promise<string> {
    const config = await this.findOAuthConfig(configId);
    // Without a userinfo URL (required since logins exist; older rows may lack it) nobody could be signed in.
    if (!config?.isEnabled || !config.oauthUserinfoUrl) throw AppError.notFound('sso_configuration_not_found', NOT_FOUND);
    assertAllowedRedirect(redirectUri, this.dependencies.config.saml.redirectAllowlist);
    const request = await this.providerFor(config).authorizationRequest(this.callbackUrl(config.id), config.oauthScopes ?? []);
    await this.logins.remember(config.id, { state: request.state, nonce: null, codeVerifier: request.codeVerifier, redirectUri });
    return request.url;
  }

  /** The callback. Every refusal is a 401 with a safe reason, audited and counted. */
  async complete(configId: string, callback: OAuthCallback, meta: RequestMeta): Promise<OAuthLogin> {
    let config: SsoRow | undefined;
    try {
      config = await this.findOAuthConfig(configId);
      if (!config) throw new OAuthRejection('unknown_configuration', 'no OAuth configuration has this id');
      if (!config.isEnabled) throw new OAuthRejection('configuration_disabled', 'this SSO configuration is disabled');
      const login = await this.logins.spend(config.id, callback.state).catch((err: unknown) => {
        throw err instanceof LoginStateRejection ? new OAuthRejection(err.reason, err.detail) : err;
      });
      if (callback.error !== undefined) throw new OAuthRejection('idp_refused', `the provider refused the login (${safeOAuthError(callback.error)})`);
      if (!callback.code) throw new OAuthRejection('missing_code', 'the callback carries no authorization code');
      const claims = await this.providerFor(config).redeem(
        this.callbackUrlOf(config.id, callback),
        { state: callback.state, codeVerifier: login.codeVerifier },
        this.clientSecret(config),
      );
      const subject = subjectOf(config.attributeMapping, claims);
      if (claims.email_verified === false) throw new OAuthRejection('email_not_verified', 'the provider says the email address is not verified');
      const identity = claimsIdentity(config.attributeMapping, claims);
      if (!identity) throw new OAuthRejection('missing_email', 'the userinfo answer carries no usable email address (check attribute_mapping)');
      const provider = config.oauthUserinfoUrl as string;
      const tokens = await this.dependencies.signIn.signIn(config, { provider, subject, ...identity }, 'oauth', meta).catch((err: unknown) => {
        throw err instanceof SignInRejection ? new OAuthRejection(err.reason, err.detail) : err;
      });
      this.dependencies.metrics.oauthResponses.inc({ result: 'success' });
      return { tokens, redirectUri: login.redirectUri };
    } catch (err) {
      if (!(err instanceof OAuthRejection)) throw err;
      await this.recordRejection(configId, config, err, meta);
      throw AppError.unauthorized(`oauth_${err.reason}` as const, `OAuth login rejected: ${err.detail}`);
    }
  }

  private callbackUrl(configId: string): string {
    const { publicUrl, apiPrefix } = this.dependencies.config;
    return `${publicUrl}${apiPrefix}/enterprise/sso/${configId}/oauth/callback`;
  }

  /**
   * The callback URL with only `code` and `state`. A provider's `iss` (RFC 9207) is left out: a
   * plain OAuth configuration names no issuer to compare it with, and the callback URL, one per
   * configuration, already tells the providers apart.
   */
  private callbackUrlOf(configId: string, callback: OAuthCallback): URL {
    const url = new URL(this.callbackUrl(configId));
    url.searchParams.set('code', callback.code as string);
    url.searchParams.set('state', callback.state);
    return url;
  }

  private providerFor(config: SsoRow): OAuthProvider {
    const { environment } = this.dependencies.config;
    const tokenUrl = config.oauthTokenUrl as string;
    const userinfoUrl = config.oauthUserinfoUrl as string;
    const fetched = [tokenUrl, userinfoUrl];
    return new OAuthProvider({
      authorizationUrl: config.oauthAuthorizationUrl as string,
      tokenUrl,
      userinfoUrl,
      clientId: config.oauthClientId as string,
      allowHttp: fetched.some((url) => allowsPlainHttp(url, environment)) && fetched.every((url) => url.startsWith('https://') || allowsPlainHttp(url, environment)),
      // Only the browser goes there; configurations have https URLs in production anyway.
      allowHttpAuthorization: environment !== 'production',
    });
  }

  /** Opened only for the code grant. A secret sealed under another SSO_ENCRYPTION_KEY fails like a wrong one. */
  private clientSecret(config: SsoRow): string | null {
    const sealed = config.oauthClientSecretEncrypted;
    if (sealed === null) return null;
    try {
      return this.dependencies.secrets.open(sealed);
    } catch {
      throw new OAuthRejection('token_exchange_failed', 'the client secret could not be read (was SSO_ENCRYPTION_KEY changed?)');
    }
  }

  private async findOAuthConfig(configId: string): Promise<SsoRow | undefined> {
    const [config] = await this.dependencies.db
      .select()
      .from(ssoConfigurations)
      .where(and(eq(ssoConfigurations.id, configId), eq(ssoConfigurations.providerType, 'oauth')));
    return config;
  }

  private async recordRejection(configId: string, config: SsoRow | undefined, rejection: OAuthRejection, meta: RequestMeta): Promise<void> {
    this.dependencies.metrics.oauthResponses.inc({ result: 'failure', reason: rejection.reason });
    this.dependencies.logger.warn('oauth login rejected', { reason: rejection.reason, sso_configuration_id: configId });
    await this.dependencies.signIn.recordRejection('oauth', configId, config?.organizationId ?? null, rejection.reason, meta);
  }
}

/**
 * The user's stable identifier in a userinfo answer: the member `attribute_mapping.subject` names,
 * else `sub`, else `id`. A string, or an integer (GitHub's numeric ids); never the email, which changes.
 */
function subjectOf(mapping: Record<string, string>, claims: UserinfoClaims): string {
  const mapped = mapping.subject;
  for (const name of mapped ? [mapped] : SUBJECT_CLAIMS) {
    const value = claims[name];
    const subject = typeof value === 'string' ? value.trim() : Number.isSafeInteger(value) ? String(value) : '';
    if (subject && subject.length <= MAX_SUBJECT_LENGTH) return subject;
  }
  throw new OAuthRejection('missing_subject', 'the userinfo answer carries no stable user identifier (sub or id; check attribute_mapping)');
}
