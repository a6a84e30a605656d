/**
 * The stats of a proxy of worker processes, as one store: what `/stats`, `/stats/prometheus` and
 * `/clusters` show with `--concurrency N` is what one Envoy process with N worker threads shows.
 *
 * The primary runs the control plane and the workers the data plane, but every process builds the
 * same clusters and listeners from the same config, so config events (`cluster_added`,
 * `membership_change`, ...) happen in each of them. Hence the rules:
 * - a counter the primary has counted is the primary's (the workers' copies echo the same events);
 *   any other counter counts data-plane events and is summed over the workers;
 * - Accumulate gauges are summed over all processes (data-plane gauges are 0 in the primary);
 * - NeverImport gauges are one process's state: the first worker's that keeps the gauge (what
 *   serves traffic), or the primary's for those only it keeps (health checking, outlier
 *   detection, xDS);
 * - histograms are merged.
 * Counters and histograms of a worker that died carry over to the aggregate, as Envoy's carry over
 * a hot restart; its gauges go with it.
 */

import { HOST_GAUGES as HOST_GAUGE_NAMES } from '../admin/clusters.js';
import {
  type GaugeImportMode,
  HistogramBuckets,
  type HistogramUnit,
  type Stat,
  type Store,
} from '../stats/store.js';
import type { Cluster } from '../upstream/cluster.js';
import type { HostStats } from '../upstream/host.js';
import { hostId } from './ipc.js';

interface BucketsSnapshot {
  counts: [key: number, count: number][];
  total: number;
  sum: number;
}

export interface StoreSnapshot {
  counters: [name: string, value: number, latched: number, used: boolean][];
  gauges: [name: string, value: number, mode: GaugeImportMode, used: boolean][];
  histograms: [
    name: string,
    unit: HistogramUnit,
    cumulative: BucketsSnapshot,
    interval: BucketsSnapshot,
    used: boolean,
  ][];
}

/** Per cluster, per host (`<priority>/<address>:<port>`), the `/clusters` host counters. */
export type HostStatsSnapshot = [cluster: string, hosts: [host: string, stats: HostStats][]][];

const HOST_GAUGES: ReadonlySet<keyof HostStats> = new Set(HOST_GAUGE_NAMES);

function buckets(b: HistogramBuckets): BucketsSnapshot {
  return { counts: [...b.counts], total: b.total, sum: b.sum };
}

function restore(s: BucketsSnapshot): HistogramBuckets {
  const b = new HistogramBuckets();
  for (const [k, c] of s.counts) b.counts.set(k, c);
  b.total = s.total;
  b.sum = s.sum;
  return b;
}

export function snapshotStore(store: Store): StoreSnapshot {
  return {
    counters: store.counters().map((c) => [c.name, c.value, c.latched, c.used]),
    gauges: store.gauges().map((g) => [g.name, g.value, g.importMode, g.used]),
    histograms: store
      .histograms()
      .map((h) => [h.name, h.unit, buckets(h.cumulative), buckets(h.interval), h.used]),
  };
}

function markUsed(stat: Stat, used: boolean): void {
  if (used) stat.used = true;
}

/**
 * Writes into `into` (an empty store) the aggregate of the primary's stats and the workers' (live
 * ones first, in worker order, then what dead workers left).
 */
