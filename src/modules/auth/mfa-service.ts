import { and, eq, isNull, lt, or } from 'drizzle-orm';
import type { LoginThrottle } from '../../auth/login-throttle.js';
import { matchRecoveryCode } from '../../auth/recovery-codes.js';
import type { SecretBox } from '../../auth/secret-box.js';
import type { AuthenticationMethod, TokenPair } from '../../auth/sessions.js';
import type { Totp } from '../../auth/totp.js';
import type { AuditLog } from '../../core/audit-log.js';
import { AppError } from '../../core/errors.js';
import type { Principal } from '../../core/principal.js';
import type { RequestMeta } from '../../core/request-meta.js';
import type { Database, Queryable } from '../../db/client.js';
import { mfaRecoveryCodes, mfaTotpFactors, organizations } from '../../db/schema.js';
import { type LoginUser, loginUserOf, recordUserEvent } from './login-session.js';
import type { MfaChallenges, OpenChallenge } from './mfa-challenges.js';
import { dropRecoveryCodesWithoutFactor, factorsOf, replaceRecoveryCodes } from './mfa-factors.js';

export interface MfaDependencies {
  db: Database;
  challenges: MfaChallenges;
  audit: AuditLog;
  throttle: LoginThrottle;
  secrets: SecretBox;
  totp: Totp;
}

export interface TotpEnrolment {
  secret: string;
  uri: string;
}

/** What answers a challenge with a code: from the TOTP app, or a recovery code. */
export type CodeAnswer = { code: string; recoveryCode?: undefined } | { code?: undefined; recoveryCode: string };

type FactorRow = typeof mfaTotpFactors.$inferSelect;

const TOTP_AMR: AuthenticationMethod[] = ['pwd', 'otp', 'mfa'];
const RECOVERY_AMR: AuthenticationMethod[] = ['pwd', 'mfa'];

const CODE_INVALID = 'The code is incorrect or was already used';
const NOT_ENABLED = 'Two-factor authentication is not enabled: enrol an authenticator first';

/**
 * TOTP second factor (RFC 6238) and recovery codes: enrolment, and the answers with a code to a
 * login's challenge. Secrets are sealed, recovery codes kept as SHA-256, each code accepted once,
 * and every wrong code counted by the login throttle. Passkeys are PasskeyService's.
 */
export class MfaService {
  private readonly db: Database;
  private readonly challenges: MfaChallenges;
  private readonly audit: AuditLog;
  private readonly throttle: LoginThrottle;
  private readonly secrets: SecretBox;
  private readonly totp: Totp;

  constructor(dependencies: MfaDependencies) {
    this.db = dependencies.db;
    this.challenges = dependencies.challenges;
    this.audit = dependencies.audit;
    this.throttle = dependencies.throttle;
    this.secrets = dependencies.secrets;
    this.totp = dependencies.totp;
  }

  enrol(principal: Principal, meta: RequestMeta): Promise<TotpEnrolment> {
    return this.createPendingFactor(loginUserOf(principal), meta);
  }

  async confirm(principal: Principal, code: string, meta: RequestMeta): Promise<string[]> {
    const user = loginUserOf(principal);
    const factor = await this.pendingFactorOf(user.id);
    await this.acceptCode(user, factor, code, meta, 'mfa.totp_confirm');
    return this.db.transaction((tx) => this.activate(tx, user, factor, meta));
  }

  /** Turns TOTP off; recovery codes stay while the user still has a passkey. */
  async disable(principal: Principal, code: string, meta: RequestMeta): Promise<void> {
    const user = loginUserOf(principal);
    const [organization] = await this.db.select({ requireMfa: organizations.requireMfa }).from(organizations).where(eq(organizations.id, user.organizationId));
    if (organization?.requireMfa && !(await factorsOf(this.db, user.id)).passkeys) {
      throw AppError.forbidden('mfa_required_by_organization', 'Your organization requires two-factor authentication: it cannot be turned off');
    }
    const factor = await this.confirmedFactorOf(user.id);
    await this.acceptCode(user, factor, code, meta, 'mfa.totp_disable');
    await this.db.transaction(async (tx) => {
      await tx.delete(mfaTotpFactors).where(eq(mfaTotpFactors.userId, user.id));
      await dropRecoveryCodesWithoutFactor(tx, user.id);
      await recordUserEvent(this.audit, tx, meta, user, { eventType: 'mfa.totp_disable', status: 'success' });
    });
  }

