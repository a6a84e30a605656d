/**
 * One request's retry state, after Envoy's `source/common/router/retry_state_impl.cc`: the route's
 * retry policy merged with the request's `x-envoy-retry-on` / `x-envoy-retry-grpc-on` /
 * `x-envoy-max-retries` / `x-envoy-retriable-status-codes` / `x-envoy-retriable-header-names`,
 * the decision to retry a response or a reset, the cluster's retry circuit breaker, the
 * jittered exponential back-off, and the retry host predicates.
 *
 * A scheduled retry holds one unit of the cluster's `max_retries` breaker from the decision until
 * the retried attempt ends (its response or reset is judged again) or the request goes away.
 */
import { compileHeaderMatcher, type HeaderPredicate } from '../common/matchers.js';
import type { Runtime } from '../runtime/runtime.js';
import type { ClusterStats } from '../upstream/cluster-stats.js';
import type { Host } from '../upstream/host.js';
import { randomU32 } from '../upstream/load-balancer/base.js';
import type { Resource } from '../upstream/resource-manager.js';
import type { HeaderMap } from './headers.js';
import { parseRetryOn, RETRY_ON, type RetryPolicy } from './route/retry-policy.js';

export type RetryStatus = 'yes' | 'no' | 'no_overflow' | 'no_retry_limit_exceeded';

/** Why an upstream attempt ended without a response (Envoy's StreamResetReason, as far as HTTP/1 has them). */
export type UpstreamResetReason =
  | 'overflow'
  | 'local_connection_failure'
  | 'remote_connection_failure'
  | 'connection_timeout'
  | 'connection_termination'
  | 'protocol_error'
  | 'local_reset';

const RETRY_HEADERS = [
  'x-envoy-retry-on',
  'x-envoy-retry-grpc-on',
  'x-envoy-max-retries',
  'x-envoy-retriable-status-codes',
  'x-envoy-retriable-header-names',
  'x-envoy-upstream-rq-per-try-timeout-ms',
  'x-envoy-hedge-on-per-try-timeout',
] as const;

const GRPC_STATUS_RETRY_ON: Record<number, number> = {
  1: RETRY_ON.cancelled,
  4: RETRY_ON['deadline-exceeded'],
  8: RETRY_ON['resource-exhausted'],
  13: RETRY_ON.internal,
  14: RETRY_ON.unavailable,
};
const GRPC_RETRY_ON = Object.values(GRPC_STATUS_RETRY_ON).reduce((a, b) => a | b, 0);
const CONNECT_FAILURES: ReadonlySet<UpstreamResetReason> = new Set([
  'local_connection_failure',
  'remote_connection_failure',
  'connection_timeout',
]);

/**
 * Envoy's JitteredExponentialBackOffStrategy: the n-th back-off is uniform in
 * [0, min(base × 2^(n-1), max)).
 */
export class JitteredExponentialBackOff {
  private next: number;
  constructor(
    base: number,
    private readonly max: number,
    private readonly random: () => number,
  ) {
    this.next = base;
  }

  nextBackOffMs(): number {
    const ceiling = this.next;
    this.next = this.next <= this.max / 2 ? 2 * this.next : this.max;
    return Math.min(randomU32(this.random) % ceiling, this.max);
  }
}

export interface RetryStateDeps {
  /** The `retries` resource of the cluster at the route's priority. */
  retries: Resource;
  stats: ClusterStats;
  runtime: Runtime;
  random: () => number;
}

export class RetryState {
  private retryOn: number;
  private retriesRemaining: number;
  private readonly retriableStatusCodes: number[];
  private readonly retriableHeaders: HeaderPredicate[];
  private readonly backOff: JitteredExponentialBackOff;
  private readonly attempted = new Set<Host>();
  /** The scheduled retry, held from the decision until its attempt is judged. */
  private pending: (() => void) | undefined;
  private timer: NodeJS.Timeout | undefined;

  /**
   * The retry state for a request, or undefined when nothing can make it retry. Consumes the
   * retry request headers either way, so they never reach the upstream.
   */
  static create(policy: RetryPolicy, headers: HeaderMap, deps: RetryStateDeps): RetryState | undefined {
    const wanted =
      policy.retryOn !== 0 || headers.has('x-envoy-retry-on') || headers.has('x-envoy-retry-grpc-on');
    const allowed =
      policy.retriableRequestHeaders.length === 0 || policy.retriableRequestHeaders.some((m) => m(headers));
    const state = wanted && allowed ? new RetryState(policy, headers, deps) : undefined;
    for (const name of RETRY_HEADERS) headers.remove(name);
    return state;
  }

