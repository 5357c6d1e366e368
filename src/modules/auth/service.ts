import { and, eq, isNull, sql } from 'drizzle-orm';
import type { LoginThrottle } from '../../auth/login-throttle.js';
import type { Passwords } from '../../auth/passwords.js';
import type { PrincipalCache } from '../../auth/principal-cache.js';
import { ACCOUNT_DISABLED, type Sessions, type TokenPair } from '../../auth/sessions.js';
import type { Config } from '../../config/index.js';
import { assertAddressAvailableTo } from '../../core/address-ownership.js';
import type { AuditLog } from '../../core/audit-log.js';
import { emailDomain } from '../../core/email-domain.js';
import { AppError } from '../../core/errors.js';
import type { Principal } from '../../core/principal.js';
import type { RequestMeta } from '../../core/request-meta.js';
import { withUniqueConflict } from '../../core/unique-conflict.js';
import { qualified } from '../../db/qualified.js';
import type { Database, Queryable } from '../../db/client.js';
import { countLiveUsers } from '../../db/queries/users.js';
import { organizations, roles, type UserRow, userRoles, users } from '../../db/schema.js';
import { SYSTEM_ROLE_IDS } from '../../db/system-roles.js';
import type { AccountMail } from '../../mail/account-mail.js';
import type { MailBudget } from '../../mail/mail-budget.js';
import type { Metrics } from '../../observability/metrics.js';
import { startLoginSession } from './login-session.js';
import type { LoginChallenge, MfaChallenges } from './mfa-challenges.js';
import { factorsOf, hasAnyFactor, hasConfirmedTotp, hasPasskey, verificationMethods } from './mfa-factors.js';

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
  mfaEnabled: boolean;
}

export interface AuthDependencies {
  db: Database;
  passwords: Passwords;
  sessions: Sessions;
  principals: PrincipalCache;
  audit: AuditLog;
  metrics: Metrics;
  throttle: LoginThrottle;
  accountMail: AccountMail;
  mailBudget: MailBudget;
  mfaChallenges: MfaChallenges;
  config: Pick<Config, 'allowOrganizationSignup'> & { requireVerifiedEmail: boolean };
}

const INVALID_CREDENTIALS = 'Incorrect email or password';

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

const assignedRoles = sql<CurrentUser['roles']>`coalesce((
  select json_agg(json_build_object('id', ${qualified(roles.id)}, 'name', ${qualified(roles.name)}, 'description', ${qualified(roles.description)}) order by ${qualified(roles.name)})
  from ${userRoles}
  inner join ${roles} on ${qualified(roles.id)} = ${qualified(userRoles.roleId)}
  where ${qualified(userRoles.userId)} = ${qualified(users.id)}
), '[]')`;

// A second factor of either kind: a confirmed TOTP authenticator or a passkey.
const mfaEnabled = sql<boolean>`(${hasConfirmedTotp} or ${hasPasskey})`;

/** GET /auth/me's one query, prepared once: it runs on every call. */
function currentUserQuery(db: Database) {
  return db
    .select({ user: users, roles: assignedRoles, mfaEnabled })
    .from(users)
    .where(and(eq(users.id, sql.placeholder('userId')), isNull(users.deletedAt)))
    .prepare('fm_auth_current_user');
}

export class AuthService {
  private readonly db: Database;
  private readonly passwords: Passwords;
  private readonly sessions: Sessions;
  private readonly principals: PrincipalCache;
  private readonly audit: AuditLog;
  private readonly metrics: Metrics;
  private readonly throttle: LoginThrottle;
  private readonly mfaChallenges: MfaChallenges;
  private readonly allowOrganizationSignup: boolean;
  private readonly requireVerifiedEmail: boolean;
  private readonly accountMail: AccountMail;
  private readonly mailBudget: MailBudget;
  private readonly currentUserQuery: ReturnType<typeof currentUserQuery>;

