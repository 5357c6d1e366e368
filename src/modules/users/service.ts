import { and, asc, eq, ilike, or, type SQL } from 'drizzle-orm';
import type { AccessControl } from '../../auth/access.js';
import type { Passwords } from '../../auth/passwords.js';
import type { PrincipalCache } from '../../auth/principal-cache.js';
import type { Sessions } from '../../auth/sessions.js';
import { assertAddressAvailableTo } from '../../core/address-ownership.js';
import type { AuditLog } from '../../core/audit-log.js';
import { AppError } from '../../core/errors.js';
import type { Principal } from '../../core/principal.js';
import type { RequestMeta } from '../../core/request-meta.js';
import { withUniqueConflict } from '../../core/unique-conflict.js';
import type { Database, Queryable } from '../../db/client.js';
import { type Page, type PageRequest, paginate } from '../../db/paginate.js';
import { findLiveOrganization } from '../../db/queries/organizations.js';
import { permissionsOfUser, type RoleWithPermissions } from '../../db/queries/roles.js';
import { countActiveAdmins, countLiveUsers, findLiveUser, liveUsers } from '../../db/queries/users.js';
import { organizations, type UserRow, userRoles, users } from '../../db/schema.js';
import { SYSTEM_ROLE_IDS } from '../../db/system-roles.js';
import type { AccountMail } from '../../mail/account-mail.js';
import type { OrganizationsService } from '../organizations/service.js';
import type { RolesService } from '../roles/service.js';
import type { TeamsService } from '../teams/service.js';

export interface UserInput {
  organizationId: string;
  email: string;
  fullName: string;
  password?: string;
  teamId?: string;
  roleIds?: string[];
}

export interface UserChanges {
  email?: string;
  fullName?: string;
  teamId?: string | null;
  isActive?: boolean;
  isVerified?: boolean;
}

export interface UserFilters {
  teamId?: string;
  isActive?: boolean;
  q?: string;
}

export interface UsersDependencies {
  db: Database;
  access: AccessControl;
  organizations: OrganizationsService;
  teams: TeamsService;
  roles: RolesService;
  sessions: Sessions;
  principals: PrincipalCache;
  passwords: Passwords;
  audit: AuditLog;
  accountMail: AccountMail;
}

const NOT_FOUND = 'User not found';

function escapeLike(text: string): string {
  return text.replace(/[\\%_]/g, (char) => `\\${char}`);
}

export class UsersService {
  private readonly db: Database;
  private readonly access: AccessControl;
  private readonly organizations: OrganizationsService;
  private readonly teams: TeamsService;
  private readonly roles: RolesService;
  private readonly sessions: Sessions;
  private readonly principals: PrincipalCache;
  private readonly passwords: Passwords;
  private readonly audit: AuditLog;
  private readonly accountMail: AccountMail;

  constructor(dependencies: UsersDependencies) {
    this.db = dependencies.db;
    this.access = dependencies.access;
    this.organizations = dependencies.organizations;
    this.teams = dependencies.teams;
    this.roles = dependencies.roles;
    this.sessions = dependencies.sessions;
    this.principals = dependencies.principals;
    this.passwords = dependencies.passwords;
    this.audit = dependencies.audit;
    this.accountMail = dependencies.accountMail;
  }

  /**
   * A user row without a password (so nobody can log in as it) and a mailed link that sets the
   * password: until it is accepted the user is listed with `is_verified` false and counts
   * against `max_users`. An Admin whose invitation expired deletes the user and invites again.
   */
  async invite(principal: Principal, input: Omit<UserInput, 'password'>, meta: RequestMeta): Promise<UserRow> {
    if (!this.accountMail.enabled) throw AppError.forbidden('email_delivery_disabled', 'This service sends no mail (SMTP is not configured), so it cannot send invitations');
    const user = await this.create(principal, input, meta, 'user.invite');
    const [details] = await this.db
      .select({ organizationName: organizations.name, inviterName: users.fullName })
      .from(users)
      .innerJoin(organizations, eq(organizations.id, user.organizationId))
      .where(eq(users.id, principal.userId));
    await this.accountMail.send(this.db, 'invitation', user, details);
    return user;
  }

