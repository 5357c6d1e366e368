import { existsSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Where the package's own files are, from wherever the running code sits: `src/` under tsx, or
 * `dist/` as built, where esbuild bundles modules into shared chunks so a path relative to one
 * source module no longer holds. The package root is the nearest directory with a package.json;
 * the code directory is the top directory under it (src/ or dist/).
 */
function locate(): { packageRoot: string; codeDirectory: string } {
  let directory = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dirname(directory), 'package.json'))) {
    const parent = dirname(directory);
    if (parent === directory) throw new Error('fm-auth: no package.json above the running code');
    directory = parent;
  }
  return { packageRoot: dirname(directory), codeDirectory: directory };
}

const { packageRoot, codeDirectory } = locate();

export const PACKAGE_ROOT = packageRoot;
export const SPEC_FILE = join(packageRoot, 'spec', 'openapi.yaml');
export const MIGRATIONS_FOLDER = join(packageRoot, 'drizzle');
/** Copied next to the built code by scripts/build.ts. */
export const COMMON_PASSWORDS_FILE = join(codeDirectory, 'auth', 'common-passwords.txt');
/** The public mail providers' domains no organization may claim; copied next to the built code by scripts/build.ts. */
export const CONSUMER_DOMAINS_FILE = join(codeDirectory, 'modules', 'domains', 'consumer-domains.txt');
/**
 * Redoc's standalone bundle, which GET /docs inlines. @redocly/cli (pinned, a development
 * dependency) ships it for its own `build-docs --inlineBundle`; reusing that file spares the
 * `redoc` package and its React peers. Under tsx it is read from there, as built from the copy
 * scripts/build.ts puts next to the code.
 */
export const REDOC_BUNDLE_FILE =
  basename(codeDirectory) === 'src'
    ? join(packageRoot, 'node_modules', '@redocly', 'cli', 'lib', 'chunks', 'redoc.standalone.js')
    : join(codeDirectory, 'docs', 'redoc.standalone.js');
/** Run from source only: the embedded database is never part of the build. */
export const EMBEDDED_TEMPLATE_SCRIPT = join(codeDirectory, 'cli', 'embedded-template.ts');
