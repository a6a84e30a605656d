/**
 * Envoy's admin output as the collector reads it: `/stats?format=json` and
 * `/clusters?format=json` (`envoy.admin.v3.Clusters`, printed by protobuf's JSON mapping:
 * uint64 values as strings, fields holding their default omitted). Written against Envoy's
 * formats, not meshcraft-proxy's internals, so the console observes real Envoy unchanged.
 */

/** Stat name → value, counters and gauges alike (histograms and text readouts are skipped). */
export type StatValues = Map<string, number>;

export function parseStatsJson(text: string): StatValues {
  const doc = JSON.parse(text) as { stats?: unknown };
  const out: StatValues = new Map();
  if (!Array.isArray(doc.stats)) throw new Error('/stats?format=json has no "stats" list');
  for (const s of doc.stats as { name?: unknown; value?: unknown }[]) {
    if (typeof s.name === 'string' && typeof s.value === 'number') out.set(s.name, s.value);
  }
  return out;
}

export interface HostHealth {
  failedActiveHc: boolean;
  failedOutlierCheck: boolean;
  failedActiveDegradedCheck: boolean;
  pendingDynamicRemoval: boolean;
  pendingActiveHc: boolean;
  excludedViaImmediateHcFail: boolean;
  activeHcTimeout: boolean;
  /** `HEALTHY`, `UNHEALTHY`, `DRAINING`, `TIMEOUT`, `DEGRADED` or `UNKNOWN`, as EDS says. */
  edsHealthStatus: string;
}

export interface HostStatus {
  address: string;
  port: number;
  hostname?: string;
  /** rq_total, rq_success, rq_error, rq_timeout, cx_total, cx_connect_fail, cx_active, rq_active. */
  stats: Record<string, number>;
  health: HostHealth;
  weight: number;
  priority: number;
  locality: { region?: string; zone?: string; subZone?: string };
  /** Percent, when outlier detection computed one. */
  successRate?: number;
}

export interface ClusterStatus {
  name: string;
  /** The name its stats are kept under (`cluster.<statName>.*`). */
  statName: string;
  addedViaApi: boolean;
  hosts: HostStatus[];
}

type Json = Record<string, unknown>;

const obj = (v: unknown): Json =>
  v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Json) : {};
const list = (v: unknown): Json[] => (Array.isArray(v) ? v.map(obj) : []);
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
/** proto3 JSON numbers: uint64 comes as a string, smaller ints as numbers, defaults are absent. */
const num = (v: unknown): number => {
  if (typeof v === 'number') return v;
  if (typeof v === 'string' && v !== '') return Number(v);
  return 0;
};

export function parseClustersJson(text: string): ClusterStatus[] {
  const doc = obj(JSON.parse(text));
  return list(doc.cluster_statuses).map((c) => {
    const name = str(c.name) ?? '';
    return {
      name,
      statName: str(c.observability_name) ?? name,
      addedViaApi: c.added_via_api === true,
      hosts: list(c.host_statuses).map(parseHost),
    };
  });
}

function parseHost(h: Json): HostStatus {
  const socket = obj(obj(h.address).socket_address);
  const pipe = obj(obj(h.address).pipe);
  const stats: Record<string, number> = {};
  for (const s of list(h.stats)) {
    const name = str(s.name);
    if (name) stats[name] = num(s.value);
  }
  const hs = obj(h.health_status);
  const locality = obj(h.locality);
  const successRate = obj(h.success_rate);
  return {
    address: str(socket.address) ?? str(pipe.path) ?? '',
    port: num(socket.port_value),
    hostname: str(h.hostname),
    stats,
    health: {
      failedActiveHc: hs.failed_active_health_check === true,
      failedOutlierCheck: hs.failed_outlier_check === true,
      failedActiveDegradedCheck: hs.failed_active_degraded_check === true,
      pendingDynamicRemoval: hs.pending_dynamic_removal === true,
      pendingActiveHc: hs.pending_active_hc === true,
      excludedViaImmediateHcFail: hs.excluded_via_immediate_hc_fail === true,
      activeHcTimeout: hs.active_hc_timeout === true,
      edsHealthStatus: str(hs.eds_health_status) ?? 'HEALTHY',
    },
    weight: num(h.weight) || 1,
    priority: num(h.priority),
    locality: {
      region: str(locality.region),
      zone: str(locality.zone),
      subZone: str(locality.sub_zone),
    },
    successRate: 'value' in successRate ? num(successRate.value) : undefined,
  };
}

/**
 * Whether the load balancer may pick the host, as Envoy decides it: not failed by active health
 * checking, not ejected by outlier detection, not excluded, and EDS did not mark it unhealthy.
 * (`pending_active_hc` alone does not take a host out: only with `ignore_new_hosts_until_first_hc`,
 * which Envoy then reports as excluded.)
 */
export function hostHealthy(h: HostHealth): boolean {
  return (
    !h.failedActiveHc &&
    !h.failedOutlierCheck &&
    !h.excludedViaImmediateHcFail &&
    (h.edsHealthStatus === 'HEALTHY' || h.edsHealthStatus === 'DEGRADED' || h.edsHealthStatus === 'UNKNOWN')
  );
}

/** Envoy's names for the health flags (as /clusters prints them in `health_flags`). */
export type HealthFlag =
  | 'failed_active_hc'
  | 'failed_outlier_check'
  | 'degraded_active_hc'
  | 'pending_dynamic_removal'
  | 'pending_active_hc'
  | 'excluded_via_immediate_hc_fail'
  | 'active_hc_timeout'
  | 'failed_eds_health'
  | 'degraded_eds_health';

export function healthFlags(h: HostHealth): HealthFlag[] {
  const out: HealthFlag[] = [];
  if (h.failedActiveHc) out.push('failed_active_hc');
  if (h.failedOutlierCheck) out.push('failed_outlier_check');
  if (h.failedActiveDegradedCheck) out.push('degraded_active_hc');
  if (h.pendingDynamicRemoval) out.push('pending_dynamic_removal');
  if (h.pendingActiveHc) out.push('pending_active_hc');
  if (h.excludedViaImmediateHcFail) out.push('excluded_via_immediate_hc_fail');
  if (h.activeHcTimeout) out.push('active_hc_timeout');
  if (
    h.edsHealthStatus === 'UNHEALTHY' ||
    h.edsHealthStatus === 'DRAINING' ||
    h.edsHealthStatus === 'TIMEOUT'
  ) {
    out.push('failed_eds_health');
  }
  if (h.edsHealthStatus === 'DEGRADED') out.push('degraded_eds_health');
  return out;
}
