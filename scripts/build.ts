import { cpSync, existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { build, type Plugin } from 'esbuild';
import { COMMON_PASSWORDS_FILE, CONSUMER_DOMAINS_FILE, REDOC_BUNDLE_FILE } from '../src/package-files.js';
import { buildClient } from './build-client.js';

/**
 * Packages the bundle leaves out: argon2 is a native addon the production install brings (the image
 * copies it), and the embedded database is imported only without DATABASE_URL, never in the image.
 */
const RUNTIME_EXTERNALS = ['@node-rs/argon2', '@electric-sql/pglite'];
/** `--outdir DIR` builds elsewhere (tests and the benchmark, so they never race over dist/). */
const OUTDIR = process.argv.includes('--outdir') ? (process.argv[process.argv.indexOf('--outdir') + 1] as string) : 'dist';

/**
 * rate-limiter-flexible loads drizzle-orm through an import whose specifier is computed at run time
 * (to hide it from bundlers), which no bundle can satisfy: point it at the module literally. The
 * build fails when a new version changes that code, rather than a login failing in production.
 */
const drizzleForRateLimiter: Plugin = {
  name: 'drizzle-for-rate-limiter',
  setup(context) {
    context.onLoad({ filter: /rate-limiter-flexible[\\/]lib[\\/]RateLimiterDrizzle\.js$/ }, async ({ path }) => {
      const source = await readFile(path, 'utf8');
      const literal = source
        .replace('await importModule(`${getPackageName()}`)', "await import('drizzle-orm')")
        .replace('await importModule(`${getPackageName()}/sql`, { optional: true })', "await import('drizzle-orm/sql')");
      if (literal.includes('importModule(`')) throw new Error(`${path}: its computed import of drizzle-orm changed; update this plugin`);
      return { contents: literal, loader: 'js' };
    });
  },
};

/**
 * express-openapi-validator finds a request's operation by compiling the path pattern of every
 * route before the matching one, on every request (5 % of an authenticated read's CPU). The
 * patterns and options never change at run time: compile each once. The build fails when a new
 * version changes that code, so the plugin cannot silently stop applying.
 */
const validatorRouteRegexpsOnce: Plugin = {
  name: 'validator-route-regexps-once',
  setup(context) {
    context.onLoad({ filter: /express-openapi-validator[\\/]dist[\\/]middlewares[\\/]openapi\.metadata\.js$/ }, async ({ path }) => {
      const source = await readFile(path, 'utf8');
      const call = '(0, path_to_regexp_1.pathToRegexp)(expressRoute, pathOpts)';
      if (!source.includes(call)) throw new Error(`${path}: its route lookup changed; update this plugin`);
      const memoized = `const compiledRoutes = new Map();
function compiledRoute(route, options) {
  const key = \`\${options.sensitive}\${options.strict}\${route}\`;
  let compiled = compiledRoutes.get(key);
  if (!compiled) compiledRoutes.set(key, (compiled = (0, path_to_regexp_1.pathToRegexp)(route, options)));
  return compiled;
}
`;
      return { contents: `${source.replace(call, 'compiledRoute(expressRoute, pathOpts)')}\n${memoized}`, loader: 'js' };
    });
  },
};

// The service, its health check and its admin CLI, each bundled with every JavaScript dependency
// into dist/ (shared code in dist/chunks/), so the image needs no node_modules but argon2's.
// Types are checked by `npm run typecheck`; this only strips them. Whitespace and names are kept so
// that a stack trace in the log still reads. A fresh build, but `npm run docs`'s dist/docs stays.
for (const entry of existsSync(OUTDIR) ? readdirSync(OUTDIR) : []) if (entry !== 'docs') rmSync(`${OUTDIR}/${entry}`, { recursive: true, force: true });
await build({
  entryPoints: { main: 'src/main.ts', healthcheck: 'src/healthcheck.ts', 'cli/admin': 'src/cli/admin.ts' },
  outdir: OUTDIR,
  chunkNames: 'chunks/[name]-[hash]',
  bundle: true,
  splitting: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  external: RUNTIME_EXTERNALS,
  minifySyntax: true,
  keepNames: true,
  // CommonJS dependencies call require() for Node's built-ins; an ES module has no require of its own.
  banner: { js: "import { createRequire as createRequireForBundle } from 'node:module'; const require = createRequireForBundle(import.meta.url);" },
  plugins: [drizzleForRateLimiter, validatorRouteRegexpsOnce],
  logLevel: 'warning',
});
// esbuild writes strings and names as ASCII, but keeps its dependencies' comments as they are, and
// one “ or § in a comment makes V8 hold the whole file's source as UTF-16: twice its size in
// memory for the life of the process (14 MB here). As \u escapes the comments read the same.
for (const file of readdirSync(OUTDIR, { recursive: true, encoding: 'utf8' }).filter((name) => name.endsWith('.js'))) {
  const path = `${OUTDIR}/${file}`;
  const source = readFileSync(path, 'utf8');
  const ascii = source.replace(/[\u0080-\uffff]/g, (unit) => `\\u${unit.charCodeAt(0).toString(16).padStart(4, '0')}`);
  if (ascii !== source) writeFileSync(path, ascii);
}
// The source tree's copies (package-files.ts names them, run from src/ as this script is) go next to the code.
cpSync(COMMON_PASSWORDS_FILE, `${OUTDIR}/auth/common-passwords.txt`);
cpSync(CONSUMER_DOMAINS_FILE, `${OUTDIR}/modules/domains/consumer-domains.txt`);
await buildClient(`${OUTDIR}/client`);
// GET /docs inlines Redoc's standalone bundle.
cpSync(REDOC_BUNDLE_FILE, `${OUTDIR}/docs/redoc.standalone.js`);
console.log(`built ${OUTDIR}/`);
