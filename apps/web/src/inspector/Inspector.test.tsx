import { validateLab } from '@meshcraft/topology';
import { act, fireEvent, render, screen, waitFor } from '@testing-library/react';
import { describe, expect, it } from 'vitest';
import { EditorContext } from '../canvas/context.js';
import { addNode, emptyLab } from '../editor/ops.js';
import { LabStore, useEditor } from '../editor/store.js';
import { LiveOverlay } from '../live/store.js';
import { Inspector } from './Inspector.js';

/** The inspector fed with the issues of the store's current lab, as the console feeds it. */
function Harness({ store }: { store: LabStore }) {
  const current = useEditor(store, (s) => s.lab);
  return <Inspector issues={validateLab(current)} />;
}

function setup() {
  let lab = addNode(emptyLab('t'), 'cluster', { x: 0, y: 0 }).lab;
  lab = addNode(lab, 'cluster', { x: 300, y: 0 }).lab;
  const store = new LabStore(lab);
  store.select({ nodes: ['cluster'], edges: [] });
  render(
    <EditorContext.Provider value={{ store, live: new LiveOverlay() }}>
      <Harness store={store} />
    </EditorContext.Provider>,
  );
  return store;
}

const field = (path: string) => document.getElementById(`field:${path}`) as HTMLInputElement;

describe('Inspector', () => {
  it('validates as you type with the topology messages, under the field', () => {
    const store = setup();
    fireEvent.change(field('spec.nodes[0].connectTimeout'), { target: { value: 'soon' } });
    expect(store.getState().lab.spec.nodes[0]).toMatchObject({ connectTimeout: 'soon' });
    expect(field('spec.nodes[0].connectTimeout').getAttribute('aria-invalid')).toBe('true');
    const message = screen.getAllByRole('alert').find((a) => a.textContent?.includes('must be a duration'));
    expect(message).toBeDefined();
    fireEvent.change(field('spec.nodes[0].connectTimeout'), { target: { value: '1s' } });
    expect(field('spec.nodes[0].connectTimeout').getAttribute('aria-invalid')).toBe('false');
  });

  it('links each listed problem to its field', async () => {
    setup();
    fireEvent.change(field('spec.nodes[0].connectTimeout'), { target: { value: 'soon' } });
    const link = screen.getByRole('list', { name: 'Problems' }).querySelector('button')!;
    expect(link.textContent).toContain('connectTimeout');
    fireEvent.click(link);
    await waitFor(() => expect(document.activeElement?.id).toBe('field:spec.nodes[0].connectTimeout'));
  });

  it('adds list items that start valid, and keeps a number typed wrong as text for validation to name', () => {
    const store = setup();
    fireEvent.click(screen.getByRole('button', { name: 'Add to Health checks' }));
    const interval = field('spec.nodes[0].healthChecks[0].unhealthyThreshold');
    expect(interval.value).toBe('2');
    // The starter's own fields are valid (the cluster, having no members yet, is told so at its health checks).
    const inside = validateLab(store.getState().lab).filter((i) =>
      i.at.startsWith('spec.nodes[0].healthChecks[0]'),
    );
    expect(inside).toEqual([]);
    fireEvent.change(interval, { target: { value: 'two' } });
    expect(
      screen
        .getAllByRole('alert')
        .some((a) => a.textContent?.includes("'unhealthyThreshold' must be a number")),
    ).toBe(true);
  });

  it('renames a node on Enter and refuses an id another node has', () => {
    const store = setup();
    const id = field('spec.nodes[0].id');
    fireEvent.change(id, { target: { value: 'cluster-2' } });
    fireEvent.keyDown(id, { key: 'Enter' });
    expect(screen.getByText("'cluster-2' is already the id of another node")).toBeDefined();
    fireEvent.change(id, { target: { value: 'web' } });
    act(() => fireEvent.keyDown(id, { key: 'Enter' }));
    expect(store.getState().lab.spec.nodes.map((n) => n.id)).toEqual(['web', 'cluster-2']);
    expect(store.getState().selection.nodes).toEqual(['web']);
  });
});

describe('Inspector, fields under More settings', () => {
  it('counts their problems on the closed section and opens it to focus one', async () => {
    const store = setup();
    act(() =>
      store.edit((l) => ({
        ...l,
        spec: {
          ...l.spec,
          nodes: l.spec.nodes.map((n, i) => (i === 0 ? { ...n, dnsRefreshRate: 'often' } : n)),
        },
      })),
    );
    const more = screen.getByRole('button', { name: /More settings/ });
    expect(more.getAttribute('aria-expanded')).toBe('false');
    expect(more.textContent).toContain('1');
    const link = [...screen.getByRole('list', { name: 'Problems' }).querySelectorAll('button')].find((b) =>
      b.textContent?.includes('dnsRefreshRate'),
    )!;
    fireEvent.click(link);
    await waitFor(() => expect(document.activeElement?.id).toBe('field:spec.nodes[0].dnsRefreshRate'));
    expect(more.getAttribute('aria-expanded')).toBe('true');
  });
});
