/**
 * Fixtures for the load-balancer tests: a seeded random source, host sets built from a compact
 * description, and the sampling tolerance that statistical assertions use.
 */
import type { Cluster } from '../../config/types.js';
import { Runtime } from '../../runtime/runtime.js';
import { Store } from '../../stats/store.js';
import { Host, PrioritySet } from '../host.js';
import type { LoadBalancerParams, LoadBalancerStats } from './types.js';

/** mulberry32: a small, well-distributed 32-bit PRNG, so that every statistical test is repeatable. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 0x1_0000_0000;
  };
}

/**
 * Half-width of the acceptance band for an observed share of `n` independent picks whose true
 * probability is `p`: `z` binomial standard deviations. z = 4.5 leaves a 7·10⁻⁶ chance that a
 * correct balancer fails, while a share that is off by more than the band is reported.
 */
export function shareTolerance(p: number, n: number, z = 4.5): number {
  return z * Math.sqrt((p * (1 - p)) / n);
}

/**
 * The χ² critical value for `df` degrees of freedom at significance 0.001 (Wilson–Hilferty), for
 * uniformity tests over many bins.
 */
export function chiSquareCritical001(df: number): number {
  const z = 3.0902; // one-sided standard normal quantile for 0.001
  const a = 2 / (9 * df);
  return df * (1 - a + z * Math.sqrt(a)) ** 3;
}

export interface LocalitySpec {
  /** Number of hosts, or their weights. */
  hosts: number | number[];
  weight?: number;
  region?: string;
}

export interface PrioritySpec {
  localities: LocalitySpec[];
}

let nextAddress = 1;

/** Hosts 10.0.<n>.<m>:80, grouped as described, one entry of `priorities` per level. */
export function buildPrioritySet(priorities: PrioritySpec[], overprovisioningFactor?: number): PrioritySet {
  const ps = new PrioritySet();
  priorities.forEach((spec, priority) => {
    const localities = spec.localities.map((l, li) => {
      const weights = typeof l.hosts === 'number' ? new Array<number>(l.hosts).fill(1) : l.hosts;
      const hosts = weights.map(
        (weight) =>
          new Host({
            address: `10.${priority}.${li}.${nextAddress++ % 250}`,
            port: 80,
            weight,
            priority,
            locality: { region: l.region ?? `region-${li}` },
          }),
      );
      return { hosts, weight: l.weight ?? 1 };
    });
    const all = localities.flatMap((l) => l.hosts);
    ps.updateHosts(priority, localities, all, [], overprovisioningFactor);
  });
  return ps;
}

export function lbStats(store: Store, cluster = 'test'): LoadBalancerStats {
  const s = store.scope(`cluster.${cluster}.`);
  return {
    lb_healthy_panic: s.counter('lb_healthy_panic'),
    lb_zone_no_capacity_left: s.counter('lb_zone_no_capacity_left'),
    lb_recalculate_zone_structures: s.counter('lb_recalculate_zone_structures'),
    lb_subsets_active: s.gauge('lb_subsets_active'),
    lb_subsets_created: s.counter('lb_subsets_created'),
    lb_subsets_removed: s.counter('lb_subsets_removed'),
    lb_subsets_selected: s.counter('lb_subsets_selected'),
    lb_subsets_fallback: s.counter('lb_subsets_fallback'),
    lb_subsets_fallback_panic: s.counter('lb_subsets_fallback_panic'),
    lb_subsets_single_host_per_subset_duplicate: s.gauge('lb_subsets_single_host_per_subset_duplicate'),
  };
}

export interface Fixture {
  params: LoadBalancerParams;
  store: Store;
}

export function lbParams(
  prioritySet: PrioritySet,
  config: Partial<Cluster> = {},
  seed = 1,
  runtime = new Runtime(undefined),
): Fixture {
  const store = new Store();
  return {
    store,
    params: {
      config: { name: 'test', ...config },
      prioritySet,
      stats: lbStats(store),
      scope: store.scope('cluster.test.'),
      runtime,
      random: seededRandom(seed),
    },
  };
}

/** Marks hosts as failing active health checks and tells the load balancers. */
export function failHosts(ps: PrioritySet, hosts: Host[]): void {
  for (const h of hosts) h.setFlag('failed_active_hc');
  ps.refreshHealth();
}

/** How many of `n` picks went to each host key. */
export function countPicks(pick: () => Host | undefined, n: number): Map<string, number> {
  const counts = new Map<string, number>();
  for (let i = 0; i < n; i++) {
    const h = pick();
    const k = h ? h.key : 'none';
    counts.set(k, (counts.get(k) ?? 0) + 1);
  }
  return counts;
}
