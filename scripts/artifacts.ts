import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { renderApiReference } from './api-reference.js';
import { buildPostmanCollection } from './postman.js';

export const ROOT = new URL('..', import.meta.url).pathname;
export const SPEC_PATH = join(ROOT, 'spec/openapi.yaml');

/** A file derived from the spec: committed, never edited by hand, rebuilt by `npm run generate`. */
export interface Artifact {
  path: string;
  build(): Promise<string>;
}

function bin(name: string): string {
  return join(ROOT, 'node_modules/.bin', name);
}

async function buildTypes(): Promise<string> {
  const scratch = mkdtempSync(join(tmpdir(), 'fm-auth-types-'));
  try {
    const out = join(scratch, 'openapi.ts');
    execFileSync(bin('openapi-typescript'), [SPEC_PATH, '--redocly', join(ROOT, 'scripts/types.redocly.yaml'), '-o', out], {
      stdio: 'pipe',
    });
    return readFileSync(out, 'utf8');
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

export const ARTIFACTS: Artifact[] = [
  { path: 'generated/openapi.ts', build: buildTypes },
  {
    path: 'postman/fm-auth.postman_collection.json',
    build: async () => `${JSON.stringify(await buildPostmanCollection(SPEC_PATH), null, 2)}\n`,
  },
  {
    // Only the section between the markers is generated; the rest of the page is written by hand.
    path: 'API_REFERENCE.md',
    build: async () => renderApiReference(SPEC_PATH, readFileSync(join(ROOT, 'API_REFERENCE.md'), 'utf8')),
  },
];
