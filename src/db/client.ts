import { drizzle as drizzlePostgres } from 'drizzle-orm/postgres-js';
import { migrate as migratePostgres } from 'drizzle-orm/postgres-js/migrator';
import postgres from 'postgres';
import { MIGRATIONS_FOLDER } from '../package-files.js';
import { unavailabilityCode } from './errors.js';
import { type DatabaseConfig, type DatabaseHandle, type DatabaseOptions, migrationsCheck, queryLogger } from './handle.js';
import { instrumentPostgres } from './instrument.js';
import { schema } from './schema.js';

// The handle and the driver-neutral types are in handle.ts, shared with embedded.ts; importers keep this path.
export type { Database, DatabaseConfig, DatabaseHandle, DatabaseOptions, Queryable, Schema, Transaction } from './handle.js';

// Any constant works: it only has to be the same for every instance of the service.
const MIGRATION_LOCK_KEY = 7_318_275_031;
const POSTGRES_POOL_SIZE = 10;

function describePostgres(url: string): string {
  const parsed = new URL(url);
  return `PostgreSQL at ${parsed.hostname}:${parsed.port || '5432'}${parsed.pathname}`;
}

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
      await database.migrate();
      return;
    } catch (error) {
      const reason = unavailabilityCode(error);
      if (reason === undefined || Date.now() + RETRY_INTERVAL_MS > deadline) throw error;
      onRetry(reason);
      await new Promise((resolve) => setTimeout(resolve, RETRY_INTERVAL_MS));
    }
  }
}
