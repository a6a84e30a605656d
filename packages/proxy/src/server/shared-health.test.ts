/**
 * A primary's clusters and a worker's built from the same config, joined as the IPC channel joins
 * them: the worker's hosts carry the primary's health, and what the worker's data path reports
 * reaches the primary's outlier detector and checkers.
 */
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { initHashing } from '../common/hash.js';
import { LogRegistry } from '../common/logger.js';
import type { Cluster as ClusterConfig } from '../config/types.js';
import { Runtime } from '../runtime/runtime.js';
import { Store } from '../stats/store.js';
import { ClusterManager } from '../upstream/cluster-manager.js';
import { DnsResolver } from '../upstream/dns.js';
import { TestHttpServer, waitFor } from '../upstream/health-check/test-support.js';
import type { HostMonitor } from '../upstream/outlier/detector.js';
import type { FromWorker, WorkerLink } from './ipc.js';
import { HostHealthService, WorkerHostHealth } from './shared-health.js';

beforeAll(() => initHashing());

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const deps = () => ({
  store: new Store(),
  runtime: new Runtime(undefined),
  logs: new LogRegistry('off'),
  dns: new DnsResolver(),
  random: Math.random,
});

async function primaryAndWorker(extra: Partial<ClusterConfig>) {
  const servers = [await new TestHttpServer().listen(), await new TestHttpServer().listen()];
  cleanups.push(() => Promise.all(servers.map((s) => s.close())).then(() => undefined));
  const config: ClusterConfig = {
    name: 'web',
    type: 'STATIC',
    load_assignment: {
      cluster_name: 'web',
      endpoints: [
        {
          lb_endpoints: servers.map((s) => ({
            endpoint: { address: { socket_address: { address: '127.0.0.1', port_value: s.port } } },
          })),
        },
      ],
    },
    ...extra,
  };
  const primary = new ClusterManager(deps());
  cleanups.push(() => primary.destroy());
  // The IPC channel, both ways, asynchronous as it is.
  const toWorker: WorkerLink = {
    index: 0,
    send: (m) => setImmediate(() => m.t === 'health' && health.apply(m)),
  };
  const service = new HostHealthService(
    primary,
    (m) => toWorker.send(m),
    new LogRegistry('off').get('hc', 'test'),
  );
  const fromWorker: FromWorker[] = [];
  const health = new WorkerHostHealth((m) => {
    fromWorker.push(m);
    setImmediate(() => {
      if (m.t === 'health') void service.request(toWorker, m);
      else if (m.t === 'outlier') service.outlier(m);
      else if (m.t === 'immediate-hc-fail') service.immediateHealthCheckFail(m);
    });
  });
  const workerDeps = deps();
  const worker = new ClusterManager({ ...workerDeps, remoteHealth: (c) => health.follow(c) });
  cleanups.push(() => worker.destroy());
  health.clusters = () => [...worker.clusters(), ...worker.warmingClusters()];
  await primary.addOrUpdate(config, { addedViaApi: false }).warmed;
  await worker.addOrUpdate(config, { addedViaApi: false }).warmed;
  return {
    servers,
    primary: primary.get('web')!,
    worker: worker.get('web')!,
    workerStore: workerDeps.store,
    fromWorker,
  };
}

const HEALTH_CHECK = {
  timeout: '1s',
  interval: '0.050s',
  no_traffic_interval: '0.050s',
  healthy_threshold: 1,
  unhealthy_threshold: 1,
  http_health_check: { path: '/livez' },
};

describe('shared host health', () => {
  it('a worker’s cluster warms with the primary’s check results and follows their changes', async () => {
    const { servers, primary, worker, workerStore, fromWorker } = await primaryAndWorker({
      health_checks: [HEALTH_CHECK],
    });
    const [first, second] = worker.prioritySet.allHosts();
    expect(worker.prioritySet.allHosts().map((h) => h.healthFlagsString())).toEqual(['healthy', 'healthy']);
    servers[0]!.status = 503;
    await waitFor(() => first!.hasFlag('failed_active_hc'), 'the primary’s failed check to reach the worker');
    expect(primary.prioritySet.allHosts()[0]!.hasFlag('failed_active_hc')).toBe(true);
    expect(worker.stats.membership_healthy.value).toBe(1);
    for (let i = 0; i < 10; i++) expect(worker.lb.chooseHost()).toBe(second);
    // The worker checks nothing itself: it asked once, and its hosts changed on the primary's word.
    expect(fromWorker.map((m) => m.t)).toEqual(['health']);
    expect(workerStore.counters().filter((c) => c.name.includes('health_check'))).toEqual([]);
    servers[0]!.status = 200;
    await waitFor(() => !first!.hasFlag('failed_active_hc'), 'the host to come back in the worker');
  });

  it('outlier results from the worker eject in the primary, and the ejection reaches the worker', async () => {
    const { primary, worker } = await primaryAndWorker({
      outlier_detection: { consecutive_5xx: 3, base_ejection_time: '60s', max_ejection_percent: 50 },
    });
    expect(worker.outlierDetector).toBeUndefined();
    const [bad] = worker.prioritySet.allHosts();
    const judge = primary.prioritySet.allHosts()[0]!.outlier as HostMonitor;
    bad!.outlier!.putHttpResponseCode(503);
    bad!.outlier!.putHttpResponseCode(503);
    await waitFor(() => judge.consecutive5xx === 2, 'the primary to count the worker’s 5xx');
    expect(bad!.hasFlag('failed_outlier_check')).toBe(false);
    bad!.outlier!.putHttpResponseCode(503);
    await waitFor(() => bad!.hasFlag('failed_outlier_check'), 'the ejection to reach the worker');
    expect(primary.prioritySet.allHosts()[0]!.hasFlag('failed_outlier_check')).toBe(true);
    expect(worker.stats.membership_healthy.value).toBe(1);
  });

  it('an immediate health-check failure seen by a worker fails the host in the primary', async () => {
    const { primary, worker } = await primaryAndWorker({ health_checks: [HEALTH_CHECK] });
    const [host] = worker.prioritySet.allHosts();
    worker.immediateHealthCheckFail(host!);
    await waitFor(
      () => primary.prioritySet.allHosts()[0]!.hasFlag('excluded_via_immediate_hc_fail'),
      'the primary to exclude the host',
    );
    await waitFor(() => host!.hasFlag('failed_active_hc'), 'the worker to follow');
  });

  it('a cluster with neither health checks nor outlier detection follows nothing', async () => {
    const { worker, fromWorker } = await primaryAndWorker({});
    expect(fromWorker).toEqual([]);
    expect(worker.prioritySet.allHosts().map((h) => h.healthFlagsString())).toEqual(['healthy', 'healthy']);
  });
});
