import type { TestProject } from 'vitest/node';
import { createDatabase } from '../helpers/database.js';

declare module 'vitest' {
  export interface ProvidedContext {
    databaseUrl: string;
  }
}

/** One fresh database per test run, migrated by the production code, dropped afterwards. */
export default async function setup(project: TestProject) {
  const database = await createDatabase('test');
  project.provide('databaseUrl', database.url);
  return () => database.drop();
}
