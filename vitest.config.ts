import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/global-setup.ts'],
    // e2e tests spawn the built CLI and real servers; give them room without hiding hangs. A bound,
    // not a speed test: on a shared 2-core machine an ECR e2e test that takes 10 s alone took 47 s
    // (and a 0.7 s one ran past 60 s) while other suites and busy loops held both cores.
    testTimeout: 180_000,
    hookTimeout: 180_000,
    pool: 'forks',
  },
});
