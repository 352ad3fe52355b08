import { defineConfig } from 'vitest/config';

// Timing-sensitive suites, one file at a time, after the main suite (see vitest.config.ts).
export default defineConfig({
  test: {
    include: ['test/**/*.solo.test.ts'],
    fileParallelism: false,
    testTimeout: 120_000,
    hookTimeout: 30_000,
    pool: 'forks',
    reporters: ['default'],
  },
});
