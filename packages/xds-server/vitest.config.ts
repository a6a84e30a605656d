import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    // Tests talk to real gRPC and HTTP servers on loopback; machines running other suites are slow.
    testTimeout: 60_000,
    hookTimeout: 30_000,
  },
});
