/**
 * One upstream cluster: its hosts (discovered statically or by DNS), load balancer, active
 * health checkers, circuit breakers, connection pools and stats — Envoy's ClusterImplBase with
 * the STATIC, STRICT_DNS, LOGICAL_DNS and EDS discovery types.
 *
 * A cluster *warms* before traffic may use it (Envoy's "cluster warming"): initial DNS
 * resolution or EDS assignment, then the first round of active health checks.
 */

import { durationMs } from '../common/duration.js';
import type { Logger, LogRegistry } from '../common/logger.js';
import type {
  Cluster as ClusterConfig,
  ClusterLoadAssignment,
  HealthStatus,
  LbEndpoint,
  LocalityLbEndpoints,
} from '../config/types.js';
import { type Http2Config, http2Config } from '../http/codec/http2-options.js';
import type { Runtime } from '../runtime/runtime.js';
import type { Scope, Store } from '../stats/store.js';
import type { UpstreamTransport } from '../tls/context.js';
import { TlsContextManager } from '../tls/context-manager.js';
import type { SubscriptionFactory } from '../xds/subscription.js';
import { type ClusterStats, createClusterStats, ResponseCodeStats } from './cluster-stats.js';
import type { ConnectionPool, PoolClusterInfo } from './conn-pool.js';
import { type DnsLookupFamily, DnsResolutionError, type DnsResolver } from './dns.js';
import { EdsDiscovery } from './eds.js';
import { createHealthChecker, type HealthChecker } from './health-check/index.js';
import { Host, PrioritySet } from './host.js';
import { Http1ConnectionPool } from './http1-pool.js';
import { clusterHttp2Options, Http2ConnectionPool } from './http2-pool.js';
import { createLoadBalancer } from './load-balancer/index.js';
import type { LoadBalancer } from './load-balancer/types.js';
import { OutlierDetector } from './outlier/detector.js';
import { ResourceManager } from './resource-manager.js';

export interface ClusterDeps {
  /** Config subscriptions, for EDS clusters (the server sets it once the cluster manager exists). */
  xds?: SubscriptionFactory;
  store: Store;
  runtime: Runtime;
  logs: LogRegistry;
  dns: DnsResolver;
  random: () => number;
  /** TLS contexts of clusters with a transport socket (the server's, so `/certs` lists them). */
  tls?: TlsContextManager;
  /**
   * A worker process's clusters follow the primary's active health checks and outlier detection
   * (as Envoy's workers follow its main thread): the checker returned stands for those, and
   * undefined means the cluster has no health to follow.
   */
  remoteHealth?: (cluster: Cluster) => HealthChecker | undefined;
}

/** Envoy's default upstream idle timeout for HTTP connections (HttpProtocolOptions.idle_timeout). */
const DEFAULT_UPSTREAM_IDLE_TIMEOUT_MS = 3_600_000;
/** Envoy's default `dns_refresh_rate`. */
const DEFAULT_DNS_REFRESH_MS = 5000;

export class Cluster {
  readonly name: string;
  readonly observabilityName: string;
  readonly scope: Scope;
  readonly stats: ClusterStats;
  readonly responseCodes: ResponseCodeStats;
  readonly prioritySet = new PrioritySet();
  readonly resources: { default: ResourceManager; high: ResourceManager };
  readonly lb: LoadBalancer;
  readonly connectTimeoutMs: number;
  /** Passive health checking, when the cluster configures `outlier_detection`. */
  readonly outlierDetector: OutlierDetector | undefined;
  /** The endpoint subscription of an EDS cluster. */
  readonly eds: EdsDiscovery<ResolvedLocality[]> | undefined;
  private readonly healthCheckers: HealthChecker[] = [];
  /** How connections to the hosts are made: plain TCP, or TLS (the cluster's transport socket). */
  readonly transport: UpstreamTransport;
  /** HTTP/2 settings when the cluster speaks HTTP/2 upstream; HTTP/1.1 otherwise. */
  private readonly http2: Http2Config | undefined;
  private readonly tls: TlsContextManager;
  /** Per routing priority, as Envoy keys pools: each priority has its own circuit breakers. */
  private readonly pools = {
    DEFAULT: new Map<Host, ConnectionPool>(),
    HIGH: new Map<Host, ConnectionPool>(),
  };
  private readonly poolInfo: { default: PoolClusterInfo; high: PoolClusterInfo };
  private readonly log: Logger;
  private dnsTimer: NodeJS.Timeout | undefined;
  private destroyed = false;
  private warmed: Promise<void> | undefined;

