import { and, asc, count, eq, isNull } from 'drizzle-orm';
import type { AccessControl } from '../../auth/access.js';
import type { Principal } from '../../auth/sessions.js';
import type { Database, Queryable } from '../../db/client.js';
import { type Page, type PageRequest, paginate } from '../../db/paginate.js';
import { isUniqueViolation } from '../../db/errors.js';
import { teams, users } from '../../db/schema.js';
import { AppError } from '../../http/errors.js';
import type { AuditLog, RequestMeta } from '../audit-logs/service.js';
import type { OrganizationsService } from '../organizations/service.js';

export type TeamRow = typeof teams.$inferSelect;

export interface TeamInput {
  organizationId: string;
  name: string;
  slug: string;
  description?: string;
}

export interface TeamChanges {
  name?: string;
  slug?: string;
  description?: string | null;
}

const NOT_FOUND = 'Team not found';
const SLUG_TAKEN = 'A team with this slug already exists in the organization';

export class TeamsService {
  constructor(
    private readonly db: Database,
    private readonly access: AccessControl,
    private readonly organizations: OrganizationsService,
    private readonly audit: AuditLog,
  ) {}

  async create(principal: Principal, input: TeamInput, meta: RequestMeta): Promise<TeamRow> {
    await this.access.require(principal, 'teams:create', meta);
    try {
      return await this.db.transaction(async (tx) => {
        // The organization row lock makes the quota check and the insert one step for concurrent creates.
        const organization = await this.organizations.findVisible(tx, principal, input.organizationId, { lock: true });
        const [existing] = await tx
          .select({ total: count() })
          .from(teams)
          .where(and(eq(teams.organizationId, organization.id), isNull(teams.deletedAt)));
        if ((existing?.total ?? 0) >= organization.maxTeams) {
          throw AppError.forbidden(`This organization has reached its limit of ${organization.maxTeams} teams`);
        }
        const [team] = await tx.insert(teams).values(input).returning();
        if (!team) throw new Error('team insert returned no row');
        await this.record(tx, principal, meta, 'team.create', team, { slug: team.slug });
        return team;
      });
    } catch (err) {
      if (isUniqueViolation(err)) throw AppError.conflict(SLUG_TAKEN);
      throw err;
    }
  }

  async list(principal: Principal, organizationId: string, page: PageRequest, meta: RequestMeta): Promise<Page<TeamRow>> {
    await this.access.require(principal, 'teams:read', meta);
    await this.organizations.findVisible(this.db, principal, organizationId);
    const scope = and(eq(teams.organizationId, organizationId), isNull(teams.deletedAt));
    return paginate(this.db, teams, scope, [asc(teams.createdAt), asc(teams.id)], page);
  }

  async get(principal: Principal, teamId: string, meta: RequestMeta): Promise<TeamRow> {
    await this.access.require(principal, 'teams:read', meta);
    return this.findVisible(this.db, principal, teamId);
  }

  async update(principal: Principal, teamId: string, changes: TeamChanges, meta: RequestMeta): Promise<TeamRow> {
    await this.access.require(principal, 'teams:update', meta);
    try {
      return await this.db.transaction(async (tx) => {
        await this.findVisible(tx, principal, teamId);
        const [team] = await tx.update(teams).set({ ...changes, updatedAt: new Date() }).where(eq(teams.id, teamId)).returning();
        if (!team) throw AppError.notFound(NOT_FOUND);
        await this.record(tx, principal, meta, 'team.update', team, { changed: Object.keys(changes) });
        return team;
      });
    } catch (err) {
      if (isUniqueViolation(err)) throw AppError.conflict(SLUG_TAKEN);
      throw err;
    }
  }

  async remove(principal: Principal, teamId: string, meta: RequestMeta): Promise<void> {
    await this.access.require(principal, 'teams:delete', meta);
    await this.db.transaction(async (tx) => {
      const team = await this.findVisible(tx, principal, teamId);
      const now = new Date();
      await tx.update(teams).set({ deletedAt: now, updatedAt: now }).where(eq(teams.id, teamId));
      await tx.update(users).set({ teamId: null, updatedAt: now }).where(eq(users.teamId, teamId));
      await this.record(tx, principal, meta, 'team.delete', team, {});
    });
  }

  /** A live team of an organization the caller may see; anything else is a 404. */
  async findVisible(db: Queryable, principal: Principal, teamId: string): Promise<TeamRow> {
    const [team] = await db
      .select()
      .from(teams)
      .where(and(eq(teams.id, teamId), isNull(teams.deletedAt)));
    if (!team || !this.access.canSee(principal, team.organizationId)) throw AppError.notFound(NOT_FOUND);
    return team;
  }

  private record(db: Queryable, principal: Principal, meta: RequestMeta, eventType: string, team: TeamRow, context: Record<string, unknown>) {
    return this.audit.recordChange(db, meta, principal.userId, {
      eventType,
      organizationId: team.organizationId,
      resourceType: 'team',
      resourceId: team.id,
      context,
    });
  }
}
