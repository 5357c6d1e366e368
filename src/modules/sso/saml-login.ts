import { and, eq, lt } from 'drizzle-orm';
import type { TokenPair } from '../../auth/sessions.js';
import type { Config } from '../../config/index.js';
import type { Database } from '../../db/client.js';
import { samlAssertions, samlRequests, type SsoConfigurationRow as SsoRow, ssoConfigurations } from '../../db/schema.js';
import { AppError } from '../../core/errors.js';
import type { Logger } from '../../observability/logger.js';
import type { Metrics } from '../../observability/metrics.js';
import { assertAllowedRedirect, isAllowedRedirect } from './redirect-allowlist.js';
import { SamlRejection, SamlServiceProvider, type VerifiedAssertion } from './saml.js';
import { identityOf } from './saml-identity.js';
import { SignInRejection, type SsoSignIn } from './sso-sign-in.js';
import type { RequestMeta } from '../../core/request-meta.js';

/** How long an AuthnRequest may be answered: a user signing in at the IdP takes minutes, not hours. */
const REQUEST_TTL_MS = 10 * 60 * 1000;
const NOT_FOUND = 'No enabled SAML configuration has this id';

export interface SamlLogin {
  tokens: TokenPair;
  /** Where to send the browser with the tokens; null when nobody said (IdP-initiated without RelayState). */
  redirectUri: string | null;
}

export interface SamlLoginDependencies {
  db: Database;
  signIn: SsoSignIn;
  metrics: Metrics;
  logger: Logger;
  config: Pick<Config, 'publicUrl' | 'apiPrefix' | 'saml'>;
}

/** The SAML login flow: metadata, AuthnRequests and the assertion consumer service. */
export class SamlLoginService {
  private readonly db: Database;
  private readonly signIn: SsoSignIn;
  private readonly metrics: Metrics;
  private readonly logger: Logger;
  private readonly options: SamlLoginDependencies['config'];

  constructor(dependencies: SamlLoginDependencies) {
    this.db = dependencies.db;
    this.signIn = dependencies.signIn;
    this.metrics = dependencies.metrics;
    this.logger = dependencies.logger;
    this.options = dependencies.config;
  }

  async metadata(configId: string): Promise<string> {
    return this.providerFor(await this.enabledConfig(configId)).metadata();
  }

  /** The IdP URL to send the browser to; remembers the request so its answer is accepted once. */
  async startLogin(configId: string, redirectUri: string): Promise<string> {
    const config = await this.enabledConfig(configId);
    assertAllowedRedirect(redirectUri, this.options.saml.redirectAllowlist);
    const { url, requestId } = await this.providerFor(config).loginRequest();
    const now = Date.now();
    await this.db.delete(samlRequests).where(lt(samlRequests.expiresAt, new Date(now)));
    await this.db.insert(samlRequests).values({ id: requestId, ssoConfigurationId: config.id, redirectUri, expiresAt: new Date(now + REQUEST_TTL_MS) });
    return url;
  }

  /** The assertion consumer service. Every refusal is a 401 with a safe reason, audited and counted. */
  async consume(configId: string, samlResponse: string, relayState: string | undefined, meta: RequestMeta): Promise<SamlLogin> {
    let config: SsoRow | undefined;
    try {
      config = await this.findSamlConfig(configId);
      if (!config) throw new SamlRejection('unknown_configuration', 'no SAML configuration has this id');
      if (!config.isEnabled) throw new SamlRejection('configuration_disabled', 'this SSO configuration is disabled');
      const assertion = await this.providerFor(config).verify(samlResponse);
      const redirectUri = await this.spend(config, assertion, relayState);
      const identity = { provider: config.samlEntityId as string, subject: assertion.nameId, ...identityOf(config.attributeMapping, assertion) };
      const tokens = await this.signIn.signIn(config, identity, 'saml', meta).catch((err: unknown) => {
        throw err instanceof SignInRejection ? new SamlRejection(err.reason, err.detail) : err;
      });
      this.metrics.samlResponses.inc({ result: 'success' });
      return { tokens, redirectUri };
    } catch (err) {
      if (!(err instanceof SamlRejection)) throw err;
      await this.recordRejection(configId, config, err, meta);
      throw AppError.unauthorized(`saml_${err.reason}` as const, `SAML response rejected: ${err.detail}`);
    }
  }