  constructor(
    readonly config: ClusterConfig,
    private readonly deps: ClusterDeps,
    readonly addedViaApi = false,
    readonly versionInfo?: string,
  ) {
    this.name = config.name;
    this.observabilityName = config.alt_stat_name || config.name;
    this.scope = deps.store.scope(`cluster.${this.observabilityName}.`);
    this.stats = createClusterStats(this.scope);
    this.responseCodes = new ResponseCodeStats(this.scope);
    this.log = deps.logs.get('upstream', 'upstream/cluster.ts');
    this.connectTimeoutMs = durationMs(config.connect_timeout, 5000);
    const thresholds = config.circuit_breakers?.thresholds ?? [];
    this.resources = {
      default: new ResourceManager(
        thresholds.find((t) => (t.priority ?? 'DEFAULT') === 'DEFAULT'),
        this.scope,
        'default',
      ),
      high: new ResourceManager(
        thresholds.find((t) => t.priority === 'HIGH'),
        this.scope,
        'high',
      ),
    };
    const idleTimeoutMs = this.upstreamIdleTimeoutMs();
    this.tls = deps.tls ?? new TlsContextManager();
    this.transport = this.tls.upstreamTransport(config.transport_socket, {
      where: `cluster '${this.name}'`,
      scope: this.scope,
    });
    const http2Options = clusterHttp2Options(config);
    this.http2 = http2Options ? http2Config(http2Options) : undefined;
    const poolLog = deps.logs.get('pool', 'upstream/conn-pool.ts');
    const info = (resources: ResourceManager): PoolClusterInfo => ({
      name: this.name,
      stats: this.stats,
      resources,
      connectTimeoutMs: this.connectTimeoutMs,
      maxRequestsPerConnection: config.max_requests_per_connection ?? 0,
      idleTimeoutMs,
      transport: this.transport,
      log: poolLog,
    });
    this.poolInfo = { default: info(this.resources.default), high: info(this.resources.high) };
    this.prioritySet.onMembershipUpdate(() => this.updateMembershipStats());
    this.lb = createLoadBalancer({
      config,
      prioritySet: this.prioritySet,
      stats: this.stats.lb,
      scope: this.scope,
      runtime: deps.runtime,
      random: deps.random,
    });
    const remote = deps.remoteHealth?.(this);
    if (remote && config.health_checks?.length) this.healthCheckers.push(remote);
    if (config.outlier_detection && !remote) {
      this.outlierDetector = new OutlierDetector({
        config: config.outlier_detection,
        prioritySet: this.prioritySet,
        scope: this.scope,
        runtime: deps.runtime,
        random: deps.random,
        log: this.log,
        clusterName: this.name,
        onHostHealthChanged: () => this.prioritySet.refreshHealth(),
      });
      this.outlierDetector.start();
    }
    for (const hc of remote ? [] : (config.health_checks ?? [])) {
      this.healthCheckers.push(
        createHealthChecker({
          config: hc,
          clusterName: this.name,
          prioritySet: this.prioritySet,
          stats: this.scope,
          hasTraffic: () => this.stats.upstream_cx_total.used,
          onHostHealthChanged: () => this.prioritySet.refreshHealth(),
          onCheckSucceeded: (host) => this.outlierDetector?.onActiveHealthCheckSuccess(host),
          log: deps.logs.get('hc', 'upstream/health-check'),
          random: deps.random,
          runtime: deps.runtime,
        }),
      );
    }
    // Last: EDS reads the cluster's scope and stats; its subscription is checked (not started) here.
    this.eds =
      config.type === 'EDS'
        ? new EdsDiscovery(this, deps.xds, deps.logs.get('upstream', 'upstream/eds.ts'))
        : undefined;
  }

  /** Discovers the initial hosts and runs the first health checks; resolves when the cluster is warm. */
  initialize(): Promise<void> {
    this.warmed ??= this.warm();
    return this.warmed;
  }

  private async warm(): Promise<void> {
    const type = this.config.type ?? 'STATIC';
    if (type === 'STATIC') {
      this.applyEndpoints(this.localitiesOf(this.config.load_assignment));
    } else if (type === 'STRICT_DNS' || type === 'LOGICAL_DNS') {
      await this.resolveDns();
    } else if (this.eds) {
      await this.eds.start();
    } else {
      throw new Error(
        `cluster '${this.name}': discovery type ${type} is not implemented by meshcraft-proxy yet`,
      );
    }
    for (const hc of this.healthCheckers) hc.start();
    await Promise.all(this.healthCheckers.map((hc) => hc.initialized()));
  }

