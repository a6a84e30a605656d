/**
 * Drawing a lab from nothing: nodes dragged from the palette, edges drawn between handles, saved,
 * and found intact after a reload; undo, delete, the config view and the shortcut overlay on the way.
 */
import type { Page } from 'playwright-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { browserSession, dragBetween, pageErrors, screenshot } from './harness.js';

const session = browserSession();
let page: Page;
beforeAll(() => {
  page = session.page;
});

const nodes = (p: Page) => p.locator('.react-flow__node').count();
const edges = (p: Page) => p.locator('.react-flow__edge').count();

async function dropFromPalette(p: Page, kind: string, x: number, y: number) {
  await p.dragAndDrop(`[data-testid="palette-${kind}"]`, '.react-flow__pane', { targetPosition: { x, y } });
}

describe('drawing a lab', () => {
  it('drags a front proxy, a cluster and two services from the palette and connects them', async () => {
    await page.getByTestId('new-lab').click();
    await page.getByTestId('new-lab-name').fill('drawn-lab');
    await page.getByTestId('new-lab-name').press('Enter');
    await expect.poll(() => page.getByTestId('save-state').getAttribute('data-state')).toBe('unsaved');

    // The pane is about 880 × 560 at this window size; the palette covers its top-left corner.
    await dropFromPalette(page, 'frontProxy', 220, 230);
    await dropFromPalette(page, 'cluster', 460, 230);
    await dropFromPalette(page, 'serviceSidecar', 690, 110);
    await dropFromPalette(page, 'serviceSidecar', 690, 310);
    await expect.poll(() => nodes(page)).toBe(4);
    // A dropped node is selected and its form opens in the inspector.
    await expect
      .poll(() => page.getByTestId('node-form').locator('input').first().inputValue())
      .toBe('service-2');

    await dragBetween(
      page,
      '[data-nodeid="front-proxy"][data-handleid="route:root"]',
      '[data-nodeid="cluster"][data-handleid="in"]',
    );
    await dragBetween(
      page,
      '[data-nodeid="cluster"][data-handleid="members"]',
      '[data-nodeid="service"][data-handleid="in"]',
    );
    await dragBetween(
      page,
      '[data-nodeid="cluster"][data-handleid="members"]',
      '[data-nodeid="service-2"][data-handleid="in"]',
    );
    await expect.poll(() => edges(page)).toBe(3);
    await page.getByTestId('tab-problems').click();
    await expect.poll(() => page.getByText('No problems: the lab is valid.').count()).toBe(1);
    await page.keyboard.press('Escape');
    await screenshot(page, 'editor-drawn-lab');
  });

  it('refuses a connection the lab cannot have (a route straight to a service)', async () => {
    await dragBetween(
      page,
      '[data-nodeid="front-proxy"][data-handleid="route:root"]',
      '[data-nodeid="service"][data-handleid="in"]',
    );
    expect(await edges(page)).toBe(3);
  });

  it('deletes with the keyboard and undoes it', async () => {
    await page.locator('[data-testid="node-service-2"]').click();
    await page.keyboard.press('Delete');
    await expect.poll(() => nodes(page)).toBe(3);
    expect(await edges(page)).toBe(2);
    await page.keyboard.press('Control+z');
    await expect.poll(() => nodes(page)).toBe(4);
    await expect.poll(() => edges(page)).toBe(3);
  });

  it('copies and pastes with the keyboard, and deletes a multi-selection', async () => {
    await page.locator('[data-testid="node-service"]').click();
    await page.keyboard.press('Control+c');
    await page.keyboard.press('Control+v');
    await expect.poll(() => nodes(page)).toBe(5);
    expect(await page.locator('[data-testid="node-service-3"]').count()).toBe(1);
    await page.keyboard.press('Control+z');
    await expect.poll(() => nodes(page)).toBe(4);

    await page.locator('[data-testid="node-service"]').click();
    await page.locator('[data-testid="node-service-2"]').click({ modifiers: ['Shift'] });
    await expect.poll(() => page.locator('.react-flow__node.selected').count()).toBe(2);
    await page.keyboard.press('Delete');
    await expect.poll(() => nodes(page)).toBe(2);
    await page.keyboard.press('Control+z');
    await expect.poll(() => nodes(page)).toBe(4);
    await expect.poll(() => edges(page)).toBe(3);
  });

  it('lays the graph out with L, and undoes the layout', async () => {
    const positions = () =>
      page.evaluate(() =>
        [...document.querySelectorAll('.react-flow__node')]
          .map((n) => (n as HTMLElement).style.transform)
          .join(' '),
      );
    await page.locator('.react-flow__pane').click({ position: { x: 500, y: 450 } });
    const before = await positions();
    await page.keyboard.press('l');
    await expect.poll(positions).not.toBe(before);
    // Columns in traffic order: the proxy left of the cluster, the cluster left of both services.
    // Flow coordinates (the node's own translate), not the screen: the view is still zooming to fit.
    const x = async (id: string) =>
      Number(
        /translate\(([-\d.]+)px/.exec(
          (await page.locator(`[data-id="${id}"]`).getAttribute('style')) ?? '',
        )?.[1],
      );
    expect(await x('front-proxy')).toBeLessThan(await x('cluster'));
    expect(await x('cluster')).toBeLessThan(await x('service'));
    expect(await x('service')).toBe(await x('service-2'));
    await page.keyboard.press('Control+z');
    await expect.poll(positions).toBe(before);
  });

  it('shows the rendered Envoy config and compose file as the graph changes', async () => {
    await page.locator('[data-testid="node-front-proxy"]').click();
    await page.getByTestId('tab-config').click();
    const yaml = page.getByTestId('config-yaml');
    await expect.poll(async () => (await yaml.textContent()) ?? '').toContain('static_resources');
    expect(await yaml.textContent()).toContain('cluster');
    await screenshot(page, 'config-view');
    await page.getByRole('button', { name: 'docker-compose.yaml' }).click();
    await expect.poll(async () => (await yaml.textContent()) ?? '').toContain('services');
  });

  it('saves, and after a reload finds the lab intact', async () => {
    await page.keyboard.press('Escape');
    await page.keyboard.press('Control+s');
    await expect.poll(() => page.getByTestId('save-state').getAttribute('data-state')).toBe('saved');
    await expect.poll(() => page.getByTestId('lab-workspace-drawn-lab').count()).toBe(1);
    const before = await page.evaluate(() =>
      [...document.querySelectorAll('.react-flow__node')].map((n) => n.getAttribute('data-id')).sort(),
    );

    await page.reload();
    await page.getByTestId('lab-list').waitFor();
    await expect.poll(() => nodes(page)).toBe(4);
    expect(await edges(page)).toBe(3);
    const after = await page.evaluate(() =>
      [...document.querySelectorAll('.react-flow__node')].map((n) => n.getAttribute('data-id')).sort(),
    );
    expect(after).toEqual(before);
    expect(await page.getByTestId('save-state').getAttribute('data-state')).toBe('saved');
    expect(pageErrors(page)).toEqual([]);
  });

  it('duplicates a lab, and deleting the copy keeps it in the editor as an unsaved lab', async () => {
    const actions = page.getByTestId('lab-actions');
    await actions.getByRole('button', { name: 'Duplicate…' }).click();
    await actions.getByLabel('Name of the copy').fill('drawn-copy');
    await actions.getByRole('button', { name: 'Copy' }).click();
    await page.getByTestId('lab-workspace-drawn-copy').waitFor();
    await expect.poll(() => page.evaluate(() => window.location.hash)).toBe('#/workspace/drawn-copy');
    await expect.poll(() => nodes(page)).toBe(4);

    await page.getByTestId('lab-delete').click();
    await page.getByTestId('lab-delete-confirm').click();
    await page.getByTestId('lab-draft-drawn-copy').waitFor();
    expect(await page.getByTestId('lab-workspace-drawn-copy').count()).toBe(0);
    expect(await nodes(page)).toBe(4);
    expect(await page.getByTestId('save-state').getAttribute('data-state')).toBe('unsaved');
  });

  it('lists the keyboard shortcuts in a help overlay', async () => {
    await page.locator('.react-flow__pane').click({ position: { x: 600, y: 450 } });
    await page.keyboard.press('?');
    await page.getByTestId('help').waitFor();
    expect(await page.getByTestId('help').textContent()).toContain('Undo');
    await screenshot(page, 'keyboard-shortcuts');
    await page.keyboard.press('Escape');
    await expect.poll(() => page.getByTestId('help').count()).toBe(0);
  });
});
