import { and, asc, eq } from 'drizzle-orm';
import type { AccessControl } from '../../auth/access.js';
import type { AuditLog } from '../../core/audit-log.js';
import { AppError } from '../../core/errors.js';
import type { Principal } from '../../core/principal.js';
import type { RequestMeta } from '../../core/request-meta.js';
import { withUniqueConflict } from '../../core/unique-conflict.js';
import type { Database, Queryable } from '../../db/client.js';
import { type Page, type PageRequest, paginate } from '../../db/paginate.js';
import { countLiveTeams, findLiveTeam, liveTeams } from '../../db/queries/teams.js';
import { type TeamRow, teams, users } from '../../db/schema.js';
import type { OrganizationsService } from '../organizations/service.js';

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

export interface TeamsDependencies {
  db: Database;
  access: AccessControl;
  organizations: OrganizationsService;
  audit: AuditLog;
}

const NOT_FOUND = 'Team not found';

export class TeamsService {
  private readonly db: Database;
  private readonly access: AccessControl;
  private readonly organizations: OrganizationsService;
  private readonly audit: AuditLog;

  constructor({ db, access, organizations, audit }: TeamsDependencies) {
    this.db = db;
    this.access = access;
    this.organizations = organizations;
    this.audit = audit;
  }

  create(principal: Principal, input: TeamInput, meta: RequestMeta): Promise<TeamRow> {
    return withUniqueConflict('team_slug_taken', () =>
      this.db.transaction(async (tx) => {
        // The organization row lock makes the quota check and the insert one step for concurrent creates.
        const organization = await this.organizations.findVisible(tx, principal, input.organizationId, { lock: true });
        if ((await countLiveTeams(tx, organization.id)) >= organization.maxTeams) {
          throw AppError.forbidden('organization_team_limit_reached', `This organization has reached its limit of ${organization.maxTeams} teams`);
        }
        const [team] = await tx.insert(teams).values(input).returning();
        if (!team) throw new Error('team insert returned no row');
        await this.record(tx, principal, meta, 'team.create', team, { slug: team.slug });
        return team;
      }),
    );
  }

  async list(principal: Principal, organizationId: string, page: PageRequest): Promise<Page<TeamRow>> {
    await this.organizations.findVisible(this.db, principal, organizationId);
    const scope = and(eq(teams.organizationId, organizationId), liveTeams);
    return paginate(this.db, teams, scope, [asc(teams.createdAt), asc(teams.id)], page);
  }

  get(principal: Principal, teamId: string): Promise<TeamRow> {
    return this.findVisible(this.db, principal, teamId);
  }

  update(principal: Principal, teamId: string, changes: TeamChanges, meta: RequestMeta): Promise<TeamRow> {
    return withUniqueConflict('team_slug_taken', () =>
      this.db.transaction(async (tx) => {
        await this.findVisible(tx, principal, teamId);
        const [team] = await tx
          .update(teams)
          .set({ ...changes, updatedAt: new Date() })
          .where(eq(teams.id, teamId))
          .returning();
        if (!team) throw AppError.notFound('team_not_found', NOT_FOUND);
        await this.record(tx, principal, meta, 'team.update', team, { changed: Object.keys(changes) });
        return team;
      }),
    );
  }

  async remove(principal: Principal, teamId: string, meta: RequestMeta): Promise<void> {
    await this.db.transaction(async (tx) => {
      const team = await this.findVisible(tx, principal, teamId);
      const now = new Date();
      await tx.update(teams).set({ deletedAt: now, updatedAt: now }).where(eq(teams.id, teamId));
      await tx.update(users).set({ teamId: null, updatedAt: now }).where(eq(users.teamId, teamId));
      await this.record(tx, principal, meta, 'team.delete', team);
    });
  }

  /** A live team of an organization the caller may see; anything else is a 404. */
  async findVisible(db: Queryable, principal: Principal, teamId: string): Promise<TeamRow> {
    const team = await findLiveTeam(db, teamId);
    if (!team || !this.access.canSee(principal, team.organizationId)) throw AppError.notFound('team_not_found', NOT_FOUND);
    return team;
  }

  private record(db: Queryable, principal: Principal, meta: RequestMeta, eventType: string, team: TeamRow, context?: Record<string, unknown>) {
    return this.audit.recordChange(db, meta, principal.userId, eventType, { type: 'team', id: team.id, organizationId: team.organizationId }, context);
  }
}
