import { and, asc, eq, isNull, lt, sql } from 'drizzle-orm';
import type { Sessions, TokenPair } from '../../auth/sessions.js';
import type { Config } from '../../config/index.js';
import type { Database, Queryable } from '../../db/client.js';
import { isUniqueViolation } from '../../db/errors.js';
import { countLiveUsers, findLiveUserByEmail } from '../../db/queries/users.js';
import {
  type OrganizationRow,
  organizations,
  samlAssertions,
  samlRequests,
  type SsoConfigurationRow as SsoRow,
  ssoConfigurations,
  type UserRow,
  userRoles,
  users,
} from '../../db/schema.js';
import { AppError } from '../../core/errors.js';
import type { Logger } from '../../observability/logger.js';
import type { Metrics } from '../../observability/metrics.js';
import { emailDomain } from '../../core/email-domain.js';
import { SYSTEM_ROLE_IDS } from '../../db/system-roles.js';
import { isAllowedRedirect } from './redirect-allowlist.js';
import { SamlRejection, SamlServiceProvider, type VerifiedAssertion } from './saml.js';
import { identityOf } from './saml-identity.js';
import type { AuditLog } from '../../core/audit-log.js';
import type { RequestMeta } from '../../core/request-meta.js';

/** How long an AuthnRequest may be answered: a user signing in at the IdP takes minutes, not hours. */
const REQUEST_TTL_MS = 10 * 60 * 1000;
const NOT_FOUND = 'No enabled SAML configuration has this id';

export interface SamlLogin {
  tokens: TokenPair;
  /** Where to send the browser with the tokens; null when nobody said (IdP-initiated without RelayState). */
  redirectUri: string | null;
}

export interface SsoDiscovery {
  config: SsoRow;
  loginUrl: string;
}

export interface SamlLoginDependencies {
  db: Database;
  sessions: Sessions;
  audit: AuditLog;
  metrics: Metrics;
  logger: Logger;
  config: Pick<Config, 'publicUrl' | 'apiPrefix' | 'saml'>;
}

/** The SAML login flow: metadata, AuthnRequests, the assertion consumer service and discovery. */
export class SamlLoginService {
  private readonly db: Database;
  private readonly sessions: Sessions;
  private readonly audit: AuditLog;
  private readonly metrics: Metrics;
  private readonly logger: Logger;
  private readonly options: SamlLoginDependencies['config'];

