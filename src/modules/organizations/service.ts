import { and, asc, eq } from 'drizzle-orm';
import type { AccessControl } from '../../auth/access.js';
import type { PrincipalCache } from '../../auth/principal-cache.js';
import type { Sessions } from '../../auth/sessions.js';
import type { AuditLog } from '../../core/audit-log.js';
import { AppError } from '../../core/errors.js';
import type { Principal } from '../../core/principal.js';
import type { RequestMeta } from '../../core/request-meta.js';
import { withUniqueConflict } from '../../core/unique-conflict.js';
import type { Database, Queryable } from '../../db/client.js';
import { type Page, type PageRequest, paginate } from '../../db/paginate.js';
import { findLiveOrganization, liveOrganizations } from '../../db/queries/organizations.js';
import { countLiveTeams } from '../../db/queries/teams.js';
import { countLiveUsers } from '../../db/queries/users.js';
import { organizationDomains, type OrganizationRow, organizations } from '../../db/schema.js';

export interface OrganizationsDependencies {
  db: Database;
  access: AccessControl;
  sessions: Sessions;
  principals: PrincipalCache;
  audit: AuditLog;
}

type Plan = 'trial' | 'starter' | 'professional' | 'enterprise';

export interface OrganizationChanges {
  name?: string;
  slug?: string;
  plan?: Plan;
  contactEmail?: string | null;
  contactName?: string | null;
  maxUsers?: number;
  maxTeams?: number;
  allowedEmailDomains?: string[];
  requireMfa?: boolean;
  isActive?: boolean;
}

export type OrganizationInput = Omit<OrganizationChanges, 'isActive'> & { name: string; slug: string };

/** What an organization's own Admin may change (its security policy included); the rest is the platform super-admin's. */
const ADMIN_EDITABLE: ReadonlySet<keyof OrganizationChanges> = new Set(['name', 'contactEmail', 'contactName', 'allowedEmailDomains', 'requireMfa']);
const NOT_FOUND = 'Organization not found';

export class OrganizationsService {
  private readonly db: Database;
  private readonly access: AccessControl;
  private readonly sessions: Sessions;
  private readonly principals: PrincipalCache;
  private readonly audit: AuditLog;

  constructor({ db, access, sessions, principals, audit }: OrganizationsDependencies) {
    this.db = db;
    this.access = access;
    this.sessions = sessions;
    this.principals = principals;
    this.audit = audit;
  }

  create(principal: Principal, input: OrganizationInput, meta: RequestMeta): Promise<OrganizationRow> {
    return withUniqueConflict('organization_slug_taken', () =>
      this.db.transaction(async (tx) => {
        const [organization] = await tx
          .insert(organizations)
          .values({ ...input, allowedEmailDomains: input.allowedEmailDomains ?? [] })
          .returning();
        if (!organization) throw new Error('organization insert returned no row');
        await this.record(tx, principal, meta, 'organization.create', organization.id, { slug: organization.slug });
        return organization;
      }),
    );
  }

  list(principal: Principal, page: PageRequest): Promise<Page<OrganizationRow>> {
    const scope = principal.isSuperadmin ? liveOrganizations : and(liveOrganizations, eq(organizations.id, principal.organizationId));
    return paginate(this.db, organizations, scope, [asc(organizations.createdAt), asc(organizations.id)], page);
  }

  get(principal: Principal, organizationId: string): Promise<OrganizationRow> {
    return this.findVisible(this.db, principal, organizationId);
  }

  async update(principal: Principal, organizationId: string, changes: OrganizationChanges, meta: RequestMeta): Promise<OrganizationRow> {
    const changed = Object.keys(changes) as (keyof OrganizationChanges)[];
    const reserved = changed.filter((field) => !ADMIN_EDITABLE.has(field));
    const updated = await withUniqueConflict('organization_slug_taken', () =>
      this.db.transaction(async (tx) => {
        const current = await this.findVisible(tx, principal, organizationId, { lock: true });
        if (!principal.isSuperadmin && reserved.length > 0) {
          throw AppError.forbidden('organization_fields_reserved', `Only the platform super-admin may change: ${reserved.map(toWireName).join(', ')}`);
        }
        await this.assertQuotasFit(tx, current, changes);
        const [updated] = await tx
          .update(organizations)
          .set({ ...changes, updatedAt: new Date() })
          .where(eq(organizations.id, organizationId))
          .returning();
        if (!updated) throw AppError.notFound('organization_not_found', NOT_FOUND);
        if (changes.isActive === false) await this.endSessionsOf(tx, organizationId);
        await this.record(tx, principal, meta, 'organization.update', organizationId, { changed: changed.map(toWireName) });
        return updated;
      }),
    );
    await this.principals.invalidate({ kind: 'organization', id: organizationId });
    return updated;
  }

  async remove(principal: Principal, organizationId: string, meta: RequestMeta): Promise<void> {
    if (organizationId === principal.organizationId) {
      throw AppError.conflict('organization_self_delete', 'You cannot delete the organization you belong to');
    }
    await this.db.transaction(async (tx) => {
      await this.findVisible(tx, principal, organizationId, { lock: true });
      const now = new Date();
      await tx.update(organizations).set({ deletedAt: now, isActive: false, updatedAt: now }).where(eq(organizations.id, organizationId));
      await this.endSessionsOf(tx, organizationId);
      // A deleted organization's verified domains would otherwise stay out of every other organization's reach.
      const released = await tx.delete(organizationDomains).where(eq(organizationDomains.organizationId, organizationId)).returning({ domain: organizationDomains.domain });
      await this.record(tx, principal, meta, 'organization.delete', organizationId, { released_domains: released.map(({ domain }) => domain) });
    });
    await this.principals.invalidate({ kind: 'organization', id: organizationId });
  }

  /** Another tenant's organization answers exactly like one that does not exist. Locking serializes quota checks. */
  async findVisible(db: Queryable, principal: Principal, organizationId: string, options: { lock?: boolean } = {}): Promise<OrganizationRow> {
    const organization = this.access.canSee(principal, organizationId) ? await findLiveOrganization(db, organizationId, options) : undefined;
    if (!organization) throw AppError.notFound('organization_not_found', NOT_FOUND);
    return organization;
  }

  private async assertQuotasFit(db: Queryable, current: OrganizationRow, changes: OrganizationChanges): Promise<void> {
    const limits = [
      { field: 'max_users', kind: 'users', limit: changes.maxUsers, count: () => countLiveUsers(db, current.id) },
      { field: 'max_teams', kind: 'teams', limit: changes.maxTeams, count: () => countLiveTeams(db, current.id) },
    ];
    for (const { field, kind, limit, count } of limits) {
      if (limit === undefined) continue;
      const total = await count();
      if (total > limit) {
        throw AppError.validation('organization_limit_below_usage', `${field} cannot be below the organization's ${total} ${kind}`, [
          { path: `/body/${field}`, message: `must be at least ${total}` },
        ]);
      }
    }
  }

  private endSessionsOf(db: Queryable, organizationId: string): Promise<number> {
    return this.sessions.revokeAllForOrganization(db, organizationId, 'organization_disabled');
  }

  private record(db: Queryable, principal: Principal, meta: RequestMeta, eventType: string, organizationId: string, context: Record<string, unknown>) {
    return this.audit.recordChange(db, meta, principal.userId, eventType, { type: 'organization', id: organizationId, organizationId }, context);
  }
}

function toWireName(field: string): string {
  return field.replace(/[A-Z]/g, (letter) => `_${letter.toLowerCase()}`);
}
