// @ts-check
// Lint for src/, tests/, scripts/ and the root configs: typescript-eslint's strict and stylistic
// type-checked sets, plus the rules that hold the architecture (ARCHITECTURE.md): no import
// cycles, one-way layers, modules reaching each other only through the container, process.env
// read only in src/config/, and no focused tests. Formatting is Prettier's (eslint-config-prettier
// turns off every rule that would disagree with it).
import js from '@eslint/js';
import { defineConfig } from 'eslint/config';
import prettier from 'eslint-config-prettier';
import { createTypeScriptImportResolver } from 'eslint-import-resolver-typescript';
import importX from 'eslint-plugin-import-x';
import tseslint from 'typescript-eslint';

/**
 * The layers of src/, bottom to top: a file may import its own layer and the ones below, never
 * one above. generated/ sits under all of them; src/client/ stands apart (see below).
 */
const LAYERS = [
  ['./src/config'],
  ['./src/package-files.ts'],
  ['./src/observability'],
  ['./src/db'],
  ['./src/core'],
  ['./src/auth', './src/mail'],
  ['./src/http'],
  ['./src/modules'],
  ['./src/container.ts'],
  ['./src/app.ts'],
  ['./src/main.ts', './src/cli', './src/healthcheck.ts'],
];

/** The one upward import: handlers are given the container, so modules may name its type. */
const UPWARD_ALLOWED = { './src/modules': ['./src/container.ts'] };

const layerZones = LAYERS.slice(0, -1).map((layer, index) => {
  const allowed = layer.flatMap((path) => UPWARD_ALLOWED[path] ?? []);
  return {
    target: layer,
    from: [
      ...LAYERS.slice(index + 1)
        .flat()
        .filter((path) => !allowed.includes(path)),
      './src/client',
    ],
    message: 'Layers import downwards only (ARCHITECTURE.md): move the shared piece down a layer instead.',
  };
});

const architectureZones = [
  ...layerZones,
  {
    target: './src/client',
    from: ['./src', './tests', './scripts'],
    except: ['./client'],
    message: 'The published client imports nothing of the service but the generated types.',
  },
  { target: './src', from: ['./tests', './scripts'], message: 'The service never imports tests or scripts.' },
  {
    // Only a module's handlers (routes.ts, *-routes.ts) speak HTTP; services and helpers do not.
    target: ['./src/modules/**/!(routes|*-routes).ts'],
    from: ['./src/http'],
    message: 'Services and module helpers never import http/: that is the handlers’ (routes.ts) job.',
  },
];

const EXPRESS = {
  regex: '^express($|-)',
  message: 'Only http/, app.ts and the handlers speak Express: services, auth/, core/ and db/ stay framework-free.',
};
const PROCESS_ENV_IMPORTS = ['node:process', 'process'].map((name) => ({
  name,
  importNames: ['env'],
  message: 'Read configuration through src/config/ (loadConfig), the only reader of the environment.',
}));
const CROSS_MODULE = [
  {
    // Constructor injection: a service may name another module's service class as a type.
    regex: '^\\.\\./[^./][^/]*/service\\.js$',
    allowTypeImports: true,
    message: 'Modules reach each other through the container: import another module’s service as a type only (`import type`).',
  },
  {
    regex: '^\\.\\./[^./][^/]*/(?!service\\.js$)',
    message: 'A module never imports another module’s files; share it through a lower layer (core/, db/) or the container.',
  },
  { regex: '^(\\.\\./)+modules/', message: 'A module never imports another module’s files.' },
  {
    regex: '^(\\.\\./)+container\\.js$',
    allowTypeImports: true,
    message: 'Handlers receive the container: import its type only.',
  },
];

/** @param {object[]} patterns */
const restrictedImports = (patterns) => ['error', { paths: PROCESS_ENV_IMPORTS, patterns }];

