/** Steps several browser tests share: opening a library lab, bringing it up, putting load on it. */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseLab } from '@meshcraft/topology';
import type { Page } from 'playwright-core';
import { REPO, waitUntil } from './harness.js';

/** Opens a library lab and waits until every node of it is drawn (the minimap draws them all). */
export async function openLibraryLab(page: Page, name: string): Promise<void> {
  const expected = parseLab(readFileSync(path.join(REPO, `labs/${name}.lab.yaml`), 'utf8')).lab!.spec.nodes
    .length;
  await page.getByTestId(`lab-library-${name}`).click();
  await waitUntil(
    `lab ${name} shows its ${expected} nodes`,
    10_000,
    () => page.locator('.react-flow__minimap-node').count(),
    (n) => n === expected,
  );
}

/** Presses Up (which saves the lab to the workspace first) and waits until it runs; returns how long it took. */
export async function bringUp(page: Page, driver: 'local' | 'docker', timeoutMs: number): Promise<number> {
  await page.getByTestId('driver-select').selectOption(driver);
  const start = Date.now();
  await page.getByTestId('up').click();
  await page.getByTestId('run-progress').waitFor({ timeout: 20_000 });
  await page.getByTestId('down').waitFor({ timeout: timeoutMs });
  return Date.now() - start;
}

export async function bringDown(page: Page): Promise<void> {
  await page.getByTestId('down').click();
  await page.getByTestId('up').waitFor({ timeout: 60_000 });
}

export async function startLoad(
  page: Page,
  options: { rate: number; concurrency?: number; path?: string },
): Promise<void> {
  await page.getByTestId('tab-load').click();
  await page.locator('#load-rate').fill(String(options.rate));
  if (options.concurrency) await page.locator('#load-conc').fill(String(options.concurrency));
  if (options.path) await page.locator('#load-path').fill(options.path);
  await page.getByTestId('load-start').click();
  const panel = page.getByTestId('load-panel');
  await Promise.race([
    page.getByTestId('load-stop').waitFor({ timeout: 15_000 }),
    panel.getByRole('alert').waitFor({ timeout: 15_000 }),
  ]);
  if (await panel.getByRole('alert').count())
    throw new Error(`the load generator did not start: ${await panel.getByRole('alert').textContent()}`);
}

/** The share (whole percent) an edge's label shows, or undefined before the overlay has one. */
export async function edgeShare(page: Page, edgeId: string): Promise<number | undefined> {
  const v = await page
    .getByTestId(`edge-share-${edgeId}`)
    .getAttribute('data-share', { timeout: 1000 })
    .catch(() => null);
  return v === null ? undefined : Number(v);
}

export async function nodeHealth(page: Page, nodeId: string): Promise<string | null> {
  return page.getByTestId(`node-${nodeId}`).getAttribute('data-health');
}

/** Render counters of canvas elements (see apps/web/src/canvas/renderCount.ts). */
export async function renderCounts(page: Page): Promise<Record<string, number>> {
  return page.evaluate(() => Object.fromEntries(window.__meshcraftRenders ?? new Map()));
}

declare global {
  interface Window {
    __meshcraftRenders?: Map<string, number>;
  }
}
