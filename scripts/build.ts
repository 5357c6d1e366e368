import { cpSync, existsSync, readdirSync, rmSync } from 'node:fs';
import { build } from 'esbuild';

// One JavaScript file per source file, in the same layout as src/: the service finds its spec,
// migrations and password list relative to its own modules, and dist/ sits where src/ does.
// Types are checked by `npm run typecheck`; this only strips them.
// A fresh build, but the Redoc page `npm run docs` keeps in dist/docs stays.
for (const entry of existsSync('dist') ? readdirSync('dist') : []) if (entry !== 'docs') rmSync(`dist/${entry}`, { recursive: true, force: true });
await build({
  entryPoints: ['src/**/*.ts'],
  outdir: 'dist',
  outbase: 'src',
  platform: 'node',
  format: 'esm',
  target: 'node20',
  sourcemap: true,
  logLevel: 'warning',
});
cpSync('src/auth/common-passwords.txt', 'dist/auth/common-passwords.txt');
console.log('built dist/');
