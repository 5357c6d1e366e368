import { rmSync } from 'node:fs';
import type { TestProject } from 'vitest/node';
import { buildAppDirectory } from '../../scripts/app-directory.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** The service built once for the run, laid out as the image holds it (dist/, spec, migrations). */
    appDirectory: string;
  }
}

/** One build per run for the tests that start the service or its CLI as processes. */
export default async function setup(project: TestProject) {
  const appDirectory = await buildAppDirectory('all', 'fm-auth-test-app-');
  project.provide('appDirectory', appDirectory);
  return () => rmSync(appDirectory, { recursive: true, force: true });
}