  constructor(dependencies: AuthDependencies) {
    this.db = dependencies.db;
    this.passwords = dependencies.passwords;
    this.sessions = dependencies.sessions;
    this.principals = dependencies.principals;
    this.audit = dependencies.audit;
    this.metrics = dependencies.metrics;
    this.throttle = dependencies.throttle;
    this.mfaChallenges = dependencies.mfaChallenges;
    this.allowOrganizationSignup = dependencies.config.allowOrganizationSignup;
    this.requireVerifiedEmail = dependencies.config.requireVerifiedEmail;
    this.accountMail = dependencies.accountMail;
    this.mailBudget = dependencies.mailBudget;
    this.currentUserQuery = currentUserQuery(this.db);
  }

  /**
   * Creates the account; with verified addresses required, answers `concealed` instead of the
   * user for a new and a taken address alike (see the register operation in the spec).
   */
  async register(input: Registration, meta: RequestMeta): Promise<{ concealed: true } | { concealed: false; user: UserRow }> {
    const joining = input.organizationId !== undefined;
    if (joining === (input.organizationName !== undefined)) {
      throw AppError.validation('registration_target_ambiguous', 'Give exactly one of organization_name (new organization) or organization_id (join one)');
    }
    if (joining && input.organizationSlug !== undefined) {
      throw AppError.validation('registration_slug_misplaced', 'organization_slug goes with organization_name, not organization_id');
    }
    this.passwords.assertAcceptable(input.password, input.email);
    // Every concealed registration mails someone: the same budget for a new and a taken address.
    if (this.requireVerifiedEmail) await this.mailBudget.spendClient(meta);
    const passwordHash = await this.passwords.hash(input.password);
    let registered: UserRow;
    try {
      registered = await this.createAccount(input, passwordHash, meta);
    } catch (err) {
      if (!this.requireVerifiedEmail || !(err instanceof AppError) || err.code !== 'user_email_taken') throw err;
      await this.noticeRegistrationAttempt(input.email, meta);
      return { concealed: true };
    }
    const mailed = !this.requireVerifiedEmail || (await this.mailBudget.spendAddress(input.email, meta));
    if (mailed) await this.accountMail.send(this.db, 'email_verification', registered);
    return this.requireVerifiedEmail ? { concealed: true } : { concealed: false, user: registered };
  }

  private async createAccount(input: Registration, passwordHash: string, meta: RequestMeta): Promise<UserRow> {
    const joining = input.organizationId !== undefined;
    const conflict = (index: string | undefined) => (index === 'organizations_slug_live_uq' ? 'organization_slug_taken' : 'user_email_taken');
    return withUniqueConflict(conflict, () =>
      this.db.transaction(async (tx) => {
        const { organizationId, roleId } = joining
          ? await this.lockJoinableOrganization(tx, input.organizationId as string, input.email)
          : await this.createOrganization(tx, input.organizationName as string, input.organizationSlug);
        await assertAddressAvailableTo(tx, input.email, organizationId);
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
      }),
    );
  }

  /** A registration with a taken address, answered as if it were new: the owner hears of it instead. */
  private async noticeRegistrationAttempt(email: string, meta: RequestMeta): Promise<void> {
    const [owner] = await this.db
      .select({ id: users.id, email: users.email, fullName: users.fullName, organizationId: users.organizationId })
      .from(users)
      .where(and(sql`lower(${users.email}) = lower(${email.trim()})`, isNull(users.deletedAt)));
    const mailed = owner !== undefined && (await this.mailBudget.spendAddress(email, meta));
    if (owner && mailed) this.accountMail.noticeRegistrationAttempt(owner);
    await this.audit.record(this.db, meta, {
      eventType: 'auth.register',
      status: 'failure',
      organizationId: owner?.organizationId ?? null,
      context: { reason: 'email_taken', owner_notified: mailed },
    });
  }

