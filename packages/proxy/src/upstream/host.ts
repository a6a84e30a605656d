/**
 * Upstream hosts and the host sets a cluster groups them into, after Envoy's
 * `source/common/upstream/upstream_impl.h`: a host carries its address, weight, locality,
 * metadata and health flags; a cluster's hosts are grouped by priority into host sets, each
 * with the derived healthy/degraded/excluded lists the load balancers read.
 */
import type { HealthStatus, Locality, Metadata } from '../config/types.js';

/**
 * Envoy's host health flags, in the order and spelling `/clusters` prints them
 * (`health_flags::/failed_active_hc/failed_outlier_check`).
 */
export const HEALTH_FLAGS = [
  'failed_active_hc',
  'failed_outlier_check',
  'failed_eds_health',
  'degraded_active_hc',
  'degraded_eds_health',
  'pending_dynamic_removal',
  'pending_active_hc',
  'excluded_via_immediate_hc_fail',
  'active_hc_timeout',
  'eds_status_draining',
] as const;
export type HealthFlag = (typeof HEALTH_FLAGS)[number];

export type CoarseHealth = 'healthy' | 'degraded' | 'unhealthy';

/** Per-host counters shown by `/clusters` (not in `/stats`, as in Envoy without per-endpoint stats). */
export interface HostStats {
  cx_active: number;
  cx_connect_fail: number;
  cx_total: number;
  rq_active: number;
  rq_error: number;
  rq_success: number;
  rq_timeout: number;
  rq_total: number;
}

export interface HostDescription {
  /** IP address (or the literal a STATIC endpoint gave). */
  address: string;
  port: number;
  /** The DNS name this host was resolved from (STRICT_DNS/LOGICAL_DNS), or the endpoint's hostname. */
  hostname?: string;
  weight?: number;
  priority?: number;
  locality?: Locality;
  metadata?: Metadata;
  /** Port for active health checks when the endpoint overrides it (`health_check_config.port_value`). */
  healthCheckPort?: number;
  /** Health status an EDS/static endpoint declared (`health_status`). */
  edsHealthStatus?: HealthStatus;
}

export class Host {
  readonly address: string;
  readonly port: number;
  readonly hostname: string;
  weight: number;
  priority: number;
  readonly locality: Required<Locality>;
  metadata: Metadata | undefined;
  readonly healthCheckPort: number | undefined;
  readonly stats: HostStats = {
    cx_active: 0,
    cx_connect_fail: 0,
    cx_total: 0,
    rq_active: 0,
    rq_error: 0,
    rq_success: 0,
    rq_timeout: 0,
    rq_total: 0,
  };
  /** Outlier-detection success rates, -1 until computed (as `/clusters` prints them). */
  successRate = -1;
  localOriginSuccessRate = -1;
  private flags = 0;
  /** Bumped on every flag change so host sets know when to recompute. */
  healthVersion = 0;
  /** Set by the outlier detector of the owning cluster, when it has one. */
  outlier: OutlierMonitor | undefined;

  constructor(d: HostDescription) {
    this.address = d.address;
    this.port = d.port;
    this.hostname = d.hostname ?? '';
    this.weight = d.weight ?? 1;
    this.priority = d.priority ?? 0;
    this.locality = {
      region: d.locality?.region ?? '',
      zone: d.locality?.zone ?? '',
      sub_zone: d.locality?.sub_zone ?? '',
    };
    this.metadata = d.metadata;
    this.healthCheckPort = d.healthCheckPort;
    if (d.edsHealthStatus === 'UNHEALTHY' || d.edsHealthStatus === 'TIMEOUT')
      this.setFlag('failed_eds_health');
    if (d.edsHealthStatus === 'DEGRADED') this.setFlag('degraded_eds_health');
    if (d.edsHealthStatus === 'DRAINING') this.setFlag('eds_status_draining');
  }

  /** `address:port`, the key `/clusters` uses. IPv6 addresses are bracketed as Envoy prints them. */
  get key(): string {
    return this.address.includes(':') ? `[${this.address}]:${this.port}` : `${this.address}:${this.port}`;
  }

  hasFlag(flag: HealthFlag): boolean {
    return (this.flags & (1 << HEALTH_FLAGS.indexOf(flag))) !== 0;
  }

  setFlag(flag: HealthFlag): void {
    const bit = 1 << HEALTH_FLAGS.indexOf(flag);
    if ((this.flags & bit) === 0) {
      this.flags |= bit;
      this.healthVersion++;
    }
  }

  clearFlag(flag: HealthFlag): void {
    const bit = 1 << HEALTH_FLAGS.indexOf(flag);
    if ((this.flags & bit) !== 0) {
      this.flags &= ~bit;
      this.healthVersion++;
    }
  }

  /** Copies health state from the host this one replaces (same address after a re-resolve). */
  inheritHealth(previous: Host): void {
    this.flags = previous.flags;
    this.healthVersion++;
    this.outlier = previous.outlier;
  }

  /** Envoy's coarse health: unhealthy on any failure flag, degraded on a degraded flag. */
  coarseHealth(): CoarseHealth {
    if (
      this.hasFlag('failed_active_hc') ||
      this.hasFlag('failed_outlier_check') ||
      this.hasFlag('failed_eds_health')
    ) {
      return 'unhealthy';
    }
    if (this.hasFlag('degraded_active_hc') || this.hasFlag('degraded_eds_health')) return 'degraded';
    return 'healthy';
  }

