/**
 * The proxy server: loads and validates the bootstrap, builds the runtime, stats, cluster
 * manager, listeners and admin server, warms clusters before taking traffic (Envoy's init
 * manager), and shuts down gracefully. It is the AdminContext the admin handlers read.
 *
 * Start-up order, as Envoy's: static clusters, then the EDS ones and CDS (each warm, or given up
 * on after initial_fetch_timeout), then static listeners and LDS (warm: RDS arrived); only then is
 * the server LIVE. Dynamic resources keep coming afterwards through the same subscriptions.
 */
import fs from 'node:fs';
import type {
  AdminContext,
  CertificateDetails,
  ClusterStatus,
  ConfigSnapshot,
  ListenerStatus,
  ServerState,
} from '../admin/context.js';
import { startAdminServer } from '../admin/server.js';
import { nodeWithBuild, versionString } from '../admin/version.js';
import { durationMs } from '../common/duration.js';
import { initHashing } from '../common/hash.js';
import { LOGGER_NAMES, type LoggerName, LogRegistry } from '../common/logger.js';
import { assertImplemented, loadBootstrap } from '../config/index.js';
import type { Bootstrap, Node } from '../config/types.js';
import { RouteConfigProviderManager } from '../http/route/rds.js';
import { LdsApi } from '../network/lds-api.js';
import { ListenerManager } from '../network/listener-manager.js';
import { Runtime } from '../runtime/runtime.js';
import { Store } from '../stats/store.js';
import { TlsContextManager } from '../tls/context-manager.js';
import { CdsApi } from '../upstream/cds-api.js';
import type { ClusterDeps } from '../upstream/cluster.js';
import { ClusterManager } from '../upstream/cluster-manager.js';
import { DnsResolver } from '../upstream/dns.js';
import type { ServerOptions } from './options.js';
import { type ServerRole, SINGLE_PROCESS, type XdsFactory } from './role.js';
import { ServerStatsUpdater } from './server-stats.js';

export class Server implements AdminContext {
  readonly store = new Store();
  readonly runtime: Runtime;
  readonly logs: LogRegistry;
  readonly startedAt = new Date();
  readonly commandLine: Record<string, unknown>;
  readonly bootstrap: Bootstrap;
  private readonly loadedAt = new Date().toISOString();
  readonly clusterManager: ClusterManager;
  private readonly listenerManager: ListenerManager;
  private readonly xds: XdsFactory;
  private readonly routes: RouteConfigProviderManager;
  private readonly tls: TlsContextManager;
  private cds: CdsApi | undefined;
  private lds: LdsApi | undefined;
  private serverState: ServerState = 'PRE_INITIALIZING';
  private hcFailed = false;
  private admin: { address: string; port: number; close(): Promise<void> } | undefined;
  private statsTimer: NodeJS.Timeout | undefined;
  private serverStats: ServerStatsUpdater | undefined;
  private readonly log;
  private shuttingDown: Promise<void> | undefined;
  /** Resolves when the server has shut down (quitquitquit, signal, or `shutdown()`). */
  readonly stopped: Promise<void>;
  private resolveStopped!: () => void;

  private constructor(
    private readonly options: ServerOptions,
    bootstrap: Bootstrap,
    logs: LogRegistry,
    private readonly role: ServerRole,
  ) {
    this.logs = logs;
    this.log = logs.get('main', 'server/server.ts');
    this.bootstrap = bootstrap;
    this.commandLine = { ...options };
    this.stopped = new Promise((r) => {
      this.resolveStopped = r;
    });
    this.runtime = new Runtime(bootstrap.layered_runtime, bootstrap.node?.cluster ?? '');
    this.tls = new TlsContextManager(bootstrap.static_resources?.secrets);
    const deps: ClusterDeps = {
      store: this.store,
      runtime: this.runtime,
      logs,
      dns: new DnsResolver(options.dnsHosts),
      random: Math.random,
      tls: this.tls,
      remoteHealth: role.remoteHealth,
    };
    this.clusterManager = new ClusterManager(deps);
    // xDS reaches management servers through static clusters, and EDS clusters subscribe through it.
    this.xds = role.subscriptions({
      clusterManager: this.clusterManager,
      store: this.store,
      logs,
      node: nodeWithBuild(bootstrap.node) as Node,
      adsConfig: bootstrap.dynamic_resources?.ads_config,
      random: Math.random,
    });
    deps.xds = this.xds;
    this.routes = new RouteConfigProviderManager({
      factory: this.xds,
      store: this.store,
      runtime: this.runtime,
      logs,
    });
    this.listenerManager = new ListenerManager({
      ...deps,
      clusterManager: this.clusterManager,
      routes: this.routes,
      drainTimeMs: options.drainTimeS * 1000,
      workerIndex: role.workerIndex,
      acceptsConnections: role.servesTraffic,
      localHealth: {
        healthCheckFailed: () => this.hcFailed,
        localClusterName: bootstrap.node?.cluster ?? '',
      },
    });
  }