  /** Localities and hosts of a load assignment (a STATIC cluster's own, or one EDS delivered). */
  localitiesOf(assignment: ClusterLoadAssignment | undefined): ResolvedLocality[] {
    return (assignment?.endpoints ?? []).map((l) => ({
      locality: l,
      hosts: (l.lb_endpoints ?? []).map((e) =>
        this.hostFor(l, e, socketAddress(e).address, e.endpoint?.hostname ?? ''),
      ),
    }));
  }

  private hostFor(l: LocalityLbEndpoints, e: LbEndpoint, address: string, hostname: string): Host {
    const sa = socketAddress(e);
    return new Host({
      address,
      port: sa.port_value ?? 0,
      hostname,
      weight: e.load_balancing_weight ?? 1,
      priority: l.priority ?? 0,
      locality: l.locality,
      metadata: e.metadata,
      healthCheckPort: e.endpoint?.health_check_config?.port_value || undefined,
      edsHealthStatus: e.health_status as HealthStatus | undefined,
    });
  }

  /**
   * STRICT_DNS: every address of every endpoint's name becomes a host (a shared Docker alias fans
   * out). LOGICAL_DNS: only the first address of its single endpoint. Re-resolves every
   * `dns_refresh_rate`; a failed resolution keeps the previous hosts, as Envoy does.
   */
  private async resolveDns(): Promise<void> {
    const logical = this.config.type === 'LOGICAL_DNS';
    const family = (this.config.dns_lookup_family ?? 'AUTO') as DnsLookupFamily;
    const previous = this.prioritySet.hostSetsPerPriority.flatMap((hs) => hs.hosts);
    const localities: ResolvedLocality[] = [];
    let failed = false;
    for (const l of this.config.load_assignment?.endpoints ?? []) {
      const hosts: Host[] = [];
      for (const e of l.lb_endpoints ?? []) {
        const name = socketAddress(e).address;
        try {
          const addresses = await this.deps.dns.resolve(name, family);
          for (const addr of logical ? addresses.slice(0, 1) : addresses)
            hosts.push(this.hostFor(l, e, addr, name));
        } catch (err) {
          failed = true;
          const code = err instanceof DnsResolutionError ? err.code : String(err);
          this.log.debug(`DNS resolution for ${name} failed: ${code}`);
          // Keep what this endpoint resolved to before.
          hosts.push(...previous.filter((h) => h.hostname === name && h.priority === (l.priority ?? 0)));
        }
      }
      localities.push({ locality: l, hosts });
    }
    this.stats.update_attempt.inc();
    if (failed) this.stats.update_failure.inc();
    else this.stats.update_success.inc();
    this.applyEndpoints(localities);
    if (!this.destroyed) {
      const refresh = durationMs(this.config.dns_refresh_rate, DEFAULT_DNS_REFRESH_MS);
      this.dnsTimer = setTimeout(() => void this.resolveDns(), refresh);
      this.dnsTimer.unref();
    }
  }

  /**
   * Installs a new host list, keeping the Host objects (with their stats and health) of
   * addresses that were already members, and telling the LB and health checkers what changed.
   */
  applyEndpoints(localities: ResolvedLocality[], assignment = this.config.load_assignment): void {
    const existing = new Map(this.prioritySet.allHosts().map((h) => [`${h.priority}/${h.key}`, h]));
    const byPriority = new Map<number, { hosts: Host[]; weight: number }[]>();
    const kept = new Set<Host>();
    const added: Host[] = [];
    for (const { locality, hosts } of localities) {
      const priority = locality.priority ?? 0;
      const resolved = hosts.map((h) => {
        const old = existing.get(`${priority}/${h.key}`);
        if (old && !kept.has(old)) {
          old.weight = h.weight;
          old.metadata = h.metadata;
          kept.add(old);
          return old;
        }
        if (this.healthCheckers.length > 0) {
          // Envoy: hosts under active health checking take traffic only after their first check
          // passes; with ignore_new_hosts_until_first_hc they are also excluded from the LB's math.
          h.setFlag('failed_active_hc');
          if (this.config.common_lb_config?.ignore_new_hosts_until_first_hc) h.setFlag('pending_active_hc');
        }
        added.push(h);
        return h;
      });
      const list = byPriority.get(priority) ?? [];
      list.push({ hosts: resolved, weight: locality.load_balancing_weight ?? 1 });
      byPriority.set(priority, list);
    }
    const removed = [...existing.values()].filter((h) => !kept.has(h));
    for (const h of removed) {
      for (const pools of Object.values(this.pools)) {
        pools.get(h)?.destroy();
        pools.delete(h);
      }
    }
    if (
      added.length === 0 &&
      removed.length === 0 &&
      this.prioritySet.hostSetsPerPriority.length >= byPriority.size
    ) {
      this.stats.update_no_rebuild.inc();
      return;
    }
    const overprovisioning = assignment?.policy?.overprovisioning_factor;
    const maxPriority = Math.max(this.prioritySet.hostSetsPerPriority.length - 1, ...byPriority.keys(), 0);
    for (let p = 0; p <= maxPriority; p++) {
      const groups = byPriority.get(p) ?? [];
      this.prioritySet.updateHosts(
        p,
        groups,
        added.filter((h) => h.priority === p),
        removed.filter((h) => h.priority === p),
        overprovisioning,
      );
    }
    if (localities.every((l) => l.hosts.length === 0)) this.stats.update_empty.inc();
    this.stats.membership_change.inc();
  }

