/**
 * The health-check lab on the local driver: up, load, flip one endpoint's livez to FAIL and watch
 * its node turn unhealthy and its share fall to 0% within the health-check thresholds plus one
 * poll; flip it back and watch traffic return. Also measures what a stats update re-renders.
 */

import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseLab } from '@meshcraft/topology';
import type { Page } from 'playwright-core';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  bringDown,
  bringUp,
  edgeShare,
  nodeHealth,
  openLibraryLab,
  renderCounts,
  startLoad,
} from './flows.js';
import { browserSession, pageErrors, REPO, screenshot, waitUntil } from './harness.js';

const LAB = 'health-check-with-http';
const FAILING = 'webserver01';
const FAILING_EDGE = 'web_cluster_01-webserver01';
const OTHER_EDGE = 'web_cluster_01-webserver02';
const POLL_MS = 1000;

// The bounds come from the lab itself: interval × threshold, plus one stats poll (and one more
// for the interval in which the last requests still reached it), plus slack for the browser.
const lab = parseLab(readFileSync(path.join(REPO, `labs/${LAB}.lab.yaml`), 'utf8')).lab!;
const hc = lab.spec.nodes.find((n) => n.kind === 'cluster')!;
if (hc.kind !== 'cluster' || !hc.healthChecks?.[0]) throw new Error(`${LAB} has no health check`);
const intervalMs = Number.parseFloat(hc.healthChecks[0].interval) * 1000;
// Until a cluster carries traffic, Envoy probes at no_traffic_interval (60 s unless set); the
// probe scheduled in that quiet time comes that late even once load runs. The flip waits until
// the checker is on its normal interval, which is what the thresholds are measured against.
const noTrafficMs = hc.healthChecks[0].noTrafficInterval
  ? Number.parseFloat(hc.healthChecks[0].noTrafficInterval) * 1000
  : 60_000;
let upAt = 0;
const FAIL_BOUND_MS = intervalMs * hc.healthChecks[0].unhealthyThreshold + 2 * POLL_MS + 3000;
const RECOVER_BOUND_MS = intervalMs * hc.healthChecks[0].healthyThreshold + 2 * POLL_MS + 3000;

const session = browserSession({ downLab: LAB });
let page: Page;
beforeAll(() => {
  page = session.page;
});

describe('health checks, live', () => {
  it('brings the lab up on the local driver with a progress view', async () => {
    await openLibraryLab(page, LAB);
    const ms = await bringUp(page, 'local', 90_000);
    upAt = Date.now();
    await waitUntil(
      'progress says done',
      10_000,
      () => page.getByTestId('run-progress').textContent(),
      (t) => !!t?.includes('is up'),
    );
    expect(await page.getByTestId('driver').textContent()).toContain('local');
    await screenshot(page, 'up-progress-local');
    console.log(`up (local) took ${ms} ms in the browser`);
  });

  it('shows traffic shared by both endpoints under load', async () => {
    await startLoad(page, { rate: 40, concurrency: 2 });
    await waitUntil(
      'both endpoints get traffic',
      20_000,
      async () => [await edgeShare(page, FAILING_EDGE), await edgeShare(page, OTHER_EDGE)],
      ([a, b]) => (a ?? 0) > 20 && (b ?? 0) > 20,
    );
    expect(await nodeHealth(page, FAILING)).toBe('healthy');
    await page.getByTestId('tab-traffic').click();
    await page.getByTestId('share-chart').waitFor();
    await screenshot(page, 'running-health-check');
  });

  it('re-renders only the edges whose numbers changed when stats arrive', async () => {
    const before = await renderCounts(page);
    await page.waitForTimeout(5 * POLL_MS);
    const after = await renderCounts(page);
    const delta = (k: string) => (after[k] ?? 0) - (before[k] ?? 0);
    const nodeRenders = Object.keys(after)
      .filter((k) => k.startsWith('node:'))
      .map((k) => [k, delta(k)] as const);
    const edgeRenders = Object.keys(after)
      .filter((k) => k.startsWith('edge:'))
      .map((k) => [k, delta(k)] as const);
    console.log(
      'renders in 5 s of stats:',
      JSON.stringify(Object.fromEntries([...nodeRenders, ...edgeRenders])),
    );
    // Health did not change, so no node re-rendered; an edge re-renders at most once per frame.
    expect(nodeRenders.filter(([, n]) => n > 0)).toEqual([]);
    for (const [k, n] of edgeRenders) expect(n, k).toBeLessThanOrEqual(6);
  });

  it(`flips ${FAILING}'s livez to FAIL: unhealthy and 0% within the thresholds plus one poll`, async () => {
    await page.getByTestId(`node-${FAILING}`).click();
    const steady = upAt + noTrafficMs + intervalMs;
    if (Date.now() < steady) await page.waitForTimeout(steady - Date.now());
    const flipped = Date.now();
    await page.getByTestId(`probe-${FAILING}-livez`).getByRole('button', { name: 'FAIL' }).click();
    const { elapsed } = await waitUntil(
      `${FAILING} unhealthy with 0% share`,
      FAIL_BOUND_MS,
      async () => ({ health: await nodeHealth(page, FAILING), share: await edgeShare(page, FAILING_EDGE) }),
      (v) => v.health === 'failedActiveHc' && v.share === 0,
    );
    expect(await edgeShare(page, OTHER_EDGE)).toBe(100);
    console.log(
      `livez=FAIL → unhealthy and 0% after ${Date.now() - flipped} ms (bound ${FAIL_BOUND_MS} ms, waited ${elapsed} ms)`,
    );
    await page.getByTestId('tab-traffic').click();
    await screenshot(page, 'endpoint-failed');
  });

  it('flips it back to OK and sees traffic return', async () => {
    await page.getByTestId(`probe-${FAILING}-livez`).getByRole('button', { name: 'OK' }).click();
    const { elapsed } = await waitUntil(
      `${FAILING} healthy and serving again`,
      RECOVER_BOUND_MS,
      async () => ({ health: await nodeHealth(page, FAILING), share: await edgeShare(page, FAILING_EDGE) }),
      (v) => v.health === 'healthy' && (v.share ?? 0) > 20,
    );
    console.log(`livez=OK → traffic back after ${elapsed} ms (bound ${RECOVER_BOUND_MS} ms)`);
  });

  it('brings the lab down', async () => {
    await bringDown(page);
    expect(pageErrors(page)).toEqual([]);
  });
});
