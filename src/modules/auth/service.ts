import { and, asc, count, eq, inArray, isNull, sql } from 'drizzle-orm';
import type { LoginThrottle } from '../../auth/login-throttle.js';
import type { Passwords } from '../../auth/passwords.js';
import { ACCOUNT_DISABLED, type Principal, type Sessions, type TokenPair } from '../../auth/sessions.js';
import type { Config } from '../../config/index.js';
import type { Database, Queryable } from '../../db/client.js';
import { isUniqueViolation, violatedUniqueIndex } from '../../db/errors.js';
import { organizations, permissions, rolePermissions, roles, userRoles, users } from '../../db/schema.js';
import { AppError } from '../../http/errors.js';
import type { Metrics } from '../../observability/metrics.js';
import type { AuditLog, RequestMeta } from '../audit-logs/service.js';
import { emailDomain } from '../organizations/email-domain.js';
import { SYSTEM_ROLE_IDS } from '../roles/system-roles.js';

export type UserRow = typeof users.$inferSelect;

export interface Registration {
  email: string;
  password: string;
  fullName: string;
  organizationName?: string;
  organizationSlug?: string;
  organizationId?: string;
}

export interface CurrentUser {
  user: UserRow;
  roles: { id: string; name: string; description: string | null }[];
  permissions: string[];
}

const INVALID_CREDENTIALS = 'Incorrect email or password';
// The phrases the old service's clients match on start these details. Every refused refresh says the
// same, so the answer never tells a used token from an unknown one or a disabled account.
const INVALID_REFRESH = 'Invalid refresh token: it is unknown, expired, used or revoked; log in again';
const EMAIL_TAKEN = 'already exists: a user with this email address';
const SLUG_TAKEN = 'already exists: an organization with this slug';

function slugify(name: string): string {
  const slug = name
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 60);
  return slug === '' ? 'organization' : slug;
}

export class AuthService {
  constructor(
    private readonly db: Database,
    private readonly passwords: Passwords,
    private readonly sessions: Sessions,
    private readonly audit: AuditLog,
    private readonly metrics: Metrics,
    private readonly throttle: LoginThrottle,
    private readonly options: Pick<Config, 'allowOrganizationSignup'>,
  ) {}

  async register(input: Registration, meta: RequestMeta): Promise<UserRow> {
    const joining = input.organizationId !== undefined;
    if (joining === (input.organizationName !== undefined)) {
      throw AppError.validation('Give exactly one of organization_name (new organization) or organization_id (join one)');
    }
    if (joining && input.organizationSlug !== undefined) {
      throw AppError.validation('organization_slug goes with organization_name, not organization_id');
    }
    this.passwords.assertAcceptable(input.password, input.email);
    const passwordHash = await this.passwords.hash(input.password);
    try {
      return await this.db.transaction(async (tx) => {
        const { organizationId, roleId } = joining
          ? await this.lockJoinableOrganization(tx, input.organizationId as string, input.email)
          : await this.createOrganization(tx, input.organizationName as string, input.organizationSlug);
        const [user] = await tx
          .insert(users)
          .values({ organizationId, email: input.email.trim(), fullName: input.fullName.trim(), passwordHash, passwordChangedAt: new Date() })
          .returning();
        if (!user) throw new Error('user insert returned no row');
        await tx.insert(userRoles).values({ userId: user.id, roleId });
        await this.audit.record(tx, meta, {
          eventType: 'auth.register',
          status: 'success',
          organizationId,
          actorUserId: user.id,
          resourceType: 'user',
          resourceId: user.id,
          context: { organization_created: !joining },
        });
        return user;
      });
    } catch (err) {
      if (isUniqueViolation(err)) {
        throw AppError.conflict(violatedUniqueIndex(err) === 'organizations_slug_live_uq' ? SLUG_TAKEN : EMAIL_TAKEN);
      }
      throw err;
    }
  }

