import { defineConfig } from 'vitest/config';

// npm run test:container: the image and the compose files in real containers (podman), one file
// at a time (the compose projects publish the same ports). Needs podman and docker-compose.
export default defineConfig({
  test: {
    globalSetup: ['./tests/container/build-image.ts'],
    include: ['tests/container/**/*.test.ts'],
    fileParallelism: false,
    testTimeout: 180_000,
    hookTimeout: 300_000,
  },
});
