import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    // Scenario tests start real proxy and demoapp processes and wait on health-check cadences.
    testTimeout: 120_000,
    hookTimeout: 60_000,
  },
});
