import { and, eq, isNull, sql } from 'drizzle-orm';
import type { EmailTokens, UserTokenPurpose } from '../../auth/email-tokens.js';
import type { Passwords } from '../../auth/passwords.js';
import type { PrincipalCache } from '../../auth/principal-cache.js';
import type { Sessions } from '../../auth/sessions.js';
import type { AuditLog } from '../../core/audit-log.js';
import { AppError } from '../../core/errors.js';
import type { RequestMeta } from '../../core/request-meta.js';
import type { Database } from '../../db/client.js';
import { organizations, type UserRow, users } from '../../db/schema.js';
import type { AccountMail } from '../../mail/account-mail.js';
import type { MailBudget } from '../../mail/mail-budget.js';

export interface RecoveryDependencies {
  db: Database;
  passwords: Passwords;
  sessions: Sessions;
  principals: PrincipalCache;
  audit: AuditLog;
  tokens: EmailTokens;
  accountMail: AccountMail;
  mailBudget: MailBudget;
}

const INVALID_RESET = 'This password reset link is invalid, expired or already used; ask for a new one';
const INVALID_INVITATION = 'This invitation link is invalid, expired or already used; ask for a new invitation';
const INVALID_VERIFICATION = 'This verification link is invalid, expired or already used; ask for a new one';

/** Why a requested mail is not sent; the answer is the same either way, the audit row says which. */
type Skip = 'unknown_email' | 'account_inactive' | 'sso_account' | 'already_verified' | 'throttled';

/**
 * Password reset and email verification by mailed link. The requests answer the same whether the
 * address is known or not, and mail leaves after the answer, so neither the answer nor its timing
 * tells who has an account. Sends are limited by the mail budget (per client and per address).
 */
export class RecoveryService {
  constructor(private readonly deps: RecoveryDependencies) {}

  async requestPasswordReset(email: string, meta: RequestMeta): Promise<void> {
    // An account linked to SSO, or created to sign in through it (no password), is its identity provider's business.
    await this.requestMail('password_reset', email, meta, (user) => (user.ssoSubjectId !== null || user.passwordHash === null ? 'sso_account' : null));
  }

  async requestVerification(email: string, meta: RequestMeta): Promise<void> {
    await this.requestMail('email_verification', email, meta, (user) => (user.isVerified ? 'already_verified' : null));
  }

  async confirmPasswordReset(token: string, newPassword: string, meta: RequestMeta): Promise<void> {
    const { db, tokens, passwords, sessions, audit } = this.deps;
    const pending = await tokens.peek(token, 'password_reset');
    const owner = pending ? await this.findEligible(pending.userId) : undefined;
    if (!pending || !owner || !sameAddress(owner.email, pending.email)) return this.refuse('auth.password_reset', 'password_reset_token_invalid', INVALID_RESET, meta);
    // Checked before the token is spent, so a refused password leaves the link usable.
    passwords.assertAcceptable(newPassword, owner.email, 'new_password');
    const passwordHash = await passwords.hash(newPassword);
    const done = await db.transaction(async (tx) => {
      if (!(await tokens.spend(tx, token, 'password_reset'))) return false;
      await tokens.spendAll(tx, owner.id, 'password_reset');
      const now = new Date();
      // The link arrived in the mailbox, which proves the address as well as a verification link would.
      await tx.update(users).set({ passwordHash, passwordChangedAt: now, isVerified: true, updatedAt: now }).where(eq(users.id, owner.id));
      const revoked = await sessions.revokeAllForUser(tx, owner.id, 'password_reset');
      await audit.record(tx, meta, {
        eventType: 'auth.password_reset',
        status: 'success',
        organizationId: owner.organizationId,
        actorUserId: owner.id,
        resourceType: 'user',
        resourceId: owner.id,
        context: { sessions_revoked: revoked },
      });
      return true;
    });
    if (!done) return this.refuse('auth.password_reset', 'password_reset_token_invalid', INVALID_RESET, meta);
    await this.deps.principals.invalidate({ kind: 'user', id: owner.id });
  }

