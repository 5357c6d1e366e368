import { execFile } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const ROOT = fileURLToPath(new URL('../', import.meta.url));

/**
 * A new directory holding the service as the image does (the build, package.json, the spec and
 * the migrations), built apart from dist/ so that parallel builds never race. `node_modules`
 * links either the whole development install or, as in the image, argon2's native addon only.
 */
export async function buildAppDirectory(nodeModules: 'all' | 'native-only', prefix = 'fm-auth-app-'): Promise<string> {
  const app = mkdtempSync(join(tmpdir(), prefix));
  await promisify(execFile)(process.execPath, ['--import', 'tsx', 'scripts/build.ts', '--outdir', join(app, 'dist')], { cwd: ROOT });
  for (const source of ['package.json', 'spec', 'drizzle']) cpSync(join(ROOT, source), join(app, source), { recursive: true });
  if (nodeModules === 'all') {
    symlinkSync(join(ROOT, 'node_modules'), join(app, 'node_modules'));
  } else {
    mkdirSync(join(app, 'node_modules'));
    symlinkSync(join(ROOT, 'node_modules/@node-rs'), join(app, 'node_modules/@node-rs'));
  }
  return app;
}