  async create(principal: Principal, input: UserInput, meta: RequestMeta, eventType: 'user.create' | 'user.invite' = 'user.create'): Promise<UserRow> {
    if (input.password !== undefined) this.passwords.assertAcceptable(input.password, input.email);
    const passwordHash = input.password === undefined ? null : await this.passwords.hash(input.password);
    const created = await withUniqueConflict('user_email_taken', () =>
      this.db.transaction(async (tx) => {
        // The organization row lock makes the quota check and the insert one step for concurrent creates.
        const organization = await this.organizations.findVisible(tx, principal, input.organizationId, { lock: true });
        if (input.teamId) await this.assertTeamOf(tx, principal, input.teamId, organization.id);
        const assigned = await this.roles.assignable(tx, principal, organization.id, input.roleIds ?? [SYSTEM_ROLE_IDS.member]);
        if ((await countLiveUsers(tx, organization.id)) >= organization.maxUsers) {
          throw AppError.forbidden('organization_user_limit_reached', `This organization has reached its limit of ${organization.maxUsers} users`);
        }
        await assertAddressAvailableTo(tx, input.email, organization.id);
        const [user] = await tx
          .insert(users)
          .values({
            organizationId: organization.id,
            email: input.email.trim(),
            fullName: input.fullName.trim(),
            passwordHash,
            passwordChangedAt: passwordHash ? new Date() : null,
            teamId: input.teamId ?? null,
          })
          .returning();
        if (!user) throw new Error('user insert returned no row');
        await this.replaceRoles(tx, principal, user.id, assigned);
        await this.record(tx, principal, meta, eventType, user, { roles: assigned.map((role) => role.name), sso_only: !passwordHash && eventType === 'user.create' });
        return user;
      }),
    );
    // A user without a password signs in through SSO, whose identity provider vouches for the address (or is invited).
    if (passwordHash) await this.accountMail.send(this.db, 'email_verification', created);
    return created;
  }

  async list(principal: Principal, organizationId: string, filters: UserFilters, page: PageRequest): Promise<Page<UserRow>> {
    await this.organizations.findVisible(this.db, principal, organizationId);
    const conditions: (SQL | undefined)[] = [eq(users.organizationId, organizationId), liveUsers];
    if (filters.teamId) conditions.push(eq(users.teamId, filters.teamId));
    if (filters.isActive !== undefined) conditions.push(eq(users.isActive, filters.isActive));
    if (filters.q) {
      const pattern = `%${escapeLike(filters.q)}%`;
      conditions.push(or(ilike(users.email, pattern), ilike(users.fullName, pattern)));
    }
    const scope = and(...conditions);
    return paginate(this.db, users, scope, [asc(users.createdAt), asc(users.id)], page);
  }

  get(principal: Principal, userId: string): Promise<UserRow> {
    return this.findVisible(this.db, principal, userId);
  }

  async update(principal: Principal, userId: string, changes: UserChanges, meta: RequestMeta): Promise<UserRow> {
    const updated = await withUniqueConflict('user_email_taken', () =>
      this.db.transaction(async (tx) => {
        const current = await this.findManageable(tx, principal, userId, meta);
        if (changes.email !== undefined) await this.assertEmailChangeAllowed(tx, principal, current, changes.email);
        if (changes.teamId) await this.assertTeamOf(tx, principal, changes.teamId, current.organizationId);
        if (changes.isActive === false) await this.assertKeepsAnAdmin(tx, current);
        const [user] = await tx
          .update(users)
          .set({ ...changes, email: changes.email?.trim(), updatedAt: new Date() })
          .where(eq(users.id, current.id))
          .returning();
        if (!user) throw AppError.notFound('user_not_found', NOT_FOUND);
        if (changes.isActive === false) await this.sessions.revokeAllForUser(tx, user.id, 'user_deactivated');
        await this.record(tx, principal, meta, 'user.update', user, { changed: Object.keys(changes) });
        return user;
      }),
    );
    await this.principals.invalidate({ kind: 'user', id: updated.id });
    return updated;
  }

  async remove(principal: Principal, userId: string, meta: RequestMeta): Promise<void> {
    await this.db.transaction(async (tx) => {
      const user = await this.findManageable(tx, principal, userId, meta);
      await this.assertKeepsAnAdmin(tx, user);
      const now = new Date();
      await tx.update(users).set({ deletedAt: now, isActive: false, updatedAt: now }).where(eq(users.id, user.id));
      await this.sessions.revokeAllForUser(tx, user.id, 'user_deactivated');
      await this.record(tx, principal, meta, 'user.delete', user);
    });
    await this.principals.invalidate({ kind: 'user', id: userId });
  }

