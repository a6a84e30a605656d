import { validateLab } from '@meshcraft/topology';
import { describe, expect, it } from 'vitest';
import { autoLayout } from './autolayout.js';
import { edgeForConnection, routeHandles } from './handles.js';
import {
  addEdge,
  addNode,
  copyFragment,
  emptyLab,
  pasteFragment,
  removeElements,
  renameNode,
} from './ops.js';
import { LabStore } from './store.js';

/** front proxy → cluster → two services with sidecars, drawn the way the palette and handles do it. */
function drawnLab() {
  let lab = emptyLab('drawn');
  const fp = addNode(lab, 'frontProxy', { x: 0, y: 0 });
  const cl = addNode(fp.lab, 'cluster', { x: 300, y: 0 });
  const s1 = addNode(cl.lab, 'serviceSidecar', { x: 600, y: 0 });
  const s2 = addNode(s1.lab, 'serviceSidecar', { x: 600, y: 150 });
  lab = s2.lab;
  const connect = (source: string, sourceHandle: string, target: string) => {
    const r = edgeForConnection(lab, { source, sourceHandle, target, targetHandle: 'in' });
    if (!('edge' in r)) throw new Error(r.refused);
    lab = addEdge(lab, r.edge);
  };
  connect(fp.id, 'route:root', cl.id);
  connect(cl.id, 'members', s1.id);
  connect(cl.id, 'members', s2.id);
  return { lab, ids: { fp: fp.id, cl: cl.id, s1: s1.id, s2: s2.id } };
}

describe('document operations', () => {
  it('draws a valid lab from palette templates and handle connections', () => {
    const { lab, ids } = drawnLab();
    expect(ids).toEqual({ fp: 'front-proxy', cl: 'cluster', s1: 'service', s2: 'service-2' });
    expect(validateLab(lab).filter((i) => i.severity === 'error')).toEqual([]);
    expect(lab.spec.edges.map((e) => e.kind)).toEqual(['route', 'membership', 'membership']);
  });

  it('a lone front proxy is invalid until its route is connected', () => {
    const { lab } = addNode(emptyLab('x'), 'frontProxy', { x: 0, y: 0 });
    const errors = validateLab(lab).filter((i) => i.severity === 'error');
    expect(errors.map((e) => e.message).join('\n')).toMatch(/no edge leaves it; connect it to a cluster/);
    expect(errors[0]?.nodeId).toBe('front-proxy');
  });

  it('refuses connections the schema does not allow', () => {
    const { lab, ids } = drawnLab();
    expect(edgeForConnection(lab, { source: ids.fp, sourceHandle: 'route:root', target: ids.s1 })).toEqual({
      refused: "routes lead to clusters; 'service' is a service",
    });
    expect(edgeForConnection(lab, { source: ids.cl, sourceHandle: 'members', target: ids.fp })).toMatchObject(
      {
        refused: expect.stringMatching(/members are services/),
      },
    );
    expect(
      edgeForConnection(lab, { source: ids.fp, sourceHandle: 'route:root', target: ids.cl }),
    ).toMatchObject({
      refused: expect.stringMatching(/already leads/),
    });
    expect(edgeForConnection(lab, { source: ids.cl, sourceHandle: 'members', target: ids.cl })).toMatchObject(
      {
        refused: expect.stringMatching(/itself/),
      },
    );
  });

  it('offers a handle per forwarding route and none for local routes', () => {
    const { lab, ids } = drawnLab();
    const node = (id: string) => lab.spec.nodes.find((n) => n.id === id)!;
    expect(routeHandles(node(ids.fp)).map((h) => h.id)).toEqual(['route:root']);
    expect(routeHandles(node(ids.s1))).toEqual([]);
  });

  it('deletes a node with its edges, and copy/paste keeps inner edges with fresh ids', () => {
    const { lab, ids } = drawnLab();
    const removed = removeElements(lab, new Set([ids.cl]), new Set());
    expect(removed.spec.edges).toEqual([]);
    expect(removed.spec.nodes).toHaveLength(3);

    const fragment = copyFragment(lab, new Set([ids.cl, ids.s1]));
    expect(fragment.edges.map((e) => e.id)).toEqual(['cluster-service']);
    const pasted = pasteFragment(lab, fragment, { x: 40, y: 40 });
    expect(pasted.ids).toEqual(['cluster-2', 'service-3']);
    const edge = pasted.lab.spec.edges.at(-1)!;
    expect(edge).toMatchObject({ kind: 'membership', from: 'cluster-2', to: 'service-3' });
    expect(pasted.lab.spec.nodes.at(-1)!.position).toEqual({ x: 640, y: 40 });
    expect(validateLab(pasted.lab).filter((i) => i.severity === 'error')).toEqual([]);
  });

  it('renames a node and every edge that refers to it', () => {
    const { lab } = drawnLab();
    const renamed = renameNode(lab, 'cluster', 'web');
    expect(renamed.spec.edges.map((e) => (e.kind === 'membership' ? e.from : e.to))).toEqual([
      'web',
      'web',
      'web',
    ]);
    expect(validateLab(renamed).filter((i) => i.severity === 'error')).toEqual([]);
  });

  it('lays out in traffic order: proxy, cluster, services', () => {
    const { lab, ids } = drawnLab();
    const pos = autoLayout(lab);
    expect(pos.get(ids.fp)!.x).toBeLessThan(pos.get(ids.cl)!.x);
    expect(pos.get(ids.cl)!.x).toBeLessThan(pos.get(ids.s1)!.x);
    expect(pos.get(ids.s1)!.x).toBe(pos.get(ids.s2)!.x);
    expect(pos.get(ids.s1)!.y).not.toBe(pos.get(ids.s2)!.y);
  });
});

