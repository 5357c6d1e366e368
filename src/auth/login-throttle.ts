import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { type RateLimiterAbstract, RateLimiterRes } from 'rate-limiter-flexible';
import type { LoginThrottleConfig } from '../config/index.js';
import { AppError } from '../core/errors.js';
import type { LimiterFactory } from './limiters.js';
import type { RequestMeta } from '../core/request-meta.js';

/** What a throttled attempt reports, for the audit trail and the metrics. */
export interface ThrottledAttempt {
  limiter: 'login_account_client' | 'login_client' | 'password_change' | 'mfa_account_client' | 'mfa_account';
  meta: RequestMeta;
  userId?: string;
}

/** One reserved password (or second-factor code) check: the caller settles it with the outcome. */
export interface PasswordAttempt {
  succeeded(): Promise<void>;
  failed(): Promise<void>;
}

// The slow-down doubles from this with each failure past the threshold, up to LOGIN_SLOWDOWN_MAX_MS.
const FIRST_DELAY_MS = 100;
const UNKNOWN_CLIENT = 'unknown';

function emailKey(email: string): string {
  return createHash('sha256').update(email.trim().toLowerCase()).digest('hex');
}

function tooManyAttempts(msBeforeNext: number): AppError {
  const retryAfter = String(Math.max(1, Math.ceil(msBeforeNext / 1000)));
  return new AppError(429, 'login_throttled', `Too many failed attempts; try again in ${retryAfter} seconds`, {
    type: 'too-many-attempts',
    headers: { 'Retry-After': retryAfter },
  });
}

/**
 * Slows password guessing without letting anyone lock anyone else out (the rules Auth0 and
 * Keycloak users expect):
 * - one client, one account: at most `maxFailures` passwords checked per window, then locked;
 *   the check is reserved before the password is verified, so parallel attempts cannot overshoot;
 * - one account, every client: only slowed, by a bounded delay, never locked;
 * - one client, every account (spraying): locked after `ipMaxFailures`;
 * - a signed-in user's password change counts on its own, untouched by others' failed logins;
 * - second-factor codes count per account and client like passwords, and per account from every
 *   client up to `mfaMaxFailures`: a correct password does not reset them, so whoever holds the
 *   password cannot guess codes by logging in again and again.
 * Unknown emails are throttled exactly like real ones, so a 429 never reveals an account. The
 * counters live in Redis or the database, so every instance enforces the same limits.
 */
export class LoginThrottle {
  private readonly perAccountAndClient;
  private readonly perAccount;
  private readonly perClient;
  private readonly perPasswordChange;
  private readonly secondFactorPerAccountAndClient;
  private readonly secondFactorPerAccount;

  constructor(
    limiters: LimiterFactory,
    private readonly policy: LoginThrottleConfig,
    private readonly onThrottled: (attempt: ThrottledAttempt) => Promise<void>,
  ) {
    const window = { durationSeconds: policy.windowSeconds };
    const lock = { points: policy.maxFailures, blockSeconds: policy.lockSeconds, ...window };
    this.perAccountAndClient = limiters({ name: 'login_account_client', ...lock });
    this.perPasswordChange = limiters({ name: 'password_change', ...lock });
    this.secondFactorPerAccountAndClient = limiters({ name: 'mfa_account_client', ...lock });
    this.secondFactorPerAccount = limiters({ name: 'mfa_account', ...lock, points: policy.mfaMaxFailures });
    // Counted, never refused by the library: the slow-down is computed from the count.
    this.perAccount = limiters({ name: 'login_account', points: Number.MAX_SAFE_INTEGER, ...window });
    this.perClient = limiters({ name: 'login_client', points: policy.ipMaxFailures, ...window });
  }

  /** Reserves one password check for this email from this client, or throws 429 with Retry-After. */
  async beginLogin(email: string, meta: RequestMeta): Promise<PasswordAttempt> {
    const client = meta.ip ?? UNKNOWN_CLIENT;
    const account = emailKey(email);
    const spraying = await this.perClient.get(client);
    if (spraying && spraying.consumedPoints >= this.policy.ipMaxFailures) {
      await this.onThrottled({ limiter: 'login_client', meta });
      throw tooManyAttempts(spraying.msBeforeNext);
    }
    const pair = `${account}:${client}`;
    await this.reserve(this.perAccountAndClient, pair, { limiter: 'login_account_client', meta });
    await sleep(this.slowdownMs((await this.perAccount.get(account))?.consumedPoints ?? 0));
    return {
      succeeded: async () => {
        await Promise.all([this.perAccountAndClient.delete(pair), this.perAccount.delete(account)]);
      },
      failed: async () => {
        await Promise.all([this.perAccount.penalty(account), this.perClient.penalty(client)]);
      },
    };
  }

  /** Reserves one check of a signed-in user's current password. */
  async beginPasswordChange(userId: string, meta: RequestMeta): Promise<PasswordAttempt> {
    await this.reserve(this.perPasswordChange, userId, { limiter: 'password_change', meta, userId });
    return {
      succeeded: async () => {
        await this.perPasswordChange.delete(userId);
      },
      // The reserved check stays spent: that is the count.
      failed: async () => {},
    };
  }

  /** Reserves one check of a user's second-factor code (TOTP or recovery code), or throws 429 with Retry-After. */
  async beginSecondFactor(userId: string, meta: RequestMeta): Promise<PasswordAttempt> {
    const client = meta.ip ?? UNKNOWN_CLIENT;
    const spraying = await this.perClient.get(client);
    if (spraying && spraying.consumedPoints >= this.policy.ipMaxFailures) {
      await this.onThrottled({ limiter: 'login_client', meta, userId });
      throw tooManyAttempts(spraying.msBeforeNext);
    }
    const pair = `${userId}:${client}`;
    await this.reserve(this.secondFactorPerAccountAndClient, pair, { limiter: 'mfa_account_client', meta, userId });
    await this.reserve(this.secondFactorPerAccount, userId, { limiter: 'mfa_account', meta, userId });
    return {
      succeeded: async () => {
        await Promise.all([this.secondFactorPerAccountAndClient.delete(pair), this.secondFactorPerAccount.delete(userId)]);
      },
      // The reserved checks stay spent; the client's count of failures grows as for a wrong password.
      failed: async () => {
        await this.perClient.penalty(client);
      },
    };
  }

  private async reserve(limiter: RateLimiterAbstract, key: string, attempt: ThrottledAttempt): Promise<void> {
    try {
      await limiter.consume(key);
    } catch (err) {
      if (!(err instanceof RateLimiterRes)) throw err;
      await this.onThrottled(attempt);
      throw tooManyAttempts(err.msBeforeNext);
    }
  }

  /** Past the threshold, each further failure on the account doubles the wait, up to the bound. */
  private slowdownMs(accountFailures: number): number {
    const excess = accountFailures - this.policy.slowdownAfterFailures;
    if (excess < 0) return 0;
    return Math.min(this.policy.maxDelayMs, FIRST_DELAY_MS * 2 ** Math.min(excess, 20));
  }
}
