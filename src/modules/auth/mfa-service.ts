import { createHash, randomBytes } from 'node:crypto';
import { and, eq, gt, isNotNull, isNull, lt, or, sql } from 'drizzle-orm';
import type { LoginThrottle } from '../../auth/login-throttle.js';
import { matchRecoveryCode, newRecoveryCodes } from '../../auth/recovery-codes.js';
import type { SecretBox } from '../../auth/secret-box.js';
import type { AuthenticationMethod, Sessions, TokenPair } from '../../auth/sessions.js';
import type { Totp } from '../../auth/totp.js';
import type { AuditLog } from '../../core/audit-log.js';
import { AppError } from '../../core/errors.js';
import type { Principal } from '../../core/principal.js';
import type { RequestMeta } from '../../core/request-meta.js';
import type { Database, Queryable } from '../../db/client.js';
import { mfaChallenges, mfaRecoveryCodes, mfaTotpFactors, organizations, users } from '../../db/schema.js';
import { type LoginUser, startLoginSession } from './login-session.js';

export interface MfaDependencies {
  db: Database;
  sessions: Sessions;
  audit: AuditLog;
  throttle: LoginThrottle;
  secrets: SecretBox;
  totp: Totp;
}

export interface LoginChallenge {
  challengeToken: string;
  enrolmentRequired: boolean;
  expiresIn: number;
}

export interface TotpEnrolment {
  secret: string;
  uri: string;
}

/** What answers a challenge: a TOTP code or a recovery code. */
export type MfaAnswer = { code: string; recoveryCode?: undefined } | { code?: undefined; recoveryCode: string };

type ChallengePurpose = 'verify' | 'enrol';
type FactorRow = typeof mfaTotpFactors.$inferSelect;

const CHALLENGE_TTL_SECONDS = 300;
/** Wrong codes a challenge takes before it is spent: the user logs in again (and the throttle counts on). */
const CHALLENGE_MAX_FAILURES = 5;
const TOTP_AMR: AuthenticationMethod[] = ['pwd', 'otp', 'mfa'];
const RECOVERY_AMR: AuthenticationMethod[] = ['pwd', 'mfa'];

const CHALLENGE_INVALID = 'The MFA challenge is invalid, expired or used; log in again';
const CODE_INVALID = 'The code is incorrect or was already used';
const NOT_ENABLED = 'Two-factor authentication is not enabled: enrol an authenticator first';

