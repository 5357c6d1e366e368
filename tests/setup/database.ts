import type { TestProject } from 'vitest/node';
import { openDatabase } from '../../src/db/client.js';
import { createEmptyDatabase } from '../helpers/database.js';

declare module 'vitest' {
  export interface ProvidedContext {
    databaseUrl: string;
  }
}

/** One fresh database per test run, migrated by the production code, dropped afterwards. */
export default async function setup(project: TestProject) {
  const scratch = await createEmptyDatabase('test');
  const database = await openDatabase({ url: scratch.url, dataDir: '', echo: false });
  await database.migrate();
  await database.close();
  project.provide('databaseUrl', scratch.url);
  return () => scratch.drop();
}
