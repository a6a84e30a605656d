/**
 * One lab up on the Docker driver from the browser: progress per container with the driver shown,
 * traffic through real containers, down. The runtime image is built on first use (with progress).
 */
import { execFileSync } from 'node:child_process';
import type { Page } from 'playwright-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { bringDown, bringUp, edgeShare, openLibraryLab, startLoad } from './flows.js';
import { browserSession, pageErrors, screenshot, waitUntil } from './harness.js';

const LAB = 'traffic-split';

function dockerAnswers(): boolean {
  try {
    execFileSync('docker', ['info'], { stdio: 'ignore', timeout: 10_000 });
    return true;
  } catch {
    return false;
  }
}

const session = browserSession({
  downLab: LAB,
  before: () => {
    // The suite's system step (scripts/ensure-system-deps.sh) starts the engine; without one this test cannot say anything.
    if (!dockerAnswers())
      throw new Error('no Docker engine answers: start it (scripts/ensure-system-deps.sh does, as root)');
  },
});
let page: Page;
beforeAll(() => {
  page = session.page;
});

describe('the Docker driver', () => {
  it('brings the traffic-split lab up in containers, showing each one', async () => {
    await openLibraryLab(page, LAB);
    const ms = await bringUp(page, 'docker', 600_000);
    console.log(`up (docker) took ${ms} ms in the browser`);
    expect(await page.getByTestId('down').textContent()).toContain('docker');
    expect(await page.getByTestId('driver').textContent()).toContain('docker');
    const rows = await page.locator('[data-testid^="container-"]').count();
    expect(rows).toBeGreaterThanOrEqual(5);
    await screenshot(page, 'up-progress-docker');
    // A first run builds the runtime image, which can take minutes on a fresh machine.
  }, 660_000);

  it('carries traffic through the containers', async () => {
    // Stats flowing means the console reads every proxy of the lab.
    await page.getByTestId('edge-share-split-v10').waitFor({ timeout: 30_000 });
    await startLoad(page, { rate: 40, concurrency: 2, path: '/hostname' });
    await waitUntil(
      'both versions get traffic',
      30_000,
      async () => [await edgeShare(page, 'split-v10'), await edgeShare(page, 'split-v11')],
      ([a, b]) => (a ?? 0) > 20 && (b ?? 0) > 20,
    );
    await page.getByTestId('tab-traffic').click();
    await page.waitForTimeout(2000);
    await screenshot(page, 'running-docker');
  });

  it('brings it down again', async () => {
    await bringDown(page);
    expect(pageErrors(page)).toEqual([]);
  });
});