  private async createOrganization(tx: Queryable, name: string, requestedSlug: string | undefined) {
    if (!this.options.allowOrganizationSignup) {
      throw AppError.forbidden('Creating an organization by registration is disabled on this service');
    }
    let slug = requestedSlug ?? slugify(name);
    if (requestedSlug === undefined && (await this.slugTaken(tx, slug))) {
      slug = `${slug}-${crypto.randomUUID().slice(0, 8)}`;
    }
    const [organization] = await tx.insert(organizations).values({ name: name.trim(), slug }).returning({ id: organizations.id });
    if (!organization) throw new Error('organization insert returned no row');
    return { organizationId: organization.id, roleId: SYSTEM_ROLE_IDS.admin };
  }

  private async slugTaken(tx: Queryable, slug: string): Promise<boolean> {
    const [row] = await tx
      .select({ id: organizations.id })
      .from(organizations)
      .where(and(eq(organizations.slug, slug), isNull(organizations.deletedAt)));
    return row !== undefined;
  }

  /** Locks the organization row so concurrent joins cannot overshoot max_users. */
  private async lockJoinableOrganization(tx: Queryable, organizationId: string, email: string) {
    const [organization] = await tx
      .select()
      .from(organizations)
      .where(and(eq(organizations.id, organizationId), isNull(organizations.deletedAt), eq(organizations.isActive, true)))
      .for('update');
    if (!organization) throw AppError.notFound('Organization not found');
    const allowed = organization.allowedEmailDomains.map((domain) => domain.toLowerCase());
    if (!allowed.includes(emailDomain(email))) {
      throw AppError.forbidden("This organization does not accept sign-ups from your email address's domain");
    }
    const [members] = await tx
      .select({ total: count() })
      .from(users)
      .where(and(eq(users.organizationId, organizationId), isNull(users.deletedAt)));
    if ((members?.total ?? 0) >= organization.maxUsers) {
      throw AppError.forbidden('This organization has reached its user limit');
    }
    return { organizationId, roleId: SYSTEM_ROLE_IDS.member };
  }

  async login(email: string, password: string, meta: RequestMeta): Promise<TokenPair> {
    const attempt = await this.throttle.beginLogin(email, meta);
    const [found] = await this.db
      .select({ user: users, organization: { isActive: organizations.isActive, deletedAt: organizations.deletedAt } })
      .from(users)
      .innerJoin(organizations, eq(organizations.id, users.organizationId))
      .where(and(sql`lower(${users.email}) = lower(${email.trim()})`, isNull(users.deletedAt)));
    // Always verify, against a dummy hash when there is no account, so timing does not tell.
    const passwordOk = await this.passwords.verify(found?.user.passwordHash, password);
    const user = found?.user;
    const accountLive = found !== undefined && found.user.isActive && found.organization.isActive && !found.organization.deletedAt;
    if (!user || !passwordOk || !accountLive) {
      const reason = !user ? 'unknown_email' : !passwordOk ? 'wrong_password' : 'account_inactive';
      await attempt.failed();
      await this.recordFailedLogin(user, reason, meta);
      // Only someone who knows the password learns that the account exists but is disabled.
      throw AppError.unauthorized(reason === 'account_inactive' ? ACCOUNT_DISABLED : INVALID_CREDENTIALS);
    }
    await attempt.succeeded();
    this.metrics.loginAttempts.inc({ result: 'success' });
    return this.db.transaction(async (tx) => {
      await tx.update(users).set({ lastLoginAt: new Date(), failedLoginCount: 0 }).where(eq(users.id, user.id));
      const tokens = await this.sessions.start(tx, user, 'password', meta);
      await this.audit.record(tx, meta, {
        eventType: 'auth.login',
        status: 'success',
        organizationId: user.organizationId,
        actorUserId: user.id,
        context: { method: 'password' },
      });
      return tokens;
    });
  }