  /**
   * Loads the config (throwing ConfigError on invalid input) and, unless validating only, starts
   * serving: admin first, then clusters (warmed), then listeners. Anything that fails to start
   * is torn down before the error propagates.
   */
  static async start(
    options: ServerOptions,
    logs = new LogRegistry(options.logLevel),
    role: ServerRole = SINGLE_PROCESS,
  ): Promise<Server> {
    for (const [name, level] of options.componentLogLevel) {
      if ((LOGGER_NAMES as readonly string[]).includes(name)) logs.setLevel(name as LoggerName, level);
    }
    const { bootstrap, warnings } = role.bootstrap
      ? { bootstrap: role.bootstrap, warnings: [] }
      : loadBootstrap({ path: options.configPath, yaml: options.configYaml });
    applyNodeOverrides(bootstrap, options);
    const server = new Server(options, bootstrap, logs, role);
    role.attach?.(server);
    for (const w of warnings) logs.get('config', 'config/load.ts').warn(w);
    assertImplemented(bootstrap);
    try {
      await server.run();
    } catch (err) {
      await server.teardown();
      throw err;
    }
    return server;
  }

  private async run(): Promise<void> {
    const b = this.bootstrap;
    this.log.info(`initializing epoch 0 (base id=${this.options.baseId}, hot restart version=disabled)`);
    this.log.info(`version: ${versionString()}`);
    await initHashing();
    const adminContext = this.role.adminContext(this);
    if (b.admin?.address && adminContext) {
      this.admin = await startAdminServer(adminContext, {
        address: b.admin.address,
        accessLogPath: b.admin.access_log_path,
      });
      this.log.info(`admin address: ${this.admin.address}:${this.admin.port}`);
      if (this.options.adminAddressPath)
        fs.writeFileSync(this.options.adminAddressPath, `${this.admin.address}:${this.admin.port}\n`);
    }
    this.serverState = 'INITIALIZING';
    const cm = this.clusterManager;
    const clusters = b.static_resources?.clusters ?? [];
    const addStatic = (c: (typeof clusters)[number]) => cm.addOrUpdate(c, { addedViaApi: false }).warmed;
    // Primary clusters first: management servers are among them, and EDS and CDS need those.
    await Promise.all(clusters.filter((c) => c.type !== 'EDS').map(addStatic));
    const secondary = clusters.filter((c) => c.type === 'EDS').map(addStatic);
    const dynamic = b.dynamic_resources;
    if (dynamic?.cds_config) {
      this.cds = new CdsApi(dynamic.cds_config, {
        clusterManager: cm,
        factory: this.xds,
        store: this.store,
        logs: this.logs,
      });
      secondary.push(this.cds.start());
    }
    await Promise.all(secondary);
    this.logs.get('upstream', 'upstream/cluster-manager.ts').info('cm init: all clusters initialized');
    for (const l of b.static_resources?.listeners ?? []) {
      await this.listenerManager.addOrUpdate(l, { addedViaApi: false }).ready;
    }
    if (dynamic?.lds_config) {
      this.lds = new LdsApi(dynamic.lds_config, {
        listenerManager: this.listenerManager,
        factory: this.xds,
        store: this.store,
        logs: this.logs,
      });
      await this.lds.start();
    }
    this.log.info('all clusters initialized. initializing init manager');
    this.logs.get('config', 'server/server.ts').info('all dependencies initialized. starting workers');
    const flushMs = durationMs(b.stats_flush_interval, 5000);
    this.statsTimer = setInterval(() => this.store.flush(), flushMs);
    this.statsTimer.unref();
    if (this.role.keepsServerStats) {
      this.serverStats = new ServerStatsUpdater(this);
      this.serverStats.start();
    }
    if (this.options.mode === 'init_only') {
      await this.shutdown();
      return;
    }
    this.serverState = 'LIVE';
    this.log.info('starting main dispatch loop');
  }

  // ---- AdminContext ----

  state(): ServerState {
    return this.serverState;
  }

  clusters(): ClusterStatus[] {
    return this.clusterManager.clusters().map((c) => ({
      name: c.name,
      observabilityName: c.observabilityName,
      addedViaApi: c.addedViaApi,
      thresholds: { default: c.resources.default.thresholds, high: c.resources.high.thresholds },
      hosts: c.prioritySet.allHosts(),
      edsServiceName: c.eds?.serviceName,
      ...(c.outlierDetector && {
        outlierDetector: {
          successRateAverage: c.outlierDetector.successRateSummary('external').average,
          localOriginSuccessRateAverage: c.outlierDetector.successRateSummary('local').average,
        },
        successRateEjectionThreshold: c.outlierDetector.successRateSummary('external').threshold,
        localOriginSuccessRateEjectionThreshold: c.outlierDetector.successRateSummary('local').threshold,
      }),
    }));
  }