describe('LabStore', () => {
  it('undoes and redoes, coalescing keyed edits within a second', () => {
    let t = 0;
    const store = new LabStore(emptyLab('a'), () => t);
    const title = (s: string) =>
      store.edit((lab) => ({ ...lab, metadata: { ...lab.metadata, title: s } }), { coalesce: 'title' });
    title('a1');
    t = 300;
    title('a12');
    t = 2000;
    title('a123');
    expect(store.getState().lab.metadata.title).toBe('a123');
    store.undo();
    expect(store.getState().lab.metadata.title).toBe('a12');
    store.undo();
    expect(store.getState().lab.metadata.title).toBe('a');
    expect(store.getState().canUndo).toBe(false);
    store.redo();
    expect(store.getState().lab.metadata.title).toBe('a12');
  });

  it('tracks unsaved changes by revision', () => {
    const store = new LabStore(emptyLab('a'));
    store.load(emptyLab('b'));
    const s0 = store.getState();
    expect(s0.revision).toBe(s0.savedRevision);
    store.edit((lab) => addNode(lab, 'cluster', { x: 0, y: 0 }).lab);
    expect(store.getState().revision).not.toBe(store.getState().savedRevision);
    store.markSaved(store.getState().revision);
    expect(store.getState().revision).toBe(store.getState().savedRevision);
  });

  it('drops deleted elements from the selection', () => {
    const store = new LabStore(addNode(emptyLab('a'), 'cluster', { x: 0, y: 0 }).lab);
    store.select({ nodes: ['cluster'], edges: [] });
    store.edit((lab) => removeElements(lab, new Set(['cluster']), new Set()));
    expect(store.getState().selection.nodes).toEqual([]);
  });

  it('renames the lab in the document and its whole history, leaving it as saved as it was', () => {
    const store = new LabStore(emptyLab('a'));
    store.edit((lab) => addNode(lab, 'cluster', { x: 0, y: 0 }).lab);
    store.markSaved(store.getState().revision);
    store.edit((lab) => addNode(lab, 'cluster', { x: 300, y: 0 }).lab);
    store.undo();
    const { revision, savedRevision } = store.getState();
    store.rename('b');
    expect(store.getState()).toMatchObject({ revision, savedRevision, lab: { metadata: { name: 'b' } } });
    store.redo();
    expect(store.getState().lab.metadata.name).toBe('b');
    expect(store.getState().lab.spec.nodes).toHaveLength(2);
    store.undo();
    store.undo();
    expect(store.getState().lab).toMatchObject({ metadata: { name: 'b' }, spec: { nodes: [] } });
  });
});
