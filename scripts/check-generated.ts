import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ARTIFACTS, ROOT } from './artifacts.js';

const problems: string[] = [];

for (const artifact of ARTIFACTS) {
  const target = join(ROOT, artifact.path);
  const committed = existsSync(target) ? readFileSync(target, 'utf8') : null;
  if (committed !== (await artifact.build())) {
    problems.push(`${artifact.path} differs from the spec: run npm run generate and commit the result`);
  }
}

// Schema drift: drizzle-kit run against a copy of the migrations must find nothing to add.
const scratch = mkdtempSync(join(tmpdir(), 'fm-auth-drizzle-'));
try {
  cpSync(join(ROOT, 'drizzle'), scratch, { recursive: true });
  const before = readdirSync(scratch).length;
  execFileSync(join(ROOT, 'node_modules/.bin/drizzle-kit'), ['generate'], {
    cwd: ROOT,
    env: { ...process.env, DRIZZLE_OUT: scratch },
    stdio: 'pipe',
  });
  if (readdirSync(scratch).length !== before) {
    problems.push('src/db/schema.ts has changes no migration covers: run npm run db:generate and commit the migration');
  }
} finally {
  rmSync(scratch, { recursive: true, force: true });
}

if (problems.length > 0) {
  console.error(problems.map((problem) => `✗ ${problem}`).join('\n'));
  process.exit(1);
}
console.log(`✓ ${ARTIFACTS.length} generated files and the migrations match their sources`);