  listeners(): ListenerStatus[] {
    return this.listenerManager.all().map((l) => ({
      name: l.name,
      localAddress: l.boundAddress ?? l.config.address ?? {},
      additionalLocalAddresses: (l.config.additional_addresses ?? []).map((a) => a.address),
    }));
  }

  config(): ConfigSnapshot {
    const b = this.bootstrap;
    const at = this.loadedAt;
    const listeners = this.listenerManager.all();
    const clusters = this.clusterManager.clusters();
    return {
      bootstrap: b,
      loadedAt: at,
      staticListeners: listeners
        .filter((l) => !l.addedViaApi)
        .map((l) => ({ resource: l.config, lastUpdated: at })),
      dynamicListeners: listeners
        .filter((l) => l.addedViaApi)
        .map((l) => ({ resource: l.config, versionInfo: l.versionInfo, lastUpdated: l.lastUpdated })),
      staticClusters: clusters
        .filter((c) => !c.addedViaApi)
        .map((c) => ({ resource: c.config, lastUpdated: at })),
      dynamicClusters: clusters
        .filter((c) => c.addedViaApi)
        .map((c) => ({
          resource: c.config,
          versionInfo: c.versionInfo,
          lastUpdated: this.clusterManager.lastUpdated(c.name),
        })),
      staticSecrets: (b.static_resources?.secrets ?? []).map((s) => ({ resource: s, lastUpdated: at })),
      dynamicRouteConfigs: this.routes.dynamicRouteConfigs(),
      clustersVersionInfo: this.cds?.versionInfo,
      listenersVersionInfo: this.lds?.versionInfo,
    };
  }

  certs(): { ca_cert: CertificateDetails[]; cert_chain: CertificateDetails[] }[] {
    return this.tls.certs();
  }

  setHealthCheckFailed(failed: boolean): void {
    this.hcFailed = failed;
  }

  healthCheckFailed(): boolean {
    return this.hcFailed;
  }

  drainListeners(options: { inboundOnly: boolean; graceful: boolean }): void {
    this.log.info(`draining listeners${options.graceful ? ' gracefully' : ''}`);
    this.listenerManager.drain();
  }

  quit(): void {
    void this.shutdown();
  }

  // ---- lifecycle ----

  /**
   * Graceful shutdown: stop accepting, let in-flight requests finish (up to `--drain-time-s`),
   * then close everything. Safe to call more than once.
   */
  shutdown(options: { drainMs?: number } = {}): Promise<void> {
    this.shuttingDown ??= (async () => {
      this.serverState = 'DRAINING';
      this.log.info('shutting down server instance');
      this.listenerManager.drain();
      const drainMs = options.drainMs ?? this.options.drainTimeS * 1000;
      await waitForIdle(() => this.activeDownstreamConnections(), drainMs);
      await this.teardown();
      this.log.info('exiting');
      this.resolveStopped();
    })();
    return this.shuttingDown;
  }

  private activeDownstreamConnections(): number {
    return this.listenerManager.withConnections().reduce((n, l) => n + l.stats.downstream_cx_active.value, 0);
  }

  private async teardown(): Promise<void> {
    if (this.statsTimer) clearInterval(this.statsTimer);
    this.serverStats?.stop();
    this.lds?.stop();
    this.cds?.stop();
    this.xds.shutdown();
    await this.listenerManager.closeAll();
    this.clusterManager.destroy();
    await this.admin?.close();
  }
}

/** `--service-node`/`--service-cluster`/`--service-zone` override the bootstrap's node, as in Envoy. */
function applyNodeOverrides(b: Bootstrap, o: ServerOptions): void {
  if (o.serviceNode === undefined && o.serviceCluster === undefined && o.serviceZone === undefined) return;
  b.node ??= {};
  if (o.serviceNode !== undefined) b.node.id = o.serviceNode;
  if (o.serviceCluster !== undefined) b.node.cluster = o.serviceCluster;
  if (o.serviceZone !== undefined) b.node.locality = { ...b.node.locality, zone: o.serviceZone };
}

function waitForIdle(active: () => number, maxMs: number): Promise<void> {
  return new Promise((resolve) => {
    const deadline = Date.now() + maxMs;
    const check = () => {
      if (active() === 0 || Date.now() >= deadline) resolve();
      else setTimeout(check, 50);
    };
    check();
  });
}
