/**
 * Outlier detection, the passive health check, after Envoy's
 * `source/common/upstream/outlier_detection_impl.cc`. One detector per cluster, one monitor per
 * host; the router and TCP proxy report every attempt to the host's monitor.
 *
 * - Consecutive errors (5xx, gateway failures 502/503/504, local-origin failures when
 *   `split_external_local_origin_errors` keeps them apart) eject a host the moment the run reaches
 *   its threshold; any success resets the run. Without the split, local-origin events count as
 *   HTTP codes (connect failure 503, timeout 504).
 * - Every `interval` a sweep returns hosts whose ejection has run out, rotates the success-rate
 *   buckets, and ejects success-rate outliers (below `mean − stdev_factor/1000 × stdev`) and
 *   failure-percentage outliers (`100 − rate ≥ failure_percentage_threshold`).
 * - An ejection lasts `base_ejection_time × n` (capped by `max_ejection_time`, plus jitter), where
 *   `n` grows by one per ejection and shrinks by one per sweep the host spends back in service for
 *   a whole interval — so a host failing again soon stays out longer each time.
 * - `max_ejection_percent` caps the ejected share of the cluster (see `alwaysEjectOneHost`), and an
 *   `enforcing_*` percentage is the chance a detected outlier is actually ejected.
 * - An ejected host carries the `failed_outlier_check` flag, so the load balancers skip it.
 */
import type { Logger } from '../../common/logger.js';
import type { OutlierDetection } from '../../config/types.js';
import type { Runtime } from '../../runtime/runtime.js';
import type { Counter, Gauge, Scope } from '../../stats/store.js';
import type { Host, OutlierMonitor, OutlierResult, PrioritySet } from '../host.js';
import { randomU32 } from '../load-balancer/base.js';
import { OutlierConfig, type OutlierSetting } from './config.js';
import { SuccessRateAccumulator, successRateThreshold } from './success-rate.js';

/** Envoy's `OutlierEjectionType`, spelled as the stat names spell it. */
export type EjectionType =
  | 'consecutive_5xx'
  | 'consecutive_gateway_failure'
  | 'consecutive_local_origin_failure'
  | 'success_rate'
  | 'local_origin_success_rate'
  | 'failure_percentage'
  | 'local_origin_failure_percentage';

const EJECTION_TYPES: readonly EjectionType[] = [
  'consecutive_5xx',
  'consecutive_gateway_failure',
  'consecutive_local_origin_failure',
  'success_rate',
  'local_origin_success_rate',
  'failure_percentage',
  'local_origin_failure_percentage',
];

/** The `enforcing_*` setting of each ejection type. */
const ENFORCING: Record<EjectionType, OutlierSetting> = {
  consecutive_5xx: 'enforcing_consecutive_5xx',
  consecutive_gateway_failure: 'enforcing_consecutive_gateway_failure',
  consecutive_local_origin_failure: 'enforcing_consecutive_local_origin_failure',
  success_rate: 'enforcing_success_rate',
  local_origin_success_rate: 'enforcing_local_origin_success_rate',
  failure_percentage: 'enforcing_failure_percentage',
  local_origin_failure_percentage: 'enforcing_failure_percentage_local_origin',
};

/** `cluster.<name>.outlier_detection.*` (Envoy's ALL_OUTLIER_DETECTION_STATS). */
interface OutlierStats {
  ejections_active: Gauge;
  ejections_overflow: Counter;
  ejections_enforced_total: Counter;
  /** Deprecated in Envoy but still emitted: ejections that passed the percentage cap, for 5xx and success rate. */
  ejections_total: Counter;
  ejections_consecutive_5xx: Counter;
  ejections_success_rate: Counter;
  enforced: Record<EjectionType, Counter>;
  detected: Record<EjectionType, Counter>;
}

function outlierStats(clusterScope: Scope): OutlierStats {
  const s = clusterScope.scope('outlier_detection.');
  const byType = (prefix: string) =>
    Object.fromEntries(EJECTION_TYPES.map((t) => [t, s.counter(`${prefix}${t}`)])) as Record<
      EjectionType,
      Counter
    >;
  return {
    // Each worker process runs its own detector, so the aggregate must not be a sum.
    ejections_active: s.gauge('ejections_active', 'NeverImport'),
    ejections_overflow: s.counter('ejections_overflow'),
    ejections_enforced_total: s.counter('ejections_enforced_total'),
    ejections_total: s.counter('ejections_total'),
    ejections_consecutive_5xx: s.counter('ejections_consecutive_5xx'),
    ejections_success_rate: s.counter('ejections_success_rate'),
    enforced: byType('ejections_enforced_'),
    detected: byType('ejections_detected_'),
  };
}

const isGatewayError = (code: number) => code === 502 || code === 503 || code === 504;

