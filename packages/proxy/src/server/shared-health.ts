/**
 * One health view for all the processes, as Envoy has one for all its threads: the primary runs
 * the active health checks and the outlier detectors (Envoy's main thread does both), and every
 * worker's hosts carry the flags the primary decided, so `/clusters` and every worker's load
 * balancer agree whichever worker serves.
 *
 * - A worker's cluster with health checks or outlier detection asks the primary for its twin's
 *   host health (the primary's cluster with the same name and config) and counts as checked once
 *   that arrives, which is when the twin has had its first checks.
 * - The primary then sends every change of the twin's flags to all workers.
 * - Workers send what the outlier detector needs — each upstream result, batched per event-loop
 *   turn — and `x-envoy-immediate-health-check-fail` responses; the primary's detector and
 *   checkers judge them as they judge their own, so consecutive-error counts span all workers.
 */
import { xxHash64 } from '../common/hash.js';
import type { Logger } from '../common/logger.js';
import type { Cluster } from '../upstream/cluster.js';
import type { ClusterManager } from '../upstream/cluster-manager.js';
import type { HealthChecker } from '../upstream/health-check/index.js';
import {
  HEALTH_FLAGS,
  type HealthFlag,
  type Host,
  type OutlierMonitor,
  type OutlierResult,
} from '../upstream/host.js';
import {
  type ClusterRef,
  type FromWorker,
  type HostHealth,
  hostId,
  type ToWorker,
  type WorkerLink,
} from './ipc.js';

/** The flags active health checking and outlier detection set; the others come from config (EDS). */
const DECIDED_FLAGS: readonly HealthFlag[] = [
  'failed_active_hc',
  'failed_outlier_check',
  'degraded_active_hc',
  'pending_active_hc',
  'excluded_via_immediate_hc_fail',
  'active_hc_timeout',
];
const bit = (flag: HealthFlag) => 1 << HEALTH_FLAGS.indexOf(flag);

const digests = new WeakMap<Cluster, string>();

export function clusterRef(cluster: Cluster): ClusterRef {
  let digest = digests.get(cluster);
  if (digest === undefined) {
    digest = xxHash64(JSON.stringify(cluster.config)).toString(16);
    digests.set(cluster, digest);
  }
  return { cluster: cluster.name, digest };
}

function sameCluster(cluster: Cluster, ref: ClusterRef): boolean {
  return cluster.name === ref.cluster && clusterRef(cluster).digest === ref.digest;
}

function hostHealth(cluster: Cluster): HostHealth {
  return cluster.prioritySet.allHosts().map((h) => {
    let flags = 0;
    for (const f of DECIDED_FLAGS) if (h.hasFlag(f)) flags |= bit(f);
    return [hostId(h), flags];
  });
}

/** The primary's side: answers workers' clusters and applies what workers report. */
export class HostHealthService {
  private readonly observed = new WeakSet<Cluster>();

  constructor(
    private readonly clusters: ClusterManager,
    private readonly broadcast: (message: ToWorker) => void,
    private readonly log: Logger,
  ) {}

  /** A worker built a cluster: once the primary's twin is warm, send it the twin's host health. */
  async request(worker: WorkerLink, ref: ClusterRef): Promise<void> {
    const cluster = this.find(ref);
    if (!cluster) {
      // The primary has moved on from this config; the worker's cluster will be replaced too.
      this.log.debug(`no cluster ${ref.cluster} with config ${ref.digest} for worker ${worker.index}`);
      return;
    }
    try {
      await cluster.initialize();
    } catch {
      return; // it failed to warm here, and will not warm in the worker either
    }
    this.observe(cluster);
    worker.send({ t: 'health', ...ref, hosts: hostHealth(cluster) });
  }

  outlier(message: Extract<FromWorker, { t: 'outlier' }>): void {
    const hosts = this.hostsOf(message);
    if (!hosts) return;
    message.hosts.forEach((id, i) => {
      const monitor = hosts.get(id)?.outlier;
      const result = message.results[i]!;
      if (typeof result === 'number') monitor?.putHttpResponseCode(result);
      else monitor?.putResult(result);
    });
  }

  immediateHealthCheckFail(message: Extract<FromWorker, { t: 'immediate-hc-fail' }>): void {
    const host = this.hostsOf(message)?.get(message.host);
    if (host) this.find(message)?.immediateHealthCheckFail(host);
  }

