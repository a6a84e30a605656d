/**
 * Live overlay values keyed by lab node and edge id. Components subscribe to their own key, and a
 * new stats snapshot notifies only the keys whose values changed: one endpoint's share moving
 * re-renders that edge's label and that node's badge, not the canvas.
 */
import { useSyncExternalStore } from 'react';
import type { ConfigBadge } from './liveConfig.js';

export type EndpointHealth =
  | 'healthy'
  | 'failedActiveHc'
  | 'ejected'
  | 'unhealthy'
  | 'degraded'
  | 'stopped'
  | 'unknown';

export interface NodeLive {
  /** Health of each replica's endpoint (index 0 = replica 1), as the proxies in front of it see it. */
  endpoints: EndpointHealth[];
  /** Whether the node's containers run. */
  running: boolean;
}

export interface EdgeLive {
  rps: number;
  /** Share (0..1) of the requests leaving the same proxy route (route edges) or cluster (membership edges). */
  share: number;
}

export class KeyedStore<V> {
  private values = new Map<string, V>();
  private readonly listeners = new Map<string, Set<() => void>>();

  get = (key: string): V | undefined => this.values.get(key);

  /**
   * Replaces every value; notifies the keys whose value is not `equal` to the old one, and keeps
   * the old object for the others, so what their subscribers read does not change at all.
   */
  replace(next: ReadonlyMap<string, V>, equal: (a: V, b: V) => boolean): number {
    const changed: string[] = [];
    const values = new Map<string, V>();
    for (const [k, v] of next) {
      const old = this.values.get(k);
      if (old === undefined || !equal(old, v)) {
        changed.push(k);
        values.set(k, v);
      } else values.set(k, old);
    }
    for (const k of this.values.keys()) if (!next.has(k)) changed.push(k);
    if (changed.length === 0) return 0;
    this.values = values;
    for (const k of changed) for (const l of this.listeners.get(k) ?? []) l();
    return changed.length;
  }

  subscribe(key: string, listener: () => void): () => void {
    let set = this.listeners.get(key);
    if (!set) {
      set = new Set();
      this.listeners.set(key, set);
    }
    set.add(listener);
    return () => set.delete(listener);
  }
}

export const sameNodeLive = (a: NodeLive, b: NodeLive): boolean =>
  a.running === b.running &&
  a.endpoints.length === b.endpoints.length &&
  a.endpoints.every((e, i) => e === b.endpoints[i]);

/** Edge values are compared as shown (one decimal of rps, whole percent), so invisible jitter causes no render. */
export const sameEdgeLive = (a: EdgeLive, b: EdgeLive): boolean =>
  Math.round(a.rps * 10) === Math.round(b.rps * 10) &&
  Math.round(a.share * 100) === Math.round(b.share * 100);

export const sameBadge = (a: ConfigBadge, b: ConfigBadge): boolean =>
  a.kind === b.kind && a.title === b.title;

export class LiveOverlay {
  readonly nodes = new KeyedStore<NodeLive>();
  readonly edges = new KeyedStore<EdgeLive>();
  /** Proxies that refused the last save or run behind what they are served, by lab node id. */
  readonly config = new KeyedStore<ConfigBadge>();

  clear(): void {
    this.nodes.replace(new Map(), sameNodeLive);
    this.edges.replace(new Map(), sameEdgeLive);
    this.config.replace(new Map(), sameBadge);
  }
}

export function useKeyed<V>(store: KeyedStore<V>, key: string): V | undefined {
  return useSyncExternalStore(
    (l) => store.subscribe(key, l),
    () => store.get(key),
  );
}
