import { describe, expect, it } from 'vitest';
import { Store } from '../stats/store.js';
import type { HostStats } from '../upstream/host.js';
import {
  addHostStats,
  aggregateStats,
  type HostStatsSnapshot,
  RetiredStats,
  snapshotStore,
} from './stats-aggregation.js';

function aggregate(primary: Store, workers: Store[], retired = new RetiredStats()): Store {
  const into = new Store();
  aggregateStats(snapshotStore(primary), workers.map(snapshotStore), retired.snapshot(), into);
  return into;
}

const value = (store: Store, name: string) =>
  [...store.counters(), ...store.gauges()].find((s) => s.name === name)?.value;

describe('aggregateStats', () => {
  it('sums data-plane counters over the workers and counts config events once', () => {
    const [primary, w0, w1] = [new Store(), new Store(), new Store()];
    for (const s of [primary, w0, w1]) s.counter('cluster_manager.cluster_added').inc(2);
    primary.counter('cluster.web.upstream_rq_total');
    w0.counter('cluster.web.upstream_rq_total').inc(3);
    w1.counter('cluster.web.upstream_rq_total').inc(4);
    primary.counter('cluster.web.health_check.attempt').inc(5);
    const into = aggregate(primary, [w0, w1]);
    expect(value(into, 'cluster_manager.cluster_added')).toBe(2);
    expect(value(into, 'cluster.web.upstream_rq_total')).toBe(7);
    expect(value(into, 'cluster.web.health_check.attempt')).toBe(5);
    expect(into.counters().find((c) => c.name === 'cluster.web.upstream_rq_total')?.used).toBe(true);
  });

  it('sums Accumulate gauges; NeverImport ones are the first worker’s, or the primary’s when only it keeps them', () => {
    const [primary, w0, w1] = [new Store(), new Store(), new Store()];
    w0.gauge('cluster.web.upstream_rq_active').set(2);
    w1.gauge('cluster.web.upstream_rq_active').set(3);
    primary.gauge('cluster.web.upstream_rq_active');
    for (const [s, v] of [
      [primary, 0],
      [w0, 1],
      [w1, 0],
    ] as const)
      s.gauge('cluster.web.circuit_breakers.default.cx_open', 'NeverImport').set(v);
    primary.gauge('cluster.web.health_check.healthy', 'NeverImport').set(2);
    primary.gauge('cluster.web.outlier_detection.ejections_active', 'NeverImport').set(1);
    // A worker that has the gauge but never set it does not hide the primary's value.
    w0.gauge('cluster.web.outlier_detection.ejections_active', 'NeverImport');
    const into = aggregate(primary, [w0, w1]);
    expect(value(into, 'cluster.web.upstream_rq_active')).toBe(5);
    expect(value(into, 'cluster.web.circuit_breakers.default.cx_open')).toBe(1);
    expect(value(into, 'cluster.web.health_check.healthy')).toBe(2);
    expect(value(into, 'cluster.web.outlier_detection.ejections_active')).toBe(1);
  });

  it('merges histograms, cumulative and interval', () => {
    const [primary, w0, w1] = [new Store(), new Store(), new Store()];
    w0.histogram('cluster.web.upstream_rq_time').record(10);
    w1.histogram('cluster.web.upstream_rq_time').record(20);
    w1.histogram('cluster.web.upstream_rq_time').record(30);
    w1.flush();
    const h = aggregate(primary, [w0, w1])
      .histograms()
      .find((x) => x.name === 'cluster.web.upstream_rq_time')!;
    expect(h.cumulative.total).toBe(3);
    expect(h.cumulative.sum).toBe(60);
    expect(h.interval.total).toBe(2);
    expect(h.unit).toBe('Milliseconds');
  });

  it('keeps what a dead worker counted, but not its gauges, until counters are reset', () => {
    const [primary, w0, w1] = [new Store(), new Store(), new Store()];
    w0.counter('http.ingress.downstream_rq_total').inc(10);
    w0.gauge('http.ingress.downstream_rq_active').set(1);
    w0.histogram('http.ingress.downstream_rq_time').record(5);
    const retired = new RetiredStats();
    retired.retire(snapshotStore(w0), []);
    w1.counter('http.ingress.downstream_rq_total').inc(1);
    let into = aggregate(primary, [new Store(), w1], retired);
    expect(value(into, 'http.ingress.downstream_rq_total')).toBe(11);
    expect(value(into, 'http.ingress.downstream_rq_active')).toBeUndefined();
    expect(into.histograms()[0]!.cumulative.total).toBe(1);
    retired.resetCounters();
    into = aggregate(primary, [w1], retired);
    expect(value(into, 'http.ingress.downstream_rq_total')).toBe(1);
  });
});

describe('addHostStats', () => {
  const stats = (rq: number, active: number): HostStats => ({
    cx_active: active,
    cx_connect_fail: 0,
    cx_total: rq,
    rq_active: active,
    rq_error: 0,
    rq_success: rq,
    rq_timeout: 0,
    rq_total: rq,
  });

  it('sums per cluster and host; a dead worker adds its counters only', () => {
    const into = new Map<string, Map<string, HostStats>>();
    const live: HostStatsSnapshot = [['web', [['0/10.0.0.1:80', stats(3, 1)]]]];
    addHostStats(into, live);
    addHostStats(into, [
      [
        'web',
        [
          ['0/10.0.0.1:80', stats(4, 2)],
          ['0/10.0.0.2:80', stats(1, 0)],
        ],
      ],
    ]);
    addHostStats(into, [['web', [['0/10.0.0.1:80', stats(5, 7)]]]], true);
    expect(into.get('web')?.get('0/10.0.0.1:80')).toEqual(stats(12, 3));
    expect(into.get('web')?.get('0/10.0.0.2:80')?.rq_total).toBe(1);
  });
});
