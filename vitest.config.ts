import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/global-setup.ts'],
    // e2e tests spawn the built CLI and real servers; give them room without hiding hangs.
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
  },
});