  async setRoles(principal: Principal, userId: string, roleIds: string[], meta: RequestMeta): Promise<RoleWithPermissions[]> {
    const assigned = await this.db.transaction(async (tx) => {
      const user = await this.findManageable(tx, principal, userId, meta);
      const assigned = await this.roles.assignable(tx, principal, user.organizationId, roleIds);
      if (!assigned.some((role) => role.id === SYSTEM_ROLE_IDS.admin)) await this.assertKeepsAnAdmin(tx, user);
      await this.replaceRoles(tx, principal, user.id, assigned);
      await this.record(tx, principal, meta, 'user.roles_update', user, { roles: assigned.map((role) => role.name) });
      return assigned;
    });
    await this.principals.invalidate({ kind: 'user', id: userId });
    return [...assigned].sort((a, b) => a.name.localeCompare(b.name));
  }

  /** A live user of an organization the caller may see; anything else is a 404. */
  private async findVisible(db: Queryable, principal: Principal, userId: string, options: { lock?: boolean } = {}): Promise<UserRow> {
    const user = await findLiveUser(db, userId, options);
    if (!user || !this.access.canSee(principal, user.organizationId)) throw AppError.notFound('user_not_found', NOT_FOUND);
    return user;
  }

  /**
   * A visible user the caller may change: one who holds no permission the caller lacks. Otherwise
   * holding `users:update` would be enough to take over an Admin (change their email to one the
   * caller controls at the IdP, then sign in through SSO) or to demote and disable them.
   */
  private async findManageable(db: Queryable, principal: Principal, userId: string, meta: RequestMeta): Promise<UserRow> {
    // Locked: concurrent changes of one user (two role replacements at once) take turns.
    const user = await this.findVisible(db, principal, userId, { lock: true });
    if (user.isSuperadmin && !principal.isSuperadmin) throw AppError.forbidden('user_superadmin_protected', 'Only a platform super-admin can change a platform super-admin');
    await this.access.requireAllOf(principal, await permissionsOfUser(db, user.id), 'you cannot change this user', meta);
    return user;
  }

  /**
   * An SSO-linked user's email is the identity provider's to change, not their own; and a new
   * address must not be in a domain another organization verified (keeping the current one is fine).
   */
  private async assertEmailChangeAllowed(db: Queryable, principal: Principal, user: UserRow, email: string): Promise<void> {
    const changes = email.trim().toLowerCase() !== user.email.toLowerCase();
    if (!changes) return;
    if (user.ssoSubjectId !== null && principal.userId === user.id && !principal.isSuperadmin) {
      throw AppError.forbidden('user_email_managed_by_identity_provider', 'Your email address comes from your identity provider; change it there');
    }
    await assertAddressAvailableTo(db, email, user.organizationId);
  }

  private async assertTeamOf(db: Queryable, principal: Principal, teamId: string, organizationId: string): Promise<void> {
    const team = await this.teams.findVisible(db, principal, teamId);
    if (team.organizationId !== organizationId) throw AppError.notFound('team_not_found', 'Team not found');
  }

  /** Refuses to deactivate, delete or demote the organization's last active Admin. */
  private async assertKeepsAnAdmin(db: Queryable, user: UserRow): Promise<void> {
    // Locking the organization row serializes concurrent demotions of its last two Admins.
    await findLiveOrganization(db, user.organizationId, { lock: true });
    const [all, others] = await Promise.all([countActiveAdmins(db, user.organizationId), countActiveAdmins(db, user.organizationId, user.id)]);
    if (all > 0 && others === 0) {
      throw AppError.conflict('user_last_admin', "This is the organization's last active Admin; make another user Admin first");
    }
  }

  private async replaceRoles(db: Queryable, principal: Principal, userId: string, assigned: RoleWithPermissions[]): Promise<void> {
    await db.delete(userRoles).where(eq(userRoles.userId, userId));
    await db.insert(userRoles).values(assigned.map((role) => ({ userId, roleId: role.id, assignedBy: principal.userId })));
  }

  private record(db: Queryable, principal: Principal, meta: RequestMeta, eventType: string, user: UserRow, context?: Record<string, unknown>) {
    return this.audit.recordChange(db, meta, principal.userId, eventType, { type: 'user', id: user.id, organizationId: user.organizationId }, context);
  }
}
