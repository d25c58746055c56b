import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    setupFiles: ['test/setup.ts'],
    testTimeout: 120_000,
    // Test files keep no module-level state, and a fresh worker per file costs
    // more than most files take to run on a two-core machine.
    isolate: false,
  },
});
