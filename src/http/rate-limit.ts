import type { Request, RequestHandler, Response } from 'express';
import { type RateLimiterAbstract, RateLimiterRes } from 'rate-limiter-flexible';
import { AppError } from '../core/errors.js';

export interface RateLimitPolicy {
  /** Names the policy in the RateLimit headers and the metric label. */
  name: string;
  limiter: RateLimiterAbstract;
  points: number;
  windowSeconds: number;
}

/** RateLimit and RateLimit-Policy as the IETF httpapi draft writes them (structured-field lists). */
function announce(res: Response, policy: RateLimitPolicy, state: RateLimiterRes): void {
  res.append('RateLimit-Policy', `"${policy.name}";q=${policy.points};w=${policy.windowSeconds}`);
  res.append('RateLimit', `"${policy.name}";r=${state.remainingPoints};t=${Math.ceil(state.msBeforeNext / 1000)}`);
}

/**
 * Spends one point of the client's budget or answers 429 with Retry-After. `onExceeded` runs
 * once per client and window, at the first refusal, so a flood leaves one audit row, not one per request.
 */
export function rateLimit(policy: RateLimitPolicy, keyOf: (req: Request) => string, onExceeded: (res: Response) => Promise<void>): RequestHandler {
  return async (req, res, next) => {
    let state: RateLimiterRes;
    try {
      state = await policy.limiter.consume(keyOf(req));
    } catch (err) {
      if (!(err instanceof RateLimiterRes)) throw err;
      announce(res, policy, err);
      if (err.consumedPoints === policy.points + 1) await onExceeded(res);
      const retryAfter = String(Math.max(1, Math.ceil(err.msBeforeNext / 1000)));
      throw new AppError(429, 'rate_limited', `Too many requests; try again in ${retryAfter} seconds`, { headers: { 'Retry-After': retryAfter } });
    }
    announce(res, policy, state);
    next();
  };
}