  private constructor(
    readonly policy: RetryPolicy,
    headers: HeaderMap,
    private readonly deps: RetryStateDeps,
  ) {
    this.retryOn = policy.retryOn;
    this.retriesRemaining = policy.numRetries;
    this.retriableStatusCodes = [...policy.retriableStatusCodes];
    this.retriableHeaders = [...policy.retriableHeaders];
    const base = policy.baseIntervalMs ?? deps.runtime.getInteger('upstream.base_retry_backoff_ms', 25);
    this.backOff = new JitteredExponentialBackOff(base, policy.maxIntervalMs ?? base * 10, deps.random);
    // The request headers split what the config's retry_on mixes: HTTP conditions, gRPC statuses.
    this.retryOn |= parseRetryOn(headers.get('x-envoy-retry-on') ?? '') & ~GRPC_RETRY_ON;
    this.retryOn |= parseRetryOn(headers.get('x-envoy-retry-grpc-on') ?? '') & GRPC_RETRY_ON;
    const maxRetries = headers.get('x-envoy-max-retries');
    if (this.retryOn !== 0 && maxRetries !== undefined && /^\d+$/.test(maxRetries.trim()))
      this.retriesRemaining = Number(maxRetries.trim());
    for (const code of (headers.get('x-envoy-retriable-status-codes') ?? '').split(',')) {
      if (/^\d+$/.test(code.trim())) this.retriableStatusCodes.push(Number(code.trim()));
    }
    for (const name of (headers.get('x-envoy-retriable-header-names') ?? '').split(',')) {
      if (name.trim()) this.retriableHeaders.push(compileHeaderMatcher({ name: name.trim() }));
    }
  }

  get hostSelectionMaxAttempts(): number {
    return this.policy.hostSelectionMaxAttempts;
  }

  /** Whether a response with this status and headers would be retried (retries left or not). */
  wouldRetryFromHeaders(status: number, headers: HeaderMap): boolean {
    const on = (flag: keyof typeof RETRY_ON) => (this.retryOn & RETRY_ON[flag]) !== 0;
    // A rate-limit answer from an upstream Envoy is retried only when asked for explicitly.
    if (headers.has('x-envoy-ratelimited')) return on('envoy-ratelimited');
    if (on('5xx') && status >= 500 && status < 600) return true;
    if (on('gateway-error') && status >= 502 && status <= 504) return true;
    if (on('retriable-4xx') && status === 409) return true;
    if (on('retriable-status-codes') && this.retriableStatusCodes.includes(status)) return true;
    if (on('retriable-headers') && this.retriableHeaders.some((m) => m(headers))) return true;
    if (this.retryOn & GRPC_RETRY_ON) {
      const grpcStatus = headers.get('grpc-status');
      const flag = grpcStatus !== undefined ? GRPC_STATUS_RETRY_ON[Number(grpcStatus)] : undefined;
      if (flag !== undefined && (this.retryOn & flag) !== 0) return true;
    }
    return false;
  }

  /** Whether an attempt that ended this way would be retried; `started`: request bytes were sent. */
  wouldRetryFromReset(reason: UpstreamResetReason, started: boolean): boolean {
    const on = (flag: keyof typeof RETRY_ON) => (this.retryOn & RETRY_ON[flag]) !== 0;
    // A breaker's overflow is about the cluster, not the host: retrying would only add load.
    if (reason === 'overflow') return false;
    if (CONNECT_FAILURES.has(reason) && on('connect-failure')) return true;
    // A reset ends in a 5xx, so the 5xx and gateway-error policies retry it too.
    if (on('5xx') || on('gateway-error') || on('reset')) return true;
    return on('reset-before-request') && !started;
  }

  shouldRetryHeaders(status: number, headers: HeaderMap, doRetry: () => void): RetryStatus {
    return this.shouldRetry(this.wouldRetryFromHeaders(status, headers), doRetry);
  }

  shouldRetryReset(reason: UpstreamResetReason, started: boolean, doRetry: () => void): RetryStatus {
    return this.shouldRetry(this.wouldRetryFromReset(reason, started), doRetry);
  }

  private shouldRetry(wouldRetry: boolean, doRetry: () => void): RetryStatus {
    const s = this.deps.stats;
    // A retry was scheduled before and this attempt needs none: that retry succeeded.
    if (this.pending && !wouldRetry) s.upstream_rq_retry_success.inc();
    this.release();
    if (!wouldRetry) return 'no';
    if (this.retriesRemaining === 0) {
      s.upstream_rq_retry_limit_exceeded.inc();
      return 'no_retry_limit_exceeded';
    }
    this.retriesRemaining--;
    if (!this.deps.retries.canCreate()) {
      s.upstream_rq_retry_overflow.inc();
      return 'no_overflow';
    }
    if (
      !this.deps.runtime.featureEnabled('upstream.use_retry', { numerator: 100 }, randomU32(this.deps.random))
    )
      return 'no';
    this.pending = doRetry;
    this.deps.retries.inc();
    s.upstream_rq_retry.inc();
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.pending?.();
    }, this.backOff.nextBackOffMs());
    return 'yes';
  }

  onHostAttempted(host: Host): void {
    this.attempted.add(host);
  }

  /** The retry host predicates: whether the load balancer should pick again instead of `host`. */
  shouldSelectAnotherHost(host: Host): boolean {
    return this.policy.hostPredicates.some((p) =>
      p === 'previous_hosts' ? this.attempted.has(host) : host.lbMetadata()?.canary === true,
    );
  }

  /** Gives back the retry breaker's unit of a scheduled retry, and cancels it if it has not run. */
  private release(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.pending) {
      this.pending = undefined;
      this.deps.retries.dec();
    }
  }

  /** The request is over. */
  destroy(): void {
    this.release();
  }
}
