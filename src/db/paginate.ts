import { count, type SQL } from 'drizzle-orm';
import type { PgColumn, PgTable } from 'drizzle-orm/pg-core';
import type { Queryable } from './client.js';

export interface PageRequest {
  skip: number;
  limit: number;
}

export interface Page<T> {
  items: T[];
  /** How many rows the whole list holds (the X-Total-Count header). */
  total: number;
}

/** One page of `table` within `scope`, in a stable `order`, with the total across all pages. */
export async function paginate<T extends PgTable>(db: Queryable, table: T, scope: SQL | undefined, order: (SQL | PgColumn)[], page: PageRequest): Promise<Page<T['$inferSelect']>> {
  const [items, [totals]] = await Promise.all([
    db
      .select()
      .from(table as PgTable)
      .where(scope)
      .orderBy(...order)
      .offset(page.skip)
      .limit(page.limit),
    db
      .select({ total: count() })
      .from(table as PgTable)
      .where(scope),
  ]);
  return { items, total: totals?.total ?? 0 };
}
