/**
 * The health check filter (`envoy.filters.http.health_check`), after Envoy's
 * `source/extensions/filters/http/health_check`: requests matching `headers` (typically
 * `:path: /healthz`) are health checks of this proxy.
 *
 * - Without `pass_through_mode` the filter answers them itself: 503 once `/healthcheck/fail` was
 *   posted to the admin, otherwise 200 — or 503 when a cluster of `cluster_min_healthy_percentages`
 *   has fewer healthy (or degraded) members than its percentage.
 * - With `pass_through_mode` they go on to the service, except while failed (503 here), and with
 *   `cache_time`, a response of the service answers the checks that follow it within the window.
 *
 * Responses to health checks carry `x-envoy-upstream-healthchecked-cluster` (the local cluster,
 * `node.cluster`); while failed, every other response carries `x-envoy-immediate-health-check-fail:
 * true`, which makes the proxy in front take this host out at once. A failed check sets flag LH.
 */
import { durationMs } from '../../common/duration.js';
import type { Duration, HeaderMatcher } from '../../config/types.js';
import type { ClusterManager } from '../../upstream/cluster-manager.js';
import {
  type FilterCallbacks,
  type FilterDataStatus,
  type FilterHeadersStatus,
  type FilterTrailersStatus,
  PassThroughFilter,
} from '../filter.js';
import type { RequestHead, ResponseHead } from '../headers.js';
import { compileRequestHeaderMatchers, type RequestPredicate } from './request-match.js';

/** `envoy.extensions.filters.http.health_check.v3.HealthCheck`, normalized. */
export interface HealthCheckFilterProto {
  pass_through_mode: boolean;
  headers?: HeaderMatcher[];
  cache_time?: Duration;
  cluster_min_healthy_percentages?: Record<string, { value?: number }>;
}

/** What the server tells the filter: Envoy's `healthCheckFailed()` and local info. */
export interface LocalHealth {
  healthCheckFailed(): boolean;
  /** `node.cluster` (`--service-cluster`). */
  readonly localClusterName: string;
}

/**
 * Envoy's HealthCheckCacheManager: a response of the service is reused until the cache window it
 * arrived in ends (windows of `cache_time` from start-up).
 */
class HealthCheckCache {
  private readonly startMs = performance.now();
  private cachedWindow = -1;
  private status = 200;
  private degraded = false;

  constructor(private readonly windowMs: number) {}

  private window(): number {
    return Math.floor((performance.now() - this.startMs) / this.windowMs);
  }

  useCachedResponse(): boolean {
    return this.cachedWindow === this.window();
  }

  set(status: number, degraded: boolean): void {
    this.status = status;
    this.degraded = degraded;
    this.cachedWindow = this.window();
  }

  get(): { status: number; degraded: boolean } {
    return { status: this.status, degraded: this.degraded };
  }
}

export class HealthCheckFilterConfig {
  readonly passThrough: boolean;
  readonly isHealthCheck: RequestPredicate;
  readonly cache: HealthCheckCache | undefined;
  /** Cluster name → minimum percentage (truncated to an integer, as Envoy does). */
  readonly minHealthy: [string, number][];

  constructor(
    c: HealthCheckFilterProto,
    readonly local: LocalHealth,
    readonly clusterManager: ClusterManager,
  ) {
    this.passThrough = c.pass_through_mode === true;
    this.isHealthCheck = compileRequestHeaderMatchers(c.headers);
    const cacheMs = durationMs(c.cache_time, 0);
    if (!this.passThrough && cacheMs > 0)
      throw new Error('cache_time_ms must not be set when path_through_mode is disabled');
    this.cache = cacheMs > 0 ? new HealthCheckCache(cacheMs) : undefined;
    this.minHealthy = this.passThrough
      ? []
      : Object.entries(c.cluster_min_healthy_percentages ?? {}).map(([name, p]) => [
          name,
          Math.trunc(p.value ?? 0),
        ]);
  }
}

export class HealthCheckFilter extends PassThroughFilter {
  private healthCheckRequest = false;
  /** The filter answers this request itself. */
  private handling = false;

  constructor(
    private readonly callbacks: FilterCallbacks,
    private readonly config: HealthCheckFilterConfig,
  ) {
    super();
  }

  override decodeHeaders(request: RequestHead, endStream: boolean): FilterHeadersStatus {
    const c = this.config;
    if (c.isHealthCheck(request)) {
      this.healthCheckRequest = true;
      this.handling = !c.passThrough || c.local.healthCheckFailed() || c.cache?.useCachedResponse() === true;
    }
    if (endStream && this.handling) this.complete();
    return this.handling ? 'StopIteration' : 'Continue';
  }

  override decodeData(_data: Buffer, endStream: boolean): FilterDataStatus {
    if (endStream && this.handling) this.complete();
    return this.handling ? 'StopIterationNoBuffer' : 'Continue';
  }

  override decodeTrailers(): FilterTrailersStatus {
    if (this.handling) this.complete();
    return this.handling ? 'StopIteration' : 'Continue';
  }

  override encodeHeaders(response: ResponseHead): FilterHeadersStatus {
    const c = this.config;
    if (this.healthCheckRequest) {
      c.cache?.set(response.status, response.headers.has('x-envoy-degraded'));
      response.headers.set('x-envoy-upstream-healthchecked-cluster', c.local.localClusterName);
    } else if (c.local.healthCheckFailed()) {
      response.headers.set('x-envoy-immediate-health-check-fail', 'true');
    }
    return 'Continue';
  }

  /** The whole health-check request is in: answer it. */
  private complete(): void {
    const cb = this.callbacks;
    const c = this.config;
    let status = 200;
    let details = 'health_check_ok';
    let degraded = false;
    if (c.local.healthCheckFailed()) {
      status = 503;
      details = 'health_check_failed';
    } else if (c.cache) {
      ({ status, degraded } = c.cache.get());
      details = 'health_check_cached';
    } else if (c.minHealthy.length > 0) {
      ({ status, details } = this.clustersHealth());
    }
    if (status < 200 || status >= 300) cb.streamInfo.setFlag('LH');
    cb.sendLocalReply(status, '', { details, headers: degraded ? [['x-envoy-degraded', '']] : [] });
  }

  /** `cluster_min_healthy_percentages`: every listed cluster has enough healthy or degraded members. */
  private clustersHealth(): { status: number; details: string } {
    for (const [name, minPercent] of this.config.minHealthy) {
      const cluster = this.config.clusterManager.get(name);
      if (!cluster) return { status: 503, details: 'health_check_failed_no_cluster_found' };
      const s = cluster.stats;
      const total = s.membership_total.value;
      if (total === 0) {
        if (minPercent === 0) continue;
        return { status: 503, details: 'health_check_failed_cluster_empty' };
      }
      if (100 * (s.membership_healthy.value + s.membership_degraded.value) < total * minPercent)
        return { status: 503, details: 'health_check_failed_cluster_unhealthy' };
    }
    return { status: 200, details: 'health_check_ok_cluster_healthy' };
  }
}
