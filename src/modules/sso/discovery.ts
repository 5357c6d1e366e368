import { and, asc, eq, inArray, isNull, sql } from 'drizzle-orm';
import type { Config } from '../../config/index.js';
import { emailDomain } from '../../core/email-domain.js';
import { AppError } from '../../core/errors.js';
import type { Database } from '../../db/client.js';
import { organizations, type SsoConfigurationRow as SsoRow, ssoConfigurations } from '../../db/schema.js';

/** The configuration types that have a browser login, by the path segment of their login URL. */
const LOGIN_PROTOCOLS = ['saml', 'oidc'] as const;

export interface SsoDiscovery {
  config: SsoRow;
  loginUrl: string;
}

export class SsoDiscoveryService {
  constructor(
    private readonly db: Database,
    private readonly options: Pick<Config, 'publicUrl' | 'apiPrefix'>,
  ) {}

  /** Home-realm discovery: the oldest enabled SAML or OIDC configuration of the one organization claiming the domain. */
  async discover(email: string): Promise<SsoDiscovery> {
    const candidates = await this.db
      .select({ config: ssoConfigurations })
      .from(ssoConfigurations)
      .innerJoin(organizations, eq(organizations.id, ssoConfigurations.organizationId))
      .where(
        and(
          inArray(ssoConfigurations.providerType, [...LOGIN_PROTOCOLS]),
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
    const { config } = first;
    return { config, loginUrl: `${this.options.publicUrl}${this.options.apiPrefix}/enterprise/sso/${config.id}/${config.providerType}/login` };
  }
}
