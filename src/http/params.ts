import type { PageRequest } from '../db/paginate.js';

/**
 * The fields a partial update (PUT) was given: absent ones are dropped, an explicit null stays
 * (the spec decides which fields accept null).
 */
export function givenFields<T extends Record<string, unknown>>(fields: T): Partial<T> {
  return Object.fromEntries(Object.entries(fields).filter(([, value]) => value !== undefined)) as Partial<T>;
}

/** The page a list request asks for, with the spec's defaults (skip 0, limit 100). */
export function pageOf(query: { skip?: number; limit?: number }): PageRequest {
  return { skip: query.skip ?? 0, limit: query.limit ?? 100 };
}
