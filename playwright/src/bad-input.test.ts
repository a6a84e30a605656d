/**
 * What a person can get wrong, and what they see: a broken file imported, an invalid lab saved,
 * Up on Docker when there is no Docker. Each says what is wrong and loses nothing.
 */
import type { Page } from 'playwright-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { openLibraryLab } from './flows.js';
import { browserSession, pageErrors, screenshot, waitUntil } from './harness.js';

// A Docker engine that is not there: the socket path leads nowhere.
const session = browserSession({ env: { DOCKER_HOST: 'unix:///nonexistent/meshcraft-test-docker.sock' } });
let page: Page;
beforeAll(() => {
  page = session.page;
});

// The minimap draws every node; the canvas leaves out those outside the view.
const nodes = (p: Page) => p.locator('.react-flow__minimap-node').count();

describe('bad input', () => {
  it('refuses a broken file with its line and column, and keeps the lab being edited', async () => {
    await page.getByTestId('new-lab').click();
    await page.getByTestId('new-lab-name').fill('keep-me');
    await page.getByTestId('new-lab-name').press('Enter');
    await page.getByTestId('palette-cluster').click();
    await expect.poll(() => nodes(page)).toBe(1);

    await page.getByTestId('import-file').setInputFiles({
      name: 'broken.lab.yaml',
      mimeType: 'application/yaml',
      buffer: Buffer.from(
        'apiVersion: meshcraft.io/v1alpha1\nkind: Lab\nmetadata:\n  name: broken\n  title: [unclosed\nspec: {}\n',
      ),
    });
    const notice = page.getByTestId('notice').filter({ hasText: 'broken.lab.yaml' });
    await notice.waitFor();
    expect(await notice.textContent()).toMatch(/not a valid lab; nothing was changed.*line \d+, column \d+/s);
    expect(await nodes(page)).toBe(1);
    expect(await page.getByTestId('lab-title').textContent()).toContain('keep-me');
    await screenshot(page, 'bad-import');
  });

  it('refuses a well-formed lab that does not validate, naming the field', async () => {
    await page.getByTestId('import-file').setInputFiles({
      name: 'wrong.lab.yaml',
      mimeType: 'application/yaml',
      buffer: Buffer.from(
        'apiVersion: meshcraft.io/v1alpha1\nkind: Lab\nmetadata: { name: wrong, title: Wrong }\nspec:\n  nodes:\n    - { kind: cluster, id: c, discovery: SOMETIMES }\n  edges: []\n',
      ),
    });
    const notice = page.getByTestId('notice').filter({ hasText: 'wrong.lab.yaml' });
    await notice.waitFor();
    expect(await notice.textContent()).toContain('discovery');
    expect(await nodes(page)).toBe(1);
  });

  it('does not save an invalid lab, says why at the field, and keeps the edits across a reload', async () => {
    await page.getByTestId('node-cluster').click();
    const timeout = page.locator('[id="field:spec.nodes[0].connectTimeout"]');
    await timeout.fill('soon');
    await expect
      .poll(() => page.getByTestId('node-form').getByRole('alert').first().textContent())
      .toContain('duration');
    await page.keyboard.press('Control+s');
    await expect.poll(() => page.getByTestId('save-state').getAttribute('data-state')).toBe('error');
    expect(await page.getByTestId('save-state').textContent()).toContain('your edits are kept');
    expect(await page.getByTestId('problems').textContent()).toContain('connectTimeout');
    await screenshot(page, 'invalid-save');

    await page.reload();
    await page.getByTestId('lab-list').waitFor();
    await expect.poll(() => nodes(page)).toBe(1);
    await page.getByTestId('node-cluster').click();
    expect(await page.locator('[id="field:spec.nodes[0].connectTimeout"]').inputValue()).toBe('soon');
    expect(await page.getByTestId('save-state').getAttribute('data-state')).not.toBe('saved');
  });

  it('clicking a problem selects its node and focuses the field', async () => {
    await page.locator('.react-flow__pane').click({ position: { x: 500, y: 400 } });
    await page.getByTestId('tab-problems').click();
    await page.getByTestId('problems').getByRole('button').filter({ hasText: 'connectTimeout' }).click();
    await expect
      .poll(() => page.evaluate(() => document.activeElement?.id))
      .toBe('field:spec.nodes[0].connectTimeout');
  });

  it('Up on Docker without a Docker engine says so, with what to do, and keeps the lab', async () => {
    await openLibraryLab(page, 'traffic-split');
    // The lab that could not be saved is still listed, and opens with its edits.
    expect(await page.getByTestId('lab-draft-keep-me').textContent()).toContain('never saved');
    const before = await nodes(page);
    await page.getByTestId('driver-select').selectOption('docker');
    await page.getByTestId('up').click();
    const failure = page.getByTestId('run-failure');
    await failure.waitFor({ timeout: 30_000 });
    const text = (await failure.textContent()) ?? '';
    expect(text).toMatch(/docker/i);
    console.log(`Up with Docker missing says: ${text}`);
    expect(await nodes(page)).toBe(before);
    await waitUntil(
      'the Up button comes back',
      10_000,
      () => page.getByTestId('up').isEnabled(),
      (v) => v,
    );
    await screenshot(page, 'docker-missing');
    expect(pageErrors(page)).toEqual([]);
  });

  it('when the server goes away: says so, a save fails with a reason, and the edit stays', async () => {
    await page.getByTestId('node-front-envoy').click();
    await page.locator('[id="field:spec.nodes[0].label"]').fill('edge proxy');
    await session.server.stop();
    await page.getByTestId('connection-lost').waitFor({ timeout: 20_000 });
    await page.keyboard.press('Control+s');
    await expect.poll(() => page.getByTestId('save-state').getAttribute('data-state')).toBe('error');
    expect(await page.getByTestId('save-state').textContent()).toContain('does not answer');
    expect(await page.locator('[id="field:spec.nodes[0].label"]').inputValue()).toBe('edge proxy');
    await screenshot(page, 'server-gone');
  });
});