type Origin = 'external' | 'local';

/**
 * Without `split_external_local_origin_errors` every result counts as an HTTP code (Envoy's
 * resultToHttpCode); a connection that HTTP will still judge counts as nothing.
 */
const RESULT_AS_HTTP_CODE: Record<OutlierResult, number | undefined> = {
  EXT_ORIGIN_REQUEST_SUCCESS: 200,
  LOCAL_ORIGIN_CONNECT_SUCCESS_FINAL: 200,
  LOCAL_ORIGIN_TIMEOUT: 504,
  LOCAL_ORIGIN_CONNECT_FAILED: 503,
  EXT_ORIGIN_REQUEST_FAILED: 500,
  LOCAL_ORIGIN_CONNECT_SUCCESS: undefined,
};

/** One host's error runs, success-rate buckets and ejection history. */
export class HostMonitor implements OutlierMonitor {
  consecutive5xx = 0;
  consecutiveGatewayFailure = 0;
  consecutiveLocalOriginFailure = 0;
  readonly successRate: Record<Origin, SuccessRateAccumulator> = {
    external: new SuccessRateAccumulator(),
    local: new SuccessRateAccumulator(),
  };
  numEjections = 0;
  /** The `n` of `base_ejection_time × n`. */
  ejectTimeBackoff = 0;
  lastEjectionMs: number | undefined;
  lastUnejectionMs: number | undefined;
  jitterMs = 0;
  /** Set when the host leaves the cluster; in-flight requests may still report to it. */
  detached = false;

  constructor(
    readonly host: Host,
    private readonly detector: OutlierDetector,
  ) {}

  putHttpResponseCode(code: number): void {
    if (this.detached) return;
    const d = this.detector;
    if (code >= 500 && code < 600) {
      this.successRate.external.record(false);
      if (isGatewayError(code)) {
        if (++this.consecutiveGatewayFailure === d.config.get('consecutive_gateway_failure'))
          d.onConsecutiveError(this, 'consecutive_gateway_failure');
      } else {
        this.consecutiveGatewayFailure = 0;
      }
      if (++this.consecutive5xx === d.config.get('consecutive_5xx'))
        d.onConsecutiveError(this, 'consecutive_5xx');
    } else {
      this.successRate.external.record(true);
      this.consecutive5xx = 0;
      this.consecutiveGatewayFailure = 0;
    }
  }

  /**
   * With `split_external_local_origin_errors`, local-origin results (connect, timeout) have their
   * own run and success rate, and a non-HTTP transaction's outcome counts as a 503 or a 200.
   */
  putResult(result: OutlierResult): void {
    if (this.detached) return;
    if (!this.detector.config.splitExternalLocalOriginErrors) {
      const code = RESULT_AS_HTTP_CODE[result];
      if (code !== undefined) this.putHttpResponseCode(code);
    } else if (result === 'LOCAL_ORIGIN_CONNECT_SUCCESS' || result === 'LOCAL_ORIGIN_CONNECT_SUCCESS_FINAL') {
      this.localOrigin(true);
    } else if (result === 'LOCAL_ORIGIN_TIMEOUT' || result === 'LOCAL_ORIGIN_CONNECT_FAILED') {
      this.localOrigin(false);
    } else if (result === 'EXT_ORIGIN_REQUEST_FAILED') {
      this.putHttpResponseCode(503);
    } else {
      this.putHttpResponseCode(200);
      this.localOrigin(true);
    }
  }

  private localOrigin(success: boolean): void {
    this.successRate.local.record(success);
    if (success) {
      this.consecutiveLocalOriginFailure = 0;
    } else if (
      ++this.consecutiveLocalOriginFailure === this.detector.config.get('consecutive_local_origin_failure')
    ) {
      this.detector.onConsecutiveError(this, 'consecutive_local_origin_failure');
    }
  }

  resetConsecutive(type: EjectionType): void {
    if (type === 'consecutive_5xx') this.consecutive5xx = 0;
    else if (type === 'consecutive_gateway_failure') this.consecutiveGatewayFailure = 0;
    else if (type === 'consecutive_local_origin_failure') this.consecutiveLocalOriginFailure = 0;
  }

  /** Sets `success_rate` / `local_origin_success_rate` as `/clusters` shows them (-1: none). */
  publishSuccessRate(origin: Origin, rate: number): void {
    if (origin === 'external') this.host.successRate = rate;
    else this.host.localOriginSuccessRate = rate;
  }
}

export interface OutlierDetectorParams {
  config: OutlierDetection;
  prioritySet: PrioritySet;
  /** The cluster's scope, `cluster.<name>.`. */
  scope: Scope;
  runtime: Runtime;
  random: () => number;
  log: Logger;
  clusterName: string;
  /** A host was ejected or returned: the cluster recomputes its host sets. */
  onHostHealthChanged: (host: Host) => void;
  /** Monotonic milliseconds (tests pass a fake clock). */
  now?: () => number;
}

