import { count } from 'drizzle-orm';
import { readMigrationFiles } from 'drizzle-orm/migrator';
import { type PgDatabase, type PgQueryResultHKT, pgSchema, serial } from 'drizzle-orm/pg-core';
import { drizzle as drizzlePostgres } from 'drizzle-orm/postgres-js';
import { migrate as migratePostgres } from 'drizzle-orm/postgres-js/migrator';
import postgres from 'postgres';
import type { Config } from '../config/index.js';
import { MIGRATIONS_FOLDER } from '../package-files.js';
import { unavailabilityCode } from './errors.js';
import { instrumentPostgres, type QueryObserver } from './instrument.js';
import { schema } from './schema.js';

export type Schema = typeof schema;
/** The driver-neutral Drizzle handle the services use: postgres.js and PGlite both satisfy it. */
export type Database = PgDatabase<PgQueryResultHKT, Schema>;
export type Transaction = Parameters<Parameters<Database['transaction']>[0]>[0];
/** A query runner: the database itself or an open transaction. */
export type Queryable = Database | Transaction;

// Any constant works: it only has to be the same for every instance of the service.
const MIGRATION_LOCK_KEY = 7_318_275_031;
const POSTGRES_POOL_SIZE = 10;

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

function describePostgres(url: string): string {
  const parsed = new URL(url);
  return `PostgreSQL at ${parsed.hostname}:${parsed.port || '5432'}${parsed.pathname}`;
}

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

export interface DatabaseOptions {
  observer?: QueryObserver;
  /** Receives each SQL statement (never its parameters) when DATABASE_ECHO is on. */
  echo?: (statement: string) => void;
  /** Receives every statement sent to PostgreSQL with its parameters (tests' query plans); never logged. */
  onQuery?: (statement: string, parameters: readonly unknown[]) => void;
}

export type DatabaseConfig = Pick<Config['database'], 'url' | 'dataDir' | 'echo'>;

/**
 * PostgreSQL through postgres.js when DATABASE_URL is set; otherwise the embedded database, whose
 * package is loaded only then (production installs leave it out).
 */
export async function openDatabase(config: DatabaseConfig, options: DatabaseOptions = {}): Promise<DatabaseHandle> {
  if (!config.url) {
    const { openEmbeddedDatabase } = await import('./embedded.js');
    return openEmbeddedDatabase(config, options);
  }
  const { observer } = options;
  const url = config.url;
  const client = postgres(url, {
    max: POSTGRES_POOL_SIZE,
    onnotice: () => {},
    connection: { application_name: 'fm-auth' },
    ...(options.onQuery ? { debug: (_connection: number, statement: string, parameters: unknown[]) => options.onQuery?.(statement, parameters) } : {}),
  });
  const db = drizzlePostgres(observer ? instrumentPostgres(client, observer) : client, { schema, logger: queryLogger(config, options) });
  const migrationsApplied = migrationsCheck();
  return {
    db,
    description: describePostgres(url),
    poolSize: POSTGRES_POOL_SIZE,
    async migrate() {
      // One connection holds an advisory lock so that replicas starting together migrate once.
      const lockClient = postgres(url, { max: 1, onnotice: () => {} });
      try {
        await lockClient`select pg_advisory_lock(${MIGRATION_LOCK_KEY})`;
        await migratePostgres(drizzlePostgres(lockClient), { migrationsFolder: MIGRATIONS_FOLDER });
        await lockClient`select pg_advisory_unlock(${MIGRATION_LOCK_KEY})`;
      } finally {
        await lockClient.end();
      }
    },
    migrationsApplied: () => migrationsApplied(db),
    close: () => client.end({ timeout: 5 }),
  };
}

const RETRY_INTERVAL_MS = 1000;

/**
 * Migrates, retrying while the database cannot be reached yet (a container starting beside the
 * service) for up to waitMs; any other failure (wrong password, a broken migration) ends at once.
 */
export async function migrateWhenReachable(database: DatabaseHandle, waitMs: number, onRetry: (reason: string) => void): Promise<void> {
  const deadline = Date.now() + waitMs;
  for (;;) {
    try {
      return await database.migrate();
    } catch (error) {
      const reason = unavailabilityCode(error);
      if (reason === undefined || Date.now() + RETRY_INTERVAL_MS > deadline) throw error;
      onRetry(reason);
      await new Promise((resolve) => setTimeout(resolve, RETRY_INTERVAL_MS));
    }
  }
}

/** Drizzle's statement log (never the parameters), when DATABASE_ECHO is on. */
export function queryLogger(config: Pick<Config['database'], 'echo'>, options: DatabaseOptions) {
  return config.echo && options.echo ? { logQuery: options.echo } : undefined;
}
