import type { PGlite, Transaction as PgliteTransaction } from '@electric-sql/pglite';
import type { Sql } from 'postgres';
import type { QueryObserver } from '../observability/metrics.js';

function timed<T>(observer: QueryObserver, run: () => Promise<T>): Promise<T> {
  const start = performance.now();
  observer.started();
  const done = () => observer.finished((performance.now() - start) / 1000);
  const pending = run();
  pending.then(done, done);
  return pending;
}

/**
 * postgres.js queries are lazy promises that run when first awaited (`handle`). Wrapping
 * `handle` times the real round trip; `begin` and `savepoint` hand out their own `sql`, which
 * is wrapped the same way so transactions are measured too.
 */
export function instrumentPostgres(sql: Sql, observer: QueryObserver): Sql {
  const wrapScoped =
    (method: 'begin' | 'savepoint') =>
    (...args: unknown[]) => {
      const callback = args.pop() as (scoped: Sql) => unknown;
      const original = Reflect.get(sql, method) as (...a: unknown[]) => unknown;
      return original.apply(sql, [...args, (scoped: Sql) => callback(instrumentPostgres(scoped, observer))]);
    };
  return new Proxy(sql, {
    get(target, property) {
      if (property === 'begin' || property === 'savepoint') return wrapScoped(property);
      if (property !== 'unsafe') return Reflect.get(target, property) as unknown;
      return (...args: Parameters<Sql['unsafe']>) => {
        const query = target.unsafe(...args) as ReturnType<Sql['unsafe']> & { handle(): Promise<void>; executed: boolean };
        const handle = query.handle.bind(query);
        query.handle = () => {
          if (!query.executed) void timed(observer, () => Promise.prototype.then.call(query, undefined, () => undefined));
          return handle();
        };
        return query;
      };
    },
  });
}

/** PGlite runs one query at a time on its single connection; time `query` inside and outside transactions. */
export function instrumentPglite(client: PGlite, observer: QueryObserver): PGlite {
  const wrapQueries = <C extends PGlite | PgliteTransaction>(target: C): C =>
    new Proxy(target, {
      get(inner, property) {
        const value: unknown = Reflect.get(inner, property);
        if (property === 'query') {
          return (...args: unknown[]) => timed(observer, () => (value as (...a: unknown[]) => Promise<unknown>).apply(inner, args));
        }
        if (property === 'transaction') {
          return (callback: (tx: PgliteTransaction) => Promise<unknown>) => (value as PGlite['transaction']).call(inner, (tx) => callback(wrapQueries(tx)));
        }
        return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(inner) : value;
      },
    });
  return wrapQueries(client);
}
