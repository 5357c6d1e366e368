import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  // Node resolves the package's own name through package.json "exports" (to the build in dist/);
  // Vite has no self-reference, so the tests get the source under the same name.
  resolve: { alias: { 'fm-auth/client': fileURLToPath(new URL('./src/client/index.ts', import.meta.url)) } },
  test: {
    globalSetup: ['./tests/setup/build.ts', './tests/setup/database.ts'],
    include: ['tests/**/*.test.ts'],
    // Real containers: npm run test:container (vitest.container.config.ts).
    exclude: ['tests/container/**', 'node_modules/**'],
    pool: 'forks',
    // One process runs the files one after another with its modules loaded once: each file isolated
    // in a fresh process re-imported the whole app (a minute of a ten-minute run). The tests share
    // no module state: the app's only state is its container, one per server.
    isolate: false,
    // Of the service's code as the in-process tests run it (services started as child processes
    // are not counted); `npm test` fails below the threshold.
    coverage: {
      provider: 'v8',
      include: ['src/**/*.ts'],
      reporter: ['text-summary', 'html', 'json-summary'],
      thresholds: { lines: 80 },
    },
    testTimeout: 30_000,
    hookTimeout: 60_000,
  },
});
