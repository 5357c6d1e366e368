import { and, asc, eq, inArray, isNotNull, isNull, ne, or, type SQL, sql } from 'drizzle-orm';
import type { Config } from '../../config/index.js';
import { emailAsciiDomain, emailDomain } from '../../core/email-domain.js';
import { AppError } from '../../core/errors.js';
import type { Database } from '../../db/client.js';
import { verifiedDomainOwner } from '../../db/queries/organization-domains.js';
import { organizations, type SsoConfigurationRow as SsoRow, ssoConfigurations } from '../../db/schema.js';

/** The configuration types that have a browser login, by the path segment of their login URL. */
const LOGIN_PROTOCOLS = ['saml', 'oidc', 'oauth'] as const;

export interface SsoDiscovery {
  config: SsoRow;
  loginUrl: string;
}

export class SsoDiscoveryService {
  constructor(
    private readonly db: Database,
    private readonly options: Pick<Config, 'publicUrl' | 'apiPrefix'>,
  ) {}

  /**
   * Home-realm discovery: the oldest enabled SAML, OIDC or OAuth configuration of the organization that
   * verified the address's domain; failing that, of the one organization listing the domain in
   * `allowed_email_domains`.
   */
  async discover(email: string): Promise<SsoDiscovery> {
    const owner = await verifiedDomainOwner(this.db, emailAsciiDomain(email));
    const [ownersConfig] = owner === undefined ? [] : await this.loginConfigurations(eq(organizations.id, owner));
    if (ownersConfig) return this.toDiscovery(ownersConfig.config);
    const candidates = await this.loginConfigurations(sql`${emailDomain(email)} = any(${organizations.allowedEmailDomains})`);
    const owners = new Set(candidates.map(({ config }) => config.organizationId));
    const first = candidates[0];
    if (!first || owners.size !== 1) throw AppError.notFound('sso_domain_not_configured', 'No single sign-on provider is set up for this email domain');
    return this.toDiscovery(first.config);
  }

  /** The enabled browser-login configurations of live, active organizations matching `scope`, oldest first. */
  private loginConfigurations(scope: SQL) {
    return this.db
      .select({ config: ssoConfigurations })
      .from(ssoConfigurations)
      .innerJoin(organizations, eq(organizations.id, ssoConfigurations.organizationId))
      .where(
        and(
          inArray(ssoConfigurations.providerType, [...LOGIN_PROTOCOLS]),
          eq(ssoConfigurations.isEnabled, true),
          // An OAuth configuration without a userinfo URL (older rows) cannot sign anyone in.
          or(ne(ssoConfigurations.providerType, 'oauth'), isNotNull(ssoConfigurations.oauthUserinfoUrl)),
          eq(organizations.isActive, true),
          isNull(organizations.deletedAt),
          scope,
        ),
      )
      .orderBy(asc(ssoConfigurations.createdAt), asc(ssoConfigurations.id));
  }

  private toDiscovery(config: SsoRow): SsoDiscovery {
    return { config, loginUrl: `${this.options.publicUrl}${this.options.apiPrefix}/enterprise/sso/${config.id}/${config.providerType}/login` };
  }
}
