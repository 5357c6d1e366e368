import { createHash } from 'node:crypto';
import { RateLimiterRes } from 'rate-limiter-flexible';
import type { LimiterFactory } from '../auth/limiters.js';
import type { MailConfig } from '../config/index.js';
import { AppError } from '../core/errors.js';
import type { RequestMeta } from '../core/request-meta.js';

const HOUR_SECONDS = 3600;

const addressKey = (email: string) => createHash('sha256').update(email.trim().toLowerCase()).digest('hex');

/**
 * How much mail anyone may make the service send, in counters every instance shares: per client
 * (past it a 429) and per address (silently: a 429 there would let anyone block another person's
 * mail, and would tell which addresses were asked for).
 */
export class MailBudget {
  private readonly perAddress;
  private readonly perClient;

  constructor(
    limiters: LimiterFactory,
    private readonly config: Pick<MailConfig, 'maxPerAddressPerHour' | 'maxPerClientPerHour'>,
    /** Audits and counts a refusal by a limit, as every other limiter does. */
    private readonly recordThrottling: (limiter: string, meta: RequestMeta) => Promise<void>,
  ) {
    const window = { durationSeconds: HOUR_SECONDS };
    this.perAddress = limiters({ name: 'mail_address', points: config.maxPerAddressPerHour, ...window });
    this.perClient = limiters({ name: 'mail_client', points: config.maxPerClientPerHour, ...window });
  }

  /** Spends one of the client's mails, or refuses with 429 `rate_limited`. */
  async spendClient(meta: RequestMeta): Promise<void> {
    try {
      await this.perClient.consume(meta.ip ?? 'unknown');
    } catch (err) {
      if (!(err instanceof RateLimiterRes)) throw err;
      if (err.consumedPoints === this.config.maxPerClientPerHour + 1) await this.recordThrottling('mail_client', meta);
      const retryAfter = String(Math.max(1, Math.ceil(err.msBeforeNext / 1000)));
      throw new AppError(429, 'rate_limited', `Too many mail requests; try again in ${retryAfter} seconds`, { headers: { 'Retry-After': retryAfter } });
    }
  }

  /** Spends one of the address's mails; answers false when it has none left. */
  async spendAddress(email: string, meta: RequestMeta): Promise<boolean> {
    try {
      await this.perAddress.consume(addressKey(email));
      return true;
    } catch (err) {
      if (!(err instanceof RateLimiterRes)) throw err;
      if (err.consumedPoints === this.config.maxPerAddressPerHour + 1) await this.recordThrottling('mail_address', meta);
      return false;
    }
  }
}
