/** Text the canvas writes on edges: which requests a route edge carries, and its weight in a split. */
import { type Lab, LabIndex, routesOf } from '@meshcraft/topology';
import { routeLabel } from './handles.js';

export interface EdgeLabel {
  /** What the edge carries: the route's match (route edges), port and priority (membership edges). */
  text?: string;
  /** The configured weight; while a lab runs, the measured share replaces it. */
  weight?: string;
}

export function edgeLabels(lab: Lab): Map<string, EdgeLabel> {
  const out = new Map<string, EdgeLabel>();
  const index = new LabIndex(lab);
  const routes = new Map<string, string>();
  for (const p of index.proxies)
    for (const l of p.listeners)
      for (const r of routesOf(l)) routes.set(`${p.node.id}/${r.spec.id}`, routeLabel(r.spec));
  for (const e of lab.spec.edges) {
    const parts: string[] = [];
    let weight: string | undefined;
    if (e.kind === 'membership') {
      if (e.port !== undefined) parts.push(`:${e.port}`);
      if (e.priority !== undefined) parts.push(`p${e.priority}`);
      if (e.weight !== undefined) weight = `w${e.weight}`;
    } else {
      const match =
        e.from.route !== undefined ? routes.get(`${e.from.node}/${e.from.route}`) : e.from.listener;
      if (match) parts.push(match);
      if (e.weight !== undefined) weight = `${e.weight}${weightSuffix(lab, e.from.node, e.from.route)}`;
    }
    if (parts.length || weight) out.set(e.id, { text: parts.join(' · ') || undefined, weight });
  }
  return out;
}

/** Weights read as percentages when the route's total is 100 (the usual split), as plain numbers otherwise. */
function weightSuffix(lab: Lab, node: string, route: string | undefined): string {
  if (route === undefined) return '';
  const total = lab.spec.edges
    .filter((x) => x.kind !== 'membership' && x.from.node === node && x.from.route === route)
    .reduce((sum, x) => sum + (x.kind !== 'membership' ? (x.weight ?? 0) : 0), 0);
  return total === 100 ? '%' : '';
}
