/**
 * Where edges attach to a node and which connections the document allows: route and egress edges
 * leave one forwarding route of an HTTP listener (or a whole TCP/UDP listener) and end at a
 * cluster; membership edges leave a cluster and end at a service. The canvas shows exactly these
 * handles and refuses any other drag, so a drawn edge is always one the topology package accepts.
 */
import {
  type Lab,
  type LabEdge,
  type LabNode,
  type ListenerSpec,
  listenerProtocol,
  type RouteSpec,
  routeAction,
} from '@meshcraft/topology';

export const TARGET_HANDLE = 'in';
export const MEMBERS_HANDLE = 'members';

export interface RouteHandle {
  id: string;
  direction: 'ingress' | 'egress';
  listener: string;
  /** Present for HTTP listeners: the route edges leave. */
  route?: string;
  label: string;
}

export interface PortChip {
  port: number;
  protocol: string;
  direction: 'ingress' | 'egress' | 'app';
}

interface ListenerGroup {
  listeners: ListenerSpec[] | undefined;
  direction: 'ingress' | 'egress';
}

function listenerGroups(node: LabNode): ListenerGroup[] {
  if (node.kind === 'frontProxy') return [{ listeners: node.listeners, direction: 'ingress' }];
  if ((node.kind === 'service' || node.kind === 'client') && node.sidecar)
    return [
      { listeners: node.sidecar.ingress, direction: 'ingress' },
      { listeners: node.sidecar.egress, direction: 'egress' },
    ];
  return [];
}

export function routeLabel(r: RouteSpec): string {
  const m = r.match ?? {};
  const base =
    m.prefix !== undefined
      ? m.prefix
      : m.path !== undefined
        ? `=${m.path}`
        : m.regex !== undefined
          ? `~${m.regex}`
          : '?';
  const headers = (m.headers ?? []).map(
    (h) => `${h.name}${h.exact !== undefined ? `=${h.exact}` : h.present ? '' : '~'}`,
  );
  return [base, ...headers].join(' ');
}

/** The source handles of a node: one per forwarding route of its HTTP listeners, one per TCP/UDP listener. */
export function routeHandles(node: LabNode): RouteHandle[] {
  const out: RouteHandle[] = [];
  for (const group of listenerGroups(node)) {
    for (const l of group.listeners ?? []) {
      if (!l || typeof l !== 'object') continue;
      if (listenerProtocol(l) !== 'http') {
        if (!l.local)
          out.push({
            id: `listener:${l.name}`,
            direction: group.direction,
            listener: l.name,
            label: `${l.name} (${listenerProtocol(l)})`,
          });
        continue;
      }
      for (const vh of l.virtualHosts ?? []) {
        for (const r of vh?.routes ?? []) {
          if (!r || routeAction(r) !== 'forward') continue;
          out.push({
            id: `route:${r.id}`,
            direction: group.direction,
            listener: l.name,
            route: r.id,
            label: routeLabel(r),
          });
        }
      }
    }
  }
  return out;
}

export function portChips(node: LabNode): PortChip[] {
  const chips: PortChip[] = [];
  for (const group of listenerGroups(node))
    for (const l of group.listeners ?? [])
      if (l && typeof l === 'object')
        chips.push({ port: l.port, protocol: listenerProtocol(l), direction: group.direction });
  if (node.kind === 'service')
    chips.push({ port: node.app.port ?? (node.sidecar ? 8080 : 80), protocol: 'app', direction: 'app' });
  return chips;
}

export function hasTarget(node: LabNode): boolean {
  return node.kind === 'cluster' || node.kind === 'service';
}

export interface ConnectionRequest {
  source: string | null;
  sourceHandle?: string | null;
  target: string | null;
  targetHandle?: string | null;
}

/** The edge a connection would create, or why it cannot be made. */
export function edgeForConnection(lab: Lab, c: ConnectionRequest): { edge: LabEdge } | { refused: string } {
  const from = lab.spec.nodes.find((n) => n.id === c.source);
  const to = lab.spec.nodes.find((n) => n.id === c.target);
  if (!from || !to) return { refused: 'both ends must be nodes of this lab' };
  if (from.id === to.id) return { refused: 'a node cannot connect to itself' };
  const taken = new Set(lab.spec.edges.map((e) => e.id));
  if (c.sourceHandle === MEMBERS_HANDLE) {
    if (from.kind !== 'cluster') return { refused: 'membership edges leave a cluster' };
    if (to.kind !== 'service')
      return { refused: `a cluster's members are services; '${to.id}' is a ${to.kind}` };
    if (lab.spec.edges.some((e) => e.kind === 'membership' && e.from === from.id && e.to === to.id))
      return { refused: `'${to.id}' is already a member of '${from.id}'` };
    return {
      edge: { kind: 'membership', id: uniqueId(`${from.id}-${to.id}`, taken), from: from.id, to: to.id },
    };
  }
  const handle = routeHandles(from).find((h) => h.id === c.sourceHandle);
  if (!handle) return { refused: `'${from.id}' has no route to connect from` };
  if (to.kind !== 'cluster') return { refused: `routes lead to clusters; '${to.id}' is a ${to.kind}` };
  const key = handle.route !== undefined ? { route: handle.route } : { listener: handle.listener };
  const duplicate = lab.spec.edges.some(
    (e) =>
      e.kind !== 'membership' &&
      e.from.node === from.id &&
      e.to === to.id &&
      e.from.route === key.route &&
      (key.route !== undefined || e.from.listener === handle.listener),
  );
  if (duplicate) return { refused: `that route already leads to '${to.id}'` };
  const id = uniqueId(`${from.id}-${handle.route ?? handle.listener}-${to.id}`, taken);
  const kind = handle.direction === 'egress' ? 'egress' : 'route';
  return { edge: { kind, id, from: { node: from.id, ...key }, to: to.id } };
}

/** `base`, or `base-2`, `base-3`, ... whichever is free (ids are at most 63 characters). */
export function uniqueId(base: string, taken: ReadonlySet<string>): string {
  const clean =
    base
      .replace(/[^A-Za-z0-9_.-]/g, '-')
      .replace(/^[^A-Za-z0-9]+/, '')
      .slice(0, 56) || 'node';
  if (!taken.has(clean)) return clean;
  for (let i = 2; ; i++) {
    const candidate = `${clean}-${i}`;
    if (!taken.has(candidate)) return candidate;
  }
}

/** The source handle an existing edge is drawn from. */
export function sourceHandleOf(edge: LabEdge): string {
  if (edge.kind === 'membership') return MEMBERS_HANDLE;
  return edge.from.route !== undefined ? `route:${edge.from.route}` : `listener:${edge.from.listener}`;
}

export function edgeSource(edge: LabEdge): string {
  return edge.kind === 'membership' ? edge.from : edge.from.node;
}