function sha256(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

function userOf(principal: Principal): LoginUser {
  return { id: principal.userId, email: principal.email, organizationId: principal.organizationId };
}

/**
 * TOTP second factor (RFC 6238): enrolment, recovery codes, and the challenge a password login
 * answers when a code is due. Secrets are sealed, recovery codes and challenge tokens kept as
 * SHA-256, each code accepted once, and every wrong code counted by the login throttle.
 */
export class MfaService {
  private readonly db: Database;
  private readonly sessions: Sessions;
  private readonly audit: AuditLog;
  private readonly throttle: LoginThrottle;
  private readonly secrets: SecretBox;
  private readonly totp: Totp;

  constructor(dependencies: MfaDependencies) {
    this.db = dependencies.db;
    this.sessions = dependencies.sessions;
    this.audit = dependencies.audit;
    this.throttle = dependencies.throttle;
    this.secrets = dependencies.secrets;
    this.totp = dependencies.totp;
  }

  async hasConfirmedFactor(userId: string): Promise<boolean> {
    const [factor] = await this.db
      .select({ userId: mfaTotpFactors.userId })
      .from(mfaTotpFactors)
      .where(and(eq(mfaTotpFactors.userId, userId), isNotNull(mfaTotpFactors.confirmedAt)));
    return factor !== undefined;
  }

  /** What a password login answers instead of tokens: an opaque token, kept only hashed, single use, short-lived. */
  async issueChallenge(user: LoginUser, enrolmentRequired: boolean, meta: RequestMeta): Promise<LoginChallenge> {
    const challengeToken = `mfa_${randomBytes(32).toString('base64url')}`;
    const purpose: ChallengePurpose = enrolmentRequired ? 'enrol' : 'verify';
    await this.db.transaction(async (tx) => {
      await tx.insert(mfaChallenges).values({
        userId: user.id,
        tokenHash: sha256(challengeToken),
        purpose,
        expiresAt: new Date(Date.now() + CHALLENGE_TTL_SECONDS * 1000),
      });
      await this.audit.record(tx, meta, { eventType: 'mfa.challenge_issue', status: 'success', organizationId: user.organizationId, actorUserId: user.id, context: { purpose } });
    });
    return { challengeToken, enrolmentRequired, expiresIn: CHALLENGE_TTL_SECONDS };
  }

  enrol(principal: Principal, meta: RequestMeta): Promise<TotpEnrolment> {
    return this.createPendingFactor(userOf(principal), meta);
  }

  async confirm(principal: Principal, code: string, meta: RequestMeta): Promise<string[]> {
    const user = userOf(principal);
    const factor = await this.pendingFactorOf(user.id);
    await this.acceptCode(user, factor, code, meta, 'mfa.totp_confirm');
    return this.db.transaction((tx) => this.activate(tx, user, factor, meta));
  }

  async disable(principal: Principal, code: string, meta: RequestMeta): Promise<void> {
    const user = userOf(principal);
    const [organization] = await this.db.select({ requireMfa: organizations.requireMfa }).from(organizations).where(eq(organizations.id, user.organizationId));
    if (organization?.requireMfa) {
      throw AppError.forbidden('mfa_required_by_organization', 'Your organization requires two-factor authentication: it cannot be turned off');
    }
    const factor = await this.confirmedFactorOf(user.id);
    await this.acceptCode(user, factor, code, meta, 'mfa.totp_disable');
    await this.db.transaction(async (tx) => {
      await tx.delete(mfaTotpFactors).where(eq(mfaTotpFactors.userId, user.id));
      await tx.delete(mfaRecoveryCodes).where(eq(mfaRecoveryCodes.userId, user.id));
      await this.recordSuccess(tx, user, meta, 'mfa.totp_disable');
    });
  }

  async regenerateRecoveryCodes(principal: Principal, code: string, meta: RequestMeta): Promise<string[]> {
    const user = userOf(principal);
    const factor = await this.confirmedFactorOf(user.id);
    await this.acceptCode(user, factor, code, meta, 'mfa.recovery_codes_regenerate');
    return this.db.transaction(async (tx) => {
      const codes = await this.replaceRecoveryCodes(tx, user.id);
      await this.recordSuccess(tx, user, meta, 'mfa.recovery_codes_regenerate');
      return codes;
    });
  }

  /** Completes a login's challenge with a TOTP or recovery code: the token pair a login without MFA answers. */
  async verify(challengeToken: string, answer: MfaAnswer, meta: RequestMeta): Promise<TokenPair> {
    const challenge = await this.openChallenge(challengeToken, 'verify', meta);
    const { user } = challenge;
    const onWrong = () => this.countChallengeFailure(challenge.id);
    let amr: AuthenticationMethod[];
    if (answer.recoveryCode !== undefined) {
      await this.acceptRecoveryCode(user, answer.recoveryCode, meta, onWrong);
      amr = RECOVERY_AMR;
    } else {
      const factor = await this.factorOf(user.id);
      if (!factor?.confirmedAt) return this.refuseChallenge(user, meta, 'factor_removed');
      await this.acceptCode(user, factor, answer.code, meta, 'mfa.verify', onWrong);
      amr = TOTP_AMR;
    }
    return this.db.transaction(async (tx) => {
      await this.consumeChallenge(tx, challenge.id, user, meta);
      await this.recordSuccess(tx, user, meta, 'mfa.verify', { method: answer.recoveryCode === undefined ? 'totp' : 'recovery_code' });
      return startLoginSession({ sessions: this.sessions, audit: this.audit }, tx, user, amr, meta);
    });
  }

  /** The enrolment an organization's `require_mfa` asks of a user without a factor, authorized by the login's challenge. */
  async enrolForChallenge(challengeToken: string, meta: RequestMeta): Promise<TotpEnrolment> {
    const { user } = await this.openChallenge(challengeToken, 'enrol', meta);
    return this.createPendingFactor(user, meta);
  }

  async confirmForChallenge(challengeToken: string, code: string, meta: RequestMeta): Promise<{ tokens: TokenPair; recoveryCodes: string[] }> {
    const challenge = await this.openChallenge(challengeToken, 'enrol', meta);
    const { user } = challenge;
    const factor = await this.pendingFactorOf(user.id);
    await this.acceptCode(user, factor, code, meta, 'mfa.totp_confirm', () => this.countChallengeFailure(challenge.id));
    return this.db.transaction(async (tx) => {
      await this.consumeChallenge(tx, challenge.id, user, meta);
      const recoveryCodes = await this.activate(tx, user, factor, meta);
      return { tokens: await startLoginSession({ sessions: this.sessions, audit: this.audit }, tx, user, TOTP_AMR, meta), recoveryCodes };
    });
  }

  /** A new pending secret, replacing an earlier pending one; a confirmed authenticator must be disabled first. */
  private async createPendingFactor(user: LoginUser, meta: RequestMeta): Promise<TotpEnrolment> {
    const { secret, uri } = this.totp.create(user.email);
    const secretSealed = this.secrets.seal(secret);
    return this.db.transaction(async (tx) => {
      const [pending] = await tx
        .insert(mfaTotpFactors)
        .values({ userId: user.id, secretSealed })
        .onConflictDoUpdate({ target: mfaTotpFactors.userId, set: { secretSealed, lastUsedStep: null, createdAt: new Date() }, setWhere: isNull(mfaTotpFactors.confirmedAt) })
        .returning({ userId: mfaTotpFactors.userId });
      if (!pending) throw AppError.conflict('mfa_already_enabled', 'Two-factor authentication is already enabled: disable it before enrolling another authenticator');
      await this.recordSuccess(tx, user, meta, 'mfa.totp_enrol');
      return { secret, uri };
    });
  }

  /** Confirms exactly the pending secret the code was checked against (not one replaced meanwhile) and answers new recovery codes. */
  private async activate(tx: Queryable, user: LoginUser, factor: FactorRow, meta: RequestMeta): Promise<string[]> {
    const [confirmed] = await tx
      .update(mfaTotpFactors)
      .set({ confirmedAt: new Date() })
      .where(and(eq(mfaTotpFactors.userId, user.id), eq(mfaTotpFactors.secretSealed, factor.secretSealed), isNull(mfaTotpFactors.confirmedAt)))
      .returning({ userId: mfaTotpFactors.userId });
    if (!confirmed) throw AppError.conflict('mfa_enrolment_not_started', 'The enrolment changed meanwhile; enrol again');
    const codes = await this.replaceRecoveryCodes(tx, user.id);
    await this.recordSuccess(tx, user, meta, 'mfa.totp_confirm');
    return codes;
  }

  private async replaceRecoveryCodes(tx: Queryable, userId: string): Promise<string[]> {
    await tx.delete(mfaRecoveryCodes).where(eq(mfaRecoveryCodes.userId, userId));
    const { codes, hashes } = newRecoveryCodes();
    await tx.insert(mfaRecoveryCodes).values(hashes.map((codeHash) => ({ userId, codeHash })));
    return codes;
  }

  private async factorOf(userId: string): Promise<FactorRow | undefined> {
    const [factor] = await this.db.select().from(mfaTotpFactors).where(eq(mfaTotpFactors.userId, userId));
    return factor;
  }

  private async pendingFactorOf(userId: string): Promise<FactorRow> {
    const factor = await this.factorOf(userId);
    if (!factor) throw AppError.conflict('mfa_enrolment_not_started', 'There is no TOTP enrolment to confirm: enrol first');
    if (factor.confirmedAt) throw AppError.conflict('mfa_already_enabled', 'Two-factor authentication is already enabled');
    return factor;
  }

  private async confirmedFactorOf(userId: string): Promise<FactorRow> {
    const factor = await this.factorOf(userId);
    if (!factor?.confirmedAt) throw AppError.conflict('mfa_not_enabled', NOT_ENABLED);
    return factor;
  }

  /**
   * Checks a TOTP code under the throttle and spends its time step in the same statement that
   * proves it is newer than the last one, so neither a replay nor a concurrent twin gets through.
   * Failures are written outside any transaction: a refusal must not roll its own count back.
   */
  private async acceptCode(user: LoginUser, factor: FactorRow, code: string, meta: RequestMeta, eventType: string, onWrong?: () => Promise<void>): Promise<void> {
    const attempt = await this.throttle.beginSecondFactor(user.id, meta);
    const step = await this.totp.check(this.secrets.open(factor.secretSealed), code, factor.lastUsedStep);
    const spent =
      step !== null &&
      (
        await this.db
          .update(mfaTotpFactors)
          .set({ lastUsedStep: step })
          .where(
            and(
              eq(mfaTotpFactors.userId, user.id),
              eq(mfaTotpFactors.secretSealed, factor.secretSealed),
              or(isNull(mfaTotpFactors.lastUsedStep), lt(mfaTotpFactors.lastUsedStep, step)),
            ),
          )
          .returning({ userId: mfaTotpFactors.userId })
      ).length > 0;
    if (!spent) {
      await attempt.failed();
      await onWrong?.();
      await this.recordFailure(user, meta, eventType, { method: 'totp', reason: step === null ? 'wrong_code' : 'code_reused' });
      throw AppError.unauthorized('mfa_code_invalid', CODE_INVALID);
    }
    await attempt.succeeded();
  }

  private async acceptRecoveryCode(user: LoginUser, presented: string, meta: RequestMeta, onWrong: () => Promise<void>): Promise<void> {
    const attempt = await this.throttle.beginSecondFactor(user.id, meta);
    const unused = await this.db
      .select({ id: mfaRecoveryCodes.id, codeHash: mfaRecoveryCodes.codeHash })
      .from(mfaRecoveryCodes)
      .where(and(eq(mfaRecoveryCodes.userId, user.id), isNull(mfaRecoveryCodes.usedAt)));
    const matched = matchRecoveryCode(presented, unused);
    const spent =
      matched !== undefined &&
      (
        await this.db
          .update(mfaRecoveryCodes)
          .set({ usedAt: new Date() })
          .where(and(eq(mfaRecoveryCodes.id, matched), isNull(mfaRecoveryCodes.usedAt)))
          .returning({ id: mfaRecoveryCodes.id })
      ).length > 0;
    if (!spent) {
      await attempt.failed();
      await onWrong();
      await this.recordFailure(user, meta, 'mfa.verify', { method: 'recovery_code', reason: 'wrong_code' });
      throw AppError.unauthorized('mfa_code_invalid', CODE_INVALID);
    }
    await attempt.succeeded();
    await this.recordSuccess(this.db, user, meta, 'mfa.recovery_code_used', { remaining: unused.length - 1 });
  }

  /** The live challenge of this purpose, with its live user; anything else is one 401 that says nothing more, audited with the reason. */
  private async openChallenge(challengeToken: string, purpose: ChallengePurpose, meta: RequestMeta): Promise<{ id: string; user: LoginUser }> {
    const [found] = await this.db
      .select({
        challenge: mfaChallenges,
        user: { id: users.id, email: users.email, organizationId: users.organizationId, isActive: users.isActive, deletedAt: users.deletedAt },
        organization: { isActive: organizations.isActive, deletedAt: organizations.deletedAt },
      })
      .from(mfaChallenges)
      .innerJoin(users, eq(users.id, mfaChallenges.userId))
      .innerJoin(organizations, eq(organizations.id, users.organizationId))
      .where(eq(mfaChallenges.tokenHash, sha256(challengeToken)));
    if (!found) return this.refuseChallenge(undefined, meta, 'unknown');
    const { challenge, user, organization } = found;
    const live = user.isActive && !user.deletedAt && organization.isActive && !organization.deletedAt;
    const owner = { id: user.id, email: user.email, organizationId: user.organizationId };
    const reason = challenge.consumedAt
      ? challenge.failedAttempts >= CHALLENGE_MAX_FAILURES
        ? 'too_many_failures'
        : 'used'
      : challenge.expiresAt.getTime() <= Date.now()
        ? 'expired'
        : challenge.purpose !== purpose
          ? 'wrong_purpose'
          : !live
            ? 'account_inactive'
            : null;
    if (reason) return this.refuseChallenge(owner, meta, reason);
    return { id: challenge.id, user: owner };
  }

  private async refuseChallenge(user: LoginUser | undefined, meta: RequestMeta, reason: string): Promise<never> {
    await this.audit.record(this.db, meta, {
      eventType: 'mfa.challenge_refused',
      status: 'denied',
      organizationId: user?.organizationId ?? null,
      actorUserId: user?.id ?? null,
      context: { reason },
    });
    throw AppError.unauthorized('mfa_challenge_invalid', CHALLENGE_INVALID);
  }

  /** Spends the challenge, once: of two concurrent answers only one gets tokens. */
  private async consumeChallenge(tx: Queryable, challengeId: string, user: LoginUser, meta: RequestMeta): Promise<void> {
    const [spent] = await tx
      .update(mfaChallenges)
      .set({ consumedAt: new Date() })
      .where(and(eq(mfaChallenges.id, challengeId), isNull(mfaChallenges.consumedAt), gt(mfaChallenges.expiresAt, sql`now()`)))
      .returning({ id: mfaChallenges.id });
    if (!spent) await this.refuseChallenge(user, meta, 'used');
  }

  private async countChallengeFailure(challengeId: string): Promise<void> {
    const failures = sql`${mfaChallenges.failedAttempts} + 1`;
    await this.db
      .update(mfaChallenges)
      .set({ failedAttempts: failures, consumedAt: sql`case when ${failures} >= ${CHALLENGE_MAX_FAILURES} then now() else ${mfaChallenges.consumedAt} end` })
      .where(eq(mfaChallenges.id, challengeId));
  }

  private recordSuccess(db: Queryable, user: LoginUser, meta: RequestMeta, eventType: string, context: Record<string, unknown> = {}): Promise<void> {
    return this.audit.record(db, meta, {
      eventType,
      status: 'success',
      organizationId: user.organizationId,
      actorUserId: user.id,
      resourceType: 'user',
      resourceId: user.id,
      context,
    });
  }

  private recordFailure(user: LoginUser, meta: RequestMeta, eventType: string, context: Record<string, unknown>): Promise<void> {
    return this.audit.record(this.db, meta, {
      eventType,
      status: 'failure',
      organizationId: user.organizationId,
      actorUserId: user.id,
      resourceType: 'user',
      resourceId: user.id,
      context,
    });
  }
}
