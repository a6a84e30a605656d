import { defineConfig } from 'vitest/config';

// Three projects, each runnable alone (`npx vitest run --project docker`):
// unit — no processes, no engine; local — real proxy and demoapp processes on loopback;
// docker — the real Docker engine (fails, never skips, when no engine answers: CI starts one).
export default defineConfig({
  test: {
    projects: [
      { test: { name: 'unit', include: ['src/**/*.test.ts'] } },
      {
        test: {
          name: 'local',
          include: ['test/local/**/*.test.ts'],
          globalSetup: ['test/build-once.ts'],
          testTimeout: 300_000,
          hookTimeout: 120_000,
        },
      },
      {
        test: {
          name: 'docker',
          include: ['test/docker/**/*.test.ts'],
          globalSetup: ['test/build-once.ts'],
          testTimeout: 300_000,
          hookTimeout: 300_000,
          // One engine: files run one after another so timings and leak counts are their own.
          fileParallelism: false,
        },
      },
    ],
  },
});
