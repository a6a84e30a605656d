import { CONSOLE_XDS_CLUSTER } from '@meshcraft/topology';
import { describe, expect, it } from 'vitest';
import type { ClusterStatus, HostStatus } from './envoy.js';
import { type ProxySample, proxyStats } from './frames.js';

function host(address: string, rqTotal: number, failed = false): HostStatus {
  return {
    address,
    port: 80,
    stats: { rq_total: rqTotal },
    health: {
      failedActiveHc: failed,
      failedOutlierCheck: false,
      failedActiveDegradedCheck: false,
      pendingDynamicRemoval: false,
      pendingActiveHc: false,
      excludedViaImmediateHcFail: false,
      activeHcTimeout: false,
      edsHealthStatus: 'HEALTHY',
    },
    weight: 1,
    priority: 0,
    locality: {},
  };
}

function sample(at: number, hosts: HostStatus[], stats: Record<string, number>): ProxySample {
  const cluster: ClusterStatus = { name: 'web', statName: 'web', addedViaApi: false, hosts };
  return { at, clusters: [cluster], stats: new Map(Object.entries(stats)) };
}

const owners = new Map([
  ['10.0.0.1', { node: 'app', namespace: 'app-1' }],
  ['10.0.0.2', { node: 'app', namespace: 'app-2' }],
]);
const ownerOf = (a: string) => owners.get(a);
const who = { node: 'front', container: 'front' };

describe('proxyStats', () => {
  it('turns counter deltas into rates and per-endpoint shares, and names the lab node of each endpoint', () => {
    const before = sample(0, [host('10.0.0.1', 100), host('10.0.0.2', 100)], {
      'cluster.web.upstream_rq_total': 200,
      'cluster.web.upstream_rq_2xx': 190,
      'cluster.web.upstream_rq_5xx': 10,
    });
    const now = sample(2000, [host('10.0.0.1', 130), host('10.0.0.2', 110)], {
      'cluster.web.upstream_rq_total': 240,
      'cluster.web.upstream_rq_2xx': 226,
      'cluster.web.upstream_rq_5xx': 14,
      'cluster.web.membership_healthy': 2,
      'cluster.web.membership_total': 2,
      'http.ingress_http.downstream_rq_total': 50,
      'http.admin.downstream_rq_total': 999,
    });
    const stats = proxyStats(who, now, before, ownerOf);
    const web = stats.clusters[0]!;
    expect(web.rps).toBe(20);
    expect(web.responses).toEqual({ '2xx': 18, '3xx': 0, '4xx': 0, '5xx': 2 });
    expect(web.counters).toEqual({ requests: 240, rq2xx: 226, rq5xx: 14 });
    expect(web.deltas).toEqual({ requests: 40, rq2xx: 36, rq5xx: 4 });
    expect(web.membership).toMatchObject({ total: 2, healthy: 2 });
    expect(web.endpoints.map((e) => [e.namespace, e.rps, e.share])).toEqual([
      ['app-1', 15, 0.75],
      ['app-2', 5, 0.25],
    ]);
    // The admin's own connection manager is the collector's polling, not the lab's traffic.
    expect(stats.listeners.map((l) => l.statPrefix)).toEqual(['ingress_http']);
  });

  it('gives a null share when the cluster had no requests, and zero rates on the first reading', () => {
    const first = sample(0, [host('10.0.0.1', 5)], { 'cluster.web.upstream_rq_total': 5 });
    expect(proxyStats(who, first, undefined, ownerOf).clusters[0]!.rps).toBe(0);
    const idle = sample(1000, [host('10.0.0.1', 5)], { 'cluster.web.upstream_rq_total': 5 });
    expect(proxyStats(who, idle, first, ownerOf).clusters[0]!.endpoints[0]!.share).toBeNull();
  });

  it('takes a counter that went down as a restarted proxy: the new value is the delta', () => {
    const before = sample(0, [host('10.0.0.1', 500)], { 'cluster.web.upstream_rq_total': 500 });
    const now = sample(1000, [host('10.0.0.1', 7)], { 'cluster.web.upstream_rq_total': 7 });
    const web = proxyStats(who, now, before, ownerOf).clusters[0]!;
    expect(web.rps).toBe(7);
    expect(web.endpoints[0]!.rps).toBe(7);
  });

  it('marks a failed endpoint unhealthy with Envoy’s flag, and an unknown address without an owner', () => {
    const now = sample(1000, [host('10.0.0.1', 0, true), host('192.0.2.9', 0)], {});
    const [failed, stranger] = proxyStats(who, now, undefined, ownerOf).clusters[0]!.endpoints;
    expect(failed).toMatchObject({ healthy: false, flags: ['failed_active_hc'], node: 'app' });
    expect(stranger!.node).toBeUndefined();
  });

  it("leaves out the console's own cluster, through which a served proxy reaches its control plane", () => {
    const now = sample(1000, [host('10.0.0.1', 3)], {});
    now.clusters.push({
      name: CONSOLE_XDS_CLUSTER,
      statName: CONSOLE_XDS_CLUSTER,
      addedViaApi: false,
      hosts: [host('10.0.0.9', 1)],
    });
    expect(proxyStats(who, now, undefined, ownerOf).clusters.map((c) => c.name)).toEqual(['web']);
  });
});
