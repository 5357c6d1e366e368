import type { Redis } from 'ioredis';
import { RateLimiterDrizzle, RateLimiterMemory, RateLimiterRedis, type RateLimiterAbstract } from 'rate-limiter-flexible';
import type { Database } from '../db/client.js';
import { rateLimits } from '../db/schema.js';

export interface LimiterOptions {
  /** Names the counters (and prefixes their keys), e.g. `login_client`. */
  name: string;
  points: number;
  durationSeconds: number;
  /** Once over the limit, refuse for this long (0: until the window ends). */
  blockSeconds?: number;
}

/** Makes counters every instance of the service shares: in Redis when configured, else in the database. */
export type LimiterFactory = (options: LimiterOptions) => RateLimiterAbstract;

const KEY_PREFIX = 'fm-auth';

export function sharedLimiters(db: Database, redis: Redis | null): LimiterFactory {
  return ({ name, points, durationSeconds, blockSeconds = 0 }) => {
    const common = { keyPrefix: `${KEY_PREFIX}:${name}`, points, duration: durationSeconds, blockDuration: blockSeconds };
    if (redis) {
      // While Redis is unreachable each instance counts on its own rather than failing every login.
      return new RateLimiterRedis({ ...common, storeClient: redis, insuranceLimiter: new RateLimiterMemory(common) });
    }
    // The retention job prunes expired counters (src/db/retention.ts).
    return new RateLimiterDrizzle({ ...common, storeClient: db, schema: rateLimits, clearExpiredByTimeout: false });
  };
}

/** Counters of this instance only: for the generous global limit, checked on every request. */
export function localLimiter({ name, points, durationSeconds, blockSeconds = 0 }: LimiterOptions): RateLimiterAbstract {
  return new RateLimiterMemory({ keyPrefix: `${KEY_PREFIX}:${name}`, points, duration: durationSeconds, blockDuration: blockSeconds });
}
