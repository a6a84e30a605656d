/**
 * `--concurrency N` (N > 1): the primary process. Like Envoy's main thread it runs the control
 * plane — config, xDS, cluster discovery, active health checking, outlier detection, the admin —
 * and leaves the data plane to N workers: they run the same config, bind the listeners and serve.
 * Its own listeners warm (LDS, RDS, `/listeners`, `/config_dump`) but never bind.
 *
 * It hands the workers its config updates, host health, runtime, `/logging`, `/healthcheck/*`,
 * `/drain_listeners` and shutdown, and answers the admin for all of them: before each request it
 * gathers their stats and host counters (see stats-aggregation.ts).
 */
import type {
  AdminContext,
  CertificateDetails,
  ClusterStatus,
  ConfigSnapshot,
  ListenerStatus,
  ServerState,
} from '../admin/context.js';
import { durationMs } from '../common/duration.js';
import type { LogRegistry } from '../common/logger.js';
import type { Runtime } from '../runtime/runtime.js';
import { Store } from '../stats/store.js';
import type { Host, HostStats } from '../upstream/host.js';
import { XdsSubscriptionFactory } from '../xds/subscription-factory.js';
import { type FromWorker, hostId, type WorkerInit, type WorkerLink } from './ipc.js';
import type { ServerOptions } from './options.js';
import type { ServerRole } from './role.js';
import { Server } from './server.js';
import { type MemoryUsage, ServerStatsUpdater } from './server-stats.js';
import { HostHealthService } from './shared-health.js';
import {
  addHostStats,
  aggregateStats,
  hostStatsSnapshot,
  RetiredStats,
  snapshotStore,
} from './stats-aggregation.js';
import { SubscriptionHub } from './subscription-relay.js';
import { WorkerPool } from './workers.js';

/** How long past `--drain-time-s` a worker may take to exit before it is killed. */
const WORKER_EXIT_GRACE_MS = 5000;

/** The aggregate the admin reads; resetting its counters resets every process's. */
class AggregateStore extends Store {
  constructor(private readonly resetEverywhere: () => void) {
    super();
  }

  override resetCounters(): void {
    super.resetCounters();
    this.resetEverywhere();
  }
}

/** A host as `/clusters` shows it: the primary's host (its health) with every process's counters. */
function withStats(host: Host, stats: HostStats): Host {
  return Object.assign(Object.create(host) as Host, { stats });
}

export class PrimaryServer implements AdminContext {
  /** The aggregate of all processes' stats, as of the last `refresh()`. */
  store: Store = new Store();
  private server!: Server;
  private hub!: SubscriptionHub;
  private health!: HostHealthService;
  private readonly pool: WorkerPool;
  private readonly retired = new RetiredStats();
  private hostStats = new Map<string, Map<string, HostStats>>();
  private workerListeners: ListenerStatus[] | undefined;
  private workerMemory: MemoryUsage[] = [];
  private workersServing = false;
  private draining = false;
  private refreshTimer: NodeJS.Timeout | undefined;
  private shuttingDown: Promise<void> | undefined;
  private readonly log;

  private constructor(
    private readonly options: ServerOptions,
    readonly logs: LogRegistry,
  ) {
    this.log = logs.get('main', 'server/primary.ts');
    this.pool = new WorkerPool(
      options.concurrency,
      {
        init: (index) => this.workerInit(index),
        message: (worker, message) => this.onWorkerMessage(worker, message),
        exited: (worker, last) => {
          this.hub.dropWorker(worker);
          if (last) this.retired.retire(last.stats, last.hosts);
        },
      },
      this.log,
    );
  }

  /**
   * Starts the control plane (config errors throw here, before any worker exists), then the
   * workers; resolves once every worker serves.
   */
  static async start(options: ServerOptions, logs: LogRegistry): Promise<PrimaryServer> {
    const primary = new PrimaryServer(options, logs);
    await Server.start(options, logs, primary.role());
    primary.log.info(`starting ${options.concurrency} worker processes`);
    try {
      await primary.pool.start();
    } catch (err) {
      await primary.pool.shutdown(0);
      await primary.server.shutdown({ drainMs: 0 });
      throw err;
    }
    primary.workersServing = true;
    // Keeps what a worker that dies leaves behind recent, and tells the health checkers which
    // clusters have traffic, without waiting for an admin request.
    const flushMs = durationMs(primary.server.bootstrap.stats_flush_interval, 5000);
    primary.refreshTimer = setInterval(() => void primary.refresh(), flushMs);
    primary.refreshTimer.unref();
    return primary;
  }

  private role(): ServerRole {
    return {
      workerIndex: 0,
      servesTraffic: false,
      keepsServerStats: false,
      subscriptions: (deps) => {
        this.hub = new SubscriptionHub(new XdsSubscriptionFactory(deps));
        return this.hub;
      },
      attach: (server) => {
        this.server = server;
        this.health = new HostHealthService(
          server.clusterManager,
          (m) => this.pool.broadcast(m),
          this.logs.get('hc', 'server/shared-health.ts'),
        );
        server.runtime.onChange(() =>
          this.pool.broadcast({ t: 'runtime', overrides: server.runtime.adminOverrides() }),
        );
        this.logs.onChange(() => this.pool.broadcast({ t: 'logging', levels: this.logs.entries() }));
      },
      adminContext: () => this,
    };
  }

