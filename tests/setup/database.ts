import { randomUUID } from 'node:crypto';
import type { TestProject } from 'vitest/node';
import { openDatabase } from '../../src/db/client.js';
import { runAdminCli } from '../helpers/commands.js';
import { createEmptyDatabase } from '../helpers/database.js';
import { STRONG_PASSWORD } from '../helpers/fixtures.js';

declare module 'vitest' {
  export interface ProvidedContext {
    databaseUrl: string;
    superadmin: { email: string; password: string };
  }
}

/** One fresh database per test run, migrated by the production code, dropped afterwards. Runs after build.ts. */
export default async function setup(project: TestProject) {
  const scratch = await createEmptyDatabase('test');
  const database = await openDatabase({ url: scratch.url, dataDir: '', echo: false });
  await database.migrate();
  await database.close();
  project.provide('databaseUrl', scratch.url);
  // One platform super-admin for the run, made by the real CLI: each CLI start costs seconds.
  const superadmin = { email: `root-${randomUUID()}@fm-auth.test`, password: STRONG_PASSWORD };
  const created = await runAdminCli(scratch.url, ['create-superadmin', '--email', superadmin.email], `${STRONG_PASSWORD}\n`, project.getProvidedContext().appDirectory);
  if (created.status !== 0) throw new Error(`create-superadmin failed:\n${created.stdout}${created.stderr}`);
  project.provide('superadmin', superadmin);
  return () => scratch.drop();
}