export default defineConfig(
  {
    // scripts/bench/better-auth/: another library's harness, a package of its own (npm run bench -- --better-auth).
    ignores: ['generated/', 'dist/', 'node_modules/', 'postman/', 'data/', 'coverage/', 'drizzle/', 'test-output/', 'scripts/bench/better-auth/'],
  },
  js.configs.recommended,
  tseslint.configs.strictTypeChecked,
  tseslint.configs.stylisticTypeChecked,
  {
    languageOptions: {
      parserOptions: {
        projectService: true,
        tsconfigRootDir: import.meta.dirname,
      },
    },
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    plugins: { 'import-x': importX },
    settings: {
      // Without the extensions import-x reads no .ts file, and no-cycle silently finds nothing.
      'import-x/extensions': ['.ts', '.js'],
      'import-x/parsers': { '@typescript-eslint/parser': ['.ts'] },
      'import-x/resolver-next': [createTypeScriptImportResolver({ project: './tsconfig.json' })],
    },
    rules: {
      'import-x/no-self-import': 'error',
      // Numbers in messages and URLs are the common, harmless case; objects, nullish and any still fail.
      '@typescript-eslint/restrict-template-expressions': ['error', { allowNumber: true }],
      // `() => sideEffect()` callbacks are the house style; braces around each would add noise, not safety.
      '@typescript-eslint/no-confusing-void-expression': ['error', { ignoreArrowShorthand: true }],
      // The stylistic set asks for `x!` where strict's no-non-null-assertion forbids it: keep the strict one.
      '@typescript-eslint/non-nullable-type-assertion-style': 'off',
      // `_name` is the house mark for a parameter a signature needs (Express's 4-argument error
      // handler) or a property destructured away (`{ secret: _dropped, ...rest }`).
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_', ignoreRestSiblings: true }],
      // `() => {}` is a deliberate no-op callback (postgres.js onnotice, a swallowed rejection); empty
      // functions and methods still fail.
      '@typescript-eslint/no-empty-function': ['error', { allow: ['arrowFunctions'] }],
      // async is how a function meets a Promise-returning contract (handlers keyed by operationId,
      // test doubles), and it turns a synchronous throw into a rejection; forgotten awaits are
      // no-floating-promises' job.
      '@typescript-eslint/require-await': 'off',
    },
  },
  {
    files: ['src/**/*.ts'],
    rules: {
      // In the service only: tests and scripts import it, it never imports them (a zone below), so
      // no cycle can run through them, and following every test's imports costs a third of the lint.
      'import-x/no-cycle': ['error', { maxDepth: Infinity }],
      'import-x/no-restricted-paths': ['error', { zones: architectureZones }],
      'no-restricted-properties': [
        'error',
        { object: 'process', property: 'env', message: 'Read configuration through src/config/ (loadConfig), the only reader of the environment.' },
      ],
      '@typescript-eslint/no-restricted-imports': restrictedImports([]),
    },
  },
  {
    files: ['src/config/**/*.ts'],
    rules: { 'no-restricted-properties': 'off' },
  },
  {
    files: ['src/{config,observability,db,core,auth}/**/*.ts', 'src/package-files.ts'],
    rules: { '@typescript-eslint/no-restricted-imports': restrictedImports([EXPRESS]) },
  },
  {
    files: ['src/modules/**/*.ts'],
    rules: { '@typescript-eslint/no-restricted-imports': restrictedImports([EXPRESS, ...CROSS_MODULE]) },
  },
  {
    files: ['src/modules/**/routes.ts', 'src/modules/**/*-routes.ts'],
    rules: { '@typescript-eslint/no-restricted-imports': restrictedImports(CROSS_MODULE) },
  },
  {
    files: ['tests/**/*.ts'],
    rules: {
      // Tests read raw HTTP bodies, JSON files and YAML as untyped data and assert on them: typing
      // every response body would repeat the spec for no gain (the validator checks it at run time).
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      // `expect(x).toBeDefined()` then `x!`: the test fails loudly either way.
      '@typescript-eslint/no-non-null-assertion': 'off',
      // Suites declare `let server: TestServer` for beforeAll to fill, and afterAll closes with
      // `server?.close()` in case beforeAll failed first: the types cannot know that.
      '@typescript-eslint/no-unnecessary-condition': 'off',
      'no-restricted-syntax': [
        'error',
        {
          selector: "MemberExpression[property.name='only']",
          message: 'No focused tests (`.only`) in the repository: the rest of the suite would silently stop running.',
        },
      ],
    },
  },
  {
    files: ['**/*.js'],
    extends: [tseslint.configs.disableTypeChecked],
  },
  prettier,
);
