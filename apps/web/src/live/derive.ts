/**
 * From a stats frame (per proxy: per cluster: rates and per-endpoint shares and health) to what
 * the canvas shows on lab elements: each edge's requests/s and share, each service replica's
 * health. Clusters are matched by their Envoy name, endpoints by the lab node and namespace the
 * server resolved their address to.
 *
 * A route edge's rate is its cluster's rate in the proxy it leaves; when two routes of one proxy
 * lead to the same cluster their traffic cannot be told apart from Envoy's stats, and both edges
 * show the cluster's total.
 */
import { clusterName, type Lab, type LabEdge, type ServiceNode } from '@meshcraft/topology';
import type { EndpointStats, StatsFrame } from '../api/types.js';
import type { EdgeLive, EndpointHealth, NodeLive } from './store.js';

export interface ContainerState {
  node: string;
  namespace: string;
  state: string;
}

const SEVERITY: Record<EndpointHealth, number> = {
  unknown: 0,
  healthy: 1,
  degraded: 2,
  ejected: 3,
  unhealthy: 4,
  failedActiveHc: 5,
  stopped: 6,
};

/** An endpoint's colour from Envoy's health flags, the most telling flag first. */
export function endpointHealth(e: Pick<EndpointStats, 'flags'>): EndpointHealth {
  const f = new Set(e.flags);
  if (f.has('failed_active_hc') || f.has('active_hc_timeout') || f.has('excluded_via_immediate_hc_fail'))
    return 'failedActiveHc';
  if (f.has('failed_outlier_check')) return 'ejected';
  if (f.has('failed_eds_health')) return 'unhealthy';
  if (f.has('degraded_active_hc') || f.has('degraded_eds_health')) return 'degraded';
  return 'healthy';
}

function worse(a: EndpointHealth, b: EndpointHealth): EndpointHealth {
  return SEVERITY[b] > SEVERITY[a] ? b : a;
}

/** Replica number (1-based) of a namespace id of a service: `web-2` → 2; `web` → 1. */
export function replicaOf(node: ServiceNode, namespace: string): number {
  if ((node.replicas ?? 1) <= 1) return 1;
  const n = Number(namespace.slice(node.id.length + 1));
  return Number.isInteger(n) && n >= 1 ? n : 1;
}

function clusterIds(lab: Lab): Map<string, string> {
  const out = new Map<string, string>();
  for (const n of lab.spec.nodes) if (n.kind === 'cluster') out.set(clusterName(n), n.id);
  return out;
}

/** Key of the route (or TCP listener) an edge leaves: its siblings share it. */
function fanKey(e: Exclude<LabEdge, { kind: 'membership' }>): string {
  return `${e.from.node}\u0000${e.from.route ?? `listener:${e.from.listener}`}`;
}

export interface Overlay {
  nodes: Map<string, NodeLive>;
  edges: Map<string, EdgeLive>;
}

export function deriveOverlay(
  lab: Lab,
  frame: StatsFrame | undefined,
  containers: readonly ContainerState[],
): Overlay {
  const byName = clusterIds(lab);
  /** proxy node → cluster node → rps */
  const routed = new Map<string, Map<string, number>>();
  /** cluster node → member node → rps, and the cluster's total */
  const members = new Map<string, Map<string, number>>();
  const clusterTotal = new Map<string, number>();
  /** namespace → health, the worst any proxy reports */
  const health = new Map<string, EndpointHealth>();

  for (const p of frame?.proxies ?? []) {
    for (const c of p.clusters) {
      const clusterId = byName.get(c.name);
      if (!clusterId) continue;
      const perProxy = routed.get(p.node) ?? new Map<string, number>();
      perProxy.set(clusterId, (perProxy.get(clusterId) ?? 0) + c.rps);
      routed.set(p.node, perProxy);
      const m = members.get(clusterId) ?? new Map<string, number>();
      for (const e of c.endpoints) {
        clusterTotal.set(clusterId, (clusterTotal.get(clusterId) ?? 0) + e.rps);
        if (!e.node || !e.namespace) continue;
        m.set(e.node, (m.get(e.node) ?? 0) + e.rps);
        health.set(e.namespace, worse(health.get(e.namespace) ?? 'unknown', endpointHealth(e)));
      }
      members.set(clusterId, m);
    }
  }

  const edges = new Map<string, EdgeLive>();
  const fanTotals = new Map<string, number>();
  for (const e of lab.spec.edges) {
    if (e.kind === 'membership') continue;
    const k = fanKey(e);
    fanTotals.set(k, (fanTotals.get(k) ?? 0) + (routed.get(e.from.node)?.get(e.to) ?? 0));
  }
  for (const e of lab.spec.edges) {
    if (e.kind === 'membership') {
      const rps = members.get(e.from)?.get(e.to) ?? 0;
      const total = clusterTotal.get(e.from) ?? 0;
      edges.set(e.id, { rps, share: total > 0 ? rps / total : 0 });
    } else {
      const rps = routed.get(e.from.node)?.get(e.to) ?? 0;
      const total = fanTotals.get(fanKey(e)) ?? 0;
      edges.set(e.id, { rps, share: total > 0 ? rps / total : 0 });
    }
  }

  const running = new Map<string, boolean>();
  const namespaceRunning = new Map<string, boolean>();
  for (const c of containers) {
    const up = c.state === 'running';
    running.set(c.node, (running.get(c.node) ?? true) && up);
    namespaceRunning.set(c.namespace, (namespaceRunning.get(c.namespace) ?? true) && up);
  }
  const nodes = new Map<string, NodeLive>();
  for (const n of lab.spec.nodes) {
    if (n.kind === 'cluster') continue;
    const endpoints: EndpointHealth[] = [];
    if (n.kind === 'service') {
      const replicas = n.replicas ?? 1;
      for (let r = 1; r <= replicas; r++) {
        const ns = replicas > 1 ? `${n.id}-${r}` : n.id;
        endpoints.push(namespaceRunning.get(ns) === false ? 'stopped' : (health.get(ns) ?? 'unknown'));
      }
    }
    nodes.set(n.id, { endpoints, running: running.get(n.id) ?? false });
  }
  return { nodes, edges };
}

