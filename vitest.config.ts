import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    globalSetup: ['./tests/setup/database.ts'],
    include: ['tests/**/*.test.ts'],
    // Real containers: npm run test:container (vitest.container.config.ts).
    exclude: ['tests/container/**', 'node_modules/**'],
    pool: 'forks',
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
