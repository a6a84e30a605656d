/**
 * `/clusters`: Envoy 1.21's `::`-separated text (source/server/admin/clusters_handler.cc) and, with
 * `?format=json`, `envoy.admin.v3.Clusters` as protobuf prints it (fields by number, defaults omitted).
 */

import { formatG } from '../stats/render.js';
import type { Host } from '../upstream/host.js';
import type { ClusterStatus } from './context.js';

type Thresholds = ClusterStatus['thresholds']['default'];

/**
 * fmt 7's `{}` for a double, which Envoy 1.21 used for success rates: shortest round-trip digits,
 * with `.0` kept on whole numbers (`-1.0`, `100.0`).
 */
function fmtDouble(v: number): string {
  if (Number.isNaN(v)) return 'nan';
  const s = String(v);
  return /^-?\d+$/.test(s) ? `${s}.0` : s;
}

function hostStatsEntries(host: Host): [string, number][] {
  return Object.entries(host.stats).sort(([a], [b]) => (a < b ? -1 : 1));
}

/** Envoy marks a host canary through `canary: true` in its `envoy.lb` metadata. */
function isCanary(host: Host): boolean {
  return host.lbMetadata()?.canary === true;
}

export function clustersText(clusters: ClusterStatus[]): string {
  let out = '';
  for (const c of clusters) {
    const line = (...parts: (string | number | boolean)[]) => {
      out += `${[c.name, ...parts].join('::')}\n`;
    };
    line('observability_name', c.observabilityName);
    if (c.outlierDetector) {
      line('outlier', 'success_rate_average', formatG(c.outlierDetector.successRateAverage));
      line('outlier', 'success_rate_ejection_threshold', formatG(c.successRateEjectionThreshold ?? -1));
      line(
        'outlier',
        'local_origin_success_rate_average',
        formatG(c.outlierDetector.localOriginSuccessRateAverage),
      );
      line(
        'outlier',
        'local_origin_success_rate_ejection_threshold',
        formatG(c.localOriginSuccessRateEjectionThreshold ?? -1),
      );
    }
    for (const [priority, t] of [
      ['default_priority', c.thresholds.default],
      ['high_priority', c.thresholds.high],
    ] as const) {
      line(priority, 'max_connections', t.max_connections);
      line(priority, 'max_pending_requests', t.max_pending_requests);
      line(priority, 'max_requests', t.max_requests);
      line(priority, 'max_retries', t.max_retries);
    }
    line('added_via_api', c.addedViaApi);
    for (const h of c.hosts) {
      for (const [stat, value] of hostStatsEntries(h)) line(h.key, stat, value);
      line(h.key, 'hostname', h.hostname);
      line(h.key, 'health_flags', h.healthFlagsString());
      line(h.key, 'weight', h.weight);
      line(h.key, 'region', h.locality.region);
      line(h.key, 'zone', h.locality.zone);
      line(h.key, 'sub_zone', h.locality.sub_zone);
      line(h.key, 'canary', isCanary(h));
      line(h.key, 'priority', h.priority);
      line(h.key, 'success_rate', fmtDouble(h.successRate));
      line(h.key, 'local_origin_success_rate', fmtDouble(h.localOriginSuccessRate));
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// JSON (envoy.admin.v3.Clusters)

/** Host stats Envoy keeps as gauges; the rest are counters (ALL_HOST_STATS order). */
const HOST_COUNTERS = [
  'cx_connect_fail',
  'cx_total',
  'rq_error',
  'rq_success',
  'rq_timeout',
  'rq_total',
] as const;
export const HOST_GAUGES = ['cx_active', 'rq_active'] as const;

/** proto3 JSON drops fields holding their default value. */
function withoutDefaults(fields: [string, unknown][]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of fields) {
    if (v === undefined || v === false || v === 0 || v === '' || (Array.isArray(v) && v.length === 0))
      continue;
    out[k] = v;
  }
  return out;
}

function thresholdsJson(priority: 'DEFAULT' | 'HIGH', t: Thresholds): Record<string, unknown> {
  return withoutDefaults([
    ['priority', priority === 'DEFAULT' ? undefined : priority],
    ['max_connections', t.max_connections],
    ['max_pending_requests', t.max_pending_requests],
    ['max_requests', t.max_requests],
    ['max_retries', t.max_retries],
  ]);
}

function simpleMetric(type: 'COUNTER' | 'GAUGE', name: string, value: number): Record<string, unknown> {
  // SimpleMetric: type (COUNTER is the default), value as a uint64 string, name.
  return withoutDefaults([
    ['type', type === 'COUNTER' ? undefined : type],
    ['value', value === 0 ? undefined : String(value)],
    ['name', name],
  ]);
}

function edsHealthStatus(host: Host): string {
  if (host.hasFlag('failed_eds_health')) return 'UNHEALTHY';
  if (host.hasFlag('degraded_eds_health')) return 'DEGRADED';
  return 'HEALTHY';
}

function hostAddressJson(host: Host): Record<string, unknown> {
  return { socket_address: { address: host.address, port_value: host.port } };
}

function hostStatusJson(host: Host): Record<string, unknown> {
  const stats = [
    ...HOST_COUNTERS.map((n) => simpleMetric('COUNTER', n, host.stats[n])),
    ...HOST_GAUGES.map((n) => simpleMetric('GAUGE', n, host.stats[n])),
  ];
  const health = withoutDefaults([
    ['failed_active_health_check', host.hasFlag('failed_active_hc')],
    ['failed_outlier_check', host.hasFlag('failed_outlier_check')],
    ['eds_health_status', edsHealthStatus(host)],
    ['failed_active_degraded_check', host.hasFlag('degraded_active_hc')],
    ['pending_dynamic_removal', host.hasFlag('pending_dynamic_removal')],
    ['pending_active_hc', host.hasFlag('pending_active_hc')],
    ['excluded_via_immediate_hc_fail', host.hasFlag('excluded_via_immediate_hc_fail')],
    ['active_hc_timeout', host.hasFlag('active_hc_timeout')],
  ]);
  const percent = (v: number) => (v >= 0 ? { value: v } : undefined);
  return {
    ...withoutDefaults([
      ['address', hostAddressJson(host)],
      ['stats', stats],
      ['health_status', health],
      ['success_rate', percent(host.successRate)],
      ['weight', host.weight],
      ['hostname', host.hostname],
      ['priority', host.priority],
      ['local_origin_success_rate', percent(host.localOriginSuccessRate)],
    ]),
    // Envoy always sets the locality message, so it prints even when empty.
    locality: withoutDefaults(Object.entries(host.locality)),
  };
}

export function clustersJson(clusters: ClusterStatus[]): Record<string, unknown> {
  const threshold = (v: number | undefined) => (v !== undefined && v > 0 ? { value: v } : undefined);
  return withoutDefaults([
    [
      'cluster_statuses',
      clusters.map((c) =>
        withoutDefaults([
          ['name', c.name],
          ['added_via_api', c.addedViaApi],
          ['success_rate_ejection_threshold', threshold(c.successRateEjectionThreshold)],
          ['host_statuses', c.hosts.map(hostStatusJson)],
          [
            'local_origin_success_rate_ejection_threshold',
            threshold(c.localOriginSuccessRateEjectionThreshold),
          ],
          [
            'circuit_breakers',
            {
              thresholds: [
                thresholdsJson('DEFAULT', c.thresholds.default),
                thresholdsJson('HIGH', c.thresholds.high),
              ],
            },
          ],
          ['observability_name', c.observabilityName],
          ['eds_service_name', c.edsServiceName],
        ]),
      ),
    ],
  ]);
}
