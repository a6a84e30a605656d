/**
 * The per-cluster stats Envoy keeps under `cluster.<name>.`, resolved once per cluster so the
 * data path only increments fields. Names are Envoy's (docs: "Cluster manager statistics").
 */
import type { Counter, Gauge, Histogram, Scope } from '../stats/store.js';
import type { LoadBalancerStats } from './load-balancer/types.js';

export interface ClusterStats {
  upstream_cx_total: Counter;
  upstream_cx_active: Gauge;
  upstream_cx_http1_total: Counter;
  upstream_cx_http2_total: Counter;
  upstream_cx_connect_fail: Counter;
  upstream_cx_connect_timeout: Counter;
  upstream_cx_idle_timeout: Counter;
  upstream_cx_connect_attempts_exceeded: Counter;
  upstream_cx_overflow: Counter;
  upstream_cx_connect_ms: Histogram;
  upstream_cx_length_ms: Histogram;
  upstream_cx_destroy: Counter;
  upstream_cx_destroy_local: Counter;
  upstream_cx_destroy_remote: Counter;
  upstream_cx_destroy_with_active_rq: Counter;
  upstream_cx_destroy_local_with_active_rq: Counter;
  upstream_cx_destroy_remote_with_active_rq: Counter;
  upstream_cx_close_notify: Counter;
  upstream_cx_rx_bytes_total: Counter;
  upstream_cx_tx_bytes_total: Counter;
  upstream_cx_protocol_error: Counter;
  upstream_cx_max_requests: Counter;
  upstream_cx_none_healthy: Counter;
  upstream_cx_pool_overflow: Counter;
  upstream_rq_total: Counter;
  upstream_rq_active: Gauge;
  upstream_rq_completed: Counter;
  upstream_rq_pending_total: Counter;
  upstream_rq_pending_active: Gauge;
  upstream_rq_pending_overflow: Counter;
  upstream_rq_pending_failure_eject: Counter;
  upstream_rq_cancelled: Counter;
  upstream_rq_maintenance_mode: Counter;
  upstream_rq_timeout: Counter;
  upstream_rq_per_try_timeout: Counter;
  upstream_rq_rx_reset: Counter;
  upstream_rq_tx_reset: Counter;
  upstream_rq_retry: Counter;
  upstream_rq_retry_success: Counter;
  upstream_rq_retry_overflow: Counter;
  upstream_rq_retry_limit_exceeded: Counter;
  /** A request body outgrew the retry/shadow buffer limit: its retries and mirrors were given up. */
  retry_or_shadow_abandoned: Counter;
  upstream_rq_time: Histogram;
  upstream_flow_control_paused_reading_total: Counter;
  upstream_flow_control_resumed_reading_total: Counter;
  membership_change: Counter;
  membership_healthy: Gauge;
  membership_degraded: Gauge;
  membership_excluded: Gauge;
  membership_total: Gauge;
  max_host_weight: Gauge;
  update_attempt: Counter;
  update_success: Counter;
  update_failure: Counter;
  update_empty: Counter;
  update_no_rebuild: Counter;
  version: Gauge;
  assignment_stale: Counter;
  assignment_timeout_received: Counter;
  bind_errors: Counter;
  original_dst_host_invalid: Counter;
  lb: LoadBalancerStats;
}

