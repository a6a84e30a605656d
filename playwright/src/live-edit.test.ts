/**
 * Editing a running lab in the browser (local driver): a weight changed in the inspector and saved
 * reaches the front proxy over the console's control plane, the header says how many proxies took
 * it and how fast, and the traffic follows; an edit only a new run can apply (a third replica)
 * says so, keeps the edit, and "Up again" runs it.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseLab } from '@meshcraft/topology';
import type { Page } from 'playwright-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { bringDown, bringUp, edgeShare, openLibraryLab, startLoad } from './flows.js';
import { browserSession, pageErrors, REPO, screenshot, waitUntil } from './harness.js';

const LAB = 'traffic-split';
const lab = parseLab(readFileSync(path.join(REPO, `labs/${LAB}.lab.yaml`), 'utf8')).lab!;
const edgeIndex = (id: string) => lab.spec.edges.findIndex((e) => e.id === id);
const nodeIndex = (id: string) => lab.spec.nodes.findIndex((n) => n.id === id);
/** The inspector's input for a document path (see apps/web/src/editor/paths.ts fieldId). */
const field = (p: Page, at: string) => p.locator(`[id="field:${at}"]`);

const session = browserSession({ downLab: LAB });
let page: Page;
beforeAll(() => {
  page = session.page;
});

/** Selects an edge by clicking a point on its path a third of the way along (its label sits mid-way). */
async function selectEdge(p: Page, id: string): Promise<void> {
  const point = await p
    .getByTestId(`rf__edge-${id}`)
    .locator('path.react-flow__edge-interaction')
    .evaluate((path: SVGPathElement) => {
      const at = path.getPointAtLength(path.getTotalLength() / 3);
      const screen = new DOMPoint(at.x, at.y).matrixTransform(path.getScreenCTM()!);
      return { x: screen.x, y: screen.y };
    });
  await p.mouse.click(point.x, point.y);
  await p.getByTestId('edge-form').waitFor({ timeout: 5000 });
  expect(await p.getByTestId('edge-form').textContent()).toContain(id);
}

async function save(p: Page): Promise<number> {
  const start = Date.now();
  await p.keyboard.press('Control+s');
  await waitUntil(
    'the save is taken',
    15_000,
    () => p.getByTestId('save-state').getAttribute('data-state'),
    (s) => s === 'saved',
  );
  return start;
}

async function liveResult(p: Page): Promise<string | null> {
  return p
    .getByTestId('live-status')
    .getAttribute('data-result', { timeout: 1000 })
    .catch(() => null);
}

describe('live edits in the browser', () => {
  it('runs the lab with the configured 50/50 split under load', async () => {
    await openLibraryLab(page, LAB);
    await bringUp(page, 'local', 90_000);
    await startLoad(page, { rate: 100, concurrency: 4, path: '/hostname' });
    await waitUntil(
      'both versions get traffic',
      20_000,
      async () => [await edgeShare(page, 'split-v10'), await edgeShare(page, 'split-v11')],
      ([a, b]) => (a ?? 0) > 30 && (b ?? 0) > 30,
    );
    // Before any save the header says the proxies run what the console serves them.
    await waitUntil(
      'the live status shows',
      10_000,
      () => page.getByTestId('live-status').getAttribute('data-tone'),
      (t) => t === 'ok',
    );
  });

  it('saves 90/10 from the inspector and the running proxy splits 90/10, without a restart', async () => {
    await page.getByTestId('tab-traffic').click();
    await selectEdge(page, 'split-v10');
    await field(page, `spec.edges[${edgeIndex('split-v10')}].weight`).fill('90');
    await selectEdge(page, 'split-v11');
    await field(page, `spec.edges[${edgeIndex('split-v11')}].weight`).fill('10');
    const savedAt = await save(page);
    await waitUntil(
      'the header reports the edit applied',
      10_000,
      () => liveResult(page),
      (r) => r === 'applied',
    );
    const appliedMs = Date.now() - savedAt;
    const text = (await page.getByTestId('live-status').textContent()) ?? '';
    expect(text).toMatch(/^1 proxy updated in \d+ ms$/);
    console.log(`save → "${text}" shown after ${appliedMs} ms`);
    await waitUntil(
      'the split follows the saved weights',
      15_000,
      async () => [await edgeShare(page, 'split-v10'), await edgeShare(page, 'split-v11')],
      ([a, b]) => (a ?? 0) > 80 && (b ?? 100) < 20,
    );
    // Nothing restarted: the load generator's run goes on.
    await page.getByTestId('tab-load').click();
    expect(await page.getByTestId('load-stop').isVisible()).toBe(true);
    await screenshot(page, 'live-edit-applied');
  });

  it('says a third replica needs Up, keeps the edit, and Up again runs it', async () => {
    const service = 'demoapp-v1-1';
    await page.getByTestId(`node-${service}`).click();
    await field(page, `spec.nodes[${nodeIndex(service)}].replicas`).fill('3');
    await save(page);
    await waitUntil(
      'the header says the edit needs Up',
      10_000,
      () => liveResult(page),
      (r) => r === 'needsUp',
    );
    expect(await page.getByTestId('live-status').textContent()).toContain(`${service}-3`);
    // The details open by themselves and list the reason; the traffic still splits as before.
    const reasons = await page.getByTestId('live-reasons').textContent();
    expect(reasons).toContain('containers are created when the lab comes up');
    await screenshot(page, 'live-edit-needs-up');

    await page.getByTestId('up-again').click();
    await page.getByTestId('run-progress').waitFor({ timeout: 20_000 });
    await waitUntil(
      'the lab runs again, with the saved version',
      90_000,
      async () => (await page.getByTestId('down').count()) > 0 && (await liveResult(page)) === 'none',
      (ready) => ready,
    );
    expect(await page.getByTestId('live-status').getAttribute('data-tone')).toBe('ok');
    const status = JSON.parse((await session.server.cli(['status', LAB, '--json'])).output) as {
      containers: { node: string; state: string }[];
    };
    expect(status.containers.filter((c) => c.node === service).map((c) => c.state)).toEqual([
      'running',
      'running',
      'running',
    ]);
  });

  it('brings the lab down', async () => {
    await bringDown(page);
    expect(pageErrors(page)).toEqual([]);
  });
});