/** A chart's subject: the split of one proxy route over its clusters, or one cluster over its endpoints. */
export type ShareSubject =
  | { kind: 'split'; node: string; route: string; title: string }
  | { kind: 'cluster'; cluster: string; title: string };

export function shareSubjects(lab: Lab): ShareSubject[] {
  const out: ShareSubject[] = [];
  const seen = new Set<string>();
  for (const e of lab.spec.edges) {
    if (e.kind === 'membership' || e.from.route === undefined) continue;
    const k = `${e.from.node}/${e.from.route}`;
    if (seen.has(k)) continue;
    seen.add(k);
    const fan = lab.spec.edges.filter(
      (x) => x.kind !== 'membership' && x.from.node === e.from.node && x.from.route === e.from.route,
    );
    if (fan.length > 1)
      out.push({
        kind: 'split',
        node: e.from.node,
        route: e.from.route,
        title: `${e.from.node} route ${e.from.route}`,
      });
  }
  for (const n of lab.spec.nodes)
    if (n.kind === 'cluster') out.push({ kind: 'cluster', cluster: n.id, title: `cluster ${n.id}` });
  return out;
}

export interface ShareSeries {
  keys: string[];
  /** Per frame: each key's share (0..1), in `keys` order; null where nothing flowed. */
  points: { at: number; values: number[] | null }[];
}

export function shareSeries(lab: Lab, frames: readonly StatsFrame[], subject: ShareSubject): ShareSeries {
  const byName = clusterIds(lab);
  if (subject.kind === 'split') {
    const keys = lab.spec.edges
      .filter(
        (e) => e.kind !== 'membership' && e.from.node === subject.node && e.from.route === subject.route,
      )
      .map((e) => e.to);
    const points = frames.map((f) => {
      const rates = keys.map((k) => {
        let sum = 0;
        for (const p of f.proxies)
          if (p.node === subject.node) for (const c of p.clusters) if (byName.get(c.name) === k) sum += c.rps;
        return sum;
      });
      return { at: f.at, values: normalise(rates) };
    });
    return { keys, points };
  }
  const keys: string[] = [];
  const perFrame = frames.map((f) => {
    const rates = new Map<string, number>();
    for (const p of f.proxies)
      for (const c of p.clusters) {
        if (byName.get(c.name) !== subject.cluster) continue;
        for (const e of c.endpoints) {
          const key = e.namespace ?? `${e.address}:${e.port}`;
          if (!keys.includes(key)) keys.push(key);
          rates.set(key, (rates.get(key) ?? 0) + e.rps);
        }
      }
    return { at: f.at, rates };
  });
  keys.sort();
  return {
    keys,
    points: perFrame.map((p) => ({ at: p.at, values: normalise(keys.map((k) => p.rates.get(k) ?? 0)) })),
  };
}

function normalise(rates: number[]): number[] | null {
  const total = rates.reduce((a, b) => a + b, 0);
  return total > 0 ? rates.map((r) => r / total) : null;
}