  async acceptInvitation(token: string, password: string, fullName: string | undefined, meta: RequestMeta): Promise<void> {
    const { db, tokens, passwords, audit } = this.deps;
    const pending = await tokens.peek(token, 'invitation');
    const invited = pending ? await this.findEligible(pending.userId) : undefined;
    // A user who has a password by now accepted already, or never was an invitee.
    if (!pending || invited?.passwordHash !== null || !sameAddress(invited.email, pending.email)) {
      return this.refuse('user.invitation_accept', 'invitation_token_invalid', INVALID_INVITATION, meta);
    }
    passwords.assertAcceptable(password, invited.email);
    const passwordHash = await passwords.hash(password);
    const done = await db.transaction(async (tx) => {
      if (!(await tokens.spend(tx, token, 'invitation'))) return false;
      const now = new Date();
      const [user] = await tx
        .update(users)
        .set({ passwordHash, passwordChangedAt: now, isVerified: true, updatedAt: now, ...(fullName === undefined ? {} : { fullName: fullName.trim() }) })
        .where(and(eq(users.id, invited.id), isNull(users.passwordHash)))
        .returning({ id: users.id });
      if (!user) return false;
      await audit.record(tx, meta, {
        eventType: 'user.invitation_accept',
        status: 'success',
        organizationId: invited.organizationId,
        actorUserId: invited.id,
        resourceType: 'user',
        resourceId: invited.id,
      });
      return true;
    });
    if (!done) await this.refuse('user.invitation_accept', 'invitation_token_invalid', INVALID_INVITATION, meta);
  }

  async verifyEmail(token: string, meta: RequestMeta): Promise<void> {
    const { db, tokens, audit } = this.deps;
    const done = await db.transaction(async (tx) => {
      const spent = await tokens.spend(tx, token, 'email_verification');
      if (!spent) return false;
      const [user] = await tx
        .update(users)
        .set({ isVerified: true, updatedAt: new Date() })
        .where(and(eq(users.id, spent.userId), isNull(users.deletedAt), sql`lower(${users.email}) = lower(${spent.email})`))
        .returning();
      if (!user) return false;
      await audit.record(tx, meta, {
        eventType: 'auth.email_verified',
        status: 'success',
        organizationId: user.organizationId,
        actorUserId: user.id,
        resourceType: 'user',
        resourceId: user.id,
      });
      return true;
    });
    if (!done) await this.refuse('auth.email_verified', 'email_verification_token_invalid', INVALID_VERIFICATION, meta);
  }

  private async requestMail(purpose: UserTokenPurpose, email: string, meta: RequestMeta, skipReason: (user: UserRow) => Skip | null): Promise<void> {
    const { accountMail, audit, db } = this.deps;
    if (!accountMail.enabled) throw AppError.forbidden('email_delivery_disabled', 'This service sends no mail (SMTP is not configured); ask an administrator of your organization');
    await this.deps.mailBudget.spendClient(meta);
    const found = await this.findByEmail(email);
    const user = found?.user;
    let skip: Skip | null = !found ? 'unknown_email' : !found.eligible ? 'account_inactive' : skipReason(found.user);
    // Counted for unknown addresses too, so the limit behaves the same for every address.
    if (!(await this.deps.mailBudget.spendAddress(email, meta))) skip ??= 'throttled';
    if (user && skip === null) await accountMail.send(db, purpose, user);
    await audit.record(db, meta, {
      eventType: purpose === 'password_reset' ? 'auth.password_reset_request' : 'auth.email_verification_request',
      status: skip === null ? 'success' : 'failure',
      organizationId: user?.organizationId ?? null,
      actorUserId: user?.id ?? null,
      context: skip === null ? { mail_sent: true } : { mail_sent: false, reason: skip },
    });
  }

  /** The live user with this address, and whether they and their organization are active. */
  private async findByEmail(email: string): Promise<{ user: UserRow; eligible: boolean } | undefined> {
    const [row] = await this.deps.db
      .select({ user: users, organizationLive: sql<boolean>`${organizations.isActive} and ${organizations.deletedAt} is null` })
      .from(users)
      .innerJoin(organizations, eq(organizations.id, users.organizationId))
      .where(and(sql`lower(${users.email}) = lower(${email.trim()})`, isNull(users.deletedAt)));
    return row && { user: row.user, eligible: row.user.isActive && row.organizationLive };
  }

  /** The user by id when they and their organization are live and active. */
  private async findEligible(userId: string): Promise<UserRow | undefined> {
    const [row] = await this.deps.db
      .select({ user: users })
      .from(users)
      .innerJoin(organizations, eq(organizations.id, users.organizationId))
      .where(and(eq(users.id, userId), isNull(users.deletedAt), eq(users.isActive, true), eq(organizations.isActive, true), isNull(organizations.deletedAt)));
    return row?.user;
  }

  private async refuse(
    eventType: string,
    code: 'password_reset_token_invalid' | 'email_verification_token_invalid' | 'invitation_token_invalid',
    detail: string,
    meta: RequestMeta,
  ): Promise<never> {
    await this.deps.audit.record(this.deps.db, meta, { eventType, status: 'failure', context: { reason: 'token_invalid' } });
    throw new AppError(400, code, detail);
  }
}

function sameAddress(a: string, b: string): boolean {
  return a.toLowerCase() === b.toLowerCase();
}