  private workerInit(index: number): WorkerInit {
    return {
      index,
      options: this.options,
      bootstrap: this.server.bootstrap,
      runtimeOverrides: this.server.runtime.adminOverrides(),
      healthCheckFailed: this.server.healthCheckFailed(),
      logLevels: this.logs.entries(),
    };
  }

  private onWorkerMessage(worker: WorkerLink, m: FromWorker): void {
    switch (m.t) {
      case 'watch':
        this.hub.watch(worker, m.watch, m.key);
        break;
      case 'unwatch':
        this.hub.unwatch(worker, m.watch);
        break;
      case 'health':
        void this.health.request(worker, m);
        break;
      case 'outlier':
        this.health.outlier(m);
        break;
      case 'immediate-hc-fail':
        this.health.immediateHealthCheckFail(m);
        break;
    }
  }

  // ---- AdminContext ----

  get runtime(): Runtime {
    return this.server.runtime;
  }

  get commandLine(): Record<string, unknown> {
    return this.server.commandLine;
  }

  get startedAt(): Date {
    return this.server.startedAt;
  }

  /** Gathers the workers' stats, host counters and listeners; never fails (a silent worker is left out). */
  async refresh(): Promise<void> {
    const workers = await this.pool.snapshots();
    const store = new AggregateStore(() => this.resetCounters());
    aggregateStats(
      snapshotStore(this.server.store),
      workers.map((w) => w.stats),
      this.retired.snapshot(),
      store,
    );
    this.workerMemory = workers.map((w) => w.memory);
    new ServerStatsUpdater({
      store,
      state: () => this.state(),
      healthCheckFailed: () => this.healthCheckFailed(),
      startedAt: this.startedAt,
      commandLine: this.commandLine,
      certs: () => this.certs(),
      config: () => this.config(),
      memoryUsage: () => this.memoryUsage(),
    }).update();
    this.store = store;
    const hostStats = new Map<string, Map<string, HostStats>>();
    addHostStats(hostStats, hostStatsSnapshot(this.server.clusterManager.clusters()));
    for (const w of workers) addHostStats(hostStats, w.hosts);
    addHostStats(hostStats, this.retired.hostsSnapshot());
    this.hostStats = hostStats;
    this.workerListeners = workers[0]?.listeners;
    this.markClustersWithTraffic(store);
  }

  /**
   * The primary's health checkers pace themselves on whether their cluster has seen traffic
   * (Envoy: `upstream_cx_total` used), which only the workers see.
   */
  private markClustersWithTraffic(aggregate: Store): void {
    const used = new Set(aggregate.counters().flatMap((c) => (c.used ? [c.name] : [])));
    const cm = this.server.clusterManager;
    for (const c of [...cm.clusters(), ...cm.warmingClusters()]) {
      if (used.has(`cluster.${c.observabilityName}.upstream_cx_total`)) c.stats.upstream_cx_total.used = true;
    }
  }

  private memoryUsage(): MemoryUsage {
    const total = { ...process.memoryUsage() };
    for (const m of this.workerMemory) {
      total.heapUsed += m.heapUsed;
      total.heapTotal += m.heapTotal;
      total.rss += m.rss;
    }
    return total;
  }

  private resetCounters(): void {
    this.server.store.resetCounters();
    this.retired.resetCounters();
    this.pool.broadcast({ t: 'reset-counters' });
  }

  state(): ServerState {
    if (this.draining) return 'DRAINING';
    const state = this.server.state();
    return state === 'LIVE' && !this.workersServing ? 'INITIALIZING' : state;
  }

  clusters(): ClusterStatus[] {
    return this.server.clusters().map((c) => {
      const counted = this.hostStats.get(c.name);
      return { ...c, hosts: c.hosts.map((h) => withStats(h, counted?.get(hostId(h)) ?? h.stats)) };
    });
  }

  /** The workers' listeners: they bound them (with the real port where the config says 0). */
  listeners(): ListenerStatus[] {
    return this.workerListeners ?? this.server.listeners();
  }

  config(): ConfigSnapshot {
    return this.server.config();
  }

  certs(): { ca_cert: CertificateDetails[]; cert_chain: CertificateDetails[] }[] {
    return this.server.certs();
  }

  setHealthCheckFailed(failed: boolean): void {
    this.server.setHealthCheckFailed(failed);
    this.pool.broadcast({ t: 'healthcheck', failed });
  }

  healthCheckFailed(): boolean {
    return this.server.healthCheckFailed();
  }

  drainListeners(options: { inboundOnly: boolean; graceful: boolean }): void {
    this.server.drainListeners(options);
    this.pool.broadcast({ t: 'drain', ...options });
  }

  quit(): void {
    void this.shutdown();
  }

  // ---- lifecycle ----

  /** Resolves when the primary has shut down, after its workers. */
  get stopped(): Promise<void> {
    return this.server.stopped;
  }

  /**
   * The workers drain (up to `--drain-time-s`) and exit; then the primary stops, admin last, as a
   * single process stops its admin after its listeners. Safe to call more than once.
   */
  shutdown(): Promise<void> {
    this.shuttingDown ??= (async () => {
      this.draining = true;
      clearInterval(this.refreshTimer);
      this.log.info('shutting down: draining the workers');
      await this.pool.shutdown(this.options.drainTimeS * 1000 + WORKER_EXIT_GRACE_MS);
      await this.server.shutdown({ drainMs: 0 });
    })();
    return this.shuttingDown;
  }
}
