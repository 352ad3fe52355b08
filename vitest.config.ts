import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // *.solo.test.ts measure timing (the runner's accuracy) and run alone afterwards
    // (vitest.solo.config.ts): next to other test files on a 2-core machine they measure the load.
    exclude: ['test/**/*.solo.test.ts', 'node_modules/**'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: 'forks',
    reporters: ['default'],
  },
});
