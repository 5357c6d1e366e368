import postgres from 'postgres';

// The server that hosts the test databases (trust auth on this machine and in CI).
const TEST_ADMIN_URL = process.env.TEST_DATABASE_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

export interface ScratchDatabase {
  url: string;
  drop(): Promise<void>;
}

/**
 * An empty database on the admin server: the run's own (tests/setup/database.ts), the benchmark's,
 * or one beside the run's for a test whose effects must not reach the other test files (they
 * all share the run's database). Migrate it with the service's own migrations.
 */
export async function createEmptyDatabase(label: string, adminUrl = TEST_ADMIN_URL): Promise<ScratchDatabase> {
  const name = `fm_auth_${label}_${Date.now()}_${process.pid}`;
  const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
  await admin.unsafe(`create database "${name}"`);
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      await admin.unsafe(`drop database if exists "${name}" with (force)`);
      await admin.end();
    },
  };
}
