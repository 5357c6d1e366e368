import { asc, eq } from 'drizzle-orm';
import type { AccessControl } from '../../auth/access.js';
import type { SecretBox } from '../../auth/secret-box.js';
import type { Database, Queryable } from '../../db/client.js';
import { type Page, type PageRequest, paginate } from '../../db/paginate.js';
import { type SsoConfigurationRow as SsoRow, ssoConfigurations } from '../../db/schema.js';
import { AppError } from '../../core/errors.js';
import type { OrganizationsService } from '../organizations/service.js';
import type { RolesService } from '../roles/service.js';
import { assertUsable } from './validation.js';
import type { Principal } from '../../core/principal.js';
import type { AuditLog } from '../../core/audit-log.js';
import type { RequestMeta } from '../../core/request-meta.js';

type Columns = Omit<typeof ssoConfigurations.$inferInsert, 'id' | 'createdAt' | 'updatedAt' | 'oauthClientSecretEncrypted'>;

/** A create or an update, in column names; `clientSecret` is the plaintext, sealed before storage. */
export type SsoInput = Partial<Omit<Columns, 'organizationId'>> & { clientSecret?: string | null };

const NOT_FOUND = 'SSO configuration not found';

export interface SsoConfigurationsDependencies {
  db: Database;
  access: AccessControl;
  organizations: OrganizationsService;
  roles: RolesService;
  secrets: SecretBox;
  audit: AuditLog;
  /** Whether IdP URLs may be http (everywhere but production). */
  allowHttp: boolean;
}

export class SsoConfigurationsService {
  private readonly db: Database;
  private readonly access: AccessControl;
  private readonly organizations: OrganizationsService;
  private readonly roles: RolesService;
  private readonly secrets: SecretBox;
  private readonly audit: AuditLog;
  private readonly allowHttp: boolean;

  constructor(dependencies: SsoConfigurationsDependencies) {
    this.db = dependencies.db;
    this.access = dependencies.access;
    this.organizations = dependencies.organizations;
    this.roles = dependencies.roles;
    this.secrets = dependencies.secrets;
    this.audit = dependencies.audit;
    this.allowHttp = dependencies.allowHttp;
  }

  async create(principal: Principal, organizationId: string, input: SsoInput & Pick<Columns, 'providerType' | 'providerName'>, meta: RequestMeta): Promise<SsoRow> {
    return this.db.transaction(async (tx) => {
      const organization = await this.organizations.findVisible(tx, principal, organizationId);
      const { clientSecret, ...columns } = input;
      await this.assertSettings(tx, principal, organization.id, columns);
      const [row] = await tx
        .insert(ssoConfigurations)
        .values({ ...columns, organizationId: organization.id, oauthClientSecretEncrypted: clientSecret ? this.secrets.seal(clientSecret) : null })
        .returning();
      if (!row) throw new Error('sso configuration insert returned no row');
      await this.record(tx, principal, meta, 'sso_configuration.create', row, { provider_type: row.providerType });
      return row;
    });
  }

  async list(principal: Principal, organizationId: string, page: PageRequest): Promise<Page<SsoRow>> {
    await this.organizations.findVisible(this.db, principal, organizationId);
    const scope = eq(ssoConfigurations.organizationId, organizationId);
    return paginate(this.db, ssoConfigurations, scope, [asc(ssoConfigurations.createdAt), asc(ssoConfigurations.id)], page);
  }

  get(principal: Principal, configId: string): Promise<SsoRow> {
    return this.findVisible(this.db, principal, configId);
  }

  async update(principal: Principal, configId: string, changes: SsoInput, meta: RequestMeta): Promise<SsoRow> {
    return this.db.transaction(async (tx) => {
      const current = await this.findVisible(tx, principal, configId);
      const { clientSecret, ...columns } = changes;
      await this.assertSettings(tx, principal, current.organizationId, { ...current, ...columns });
      const sealed = clientSecret === undefined ? {} : { oauthClientSecretEncrypted: clientSecret === null ? null : this.secrets.seal(clientSecret) };
      const [row] = await tx
        .update(ssoConfigurations)
        .set({ ...columns, ...sealed, updatedAt: new Date() })
        .where(eq(ssoConfigurations.id, current.id))
        .returning();
      if (!row) throw AppError.notFound('sso_configuration_not_found', NOT_FOUND);
      await this.record(tx, principal, meta, 'sso_configuration.update', row, { changed: Object.keys(changes) });
      return row;
    });
  }

  async remove(principal: Principal, configId: string, meta: RequestMeta): Promise<void> {
    await this.db.transaction(async (tx) => {
      const row = await this.findVisible(tx, principal, configId);
      await tx.delete(ssoConfigurations).where(eq(ssoConfigurations.id, row.id));
      await this.record(tx, principal, meta, 'sso_configuration.delete', row);
    });
  }

  private async assertSettings(db: Queryable, principal: Principal, organizationId: string, merged: Pick<Columns, 'providerType'> & Partial<Columns>): Promise<void> {
    assertUsable(
      {
        providerType: merged.providerType,
        samlEntityId: merged.samlEntityId ?? null,
        samlSsoUrl: merged.samlSsoUrl ?? null,
        samlSloUrl: merged.samlSloUrl ?? null,
        samlX509Cert: merged.samlX509Cert ?? null,
        oauthClientId: merged.oauthClientId ?? null,
        oauthAuthorizationUrl: merged.oauthAuthorizationUrl ?? null,
        oauthTokenUrl: merged.oauthTokenUrl ?? null,
        oauthUserinfoUrl: merged.oauthUserinfoUrl ?? null,
        oidcDiscoveryUrl: merged.oidcDiscoveryUrl ?? null,
      },
      { allowHttp: this.allowHttp },
    );
    if (merged.defaultRoleId) await this.roles.assignable(db, principal, organizationId, [merged.defaultRoleId]);
  }

  private async findVisible(db: Queryable, principal: Principal, configId: string): Promise<SsoRow> {
    const [row] = await db.select().from(ssoConfigurations).where(eq(ssoConfigurations.id, configId));
    if (!row || !this.access.canSee(principal, row.organizationId)) throw AppError.notFound('sso_configuration_not_found', NOT_FOUND);
    return row;
  }

  private record(db: Queryable, principal: Principal, meta: RequestMeta, eventType: string, row: SsoRow, context?: Record<string, unknown>) {
    return this.audit.recordChange(db, meta, principal.userId, eventType, { type: 'sso_configuration', id: row.id, organizationId: row.organizationId }, context);
  }
}
