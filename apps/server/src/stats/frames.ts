/**
 * Turning two readings of a proxy's admin into what the console shows: per-cluster request rates
 * and response classes, per-endpoint shares and health, and the counters that explain a change
 * (overflows, retries, ejections, failed health checks). Rates come from counter deltas over the
 * time between the two readings; a counter that went down means the proxy restarted, and then
 * its current value is the delta.
 */
import { CONSOLE_XDS_CLUSTER } from '@meshcraft/topology';
import { type ClusterStatus, type HealthFlag, healthFlags, hostHealthy, type StatValues } from './envoy.js';

/** One reading of one proxy's admin. */
export interface ProxySample {
  /** Monotonic milliseconds (performance.now) when the reading completed. */
  at: number;
  stats: StatValues;
  clusters: ClusterStatus[];
}

/** Per-cluster counters the console shows as totals and as per-interval deltas (Envoy's stat names). */
export const CLUSTER_COUNTERS = {
  requests: 'upstream_rq_total',
  rq2xx: 'upstream_rq_2xx',
  rq3xx: 'upstream_rq_3xx',
  rq4xx: 'upstream_rq_4xx',
  rq5xx: 'upstream_rq_5xx',
  pendingOverflow: 'upstream_rq_pending_overflow',
  connectionOverflow: 'upstream_cx_overflow',
  retries: 'upstream_rq_retry',
  retryOverflow: 'upstream_rq_retry_overflow',
  timeouts: 'upstream_rq_timeout',
  connectFailures: 'upstream_cx_connect_fail',
  ejections: 'outlier_detection.ejections_enforced_total',
  healthCheckFailures: 'health_check.failure',
  panics: 'lb_healthy_panic',
} as const;

export type ClusterCounter = keyof typeof CLUSTER_COUNTERS;
/** Counters that are not zero (a frame leaves zeros out: most counters of most clusters are). */
export type CounterValues = Partial<Record<ClusterCounter, number>>;

export interface EndpointStats {
  address: string;
  port: number;
  /** The DNS name it was resolved from (STRICT_DNS clusters). */
  hostname?: string;
  /** The lab node and namespace (replica) that owns the address, when it is one of the lab's. */
  node?: string;
  namespace?: string;
  /** Requests per second the proxy sent to it. */
  rps: number;
  /** Its part of the cluster's requests in the interval (0..1); null when the cluster had none. */
  share: number | null;
  healthy: boolean;
  /** Envoy's health flags that are set (`failed_active_hc`, `failed_outlier_check`, ...); empty when none. */
  flags: HealthFlag[];
  weight: number;
  priority: number;
  locality?: { region?: string; zone?: string; subZone?: string };
  activeRequests: number;
  successRate?: number;
}

export interface ClusterStats {
  name: string;
  /** Requests per second (upstream_rq_total). */
  rps: number;
  /** Responses per second by class. */
  responses: { '2xx': number; '3xx': number; '4xx': number; '5xx': number };
  membership: { total: number; healthy: number; degraded: number; excluded: number };
  ejectionsActive: number;
  activeRequests: number;
  pendingRequests: number;
  /** Totals since the proxy started. */
  counters: CounterValues;
  /** Increase over this interval. */
  deltas: CounterValues;
  endpoints: EndpointStats[];
}

/** One HTTP connection manager's downstream side (`http.<stat_prefix>.downstream_rq_*`). */
export interface ListenerStats {
  statPrefix: string;
  rps: number;
  responses: { '1xx': number; '2xx': number; '3xx': number; '4xx': number; '5xx': number };
}

export interface ProxyStats {
  node: string;
  container: string;
  reachable: boolean;
  /** Why it could not be read, when it could not. */
  error?: string;
  clusters: ClusterStats[];
  listeners: ListenerStats[];
}

export interface StatsFrame {
  /** Wall-clock milliseconds since the epoch. */
  at: number;
  /** Milliseconds the rates are taken over. */
  intervalMs: number;
  proxies: ProxyStats[];
}

export type OwnerOf = (address: string) => { node: string; namespace: string } | undefined;

function delta(now: number, before: number | undefined): number {
  if (before === undefined) return 0;
  return now >= before ? now - before : now;
}

function rate(d: number, seconds: number): number {
  return seconds > 0 ? round(d / seconds) : 0;
}

function round(v: number): number {
  return Math.round(v * 1000) / 1000;
}