export function aggregateStats(
  primary: StoreSnapshot,
  live: readonly StoreSnapshot[],
  retired: StoreSnapshot,
  into: Store,
): void {
  const primaryCounted = new Set(primary.counters.filter(([, value]) => value !== 0).map(([n]) => n));
  for (const [name, value, latched, used] of primary.counters) {
    const c = into.counter(name);
    if (primaryCounted.has(name)) {
      c.value = value;
      c.latched = latched;
    }
    markUsed(c, used);
  }
  for (const worker of [...live, retired]) {
    for (const [name, value, latched, used] of worker.counters) {
      const c = into.counter(name);
      if (!primaryCounted.has(name)) {
        c.value += value;
        c.latched += latched;
      }
      markUsed(c, used);
    }
  }

  const oneProcess = new Set<string>();
  for (const worker of live) {
    for (const [name, value, mode, used] of worker.gauges) {
      const g = into.gauge(name, mode);
      if (mode === 'Accumulate') g.value += value;
      else if (used && !oneProcess.has(name)) {
        oneProcess.add(name);
        g.value = value;
      }
      markUsed(g, used);
    }
  }
  for (const [name, value, mode, used] of primary.gauges) {
    const g = into.gauge(name, mode);
    if (mode === 'Accumulate') g.value += value;
    else if (!oneProcess.has(name)) g.value = value;
    markUsed(g, used);
  }

  for (const snapshot of [primary, ...live, retired]) {
    for (const [name, unit, cumulative, interval, used] of snapshot.histograms) {
      const h = into.histogram(name, unit);
      h.cumulative.merge(restore(cumulative));
      h.interval.merge(restore(interval));
      markUsed(h, used);
    }
  }
}

/** The host counters of `/clusters`, per cluster, as one process counted them. */
export function hostStatsSnapshot(clusters: readonly Cluster[]): HostStatsSnapshot {
  return clusters.map((c) => [c.name, c.prioritySet.allHosts().map((h) => [hostId(h), { ...h.stats }])]);
}

/** Sums host stats per cluster and host; `countersOnly` leaves out the gauges (a dead worker's). */
export function addHostStats(
  into: Map<string, Map<string, HostStats>>,
  snapshot: HostStatsSnapshot,
  countersOnly = false,
): void {
  for (const [cluster, hosts] of snapshot) {
    let byHost = into.get(cluster);
    if (!byHost) {
      byHost = new Map();
      into.set(cluster, byHost);
    }
    for (const [host, stats] of hosts) {
      const keys = Object.keys(stats) as (keyof HostStats)[];
      const sum = byHost.get(host) ?? (Object.fromEntries(keys.map((k) => [k, 0])) as unknown as HostStats);
      for (const key of keys) {
        if (!(countersOnly && HOST_GAUGES.has(key))) sum[key] += stats[key];
      }
      byHost.set(host, sum);
    }
  }
}

/** What dead workers counted, kept so that the aggregate's counters never go back. */
export class RetiredStats {
  private readonly counters = new Map<string, { value: number; latched: number }>();
  private readonly histograms = new Map<string, { unit: HistogramUnit; buckets: HistogramBuckets }>();
  private readonly hosts = new Map<string, Map<string, HostStats>>();

  retire(stats: StoreSnapshot, hosts: HostStatsSnapshot): void {
    for (const [name, value, latched] of stats.counters) {
      const c = this.counters.get(name) ?? { value: 0, latched: 0 };
      c.value += value;
      c.latched += latched;
      this.counters.set(name, c);
    }
    for (const [name, unit, cumulative] of stats.histograms) {
      const h = this.histograms.get(name) ?? { unit, buckets: new HistogramBuckets() };
      h.buckets.merge(restore(cumulative));
      this.histograms.set(name, h);
    }
    addHostStats(this.hosts, hosts, true);
  }

  hostsSnapshot(): HostStatsSnapshot {
    return [...this.hosts].map(([cluster, hosts]) => [cluster, [...hosts]]);
  }

  /** `/reset_counters` resets what the dead workers counted too. */
  resetCounters(): void {
    for (const c of this.counters.values()) {
      c.value = 0;
      c.latched = 0;
    }
  }

  /** As a worker's snapshot: counters and histograms (a dead worker's last interval is over). */
  snapshot(): StoreSnapshot {
    const empty = buckets(new HistogramBuckets());
    return {
      counters: [...this.counters].map(([name, c]) => [name, c.value, c.latched, true]),
      gauges: [],
      histograms: [...this.histograms].map(([name, h]) => [name, h.unit, buckets(h.buckets), empty, true]),
    };
  }
}
