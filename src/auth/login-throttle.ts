import { createHash } from 'node:crypto';
import { eq, sql } from 'drizzle-orm';
import type { Database, Queryable } from '../db/client.js';
import { loginThrottles } from '../db/schema.js';
import { AppError } from '../http/errors.js';

export interface ThrottlePolicy {
  /** Consecutive failures allowed before the email is locked. */
  maxFailures: number;
  /** The first lock; each further failure doubles it, up to MAX_LOCK_SECONDS. */
  lockSeconds: number;
}

const MAX_LOCK_SECONDS = 15 * 60;

function keyOf(email: string): string {
  return createHash('sha256').update(email.trim().toLowerCase()).digest('hex');
}

/**
 * Slows password guessing per email with exponential lockouts. Unknown emails are throttled
 * exactly like real ones, so a 429 never reveals that an account exists.
 */
export class LoginThrottle {
  constructor(
    private readonly db: Database,
    private readonly policy: ThrottlePolicy,
  ) {}

  /** Throws 429 with Retry-After while the email is locked. */
  async assertNotLocked(email: string): Promise<void> {
    const [row] = await this.db
      .select({ lockedUntil: loginThrottles.lockedUntil })
      .from(loginThrottles)
      .where(eq(loginThrottles.emailHash, keyOf(email)));
    const waitMs = (row?.lockedUntil?.getTime() ?? 0) - Date.now();
    if (waitMs > 0) {
      const retryAfter = String(Math.ceil(waitMs / 1000));
      throw new AppError(429, 'too-many-attempts', `Too many failed attempts; try again in ${retryAfter} seconds`, {
        headers: { 'Retry-After': retryAfter },
      });
    }
  }

  async recordFailure(db: Queryable, email: string): Promise<void> {
    const { maxFailures, lockSeconds } = this.policy;
    // Failures older than a day no longer count: the streak starts again.
    const failures = sql`case when ${loginThrottles.lastFailureAt} < now() - interval '1 day' then 1 else ${loginThrottles.failures} + 1 end`;
    await db
      .insert(loginThrottles)
      .values({ emailHash: keyOf(email), failures: 1 })
      .onConflictDoUpdate({
        target: loginThrottles.emailHash,
        set: {
          failures,
          lastFailureAt: sql`now()`,
          lockedUntil: sql`case when ${failures} >= ${maxFailures}
            then now() + make_interval(secs => least(${lockSeconds} * power(2, ${failures} - ${maxFailures}), ${MAX_LOCK_SECONDS}))
            else null end`,
        },
      });
  }

  async reset(db: Queryable, email: string): Promise<void> {
    await db.delete(loginThrottles).where(eq(loginThrottles.emailHash, keyOf(email)));
  }
}