  /** From now on, every change of the cluster's host health goes to all workers (once per turn). */
  private observe(cluster: Cluster): void {
    if (this.observed.has(cluster)) return;
    this.observed.add(cluster);
    const ref = clusterRef(cluster);
    let sent = JSON.stringify(hostHealth(cluster));
    let queued = false;
    cluster.prioritySet.onMembershipUpdate(() => {
      if (queued) return;
      queued = true;
      setImmediate(() => {
        queued = false;
        const hosts = hostHealth(cluster);
        const text = JSON.stringify(hosts);
        if (text === sent) return;
        sent = text;
        this.broadcast({ t: 'health', ...ref, hosts });
      });
    });
  }

  private find(ref: ClusterRef): Cluster | undefined {
    return [...this.clusters.clusters(), ...this.clusters.warmingClusters()].find((c) => sameCluster(c, ref));
  }

  private hostsOf(ref: ClusterRef): Map<string, Host> | undefined {
    const cluster = this.find(ref);
    return cluster && new Map(cluster.prioritySet.allHosts().map((h) => [hostId(h), h]));
  }
}

/** A worker's cluster following its twin in the primary; stands in for its health checkers. */
class FollowedHealth implements HealthChecker {
  private health: Map<string, number> | undefined;
  private stopped = false;
  private resolveInitialized!: () => void;
  private readonly initializedPromise = new Promise<void>((resolve) => {
    this.resolveInitialized = resolve;
  });
  private readonly outliers: { hosts: string[]; results: (number | OutlierResult)[] } = {
    hosts: [],
    results: [],
  };

  constructor(
    private readonly cluster: Cluster,
    private readonly ref: ClusterRef,
    private readonly send: (message: FromWorker) => void,
  ) {
    const reportsOutliers = cluster.config.outlier_detection !== undefined;
    cluster.prioritySet.onMembershipUpdate((_priority, added) => {
      if (reportsOutliers) for (const host of added) host.outlier = this.monitor(hostId(host));
      if (added.length > 0 && this.health) this.applyTo(added);
    });
    send({ t: 'health', ...ref });
  }

  /** The request went out when the cluster was built, before its hosts were known. */
  start(): void {}

  stop(): void {
    this.stopped = true;
    this.resolveInitialized();
  }

  initialized(): Promise<void> {
    return this.initializedPromise;
  }

  immediateHealthCheckFail(host: Host): void {
    this.send({ t: 'immediate-hc-fail', ...this.ref, host: hostId(host) });
  }

  /** The primary's flags for this cluster's hosts. */
  apply(hosts: HostHealth): void {
    if (this.stopped) return;
    this.health = new Map(hosts);
    this.applyTo(this.cluster.prioritySet.allHosts());
    this.resolveInitialized();
  }

  private applyTo(hosts: readonly Host[]): void {
    let changed = false;
    for (const host of hosts) {
      const flags = this.health?.get(hostId(host));
      if (flags === undefined) continue; // not the primary's host (yet): it stays as it was added
      const before = host.healthVersion;
      for (const f of DECIDED_FLAGS) {
        if (flags & bit(f)) host.setFlag(f);
        else host.clearFlag(f);
      }
      changed ||= host.healthVersion !== before;
    }
    if (changed) this.cluster.prioritySet.refreshHealth();
  }

  private monitor(id: string): OutlierMonitor {
    const report = (result: number | OutlierResult) => {
      const batch = this.outliers;
      if (batch.hosts.length === 0) setImmediate(() => this.flushOutliers());
      batch.hosts.push(id);
      batch.results.push(result);
    };
    return { putHttpResponseCode: report, putResult: report };
  }

  private flushOutliers(): void {
    const { hosts, results } = this.outliers;
    this.outliers.hosts = [];
    this.outliers.results = [];
    this.send({ t: 'outlier', ...this.ref, hosts, results });
  }
}

/** A worker's side: its clusters follow the primary's, and host health messages land on them. */
export class WorkerHostHealth {
  private readonly followed = new WeakMap<Cluster, FollowedHealth>();
  /** The worker's clusters, active and warming (set once its server exists). */
  clusters: () => Cluster[] = () => [];

  constructor(private readonly send: (message: FromWorker) => void) {}

  /** ClusterDeps.remoteHealth: a cluster with health checks or outlier detection follows the primary. */
  follow(cluster: Cluster): HealthChecker | undefined {
    const c = cluster.config;
    if (!c.health_checks?.length && !c.outlier_detection) return undefined;
    const followed = new FollowedHealth(cluster, clusterRef(cluster), this.send);
    this.followed.set(cluster, followed);
    return followed;
  }

  apply(message: Extract<ToWorker, { t: 'health' }>): void {
    for (const cluster of this.clusters()) {
      if (sameCluster(cluster, message)) this.followed.get(cluster)?.apply(message.hosts);
    }
  }
}