  async regenerateRecoveryCodes(principal: Principal, code: string, meta: RequestMeta): Promise<string[]> {
    const user = loginUserOf(principal);
    const factor = await this.confirmedFactorOf(user.id);
    await this.acceptCode(user, factor, code, meta, 'mfa.recovery_codes_regenerate');
    return this.db.transaction(async (tx) => {
      const codes = await replaceRecoveryCodes(tx, user.id);
      await recordUserEvent(this.audit, tx, meta, user, { eventType: 'mfa.recovery_codes_regenerate', status: 'success' });
      return codes;
    });
  }

  /** Completes a login's challenge with a TOTP or recovery code: the token pair a login without MFA answers. */
  async verify(challengeToken: string, answer: CodeAnswer, meta: RequestMeta): Promise<TokenPair> {
    const challenge = await this.challenges.open(challengeToken, 'verify', meta);
    const { user } = challenge;
    const onWrong = () => this.challenges.countFailure(challenge.id);
    if (answer.recoveryCode !== undefined) {
      await this.acceptRecoveryCode(user, answer.recoveryCode, meta, onWrong);
      return this.challenges.complete(challenge, RECOVERY_AMR, 'recovery_code', meta);
    }
    const factor = await this.factorOf(user.id);
    if (!factor?.confirmedAt) return this.challenges.refuse(user, meta, 'factor_removed');
    await this.acceptCode(user, factor, answer.code, meta, 'mfa.verify', onWrong);
    return this.challenges.complete(challenge, TOTP_AMR, 'totp', meta);
  }

  /** The enrolment an organization's `require_mfa` asks of a user without a factor, authorized by the login's challenge. */
  async enrolForChallenge(challengeToken: string, meta: RequestMeta): Promise<TotpEnrolment> {
    const { user } = await this.challenges.open(challengeToken, 'enrol', meta);
    return this.createPendingFactor(user, meta);
  }

  async confirmForChallenge(challengeToken: string, code: string, meta: RequestMeta): Promise<{ tokens: TokenPair; recoveryCodes: string[] }> {
    const challenge: OpenChallenge = await this.challenges.open(challengeToken, 'enrol', meta);
    const { user } = challenge;
    const factor = await this.pendingFactorOf(user.id);
    await this.acceptCode(user, factor, code, meta, 'mfa.totp_confirm', () => this.challenges.countFailure(challenge.id));
    return this.db.transaction(async (tx) => {
      await this.challenges.consume(tx, challenge, meta);
      const recoveryCodes = await this.activate(tx, user, factor, meta);
      return { tokens: await this.challenges.startSession(tx, user, TOTP_AMR, meta), recoveryCodes };
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
      await recordUserEvent(this.audit, tx, meta, user, { eventType: 'mfa.totp_enrol', status: 'success' });
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
    const codes = await replaceRecoveryCodes(tx, user.id);
    await recordUserEvent(this.audit, tx, meta, user, { eventType: 'mfa.totp_confirm', status: 'success' });
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
      await recordUserEvent(this.audit, this.db, meta, user, {
        eventType: eventType,
        status: 'failure',
        context: { method: 'totp', reason: step === null ? 'wrong_code' : 'code_reused' },
      });
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
      await recordUserEvent(this.audit, this.db, meta, user, { eventType: 'mfa.verify', status: 'failure', context: { method: 'recovery_code', reason: 'wrong_code' } });
      throw AppError.unauthorized('mfa_code_invalid', CODE_INVALID);
    }
    await attempt.succeeded();
    await recordUserEvent(this.audit, this.db, meta, user, { eventType: 'mfa.recovery_code_used', status: 'success', context: { remaining: unused.length - 1 } });
  }
}