/** Per origin: the success-rate mean and ejection threshold of the last sweep, -1 when not computed. */
export interface SuccessRateSummary {
  average: number;
  threshold: number;
}

export class OutlierDetector {
  readonly config: OutlierConfig;
  private readonly stats: OutlierStats;
  private readonly monitors = new Map<Host, HostMonitor>();
  private readonly now: () => number;
  private readonly random: () => number;
  private readonly log: Logger;
  private readonly clusterName: string;
  private readonly onHostHealthChanged: (host: Host) => void;
  private timer: NodeJS.Timeout | undefined;
  private readonly summaries: Record<Origin, SuccessRateSummary> = {
    external: { average: -1, threshold: -1 },
    local: { average: -1, threshold: -1 },
  };

  constructor(params: OutlierDetectorParams) {
    this.config = new OutlierConfig(params.config, params.runtime);
    this.stats = outlierStats(params.scope);
    this.now = params.now ?? (() => performance.now());
    this.random = params.random;
    this.log = params.log;
    this.clusterName = params.clusterName;
    this.onHostHealthChanged = params.onHostHealthChanged;
    for (const host of params.prioritySet.allHosts()) this.addHost(host);
    params.prioritySet.onMembershipUpdate((_priority, added, removed) => {
      for (const host of added) this.addHost(host);
      for (const host of removed) this.removeHost(host);
    });
  }

  /** Starts the interval sweeps. */
  start(): void {
    this.arm();
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    for (const monitor of this.monitors.values()) this.removeHost(monitor.host);
  }

  /** The last sweep's success-rate mean and threshold, for `/clusters`. */
  successRateSummary(origin: Origin): SuccessRateSummary {
    return { ...this.summaries[origin] };
  }

  /**
   * An active health check passed: with `successful_active_health_check_uneject_host` (Envoy's
   * default) a host ejected by outlier detection whose active check now passes is returned at once.
   */
  onActiveHealthCheckSuccess(host: Host): void {
    if (!this.config.successfulActiveHealthCheckUnejectHost) return;
    const monitor = this.monitors.get(host);
    if (monitor && !host.hasFlag('failed_active_hc') && host.hasFlag('failed_outlier_check'))
      this.uneject(monitor);
  }

  private addHost(host: Host): void {
    if (this.monitors.has(host)) return;
    const monitor = new HostMonitor(host, this);
    this.monitors.set(host, monitor);
    host.outlier = monitor;
  }

  private removeHost(host: Host): void {
    const monitor = this.monitors.get(host);
    if (!monitor) return;
    monitor.detached = true;
    this.monitors.delete(host);
    if (host.hasFlag('failed_outlier_check')) this.stats.ejections_active.dec();
  }

  private arm(): void {
    this.timer = setTimeout(() => {
      this.sweep();
      this.arm();
    }, this.config.get('interval_ms'));
    this.timer.unref();
  }

  /** A consecutive-error run reached its threshold (Envoy's onConsecutiveErrorWorker). */
  onConsecutiveError(monitor: HostMonitor, type: EjectionType): void {
    if (monitor.detached || monitor.host.hasFlag('failed_outlier_check')) return;
    this.stats.detected[type].inc();
    this.eject(monitor, type);
    if (type === 'consecutive_5xx') this.stats.ejections_consecutive_5xx.inc();
    // Restart the run, so a further bout of errors is detected even without a success in between.
    monitor.resetConsecutive(type);
  }

  private eject(monitor: HostMonitor, type: EjectionType): void {
    const active = this.stats.ejections_active.value;
    const maxPercent = Math.min(100, this.config.get('max_ejection_percent'));
    const withinCap = (100 * (active + 1)) / this.monitors.size <= maxPercent;
    if (!withinCap && !(this.config.alwaysEjectOneHost && active === 0)) {
      this.stats.ejections_overflow.inc();
      return;
    }
    if (type === 'consecutive_5xx' || type === 'success_rate') this.stats.ejections_total.inc();
    if (randomU32(this.random) % 100 >= this.config.get(ENFORCING[type])) {
      this.log.debug(
        `outlier ${monitor.host.key} in cluster ${this.clusterName} detected (${type}), not enforced`,
      );
      return;
    }
    const host = monitor.host;
    this.stats.ejections_active.inc();
    this.stats.ejections_enforced_total.inc();
    this.stats.enforced[type].inc();
    host.setFlag('failed_outlier_check');
    monitor.numEjections++;
    monitor.lastEjectionMs = this.now();
    const base = this.config.get('base_ejection_time_ms');
    const max = this.config.get('max_ejection_time_ms');
    monitor.jitterMs = randomU32(this.random) % (this.config.get('max_ejection_time_jitter_ms') + 1);
    if (monitor.ejectTimeBackoff * base < max + base) monitor.ejectTimeBackoff++;
    this.log.info(
      `outlier detection: ejecting host ${host.key} in cluster ${this.clusterName} (${type}, ejection ${monitor.numEjections})`,
    );
    this.onHostHealthChanged(host);
  }

