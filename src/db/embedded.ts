import { mkdirSync } from 'node:fs';
import { PGlite } from '@electric-sql/pglite';
import { drizzle } from 'drizzle-orm/pglite';
import { migrate } from 'drizzle-orm/pglite/migrator';
import { MIGRATIONS_FOLDER } from '../package-files.js';
import { type DatabaseConfig, type DatabaseHandle, type DatabaseOptions, migrationsCheck, queryLogger } from './handle.js';
import { instrumentPglite } from './instrument.js';
import { schema } from './schema.js';

/** The embedded PostgreSQL (PGlite) in DATA_DIR: for development and trials, never in the image. */
export function openEmbeddedDatabase(config: DatabaseConfig, options: DatabaseOptions): DatabaseHandle {
  const { dataDir } = config;
  mkdirSync(dataDir, { recursive: true });
  const client = new PGlite(dataDir);
  const { observer } = options;
  const db = drizzle(observer ? instrumentPglite(client, observer) : client, { schema, logger: queryLogger(config, options) });
  const migrationsApplied = migrationsCheck();
  return {
    db,
    description: `embedded PostgreSQL (PGlite) in ${dataDir}`,
    poolSize: 1,
    migrate: () => migrate(db, { migrationsFolder: MIGRATIONS_FOLDER }),
    migrationsApplied: () => migrationsApplied(db),
    close: () => client.close(),
  };
}