  private baseUrl(configId: string): string {
    return `${this.options.publicUrl}${this.options.apiPrefix}/enterprise/sso/${configId}`;
  }

  private providerFor(config: SsoRow): SamlServiceProvider {
    const base = this.baseUrl(config.id);
    return new SamlServiceProvider(
      // The metadata URL is the entity id: unique per configuration, so an assertion made for one
      // organization's configuration is never accepted by another's, even with the same IdP.
      { entityId: `${base}/saml/metadata`, acsUrl: `${base}/saml/acs`, signing: this.options.saml.signing },
      {
        entityId: config.samlEntityId as string,
        ssoUrl: config.samlSsoUrl as string,
        certificate: config.samlX509Cert as string,
        nameIdFormat: config.samlNameIdFormat,
      },
    );
  }

  private async findSamlConfig(configId: string): Promise<SsoRow | undefined> {
    const [config] = await this.db
      .select()
      .from(ssoConfigurations)
      .where(and(eq(ssoConfigurations.id, configId), eq(ssoConfigurations.providerType, 'saml')));
    return config;
  }

  private async enabledConfig(configId: string): Promise<SsoRow> {
    const config = await this.findSamlConfig(configId);
    if (!config?.isEnabled) throw AppError.notFound('sso_configuration_not_found', NOT_FOUND);
    return config;
  }

  /**
   * Uses up the AuthnRequest the response answers and records the assertion id, committed before
   * the user is looked at: a response refused later cannot be tried again.
   */
  private spend(config: SsoRow, assertion: VerifiedAssertion, relayState: string | undefined): Promise<string | null> {
    return this.db.transaction(async (tx) => {
      let redirectUri: string | null = null;
      if (assertion.inResponseTo !== null) {
        const [request] = await tx.select().from(samlRequests).where(eq(samlRequests.id, assertion.inResponseTo)).for('update');
        if (request?.ssoConfigurationId !== config.id) {
          throw new SamlRejection('unknown_request', 'it does not answer a login request this service made (InResponseTo)');
        }
        if (request.consumedAt) throw new SamlRejection('request_reused', 'it answers a login request that was already used');
        if (request.expiresAt.getTime() <= Date.now()) throw new SamlRejection('request_expired', 'the login request it answers has expired; sign in again');
        await tx.update(samlRequests).set({ consumedAt: new Date() }).where(eq(samlRequests.id, request.id));
        redirectUri = request.redirectUri;
      } else {
        if (!config.allowIdpInitiated) {
          throw new SamlRejection('idp_initiated_not_allowed', 'IdP-initiated logins (without InResponseTo) are not allowed for this configuration');
        }
        if (relayState) {
          if (!isAllowedRedirect(relayState, this.options.saml.redirectAllowlist)) {
            throw new SamlRejection('relay_state_not_allowed', 'RelayState is not an allowed redirect URL');
          }
          redirectUri = relayState;
        }
      }
      await tx.delete(samlAssertions).where(lt(samlAssertions.expiresAt, new Date()));
      const recorded = await tx
        .insert(samlAssertions)
        .values({ ssoConfigurationId: config.id, assertionId: assertion.assertionId, expiresAt: assertion.expiresAt })
        .onConflictDoNothing()
        .returning({ assertionId: samlAssertions.assertionId });
      if (recorded.length === 0) throw new SamlRejection('assertion_replayed', 'this assertion was already used');
      return redirectUri;
    });
  }

  private async recordRejection(configId: string, config: SsoRow | undefined, rejection: SamlRejection, meta: RequestMeta): Promise<void> {
    this.metrics.samlResponses.inc({ result: 'failure', reason: rejection.reason });
    this.logger.warn('saml response rejected', { reason: rejection.reason, sso_configuration_id: configId });
    await this.signIn.recordRejection('saml', configId, config?.organizationId ?? null, rejection.reason, meta);
  }
}
