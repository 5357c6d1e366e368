import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { drizzle } from 'drizzle-orm/pglite';
import { migrate } from 'drizzle-orm/pglite/migrator';
import { EMBEDDED_TEMPLATE_SCRIPT, MIGRATIONS_FOLDER, PACKAGE_ROOT } from '../package-files.js';
import { type DatabaseConfig, type DatabaseHandle, type DatabaseOptions, migrationsCheck, queryLogger } from './handle.js';
import { instrumentPglite } from './instrument.js';
import { schema } from './schema.js';

/**
 * PostgreSQL's memory settings for the embedded database, which serves one developer: the default
 * 128 MB of shared buffers alone would be most of its footprint (PGlite's WebAssembly memory never
 * shrinks).
 */
const EMBEDDED_SETTINGS = ['shared_buffers=16MB', 'work_mem=2MB', 'maintenance_work_mem=16MB'];

/**
 * The initialized, migrated data directory that a fresh DATA_DIR starts as a copy of. Named after
 * the PGlite build and the migrations, so an upgrade of either makes a new one instead of reusing a
 * stale one.
 */
function embeddedTemplateDirectory(): string {
  const key = createHash('sha256')
    .update(readFileSync(join(PACKAGE_ROOT, 'node_modules', '@electric-sql', 'pglite', 'package.json')))
    .update(readFileSync(join(MIGRATIONS_FOLDER, 'meta', '_journal.json')))
    .digest('hex')
    .slice(0, 16);
  return join(PACKAGE_ROOT, 'node_modules', '.cache', 'fm-auth', `pglite-${key}`);
}

/**
 * Runs initdb and every migration into the template directory. initdb is PGlite's slowest and
 * hungriest step (seconds, and most of a gigabyte its process keeps): `npm ci` does it once (the
 * `prepare` script), so that the service's first start only copies files.
 */
export async function createEmbeddedTemplate(): Promise<void> {
  const directory = embeddedTemplateDirectory();
  if (existsSync(directory)) return;
  const scratch = `${directory}.${process.pid}.tmp`;
  rmSync(scratch, { recursive: true, force: true });
  mkdirSync(dirname(scratch), { recursive: true });
  const client = new PGlite(scratch, { postgresqlconf: EMBEDDED_SETTINGS });
  try {
    await migrate(drizzle(client), { migrationsFolder: MIGRATIONS_FOLDER });
  } finally {
    await client.close();
  }
  // Two first starts at once: the one that renames second keeps the other's template.
  try {
    renameSync(scratch, directory);
  } catch (err) {
    rmSync(scratch, { recursive: true, force: true });
    if (!existsSync(directory)) throw err;
  }
}

/**
 * Gives an empty or missing DATA_DIR its first contents from the template, made in a child process
 * when `npm ci` did not make it (e.g. `--ignore-scripts`), so that initdb's memory is never the
 * service's. A DATA_DIR that already holds a database is left alone.
 */
function seedDataDirectory(dataDir: string): void {
  if (existsSync(join(dataDir, 'PG_VERSION'))) return;
  if (existsSync(dataDir) && readdirSync(dataDir).length > 0) return;
  const template = embeddedTemplateDirectory();
  if (!existsSync(template)) execFileSync(process.execPath, [...process.execArgv, EMBEDDED_TEMPLATE_SCRIPT], { stdio: 'inherit' });
  cpSync(template, dataDir, { recursive: true });
}

/** The embedded PostgreSQL (PGlite) in DATA_DIR: for development and trials, never in the image. */
export function openEmbeddedDatabase(config: DatabaseConfig, options: DatabaseOptions): DatabaseHandle {
  const { dataDir } = config;
  seedDataDirectory(dataDir);
  const client = new PGlite(dataDir, { postgresqlconf: EMBEDDED_SETTINGS });
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