export function createClusterStats(scope: Scope): ClusterStats {
  const c = (n: string) => scope.counter(n);
  const g = (n: string) => scope.gauge(n);
  const gNever = (n: string) => scope.gauge(n, 'NeverImport');
  return {
    upstream_cx_total: c('upstream_cx_total'),
    upstream_cx_active: g('upstream_cx_active'),
    upstream_cx_http1_total: c('upstream_cx_http1_total'),
    upstream_cx_http2_total: c('upstream_cx_http2_total'),
    upstream_cx_connect_fail: c('upstream_cx_connect_fail'),
    upstream_cx_connect_timeout: c('upstream_cx_connect_timeout'),
    upstream_cx_idle_timeout: c('upstream_cx_idle_timeout'),
    upstream_cx_connect_attempts_exceeded: c('upstream_cx_connect_attempts_exceeded'),
    upstream_cx_overflow: c('upstream_cx_overflow'),
    upstream_cx_connect_ms: scope.histogram('upstream_cx_connect_ms'),
    upstream_cx_length_ms: scope.histogram('upstream_cx_length_ms'),
    upstream_cx_destroy: c('upstream_cx_destroy'),
    upstream_cx_destroy_local: c('upstream_cx_destroy_local'),
    upstream_cx_destroy_remote: c('upstream_cx_destroy_remote'),
    upstream_cx_destroy_with_active_rq: c('upstream_cx_destroy_with_active_rq'),
    upstream_cx_destroy_local_with_active_rq: c('upstream_cx_destroy_local_with_active_rq'),
    upstream_cx_destroy_remote_with_active_rq: c('upstream_cx_destroy_remote_with_active_rq'),
    upstream_cx_close_notify: c('upstream_cx_close_notify'),
    upstream_cx_rx_bytes_total: c('upstream_cx_rx_bytes_total'),
    upstream_cx_tx_bytes_total: c('upstream_cx_tx_bytes_total'),
    upstream_cx_protocol_error: c('upstream_cx_protocol_error'),
    upstream_cx_max_requests: c('upstream_cx_max_requests'),
    upstream_cx_none_healthy: c('upstream_cx_none_healthy'),
    upstream_cx_pool_overflow: c('upstream_cx_pool_overflow'),
    upstream_rq_total: c('upstream_rq_total'),
    upstream_rq_active: g('upstream_rq_active'),
    upstream_rq_completed: c('upstream_rq_completed'),
    upstream_rq_pending_total: c('upstream_rq_pending_total'),
    upstream_rq_pending_active: g('upstream_rq_pending_active'),
    upstream_rq_pending_overflow: c('upstream_rq_pending_overflow'),
    upstream_rq_pending_failure_eject: c('upstream_rq_pending_failure_eject'),
    upstream_rq_cancelled: c('upstream_rq_cancelled'),
    upstream_rq_maintenance_mode: c('upstream_rq_maintenance_mode'),
    upstream_rq_timeout: c('upstream_rq_timeout'),
    upstream_rq_per_try_timeout: c('upstream_rq_per_try_timeout'),
    upstream_rq_rx_reset: c('upstream_rq_rx_reset'),
    upstream_rq_tx_reset: c('upstream_rq_tx_reset'),
    upstream_rq_retry: c('upstream_rq_retry'),
    upstream_rq_retry_success: c('upstream_rq_retry_success'),
    upstream_rq_retry_overflow: c('upstream_rq_retry_overflow'),
    upstream_rq_retry_limit_exceeded: c('upstream_rq_retry_limit_exceeded'),
    retry_or_shadow_abandoned: c('retry_or_shadow_abandoned'),
    upstream_rq_time: scope.histogram('upstream_rq_time'),
    upstream_flow_control_paused_reading_total: c('upstream_flow_control_paused_reading_total'),
    upstream_flow_control_resumed_reading_total: c('upstream_flow_control_resumed_reading_total'),
    membership_change: c('membership_change'),
    membership_healthy: gNever('membership_healthy'),
    membership_degraded: gNever('membership_degraded'),
    membership_excluded: gNever('membership_excluded'),
    membership_total: gNever('membership_total'),
    max_host_weight: gNever('max_host_weight'),
    update_attempt: c('update_attempt'),
    update_success: c('update_success'),
    update_failure: c('update_failure'),
    update_empty: c('update_empty'),
    update_no_rebuild: c('update_no_rebuild'),
    version: gNever('version'),
    assignment_stale: c('assignment_stale'),
    assignment_timeout_received: c('assignment_timeout_received'),
    bind_errors: c('bind_errors'),
    original_dst_host_invalid: c('original_dst_host_invalid'),
    lb: {
      lb_healthy_panic: c('lb_healthy_panic'),
      lb_zone_no_capacity_left: c('lb_zone_no_capacity_left'),
      lb_recalculate_zone_structures: c('lb_recalculate_zone_structures'),
      lb_subsets_active: gNever('lb_subsets_active'),
      lb_subsets_created: c('lb_subsets_created'),
      lb_subsets_removed: c('lb_subsets_removed'),
      lb_subsets_selected: c('lb_subsets_selected'),
      lb_subsets_fallback: c('lb_subsets_fallback'),
      lb_subsets_fallback_panic: c('lb_subsets_fallback_panic'),
      lb_subsets_single_host_per_subset_duplicate: gNever('lb_subsets_single_host_per_subset_duplicate'),
    },
  };
}

/**
 * Response-code stats for completed upstream requests: `upstream_rq_200`, `upstream_rq_2xx` and
 * their `external.` twins (Envoy counts every request as external unless it carries
 * `x-envoy-internal: true`). Counters are created on first use of a code and cached.
 */
export class ResponseCodeStats {
  private readonly cache = new Map<number, Counter[]>();

  constructor(private readonly scope: Scope) {}

  charge(code: number, internal: boolean): void {
    const key = internal ? -code : code;
    let counters = this.cache.get(key);
    if (!counters) {
      const klass = `${Math.floor(code / 100)}xx`;
      const origin = internal ? 'internal.' : 'external.';
      counters = [
        this.scope.counter(`upstream_rq_${code}`),
        this.scope.counter(`upstream_rq_${klass}`),
        this.scope.counter(`${origin}upstream_rq_${code}`),
        this.scope.counter(`${origin}upstream_rq_${klass}`),
        this.scope.counter(`${origin}upstream_rq_completed`),
      ];
      this.cache.set(key, counters);
    }
    for (const c of counters) c.inc();
  }
}
