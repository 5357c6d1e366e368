import postgres from 'postgres';
import { openDatabase } from '../../src/db/client.js';

// The server that hosts the test databases (trust auth on this machine and in CI).
const ADMIN_URL = process.env.TEST_DATABASE_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

export interface ScratchDatabase {
  url: string;
  drop(): Promise<void>;
}

/** A fresh database, migrated by the production code, for a test run or a test that must be alone in one. */
export async function createDatabase(label: string): Promise<ScratchDatabase> {
  const name = `fm_auth_${label}_${Date.now()}_${process.pid}`;
  const admin = postgres(ADMIN_URL, { max: 1, onnotice: () => {} });
  await admin.unsafe(`create database "${name}"`);
  const url = new URL(ADMIN_URL);
  url.pathname = `/${name}`;
  const database = openDatabase({ url: url.toString(), dataDir: '', echo: false });
  await database.migrate();
  await database.close();
  return {
    url: url.toString(),
    async drop() {
      await admin.unsafe(`drop database if exists "${name}" with (force)`);
      await admin.end();
    },
  };
}
