import { count } from 'drizzle-orm';
import { readMigrationFiles } from 'drizzle-orm/migrator';
import { type PgDatabase, type PgQueryResultHKT, pgSchema, serial } from 'drizzle-orm/pg-core';
import type { Config } from '../config/index.js';
import type { QueryObserver } from '../observability/metrics.js';
import { MIGRATIONS_FOLDER } from '../package-files.js';
import type { schema } from './schema.js';

// What both drivers share (client.ts for postgres.js, embedded.ts for PGlite): the handle they
// return and the helpers they both use. Its own file, so that embedded.ts, which client.ts loads
// on demand, needs nothing from client.ts.

export type Schema = typeof schema;
/** The driver-neutral Drizzle handle the services use: postgres.js and PGlite both satisfy it. */
export type Database = PgDatabase<PgQueryResultHKT, Schema>;
export type Transaction = Parameters<Parameters<Database['transaction']>[0]>[0];
/** A query runner: the database itself or an open transaction. */
export type Queryable = Database | Transaction;

export interface DatabaseHandle {
  db: Database;
  /** Human-readable, for the start-up log: never includes credentials. */
  description: string;
  /** How many connections the driver may open. */
  poolSize: number;
  migrate(): Promise<void>;
  /** True when every migration shipped with this build has been applied. */
  migrationsApplied(): Promise<boolean>;
  close(): Promise<void>;
}

export interface DatabaseOptions {
  observer?: QueryObserver;
  /** Receives each SQL statement (never its parameters) when DATABASE_ECHO is on. */
  echo?: (statement: string) => void;
  /** Receives every statement sent to PostgreSQL with its parameters (tests' query plans); never logged. */
  onQuery?: (statement: string, parameters: readonly unknown[]) => void;
}

export type DatabaseConfig = Pick<Config['database'], 'url' | 'dataDir' | 'echo'>;

// Drizzle's own bookkeeping table; declared here (not in schema.ts) so drizzle-kit leaves it alone.
const appliedMigrations = pgSchema('drizzle').table('__drizzle_migrations', { id: serial('id').primaryKey() });

async function countAppliedMigrations(db: Database): Promise<number> {
  const [row] = await db.select({ applied: count() }).from(appliedMigrations);
  return row?.applied ?? 0;
}

/** True when every migration shipped with this build has been applied. */
export function migrationsCheck(): (db: Database) => Promise<boolean> {
  const expected = readMigrationFiles({ migrationsFolder: MIGRATIONS_FOLDER }).length;
  return async (db) => {
    try {
      return (await countAppliedMigrations(db)) >= expected;
    } catch {
      return false;
    }
  };
}

/** Drizzle's statement log (never the parameters), when DATABASE_ECHO is on. */
export function queryLogger(config: Pick<Config['database'], 'echo'>, options: DatabaseOptions) {
  return config.echo && options.echo ? { logQuery: options.echo } : undefined;
}
