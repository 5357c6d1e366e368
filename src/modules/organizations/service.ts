import { and, asc, count, eq, isNull } from 'drizzle-orm';
import type { AccessControl } from '../../auth/access.js';
import type { Principal, Sessions } from '../../auth/sessions.js';
import type { Database, Queryable } from '../../db/client.js';
import { type Page, type PageRequest, paginate } from '../../db/paginate.js';
import { isUniqueViolation } from '../../db/errors.js';
import { organizations, teams, users } from '../../db/schema.js';
import { AppError } from '../../http/errors.js';
import type { AuditLog, RequestMeta } from '../audit-logs/service.js';

export type OrganizationRow = typeof organizations.$inferSelect;
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
  isActive?: boolean;
}

export type OrganizationInput = Omit<OrganizationChanges, 'isActive'> & { name: string; slug: string };

/** What an organization's own Admin may change; the rest is the platform super-admin's. */
const ADMIN_EDITABLE: ReadonlySet<keyof OrganizationChanges> = new Set(['name', 'contactEmail', 'contactName', 'allowedEmailDomains']);
const SLUG_TAKEN = 'An organization with this slug already exists';
const NOT_FOUND = 'Organization not found';

const live = isNull(organizations.deletedAt);

export class OrganizationsService {
  constructor(
    private readonly db: Database,
    private readonly access: AccessControl,
    private readonly sessions: Sessions,
    private readonly audit: AuditLog,
  ) {}

  async create(principal: Principal, input: OrganizationInput, meta: RequestMeta): Promise<OrganizationRow> {
    await this.access.require(principal, 'organizations:create', meta);
    try {
      return await this.db.transaction(async (tx) => {
        const [organization] = await tx
          .insert(organizations)
          .values({ ...input, allowedEmailDomains: input.allowedEmailDomains ?? [] })
          .returning();
        if (!organization) throw new Error('organization insert returned no row');
        await this.record(tx, principal, meta, 'organization.create', organization.id, { slug: organization.slug });
        return organization;
      });
    } catch (err) {
      if (isUniqueViolation(err)) throw AppError.conflict(SLUG_TAKEN);
      throw err;
    }
  }

  async list(principal: Principal, page: PageRequest, meta: RequestMeta): Promise<Page<OrganizationRow>> {
    await this.access.require(principal, 'organizations:read', meta);
    const scope = principal.isSuperadmin ? live : and(live, eq(organizations.id, principal.organizationId));
    return paginate(this.db, organizations, scope, [asc(organizations.createdAt), asc(organizations.id)], page);
  }

  async get(principal: Principal, organizationId: string, meta: RequestMeta): Promise<OrganizationRow> {
    await this.access.require(principal, 'organizations:read', meta);
    return this.findVisible(this.db, principal, organizationId);
  }

  async update(principal: Principal, organizationId: string, changes: OrganizationChanges, meta: RequestMeta): Promise<OrganizationRow> {
    await this.access.require(principal, 'organizations:update', meta);
    const changed = Object.keys(changes) as (keyof OrganizationChanges)[];
    const reserved = changed.filter((field) => !ADMIN_EDITABLE.has(field));
    try {
      return await this.db.transaction(async (tx) => {
        const current = await this.findVisible(tx, principal, organizationId, { lock: true });
        if (!principal.isSuperadmin && reserved.length > 0) {
          throw AppError.forbidden(`Only the platform super-admin may change: ${reserved.map(toWireName).join(', ')}`);
        }
        await this.assertQuotasFit(tx, current, changes);
        const [updated] = await tx
          .update(organizations)
          .set({ ...changes, updatedAt: new Date() })
          .where(eq(organizations.id, organizationId))
          .returning();
        if (!updated) throw AppError.notFound(NOT_FOUND);
        if (changes.isActive === false) await this.endSessionsOf(tx, organizationId);
        await this.record(tx, principal, meta, 'organization.update', organizationId, { changed: changed.map(toWireName) });
        return updated;
      });
    } catch (err) {
      if (isUniqueViolation(err)) throw AppError.conflict(SLUG_TAKEN);
      throw err;
    }
  }

  async remove(principal: Principal, organizationId: string, meta: RequestMeta): Promise<void> {
    await this.access.require(principal, 'organizations:delete', meta);
    if (organizationId === principal.organizationId) {
      throw AppError.conflict('You cannot delete the organization you belong to');
    }
    await this.db.transaction(async (tx) => {
      await this.findVisible(tx, principal, organizationId, { lock: true });
      const now = new Date();
      await tx.update(organizations).set({ deletedAt: now, isActive: false, updatedAt: now }).where(eq(organizations.id, organizationId));
      await this.endSessionsOf(tx, organizationId);
      await this.record(tx, principal, meta, 'organization.delete', organizationId, {});
    });
  }

  /** Another tenant's organization answers exactly like one that does not exist. Locking serializes quota checks. */
  async findVisible(db: Queryable, principal: Principal, organizationId: string, options: { lock?: boolean } = {}) {
    if (!this.access.canSee(principal, organizationId)) throw AppError.notFound(NOT_FOUND);
    const query = db.select().from(organizations).where(and(live, eq(organizations.id, organizationId)));
    const [organization] = options.lock ? await query.for('update') : await query;
    if (!organization) throw AppError.notFound(NOT_FOUND);
    return organization;
  }

  private async assertQuotasFit(db: Queryable, current: OrganizationRow, changes: OrganizationChanges): Promise<void> {
    if (changes.maxUsers !== undefined) {
      const [row] = await db.select({ total: count() }).from(users).where(and(eq(users.organizationId, current.id), isNull(users.deletedAt)));
      if ((row?.total ?? 0) > changes.maxUsers) {
        throw AppError.validation(`max_users cannot be below the organization's ${row?.total} users`, [
          { path: '/body/max_users', message: `must be at least ${row?.total}` },
        ]);
      }
    }
    if (changes.maxTeams !== undefined) {
      const [row] = await db.select({ total: count() }).from(teams).where(and(eq(teams.organizationId, current.id), isNull(teams.deletedAt)));
      if ((row?.total ?? 0) > changes.maxTeams) {
        throw AppError.validation(`max_teams cannot be below the organization's ${row?.total} teams`, [
          { path: '/body/max_teams', message: `must be at least ${row?.total}` },
        ]);
      }
    }
  }

  private endSessionsOf(db: Queryable, organizationId: string): Promise<number> {
    return this.sessions.revokeAllForOrganization(db, organizationId, 'organization_disabled');
  }

  private record(db: Queryable, principal: Principal, meta: RequestMeta, eventType: string, organizationId: string, context: Record<string, unknown>) {
    return this.audit.recordChange(db, meta, principal.userId, {
      eventType,
      organizationId,
      resourceType: 'organization',
      resourceId: organizationId,
      context,
    });
  }
}

function toWireName(field: string): string {
  return field.replace(/[A-Z]/g, (letter) => `_${letter.toLowerCase()}`);
}