  constructor(dependencies: SamlLoginDependencies) {
    this.db = dependencies.db;
    this.sessions = dependencies.sessions;
    this.audit = dependencies.audit;
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
    if (!isAllowedRedirect(redirectUri, this.options.saml.redirectAllowlist)) {
      throw AppError.validation('sso_redirect_uri_not_allowed', 'redirect_uri is not on this service’s allow-list (SSO_REDIRECT_ALLOWLIST)', [
        { path: '/query/redirect_uri', message: 'must be an allowed http(s) URL without a fragment' },
      ]);
    }
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
      const tokens = await this.signIn(config, assertion, meta).catch((err: unknown) => {
        if (isUniqueViolation(err)) throw new SamlRejection('account_conflict', 'an account with this email was created at the same moment; sign in again');
        throw err;
      });
      this.metrics.samlResponses.inc({ result: 'success' });
      return { tokens, redirectUri };
    } catch (err) {
      if (!(err instanceof SamlRejection)) throw err;
      await this.recordRejection(configId, config, err, meta);
      throw AppError.unauthorized(`saml_${err.reason}` as const, `SAML response rejected: ${err.detail}`);
    }
  }

  /** Home-realm discovery: the one enabled SAML configuration of the one organization claiming the domain. */
  async discover(email: string): Promise<SsoDiscovery> {
    const candidates = await this.db
      .select({ config: ssoConfigurations })
      .from(ssoConfigurations)
      .innerJoin(organizations, eq(organizations.id, ssoConfigurations.organizationId))
      .where(
        and(
          eq(ssoConfigurations.providerType, 'saml'),
          eq(ssoConfigurations.isEnabled, true),
          eq(organizations.isActive, true),
          isNull(organizations.deletedAt),
          sql`${emailDomain(email)} = any(${organizations.allowedEmailDomains})`,
        ),
      )
      .orderBy(asc(ssoConfigurations.createdAt), asc(ssoConfigurations.id));
    const owners = new Set(candidates.map(({ config }) => config.organizationId));
    const first = candidates[0];
    if (!first || owners.size !== 1) throw AppError.notFound('sso_domain_not_configured', 'No single sign-on provider is set up for this email domain');
    return { config: first.config, loginUrl: `${this.baseUrl(first.config.id)}/saml/login` };
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

  private signIn(config: SsoRow, assertion: VerifiedAssertion, meta: RequestMeta): Promise<TokenPair> {
    return this.db.transaction(async (tx) => {
      // Locked: first logins of one organization queue up behind its user quota.
      const [organization] = await tx.select().from(organizations).where(eq(organizations.id, config.organizationId)).for('update');
      if (!organization || organization.deletedAt || !organization.isActive) {
        throw new SamlRejection('organization_inactive', 'the organization is not active');
      }
      const { email, fullName } = identityOf(config.attributeMapping, assertion);
      if (organization.allowedEmailDomains.length > 0 && !organization.allowedEmailDomains.includes(emailDomain(email))) {
        throw new SamlRejection('email_domain_not_allowed', 'the email address’s domain is not one the organization allows');
      }
      const { user, provisioned } = await this.findOrProvision(tx, config, organization, assertion.nameId, email, fullName, meta);
      if (!user.isActive) throw new SamlRejection('account_inactive', 'the account is disabled');
      await tx.update(users).set({ lastLoginAt: new Date() }).where(eq(users.id, user.id));
      const tokens = await this.sessions.start(tx, user, 'saml', ['ext'], meta);
      await this.audit.record(tx, meta, {
        eventType: 'auth.sso_login',
        status: 'success',
        organizationId: organization.id,
        actorUserId: user.id,
        resourceType: 'sso_configuration',
        resourceId: config.id,
        context: { method: 'saml', provisioned },
      });
      return tokens;
    });
  }

  /** The user by IdP identity, else by email within the organization (linked now), else created when allowed. */
  private async findOrProvision(
    tx: Queryable,
    config: SsoRow,
    organization: OrganizationRow,
    subjectId: string,
    email: string,
    fullName: string,
    meta: RequestMeta,
  ): Promise<{ user: UserRow; provisioned: boolean }> {
    // The IdP's entity id, not the configuration id: identities survive re-creating the configuration.
    const provider = config.samlEntityId as string;
    const [linked] = await tx
      .select()
      .from(users)
      .where(and(eq(users.organizationId, organization.id), eq(users.ssoProvider, provider), eq(users.ssoSubjectId, subjectId), isNull(users.deletedAt)));
    if (linked) return { user: await this.followIdentityProviderEmail(tx, linked, email), provisioned: false };

    const byEmail = await findLiveUserByEmail(tx, email);
    if (byEmail) {
      if (byEmail.organizationId !== organization.id) {
        throw new SamlRejection('email_in_other_organization', 'its email address belongs to an account outside this organization');
      }
      if (byEmail.ssoProvider === provider && byEmail.ssoSubjectId !== null) {
        throw new SamlRejection('linked_to_other_subject', 'the account with this email is linked to another user of this identity provider');
      }
      const [user] = await tx.update(users).set({ ssoProvider: provider, ssoSubjectId: subjectId, updatedAt: new Date() }).where(eq(users.id, byEmail.id)).returning();
      return { user: user as UserRow, provisioned: false };
    }

    if (!config.autoCreateUsers) {
      throw new SamlRejection('user_not_provisioned', 'no account exists for this user and the configuration does not create accounts');
    }
    if ((await countLiveUsers(tx, organization.id)) >= organization.maxUsers) {
      throw new SamlRejection('user_limit_reached', 'the organization has reached its user limit');
    }
    const [user] = await tx
      .insert(users)
      .values({ organizationId: organization.id, email, fullName, passwordHash: null, isVerified: true, ssoProvider: provider, ssoSubjectId: subjectId })
      .returning();
    if (!user) throw new Error('user insert returned no row');
    const roleId = config.defaultRoleId ?? SYSTEM_ROLE_IDS.member;
    await tx.insert(userRoles).values({ userId: user.id, roleId });
    await this.audit.record(tx, meta, {
      eventType: 'user.create',
      status: 'success',
      organizationId: organization.id,
      actorUserId: user.id,
      resourceType: 'user',
      resourceId: user.id,
      context: { via: 'saml', sso_configuration_id: config.id, role_id: roleId },
    });
    return { user, provisioned: true };
  }

  /**
   * A linked user's email is the IdP's: it follows the assertion, unless another account has the
   * new address (then the old one stays; the link, bound to the subject, never moves).
   */
  private async followIdentityProviderEmail(tx: Queryable, user: UserRow, email: string): Promise<UserRow> {
    if (user.email.toLowerCase() === email.toLowerCase()) return user;
    if (await findLiveUserByEmail(tx, email)) return user;
    const [updated] = await tx.update(users).set({ email, updatedAt: new Date() }).where(eq(users.id, user.id)).returning();
    return updated ?? user;
  }

  private async recordRejection(configId: string, config: SsoRow | undefined, rejection: SamlRejection, meta: RequestMeta): Promise<void> {
    this.metrics.samlResponses.inc({ result: 'failure', reason: rejection.reason });
    this.logger.warn('saml response rejected', { reason: rejection.reason, sso_configuration_id: configId });
    await this.audit.record(this.db, meta, {
      eventType: 'auth.sso_login',
      status: 'failure',
      organizationId: config?.organizationId ?? null,
      resourceType: 'sso_configuration',
      resourceId: configId,
      context: { method: 'saml', reason: rejection.reason },
    });
  }
}
