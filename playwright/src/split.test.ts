/**
 * The traffic-split lab on the local driver: under steady load, the 50/50 split moves to 20/80
 * when the slider moves, and the chart of shares settles there.
 */
import type { Page } from 'playwright-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { bringDown, bringUp, openLibraryLab, startLoad } from './flows.js';
import { browserSession, pageErrors, screenshot, waitUntil } from './harness.js';

const LAB = 'traffic-split';

const session = browserSession({ downLab: LAB });
let page: Page;
beforeAll(() => {
  page = session.page;
});

/** The chart legend's latest shares (whole percent) of the two versions. */
async function shares(p: Page): Promise<[number, number]> {
  const read = async (key: string) =>
    Number((await p.getByTestId(`share-${key}`).getAttribute('data-share')) || Number.NaN);
  return [await read('demoapp-v10'), await read('demoapp-v11')];
}

/** The mean of `n` successive one-second readings: one frame's share is a sample of ~100 requests. */
async function settledShares(p: Page, n: number): Promise<[number, number]> {
  let a = 0;
  let b = 0;
  for (let i = 0; i < n; i++) {
    const [x, y] = await shares(p);
    a += x;
    b += y;
    await p.waitForTimeout(1000);
  }
  return [a / n, b / n];
}

describe('traffic split, live', () => {
  it('starts at 50/50 under load', async () => {
    await openLibraryLab(page, LAB);
    await bringUp(page, 'local', 90_000);
    await startLoad(page, { rate: 100, concurrency: 4, path: '/hostname' });
    await page.getByTestId('tab-traffic').click();
    expect(await page.getByTestId('chart-subject').locator('option:checked').textContent()).toContain(
      'route split',
    );
    await waitUntil(
      'both versions get traffic',
      20_000,
      () => shares(page),
      ([a, b]) => a > 30 && b > 30,
    );
    const [a, b] = await settledShares(page, 4);
    expect(Math.abs(a - 50)).toBeLessThan(10);
    expect(Math.abs(b - 50)).toBeLessThan(10);
  });

  it('moves the slider to 20/80 and the chart settles near 20/80', async () => {
    await page.getByTestId('node-front-envoy').click();
    await page.getByTestId('slider-demoapp-v10').fill('20');
    await waitUntil(
      'the split follows the slider',
      15_000,
      () => shares(page),
      ([a, b]) => a < 30 && b > 70,
    );
    // Let the chart's window fill with the new split, then read it over several frames.
    await page.waitForTimeout(3000);
    const [a, b] = await settledShares(page, 5);
    console.log(`after the slider: ${a.toFixed(1)}% / ${b.toFixed(1)}%`);
    expect(Math.abs(a - 20)).toBeLessThan(6);
    expect(Math.abs(b - 80)).toBeLessThan(6);
    await screenshot(page, 'traffic-split-20-80');
  });

  it('stops a node and starts it again, and the canvas shows it', async () => {
    await page.getByTestId('node-demoapp-v1-1').click();
    const actions = page.getByTestId('node-actions');
    await actions.getByRole('button', { name: 'stop', exact: true }).click();
    await waitUntil(
      'the node shows stopped',
      20_000,
      () => page.getByTestId('node-demoapp-v1-1').getAttribute('data-health'),
      (h) => h === 'stopped',
    );
    await screenshot(page, 'node-stopped');
    await actions.getByRole('button', { name: 'start', exact: true }).click();
    await waitUntil(
      'the node runs again',
      30_000,
      () => page.getByTestId('node-demoapp-v1-1').getAttribute('data-health'),
      (h) => h === 'healthy',
    );
  });

  it('brings the lab down', async () => {
    await bringDown(page);
    expect(pageErrors(page)).toEqual([]);
  });
});