  private uneject(monitor: HostMonitor): void {
    const host = monitor.host;
    this.stats.ejections_active.dec();
    host.clearFlag('failed_outlier_check');
    // A run close to its threshold would otherwise eject the host again on very few new errors.
    monitor.consecutive5xx = 0;
    monitor.consecutiveGatewayFailure = 0;
    monitor.consecutiveLocalOriginFailure = 0;
    monitor.lastUnejectionMs = this.now();
    this.log.info(`outlier detection: host ${host.key} in cluster ${this.clusterName} returns to service`);
    this.onHostHealthChanged(host);
  }

  /** One interval's analysis (Envoy's onIntervalTimer); public so tests can drive it with a fake clock. */
  sweep(): void {
    const now = this.now();
    const base = this.config.get('base_ejection_time_ms');
    const max = this.config.get('max_ejection_time_ms');
    for (const monitor of this.monitors.values()) {
      if (monitor.host.hasFlag('failed_outlier_check') && monitor.lastEjectionMs !== undefined) {
        const ejectedFor = Math.min(base * monitor.ejectTimeBackoff, max) + monitor.jitterMs;
        if (now - monitor.lastEjectionMs >= ejectedFor) this.uneject(monitor);
      }
      monitor.successRate.external.rotate();
      monitor.successRate.local.rotate();
      monitor.publishSuccessRate('external', -1);
      monitor.publishSuccessRate('local', -1);
    }
    this.processSuccessRates('external');
    this.processSuccessRates('local');
    const interval = this.config.get('interval_ms');
    for (const monitor of this.monitors.values()) {
      const backInService =
        monitor.lastUnejectionMs !== undefined && now - monitor.lastUnejectionMs >= interval;
      if (!monitor.host.hasFlag('failed_outlier_check') && backInService && monitor.ejectTimeBackoff > 0)
        monitor.ejectTimeBackoff--;
    }
  }

  /** Success-rate and failure-percentage ejection over the last interval's traffic of one origin. */
  private processSuccessRates(origin: Origin): void {
    const c = this.config;
    const srMinHosts = c.get('success_rate_minimum_hosts');
    const srVolume = c.get('success_rate_request_volume');
    const fpMinHosts = c.get('failure_percentage_minimum_hosts');
    const fpVolume = c.get('failure_percentage_request_volume');
    this.summaries[origin] = { average: -1, threshold: -1 };
    if (this.monitors.size < srMinHosts && this.monitors.size < fpMinHosts) return;
    const srHosts: { monitor: HostMonitor; rate: number }[] = [];
    const fpHosts: { monitor: HostMonitor; rate: number }[] = [];
    for (const monitor of this.monitors.values()) {
      if (monitor.host.hasFlag('failed_outlier_check')) continue;
      const last = monitor.successRate[origin].lastInterval();
      if (!last) continue;
      if (last.volume >= Math.min(srVolume, fpVolume)) monitor.publishSuccessRate(origin, last.rate);
      if (last.volume >= srVolume) srHosts.push({ monitor, rate: last.rate });
      if (last.volume >= fpVolume) fpHosts.push({ monitor, rate: last.rate });
    }
    if (srHosts.length > 0 && srHosts.length >= srMinHosts) {
      const summary = successRateThreshold(
        srHosts.map((h) => h.rate),
        c.get('success_rate_stdev_factor') / 1000,
      );
      this.summaries[origin] = summary;
      const type: EjectionType = origin === 'external' ? 'success_rate' : 'local_origin_success_rate';
      for (const { monitor, rate } of srHosts) {
        if (rate >= summary.threshold) continue;
        this.stats.ejections_success_rate.inc();
        this.stats.detected[type].inc();
        this.eject(monitor, type);
      }
    }
    if (fpHosts.length > 0 && fpHosts.length >= fpMinHosts) {
      const threshold = c.get('failure_percentage_threshold');
      const type: EjectionType =
        origin === 'external' ? 'failure_percentage' : 'local_origin_failure_percentage';
      for (const { monitor, rate } of fpHosts) {
        // A host the success-rate pass just ejected is not ejected twice.
        if (100 - rate < threshold || monitor.host.hasFlag('failed_outlier_check')) continue;
        this.stats.detected[type].inc();
        this.eject(monitor, type);
      }
    }
  }
}
