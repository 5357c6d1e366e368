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
    if (!Number.isSafeInteger(value)) throw AppError.validation('request_query_invalid', `${name} must be a whole number`, [{ path: `/query/${name}`, message: 'must be a whole number' }]);
  }
  return page;
}