  private async recordFailedLogin(user: UserRow | undefined, reason: string, meta: RequestMeta): Promise<void> {
    this.metrics.loginAttempts.inc({ result: 'failure' });
    await this.db.transaction(async (tx) => {
      if (user) {
        await tx
          .update(users)
          .set({ failedLoginCount: sql`${users.failedLoginCount} + 1`, lastFailedLoginAt: new Date() })
          .where(eq(users.id, user.id));
      }
      await this.audit.record(tx, meta, {
        eventType: 'auth.login',
        status: 'failure',
        organizationId: user?.organizationId ?? null,
        actorUserId: user?.id ?? null,
        context: { reason },
      });
    });
  }

  async refresh(refreshToken: string, meta: RequestMeta): Promise<TokenPair> {
    const outcome = await this.sessions.rotate(refreshToken);
    if (outcome.kind === 'rotated') return outcome.tokens;
    if (outcome.kind === 'reused') {
      this.metrics.refreshReuseDetected.inc();
      await this.endSession(outcome, 'refresh_token_reuse', meta);
    }
    throw AppError.unauthorized(INVALID_REFRESH);
  }

  async logout(principal: Principal, meta: RequestMeta): Promise<void> {
    await this.endSession(principal, 'logout', meta);
  }

  /** Revokes one session and audits why: a logout, or a refresh token presented twice. */
  private async endSession(
    session: { sessionId: string; userId: string; organizationId: string },
    reason: 'logout' | 'refresh_token_reuse',
    meta: RequestMeta,
  ): Promise<void> {
    await this.db.transaction(async (tx) => {
      await this.sessions.revoke(tx, session.sessionId, reason);
      await this.audit.record(tx, meta, {
        eventType: reason === 'logout' ? 'auth.logout' : 'auth.refresh_token_reuse',
        status: reason === 'logout' ? 'success' : 'failure',
        organizationId: session.organizationId,
        actorUserId: session.userId,
        resourceType: 'session',
        resourceId: session.sessionId,
      });
    });
  }

  async currentUser(principal: Principal): Promise<CurrentUser> {
    const [user] = await this.db.select().from(users).where(eq(users.id, principal.userId));
    if (!user) throw AppError.unauthorized('The session has ended; log in again', 'invalid_token');
    const assigned = await this.db
      .select({ id: roles.id, name: roles.name, description: roles.description })
      .from(userRoles)
      .innerJoin(roles, eq(roles.id, userRoles.roleId))
      .where(eq(userRoles.userId, user.id))
      .orderBy(asc(roles.name));
    const granted =
      assigned.length === 0
        ? []
        : await this.db
            .selectDistinct({ name: permissions.name })
            .from(rolePermissions)
            .innerJoin(permissions, eq(permissions.id, rolePermissions.permissionId))
            .where(inArray(rolePermissions.roleId, assigned.map((role) => role.id)))
            .orderBy(asc(permissions.name));
    return { user, roles: assigned, permissions: granted.map((permission) => permission.name) };
  }

  async changePassword(principal: Principal, currentPassword: string, newPassword: string, meta: RequestMeta): Promise<void> {
    this.passwords.assertAcceptable(newPassword, principal.email, 'new_password');
    const attempt = await this.throttle.beginPasswordChange(principal.userId, meta);
    const [user] = await this.db.select().from(users).where(eq(users.id, principal.userId));
    if (!user || !(await this.passwords.verify(user.passwordHash, currentPassword))) {
      await attempt.failed();
      await this.recordFailedLogin(user, 'wrong_current_password', meta);
      throw AppError.unauthorized('The current password is incorrect');
    }
    await attempt.succeeded();
    const passwordHash = await this.passwords.hash(newPassword);
    await this.db.transaction(async (tx) => {
      await tx.update(users).set({ passwordHash, passwordChangedAt: new Date(), updatedAt: new Date() }).where(eq(users.id, user.id));
      await this.sessions.revokeAllForUser(tx, user.id, 'password_changed', principal.sessionId);
      await this.audit.record(tx, meta, {
        eventType: 'auth.password_change',
        status: 'success',
        organizationId: user.organizationId,
        actorUserId: user.id,
        resourceType: 'user',
        resourceId: user.id,
      });
    });
  }
}