/** Cluster stats and endpoint stats of one proxy between two readings (`before` absent: the first). */
export function proxyStats(
  proxy: { node: string; container: string },
  now: ProxySample,
  before: ProxySample | undefined,
  ownerOf: OwnerOf,
): ProxyStats {
  const seconds = before ? (now.at - before.at) / 1000 : 0;
  // The console's own cluster (how a served proxy reaches its control plane) is plumbing, not the lab.
  const clusters = now.clusters
    .filter((c) => c.name !== CONSOLE_XDS_CLUSTER)
    .map((c) => clusterStats(c, now, before, seconds, ownerOf));
  return { ...proxy, reachable: true, clusters, listeners: listenerStats(now, before, seconds) };
}

function clusterStats(
  c: ClusterStatus,
  now: ProxySample,
  before: ProxySample | undefined,
  seconds: number,
  ownerOf: OwnerOf,
): ClusterStats {
  const stat = (sample: ProxySample | undefined, suffix: string) =>
    sample?.stats.get(`cluster.${c.statName}.${suffix}`);
  const counters: CounterValues = {};
  const deltas: CounterValues = {};
  for (const [key, suffix] of Object.entries(CLUSTER_COUNTERS) as [ClusterCounter, string][]) {
    const total = stat(now, suffix) ?? 0;
    const d = before ? delta(total, stat(before, suffix) ?? 0) : 0;
    if (total !== 0) counters[key] = total;
    if (d !== 0) deltas[key] = d;
  }
  const previousHosts = new Map(
    (before?.clusters.find((b) => b.name === c.name)?.hosts ?? []).map((h) => [`${h.address}:${h.port}`, h]),
  );
  const hostDeltas = c.hosts.map((h) => {
    const was = previousHosts.get(`${h.address}:${h.port}`);
    return before ? delta(h.stats.rq_total ?? 0, was ? (was.stats.rq_total ?? 0) : 0) : 0;
  });
  const sum = hostDeltas.reduce((a, b) => a + b, 0);
  const endpoints = c.hosts.map((h, i): EndpointStats => {
    const owner = ownerOf(h.address);
    return {
      address: h.address,
      port: h.port,
      hostname: h.hostname,
      node: owner?.node,
      namespace: owner?.namespace,
      rps: rate(hostDeltas[i]!, seconds),
      share: sum > 0 ? round(hostDeltas[i]! / sum) : null,
      healthy: hostHealthy(h.health),
      flags: healthFlags(h.health),
      weight: h.weight,
      priority: h.priority,
      locality: h.locality.region || h.locality.zone || h.locality.subZone ? h.locality : undefined,
      activeRequests: h.stats.rq_active ?? 0,
      successRate: h.successRate,
    };
  });
  return {
    name: c.name,
    rps: rate(deltas.requests ?? 0, seconds),
    responses: {
      '2xx': rate(deltas.rq2xx ?? 0, seconds),
      '3xx': rate(deltas.rq3xx ?? 0, seconds),
      '4xx': rate(deltas.rq4xx ?? 0, seconds),
      '5xx': rate(deltas.rq5xx ?? 0, seconds),
    },
    membership: {
      total: stat(now, 'membership_total') ?? c.hosts.length,
      healthy: stat(now, 'membership_healthy') ?? endpoints.filter((e) => e.healthy).length,
      degraded: stat(now, 'membership_degraded') ?? 0,
      excluded: stat(now, 'membership_excluded') ?? 0,
    },
    ejectionsActive: stat(now, 'outlier_detection.ejections_active') ?? 0,
    activeRequests: stat(now, 'upstream_rq_active') ?? 0,
    pendingRequests: stat(now, 'upstream_rq_pending_active') ?? 0,
    counters,
    deltas,
    endpoints,
  };
}

const DOWNSTREAM = /^http\.(.+)\.downstream_rq_(total|[1-5]xx)$/;

function listenerStats(now: ProxySample, before: ProxySample | undefined, seconds: number): ListenerStats[] {
  const byPrefix = new Map<string, ListenerStats>();
  for (const [name, value] of now.stats) {
    const m = DOWNSTREAM.exec(name);
    // `http.admin.*` is the admin's own connection manager: the collector's polling, not the lab's traffic.
    if (!m || m[1] === 'admin') continue;
    const prefix = m[1]!;
    let l = byPrefix.get(prefix);
    if (!l) {
      l = { statPrefix: prefix, rps: 0, responses: { '1xx': 0, '2xx': 0, '3xx': 0, '4xx': 0, '5xx': 0 } };
      byPrefix.set(prefix, l);
    }
    const r = rate(before ? delta(value, before.stats.get(name) ?? 0) : 0, seconds);
    if (m[2] === 'total') l.rps = r;
    else l.responses[m[2] as keyof ListenerStats['responses']] = r;
  }
  return [...byPrefix.values()].sort((a, b) => a.statPrefix.localeCompare(b.statPrefix));
}