  private updateMembershipStats(): void {
    let total = 0;
    let healthy = 0;
    let degraded = 0;
    let excluded = 0;
    let maxWeight = 0;
    for (const hs of this.prioritySet.hostSetsPerPriority) {
      total += hs.hosts.length;
      healthy += hs.healthyHosts.length;
      degraded += hs.degradedHosts.length;
      excluded += hs.excludedHosts.length;
      for (const h of hs.hosts) maxWeight = Math.max(maxWeight, h.weight);
    }
    this.stats.membership_total.set(total);
    this.stats.membership_healthy.set(healthy);
    this.stats.membership_degraded.set(degraded);
    this.stats.membership_excluded.set(excluded);
    this.stats.max_host_weight.set(maxWeight);
  }

  /** The connection pool to `host` at routing priority `priority`: HTTP/2 or HTTP/1.1, as configured. */
  httpPool(host: Host, priority: 'DEFAULT' | 'HIGH' = 'DEFAULT'): ConnectionPool {
    const pools = this.pools[priority];
    let pool = pools.get(host);
    if (!pool) {
      const info = priority === 'HIGH' ? this.poolInfo.high : this.poolInfo.default;
      pool = this.http2
        ? new Http2ConnectionPool(host, info, this.http2)
        : new Http1ConnectionPool(host, info);
      pools.set(host, pool);
    }
    return pool;
  }

  /**
   * A response from `host` carried `x-envoy-immediate-health-check-fail` (its health_check filter
   * was told to fail): the active health checkers mark it failed and exclude it at once, without
   * waiting for their next check, as Envoy's `HealthCheckHostMonitor::setUnhealthy` does.
   */
  immediateHealthCheckFail(host: Host): void {
    for (const hc of this.healthCheckers) hc.immediateHealthCheckFail(host);
  }

  resourcesFor(priority: 'DEFAULT' | 'HIGH' | undefined): ResourceManager {
    return priority === 'HIGH' ? this.resources.high : this.resources.default;
  }

  private upstreamIdleTimeoutMs(): number {
    const opts = this.config.typed_extension_protocol_options?.[
      'envoy.extensions.upstreams.http.v3.HttpProtocolOptions'
    ] as { common_http_protocol_options?: { idle_timeout?: string } } | undefined;
    const configured = opts?.common_http_protocol_options?.idle_timeout;
    const ms = durationMs(configured, DEFAULT_UPSTREAM_IDLE_TIMEOUT_MS);
    return ms === 0 ? 2 ** 31 - 1 : ms;
  }

  destroy(): void {
    this.destroyed = true;
    this.eds?.stop();
    if (this.dnsTimer) clearTimeout(this.dnsTimer);
    for (const hc of this.healthCheckers) hc.stop();
    this.outlierDetector?.stop();
    for (const pools of Object.values(this.pools)) {
      for (const pool of pools.values()) pool.destroy();
      pools.clear();
    }
    this.tls.release(this.transport);
  }
}

interface ResolvedLocality {
  locality: LocalityLbEndpoints;
  hosts: Host[];
}

function socketAddress(e: LbEndpoint): { address: string; port_value?: number } {
  return e.endpoint?.address?.socket_address ?? { address: '' };
}