  private async createOrganization(tx: Queryable, name: string, requestedSlug: string | undefined) {
    if (!this.allowOrganizationSignup) {
      throw AppError.forbidden('registration_organization_creation_disabled', 'Creating an organization by registration is disabled on this service');
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
    if (!organization) throw AppError.notFound('organization_not_found', 'Organization not found');
    const allowed = organization.allowedEmailDomains.map((domain) => domain.toLowerCase());
    if (!allowed.includes(emailDomain(email))) {
      throw AppError.forbidden('registration_email_domain_refused', "This organization does not accept sign-ups from your email address's domain");
    }
    if ((await countLiveUsers(tx, organizationId)) >= organization.maxUsers) {
      throw AppError.forbidden('organization_user_limit_reached', 'This organization has reached its user limit');
    }
    return { organizationId, roleId: SYSTEM_ROLE_IDS.member };
  }

  /**
   * A password login: the token pair, or, when a second factor is due (a confirmed authenticator,
   * or the organization's `require_mfa`), a challenge instead.
   */
  async login(email: string, password: string, meta: RequestMeta): Promise<TokenPair | LoginChallenge> {
    const attempt = await this.throttle.beginLogin(email, meta);
    const [found] = await this.db
      .select({ user: users, organization: { isActive: organizations.isActive, deletedAt: organizations.deletedAt, requireMfa: organizations.requireMfa } })
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
      if (reason === 'account_inactive') throw AppError.unauthorized('account_disabled', ACCOUNT_DISABLED);
      throw AppError.unauthorized('login_credentials_invalid', INVALID_CREDENTIALS);
    }
    await attempt.succeeded();
    if (this.requireVerifiedEmail && !user.isVerified) {
      await this.recordFailedLogin(user, 'email_not_verified', meta);
      throw AppError.forbidden('email_not_verified', 'Confirm your email address first: open the link we mailed you, or ask for a new one');
    }
    this.metrics.loginAttempts.inc({ result: 'success' });
    const factors = await factorsOf(this.db, user.id);
    if (hasAnyFactor(factors)) return this.mfaChallenges.issue(user, false, verificationMethods(factors), meta);
    if (found.organization.requireMfa) return this.mfaChallenges.issue(user, true, ['totp', 'webauthn'], meta);
    return this.db.transaction((tx) => startLoginSession({ sessions: this.sessions, audit: this.audit }, tx, user, ['pwd'], meta));
  }

  private async recordFailedLogin(user: UserRow | undefined, reason: string, meta: RequestMeta): Promise<void> {
    this.metrics.loginAttempts.inc({ result: 'failure' });
    await this.audit.record(this.db, meta, {
      eventType: 'auth.login',
      status: 'failure',
      organizationId: user?.organizationId ?? null,
      actorUserId: user?.id ?? null,
      context: { reason },
    });
  }

  /** The caller with their roles, in one round trip; their permissions are the ones `authenticate` just read. */
  async currentUser(principal: Principal): Promise<CurrentUser> {
    const [row] = await this.currentUserQuery.execute({ userId: principal.userId });
    if (!row) throw AppError.unauthorized('session_ended', 'The session has ended; log in again', 'invalid_token');
    return { user: row.user, roles: row.roles, permissions: [...principal.permissions].sort(), mfaEnabled: row.mfaEnabled };
  }

  async changePassword(principal: Principal, currentPassword: string, newPassword: string, meta: RequestMeta): Promise<void> {
    this.passwords.assertAcceptable(newPassword, principal.email, 'new_password');
    const attempt = await this.throttle.beginPasswordChange(principal.userId, meta);
    const [user] = await this.db.select().from(users).where(eq(users.id, principal.userId));
    if (!user || !(await this.passwords.verify(user.passwordHash, currentPassword))) {
      await attempt.failed();
      await this.recordFailedLogin(user, 'wrong_current_password', meta);
      throw AppError.unauthorized('password_incorrect', 'The current password is incorrect');
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
    await this.principals.invalidate({ kind: 'user', id: user.id });
  }
}
