import type { PageRequest } from '../db/paginate.js';
import { AppError } from '../core/errors.js';

/**
 * The fields a partial update (PUT) was given: absent ones are dropped, an explicit null stays
 * (the spec decides which fields accept null).
 */
export function givenFields<T extends Record<string, unknown>>(fields: T): Partial<T> {
  return Object.fromEntries(Object.entries(fields).filter(([, value]) => value !== undefined)) as Partial<T>;
}

/** The page a list request asks for, with the spec's defaults (skip 0, limit 100). */
export function pageOf(query: { skip?: number; limit?: number }): PageRequest {
  const page = { skip: query.skip ?? 0, limit: query.limit ?? 100 };
  // The validator's integer check lets `Infinity` through (Infinity % 1 is NaN, not truthy).
  for (const [name, value] of Object.entries(page)) {
    if (!Number.isSafeInteger(value))
      throw AppError.validation('request_query_invalid', `${name} must be a whole number`, [{ path: `/query/${name}`, message: 'must be a whole number' }]);
  }
  return page;
}

// RFC 3339 allows a leap second (23:59:60); JavaScript's Date does not.
const LEAP_SECOND = /:60(?=(\.\d+)?(Z|[+-]\d\d:\d\d)$)/i;

/** An RFC 3339 query timestamp as a Date; a leap second is the instant the next second starts. */
export function timestampOf(name: string, value: string | undefined): Date | undefined {
  if (value === undefined) return undefined;
  const leap = LEAP_SECOND.test(value);
  const date = new Date(leap ? value.replace(LEAP_SECOND, ':59') : value);
  if (Number.isNaN(date.getTime())) {
    throw AppError.validation('request_query_invalid', `${name} is not a valid date-time`, [{ path: `/query/${name}`, message: 'must be a valid RFC 3339 date-time' }]);
  }
  return leap ? new Date(date.getTime() + 1000) : date;
}
