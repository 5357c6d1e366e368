import { createHash, randomBytes } from 'node:crypto';
import { and, eq, gt, isNull, sql } from 'drizzle-orm';
import type { AuthenticationMethod, Sessions, TokenPair } from '../../auth/sessions.js';
import type { AuditLog } from '../../core/audit-log.js';
import { AppError } from '../../core/errors.js';
import type { RequestMeta } from '../../core/request-meta.js';
import type { Database, Queryable } from '../../db/client.js';
import { mfaChallenges, organizations, users } from '../../db/schema.js';
import type { ChallengeMethod } from './mfa-factors.js';
import { type LoginUser, recordUserEvent, startLoginSession } from './login-session.js';

export interface LoginChallenge {
  challengeToken: string;
  enrolmentRequired: boolean;
  methods: ChallengeMethod[];
  expiresIn: number;
}

export type ChallengePurpose = 'verify' | 'enrol';

export interface OpenChallenge {
  id: string;
  user: LoginUser;
  /** The challenge of the passkey options last asked for with this login, if any. */
  webauthnChallenge: string | null;
}

const CHALLENGE_TTL_SECONDS = 300;
/** Wrong answers a challenge takes before it is spent: the user logs in again (and the throttle counts on). */
const CHALLENGE_MAX_FAILURES = 5;
const CHALLENGE_INVALID = 'The MFA challenge is invalid, expired or used; log in again';

function sha256(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

/**
 * The challenge a password login answers instead of tokens when a second factor is due: an
 * opaque token kept only as SHA-256, single use, short-lived, spent after a few wrong answers.
 * Every refusal is one 401 that says nothing more, audited with its reason.
 */
export class MfaChallenges {
  constructor(
    private readonly db: Database,
    private readonly sessions: Sessions,
    private readonly audit: AuditLog,
  ) {}

  async issue(user: LoginUser, enrolmentRequired: boolean, methods: ChallengeMethod[], meta: RequestMeta): Promise<LoginChallenge> {
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
    return { challengeToken, enrolmentRequired, methods, expiresIn: CHALLENGE_TTL_SECONDS };
  }

  /** The live challenge of this purpose, with its live user. */
  async open(challengeToken: string, purpose: ChallengePurpose, meta: RequestMeta): Promise<OpenChallenge> {
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
    if (!found) return this.refuse(undefined, meta, 'unknown');
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
    if (reason) return this.refuse(owner, meta, reason);
    return { id: challenge.id, user: owner, webauthnChallenge: challenge.webauthnChallenge };
  }

  async refuse(user: LoginUser | undefined, meta: RequestMeta, reason: string): Promise<never> {
    await this.audit.record(this.db, meta, {
      eventType: 'mfa.challenge_refused',
      status: 'denied',
      organizationId: user?.organizationId ?? null,
      actorUserId: user?.id ?? null,
      context: { reason },
    });
    throw AppError.unauthorized('mfa_challenge_invalid', CHALLENGE_INVALID);
  }

  /** Keeps the challenge of new passkey options; an earlier one stops being accepted. */
  async expectWebAuthn(challengeId: string, webauthnChallenge: string): Promise<void> {
    await this.db.update(mfaChallenges).set({ webauthnChallenge }).where(eq(mfaChallenges.id, challengeId));
  }

  /** Spends the challenge, once: of two concurrent answers only one gets tokens. */
  async consume(tx: Queryable, challenge: OpenChallenge, meta: RequestMeta): Promise<void> {
    const [spent] = await tx
      .update(mfaChallenges)
      .set({ consumedAt: new Date() })
      .where(and(eq(mfaChallenges.id, challenge.id), isNull(mfaChallenges.consumedAt), gt(mfaChallenges.expiresAt, sql`now()`)))
      .returning({ id: mfaChallenges.id });
    if (!spent) await this.refuse(challenge.user, meta, 'used');
  }

  /** Spends the challenge and starts the login's session with what the user proved, audited as `mfa.verify`. */
  complete(challenge: OpenChallenge, amr: AuthenticationMethod[], method: ChallengeMethod, meta: RequestMeta): Promise<TokenPair> {
    const { user } = challenge;
    return this.db.transaction(async (tx) => {
      await this.consume(tx, challenge, meta);
      await recordUserEvent(this.audit, tx, meta, user, { eventType: 'mfa.verify', status: 'success', context: { method } });
      return this.startSession(tx, user, amr, meta);
    });
  }

  startSession(tx: Queryable, user: LoginUser, amr: AuthenticationMethod[], meta: RequestMeta): Promise<TokenPair> {
    return startLoginSession({ sessions: this.sessions, audit: this.audit }, tx, user, amr, meta);
  }

  async countFailure(challengeId: string): Promise<void> {
    const failures = sql`${mfaChallenges.failedAttempts} + 1`;
    await this.db
      .update(mfaChallenges)
      .set({ failedAttempts: failures, consumedAt: sql`case when ${failures} >= ${CHALLENGE_MAX_FAILURES} then now() else ${mfaChallenges.consumedAt} end` })
      .where(eq(mfaChallenges.id, challengeId));
  }
}