  /**
   * Hosts that take no traffic whatever their health (Envoy's excludeBasedOnHealthFlag): waiting
   * for their first health check (when the cluster asks for that), failed by an immediate
   * health-check-fail response, or draining per EDS.
   */
  excluded(): boolean {
    return (
      this.hasFlag('pending_active_hc') ||
      this.hasFlag('excluded_via_immediate_hc_fail') ||
      this.hasFlag('eds_status_draining')
    );
  }

  /** `healthy`, or the set flags as `/failed_active_hc/failed_outlier_check`: `/clusters`' health_flags. */
  healthFlagsString(): string {
    if (this.flags === 0) return 'healthy';
    return HEALTH_FLAGS.filter((f) => this.hasFlag(f))
      .map((f) => `/${f}`)
      .join('');
  }

  /** Flag names currently set, for the JSON form of `/clusters`. */
  setFlags(): HealthFlag[] {
    return HEALTH_FLAGS.filter((f) => this.hasFlag(f));
  }

  /** Filter metadata under `envoy.lb`, which subset load balancing matches on. */
  lbMetadata(): Record<string, unknown> | undefined {
    return this.metadata?.filter_metadata?.['envoy.lb'];
  }
}

/**
 * Envoy's `Outlier::Result`: how an upstream attempt went, as far as the transport can tell.
 * `LOCAL_ORIGIN_CONNECT_SUCCESS` is a connection that a higher protocol (HTTP) will judge;
 * `LOCAL_ORIGIN_CONNECT_SUCCESS_FINAL` is one with nothing above it (the TCP proxy).
 */
export type OutlierResult =
  | 'LOCAL_ORIGIN_CONNECT_FAILED'
  | 'LOCAL_ORIGIN_TIMEOUT'
  | 'LOCAL_ORIGIN_CONNECT_SUCCESS'
  | 'LOCAL_ORIGIN_CONNECT_SUCCESS_FINAL'
  | 'EXT_ORIGIN_REQUEST_FAILED'
  | 'EXT_ORIGIN_REQUEST_SUCCESS';

/**
 * What the router and TCP proxy report about each upstream attempt, for passive health checking
 * (outlier detection). Implemented by the outlier detector; absent on clusters without one.
 */
export interface OutlierMonitor {
  putHttpResponseCode(code: number): void;
  putResult(result: OutlierResult): void;
}

/** One priority level of a cluster. */
export class HostSet {
  hosts: Host[] = [];
  healthyHosts: Host[] = [];
  degradedHosts: Host[] = [];
  excludedHosts: Host[] = [];
  /** Hosts grouped by locality, in the order the load assignment listed the localities. */
  hostsPerLocality: Host[][] = [];
  healthyHostsPerLocality: Host[][] = [];
  /** Locality weights (`load_balancing_weight` of each LocalityLbEndpoints), parallel to hostsPerLocality. */
  localityWeights: number[] = [];
  /** Percent; Envoy's default is 140 (1.4). */
  overprovisioningFactor = 140;

  constructor(readonly priority: number) {}

  /** Recomputes the derived lists from `hosts` and their current health flags. */
  recompute(): void {
    this.healthyHosts = [];
    this.degradedHosts = [];
    this.excludedHosts = [];
    for (const h of this.hosts) {
      if (h.excluded()) {
        this.excludedHosts.push(h);
        continue;
      }
      const health = h.coarseHealth();
      if (health === 'healthy') this.healthyHosts.push(h);
      else if (health === 'degraded') this.degradedHosts.push(h);
    }
    const healthy = new Set(this.healthyHosts);
    this.healthyHostsPerLocality = this.hostsPerLocality.map((l) => l.filter((h) => healthy.has(h)));
  }
}

export type MembershipCallback = (priority: number, added: Host[], removed: Host[]) => void;

/** All host sets of a cluster, one per priority level, with change notification. */
export class PrioritySet {
  hostSetsPerPriority: HostSet[] = [];
  private readonly callbacks: MembershipCallback[] = [];

  getOrCreateHostSet(priority: number): HostSet {
    while (this.hostSetsPerPriority.length <= priority) {
      this.hostSetsPerPriority.push(new HostSet(this.hostSetsPerPriority.length));
    }
    return this.hostSetsPerPriority[priority]!;
  }

  /** Every host of every priority. */
  allHosts(): Host[] {
    return this.hostSetsPerPriority.flatMap((hs) => hs.hosts);
  }

  /**
   * Replaces the hosts of one priority. `localities` groups them (same hosts, by locality) with
   * the locality weights; callers that do not model localities pass one group.
   */
  updateHosts(
    priority: number,
    localities: { hosts: Host[]; weight: number }[],
    added: Host[],
    removed: Host[],
    overprovisioningFactor?: number,
  ): void {
    const hs = this.getOrCreateHostSet(priority);
    hs.hostsPerLocality = localities.map((l) => l.hosts);
    hs.localityWeights = localities.map((l) => l.weight);
    hs.hosts = localities.flatMap((l) => l.hosts);
    if (overprovisioningFactor !== undefined) hs.overprovisioningFactor = overprovisioningFactor;
    hs.recompute();
    for (const cb of this.callbacks) cb(priority, added, removed);
  }

  /** Health flags changed (active HC, outlier detection): recompute and tell the load balancers. */
  refreshHealth(): void {
    for (const hs of this.hostSetsPerPriority) {
      hs.recompute();
      for (const cb of this.callbacks) cb(hs.priority, [], []);
    }
  }

  onMembershipUpdate(cb: MembershipCallback): void {
    this.callbacks.push(cb);
  }
}
