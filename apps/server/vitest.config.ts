import { defineConfig } from 'vitest/config';

// unit — no processes beyond what a test starts itself on loopback;
// local — a real `meshcraft serve` process running labs on the local driver;
// docker — the same against the real Docker engine (fails, never skips, when none answers: CI starts one);
// security — a real server process probed with hostile requests.
export default defineConfig({
  test: {
    projects: [
      { test: { name: 'unit', include: ['src/**/*.test.ts'] } },
      {
        test: {
          name: 'security',
          include: ['test/security.test.ts'],
          globalSetup: ['test/build-once.ts'],
          testTimeout: 60_000,
          hookTimeout: 60_000,
        },
      },
      {
        test: {
          name: 'local',
          include: ['test/local.test.ts', 'test/live-local.test.ts', 'test/cli.test.ts'],
          globalSetup: ['test/build-once.ts'],
          testTimeout: 300_000,
          hookTimeout: 120_000,
        },
      },
      {
        test: {
          name: 'docker',
          include: ['test/docker.test.ts', 'test/live-docker.test.ts'],
          globalSetup: ['test/build-once.ts'],
          testTimeout: 600_000,
          hookTimeout: 300_000,
        },
      },
    ],
  },
});
