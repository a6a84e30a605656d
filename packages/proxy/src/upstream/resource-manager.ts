/**
 * Circuit-breaker resources of one cluster at one routing priority (Envoy's ResourceManager):
 * connections, pending requests, requests, retries. Envoy enforces its defaults
 * (1024/1024/1024/3) even when the config says nothing, and so do we. With a `retry_budget`, the
 * retry limit follows the load instead of `max_retries`.
 */
import type { CircuitBreakerThresholds } from '../config/types.js';
import type { Gauge, Scope } from '../stats/store.js';

export const DEFAULT_THRESHOLDS = {
  max_connections: 1024,
  max_pending_requests: 1024,
  max_requests: 1024,
  max_retries: 3,
} as const;

export type ResourceKind = 'connections' | 'pendingRequests' | 'requests' | 'retries';

export class Resource {
  count = 0;
  constructor(
    private readonly limit: number | (() => number),
    /** `circuit_breakers.<priority>.<x>_open`: 1 while the breaker is tripped. */
    private readonly openGauge: Gauge,
    /** `remaining_<x>`, kept only with `track_remaining`. */
    private readonly remainingGauge: Gauge | undefined,
  ) {
    this.update();
  }

  /** The current limit (a retry budget's moves with the cluster's load). */
  max(): number {
    return typeof this.limit === 'number' ? this.limit : this.limit();
  }

  canCreate(): boolean {
    return this.count < this.max();
  }

  inc(): void {
    this.count++;
    this.update();
  }

  dec(): void {
    this.count--;
    this.update();
  }

  private update(): void {
    const max = this.max();
    this.openGauge.set(this.count >= max ? 1 : 0);
    this.remainingGauge?.set(Math.max(0, max - this.count));
  }
}

/** Envoy's retry budget defaults: 20% of active plus pending requests, never fewer than 3 retries. */
const DEFAULT_BUDGET_PERCENT = 20;
const DEFAULT_MIN_RETRY_CONCURRENCY = 3;

export class ResourceManager {
  readonly connections: Resource;
  readonly pendingRequests: Resource;
  readonly requests: Resource;
  readonly retries: Resource;
  readonly thresholds: Required<
    Pick<
      CircuitBreakerThresholds,
      'max_connections' | 'max_pending_requests' | 'max_requests' | 'max_retries'
    >
  >;

  constructor(
    config: CircuitBreakerThresholds | undefined,
    clusterScope: Scope,
    priority: 'default' | 'high',
  ) {
    this.thresholds = {
      max_connections: config?.max_connections ?? DEFAULT_THRESHOLDS.max_connections,
      max_pending_requests: config?.max_pending_requests ?? DEFAULT_THRESHOLDS.max_pending_requests,
      max_requests: config?.max_requests ?? DEFAULT_THRESHOLDS.max_requests,
      max_retries: config?.max_retries ?? DEFAULT_THRESHOLDS.max_retries,
    };
    const scope = clusterScope.scope(`circuit_breakers.${priority}.`);
    const track = config?.track_remaining === true;
    const make = (max: number, open: string, remaining: string) =>
      new Resource(
        max,
        scope.gauge(open, 'NeverImport'),
        track ? scope.gauge(remaining, 'NeverImport') : undefined,
      );
    this.connections = make(this.thresholds.max_connections, 'cx_open', 'remaining_cx');
    this.pendingRequests = make(this.thresholds.max_pending_requests, 'rq_pending_open', 'remaining_pending');
    this.requests = make(this.thresholds.max_requests, 'rq_open', 'remaining_rq');
    const budget = config?.retry_budget;
    if (budget) {
      const percent = budget.budget_percent?.value ?? DEFAULT_BUDGET_PERCENT;
      const minimum = budget.min_retry_concurrency ?? DEFAULT_MIN_RETRY_CONCURRENCY;
      // A budget replaces max_retries; Envoy keeps no remaining_retries gauge for it.
      this.retries = new Resource(
        () =>
          Math.max(Math.floor((percent / 100) * (this.requests.count + this.pendingRequests.count)), minimum),
        scope.gauge('rq_retry_open', 'NeverImport'),
        undefined,
      );
    } else {
      this.retries = make(this.thresholds.max_retries, 'rq_retry_open', 'remaining_retries');
    }
  }
}
