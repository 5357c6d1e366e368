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
import { allowsPlainHttp, safeOAuthError } from './oauth.js';
import { OidcProvider, OidcRejection } from './oidc.js';
import { assertAllowedRedirect } from './redirect-allowlist.js';
import { SignInRejection, type SsoSignIn } from './sso-sign-in.js';

/** How long a provider's discovery document (and with it its keys) is reused. */
const DISCOVERY_TTL_MS = 10 * 60 * 1000;
const NOT_FOUND = 'No enabled OIDC configuration has this id';
const DEFAULT_SCOPES = ['openid', 'email', 'profile'];

export interface OidcCallback {
  state: string;
  code?: string;
  iss?: string;
  error?: string;
}

export interface OidcLogin {
  tokens: TokenPair;
  redirectUri: string;
}

export interface OidcLoginDependencies {
  db: Database;
  signIn: SsoSignIn;
  secrets: SecretBox;
  metrics: Metrics;
  logger: Logger;
  config: Pick<Config, 'publicUrl' | 'apiPrefix' | 'saml' | 'environment'>;
}

/** The OpenID Connect login flow: the authorization request and the callback. */
export class OidcLoginService {
  private readonly providers = new Map<string, { provider: Promise<OidcProvider>; expiresAt: number }>();
  private readonly logins: LoginStates;

  constructor(private readonly dependencies: OidcLoginDependencies) {
    this.logins = new LoginStates(dependencies.db);
  }

  /** The provider URL to send the browser to; remembers the login so its answer is accepted once. */
  async startLogin(configId: string, redirectUri: string): Promise<string> {
    const config = await this.findOidcConfig(configId);
    if (!config?.isEnabled) throw AppError.notFound('sso_configuration_not_found', NOT_FOUND);
    assertAllowedRedirect(redirectUri, this.dependencies.config.saml.redirectAllowlist);
    const provider = await this.providerFor(config).catch((err: unknown) => {
      this.dependencies.logger.warn('oidc provider setup failed', { sso_configuration_id: config.id, error: err });
      throw AppError.unavailable('oidc_discovery_failed', 'The identity provider’s OpenID Connect discovery document could not be read; try again later');
    });
    const request = await provider.authorizationRequest(this.callbackUrl(config.id), config.oauthScopes ?? DEFAULT_SCOPES);
    await this.logins.remember(config.id, { ...request, redirectUri });
    return request.url;
  }

  /** The callback. Every refusal is a 401 with a safe reason, audited and counted. */
  async complete(configId: string, callback: OidcCallback, meta: RequestMeta): Promise<OidcLogin> {
    let config: SsoRow | undefined;
    try {
      config = await this.findOidcConfig(configId);
      if (!config) throw new OidcRejection('unknown_configuration', 'no OIDC configuration has this id');
      if (!config.isEnabled) throw new OidcRejection('configuration_disabled', 'this SSO configuration is disabled');
      const login = await this.logins.spend(config.id, callback.state).catch((err: unknown) => {
        throw err instanceof LoginStateRejection ? new OidcRejection(err.reason, err.detail) : err;
      });
      // A plain OAuth 2.0 login's row (no nonce) never answers an OIDC configuration's callback.
      const nonce = login.nonce;
      if (nonce === null) throw new OidcRejection('unknown_state', 'it does not answer a login this service started (state)');
      if (callback.error !== undefined) throw new OidcRejection('idp_refused', `the provider refused the login (${safeOAuthError(callback.error)})`);
      if (!callback.code) throw new OidcRejection('missing_code', 'the callback carries no authorization code');
      const provider = await this.providerFor(config).catch(() => {
        throw new OidcRejection('provider_unavailable', 'the provider’s discovery document could not be read');
      });
      const claims = await provider.redeem(
        this.callbackUrlOf(config.id, callback),
        { state: callback.state, nonce, codeVerifier: login.codeVerifier },
        (idToken) => claimsIdentity((config as SsoRow).attributeMapping, idToken) === null,
      );
      if (claims.email_verified === false) throw new OidcRejection('email_not_verified', 'the provider says the email address is not verified');
      const identity = claimsIdentity(config.attributeMapping, claims);
      if (!identity) throw new OidcRejection('missing_email', 'the claims carry no usable email address (check attribute_mapping)');
      const tokens = await this.dependencies.signIn.signIn(config, { provider: claims.iss, subject: claims.sub, ...identity }, 'oidc', meta).catch((err: unknown) => {
        throw err instanceof SignInRejection ? new OidcRejection(err.reason, err.detail) : err;
      });
      this.dependencies.metrics.oidcResponses.inc({ result: 'success' });
      return { tokens, redirectUri: login.redirectUri };
    } catch (err) {
      if (!(err instanceof OidcRejection)) throw err;
      await this.recordRejection(configId, config, err, meta);
      throw AppError.unauthorized(`oidc_${err.reason}` as const, `OIDC login rejected: ${err.detail}`);
    }
  }

  private callbackUrl(configId: string): string {
    const { publicUrl, apiPrefix } = this.dependencies.config;
    return `${publicUrl}${apiPrefix}/enterprise/sso/${configId}/oidc/callback`;
  }

  /** The callback URL as the provider built it, from the parameters openid-client checks. */
  private callbackUrlOf(configId: string, callback: OidcCallback): URL {
    const url = new URL(this.callbackUrl(configId));
    url.searchParams.set('code', callback.code as string);
    url.searchParams.set('state', callback.state);
    if (callback.iss !== undefined) url.searchParams.set('iss', callback.iss);
    return url;
  }

  /** The provider of a configuration, discovered again when the configuration changed or the cache is old. */
  private providerFor(config: SsoRow): Promise<OidcProvider> {
    const key = `${config.id}:${config.updatedAt.getTime()}`;
    const cached = this.providers.get(key);
    if (cached && cached.expiresAt > Date.now()) return cached.provider;
    for (const [other] of this.providers) if (other.startsWith(`${config.id}:`)) this.providers.delete(other);
    const discoveryUrl = config.oidcDiscoveryUrl as string;
    const sealed = config.oauthClientSecretEncrypted;
    // In the promise: a secret sealed under another SSO_ENCRYPTION_KEY fails like an unreachable provider.
    const provider = Promise.resolve().then(() =>
      OidcProvider.discover({
        discoveryUrl,
        clientId: config.oauthClientId as string,
        clientSecret: sealed === null ? null : this.dependencies.secrets.open(sealed),
        allowHttp: allowsPlainHttp(discoveryUrl, this.dependencies.config.environment),
      }),
    );
    this.providers.set(key, { provider, expiresAt: Date.now() + DISCOVERY_TTL_MS });
    // A failed discovery is not kept: the next login tries again.
    provider.catch(() => this.providers.delete(key));
    return provider;
  }

  private async findOidcConfig(configId: string): Promise<SsoRow | undefined> {
    const [config] = await this.dependencies.db
      .select()
      .from(ssoConfigurations)
      .where(and(eq(ssoConfigurations.id, configId), eq(ssoConfigurations.providerType, 'oidc')));
    return config;
  }

  private async recordRejection(configId: string, config: SsoRow | undefined, rejection: OidcRejection, meta: RequestMeta): Promise<void> {
    this.dependencies.metrics.oidcResponses.inc({ result: 'failure', reason: rejection.reason });
    this.dependencies.logger.warn('oidc login rejected', { reason: rejection.reason, sso_configuration_id: configId });
    await this.dependencies.signIn.recordRejection('oidc', configId, config?.organizationId ?? null, rejection.reason, meta);
  }
}
