/**
 * Edits of a lab document as pure functions: each takes a lab and returns a new one sharing every
 * untouched node and edge, which is what makes undo cheap and lets the canvas re-render only the
 * nodes that changed.
 */
import { API_VERSION, type Lab, type LabEdge, type LabNode } from '@meshcraft/topology';
import { edgeSource, uniqueId } from './handles.js';
import { idBase, type PaletteKind, templateNode } from './kinds.js';

export interface XY {
  x: number;
  y: number;
}

export function emptyLab(name: string, title = name): Lab {
  return { apiVersion: API_VERSION, kind: 'Lab', metadata: { name, title }, spec: { nodes: [], edges: [] } };
}

function nodeIds(lab: Lab): Set<string> {
  return new Set(lab.spec.nodes.map((n) => n.id));
}

export function addNode(lab: Lab, kind: PaletteKind, position: XY): { lab: Lab; id: string } {
  const id = uniqueId(idBase(kind), nodeIds(lab));
  const node = templateNode(kind, id, { x: Math.round(position.x), y: Math.round(position.y) });
  return { lab: { ...lab, spec: { ...lab.spec, nodes: [...lab.spec.nodes, node] } }, id };
}

export function addEdge(lab: Lab, edge: LabEdge): Lab {
  return { ...lab, spec: { ...lab.spec, edges: [...lab.spec.edges, edge] } };
}

export function moveNodes(lab: Lab, moves: ReadonlyMap<string, XY>): Lab {
  if (moves.size === 0) return lab;
  const nodes = lab.spec.nodes.map((n) => {
    const p = moves.get(n.id);
    return p ? { ...n, position: { x: Math.round(p.x), y: Math.round(p.y) } } : n;
  });
  return { ...lab, spec: { ...lab.spec, nodes } };
}

/** Removes nodes (with every edge touching them) and edges. */
export function removeElements(lab: Lab, nodes: ReadonlySet<string>, edges: ReadonlySet<string>): Lab {
  if (nodes.size === 0 && edges.size === 0) return lab;
  return {
    ...lab,
    spec: {
      ...lab.spec,
      nodes: lab.spec.nodes.filter((n) => !nodes.has(n.id)),
      edges: lab.spec.edges.filter((e) => !edges.has(e.id) && !nodes.has(edgeSource(e)) && !nodes.has(e.to)),
    },
  };
}

/** What copy puts on the clipboard: the selected nodes and the edges running between them. */
export interface Fragment {
  nodes: LabNode[];
  edges: LabEdge[];
}

export function copyFragment(lab: Lab, selected: ReadonlySet<string>): Fragment {
  const nodes = lab.spec.nodes.filter((n) => selected.has(n.id));
  const edges = lab.spec.edges.filter((e) => selected.has(edgeSource(e)) && selected.has(e.to));
  return { nodes, edges };
}

/** Pastes a fragment with fresh ids, shifted by `offset`; returns the new node ids to select. */
export function pasteFragment(lab: Lab, fragment: Fragment, offset: XY): { lab: Lab; ids: string[] } {
  const taken = nodeIds(lab);
  const rename = new Map<string, string>();
  for (const n of fragment.nodes) {
    const id = uniqueId(n.id.replace(/-\d+$/, ''), taken);
    taken.add(id);
    rename.set(n.id, id);
  }
  const nodes = fragment.nodes.map((n) => {
    const p = n.position ?? { x: 0, y: 0 };
    return retarget(
      { ...n, id: rename.get(n.id)!, position: { x: p.x + offset.x, y: p.y + offset.y } },
      rename,
    );
  });
  const edgeIds = new Set(lab.spec.edges.map((e) => e.id));
  const edges = fragment.edges.map((e) => {
    const id = uniqueId(e.id.replace(/-\d+$/, ''), edgeIds);
    edgeIds.add(id);
    return renameInEdge({ ...e, id }, rename);
  });
  return {
    lab: {
      ...lab,
      spec: { ...lab.spec, nodes: [...lab.spec.nodes, ...nodes], edges: [...lab.spec.edges, ...edges] },
    },
    ids: nodes.map((n) => n.id),
  };
}

function renameInEdge(e: LabEdge, rename: ReadonlyMap<string, string>): LabEdge {
  const r = (id: string) => rename.get(id) ?? id;
  if (e.kind === 'membership') return { ...e, from: r(e.from), to: r(e.to) };
  return { ...e, from: { ...e.from, node: r(e.from.node) }, to: r(e.to) };
}

/** References from inside a node to other nodes (load target, control plane, extra clusters). */
function retarget(n: LabNode, rename: ReadonlyMap<string, string>): LabNode {
  const r = (id: string) => rename.get(id) ?? id;
  if (n.kind === 'client' && n.load) return { ...n, load: { ...n.load, node: r(n.load.node) } };
  const proxy =
    n.kind === 'frontProxy'
      ? n
      : (n.kind === 'service' || n.kind === 'client') && n.sidecar
        ? n.sidecar
        : undefined;
  if (!proxy) return n;
  const patched = {
    ...proxy,
    ...(proxy.clusters ? { clusters: proxy.clusters.map(r) } : {}),
    ...(proxy.delivery?.controlPlane
      ? { delivery: { ...proxy.delivery, controlPlane: r(proxy.delivery.controlPlane) } }
      : {}),
  };
  return n.kind === 'frontProxy' ? (patched as LabNode) : ({ ...n, sidecar: patched } as LabNode);
}

/** Renames a node and every reference to it. */
export function renameNode(lab: Lab, from: string, to: string): Lab {
  if (from === to) return lab;
  const rename = new Map([[from, to]]);
  return {
    ...lab,
    spec: {
      ...lab.spec,
      nodes: lab.spec.nodes.map((n) => retarget(n.id === from ? { ...n, id: to } : n, rename)),
      edges: lab.spec.edges.map((e) =>
        edgeSource(e) === from || e.to === from ? renameInEdge(e, rename) : e,
      ),
    },
  };
}
