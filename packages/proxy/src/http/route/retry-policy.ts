/**
 * A route's compiled `retry_policy` (Envoy's RetryPolicyImpl). Every route has one: without
 * `retry_policy` it retries on nothing, but a request's `x-envoy-retry-on` header can still turn
 * retries on, with Envoy's default of one retry.
 */
import { durationMs } from '../../common/duration.js';
import { compileHeaderMatcher, type HeaderPredicate } from '../../common/matchers.js';
import type { RetryPolicy as RetryPolicyConfig } from '../../config/types.js';

/** The `retry_on` conditions (HTTP ones, then the gRPC status ones), one bit each. */
export const RETRY_ON = {
  '5xx': 1 << 0,
  'gateway-error': 1 << 1,
  'connect-failure': 1 << 2,
  'retriable-4xx': 1 << 3,
  'refused-stream': 1 << 4,
  'retriable-status-codes': 1 << 5,
  reset: 1 << 6,
  'retriable-headers': 1 << 7,
  'envoy-ratelimited': 1 << 8,
  'reset-before-request': 1 << 9,
  'http3-post-connect-failure': 1 << 10,
  cancelled: 1 << 11,
  'deadline-exceeded': 1 << 12,
  internal: 1 << 13,
  'resource-exhausted': 1 << 14,
  unavailable: 1 << 15,
} as const;
export type RetryOn = keyof typeof RETRY_ON;

/** The bits of a comma-separated `retry_on` list; like Envoy, unknown names are ignored. */
export function parseRetryOn(value: string): number {
  let bits = 0;
  for (const token of value.split(',')) {
    const bit = (RETRY_ON as Record<string, number>)[token.trim()];
    if (bit !== undefined) bits |= bit;
  }
  return bits;
}

/** The retry host predicates meshcraft-proxy implements, by extension name and config type. */
const PREVIOUS_HOSTS = [
  'envoy.retry_host_predicates.previous_hosts',
  'envoy.extensions.retry.host.previous_hosts.v3.PreviousHostsPredicate',
];
const OMIT_CANARY_HOSTS = [
  'envoy.retry_host_predicates.omit_canary_hosts',
  'envoy.extensions.retry.host.omit_canary_hosts.v3.OmitCanaryHostsPredicate',
];

export type RetryHostPredicate = 'previous_hosts' | 'omit_canary_hosts';

/** Which implemented predicate a `retry_host_predicate` entry is, by its config type or, without one, its name. */
export function retryHostPredicateKind(p: {
  name: string;
  typed_config?: { '@type': string };
}): RetryHostPredicate | undefined {
  const type = p.typed_config?.['@type']?.replace(/^.*\//, '');
  const matches = (ids: string[]) => (type !== undefined ? ids.includes(type) : ids.includes(p.name));
  if (matches(PREVIOUS_HOSTS)) return 'previous_hosts';
  if (matches(OMIT_CANARY_HOSTS)) return 'omit_canary_hosts';
  return undefined;
}

export class RetryPolicy {
  readonly retryOn: number;
  readonly numRetries: number;
  /** 0: none. */
  readonly perTryTimeoutMs: number;
  readonly retriableStatusCodes: readonly number[];
  readonly retriableHeaders: readonly HeaderPredicate[];
  /** When non-empty, only requests matching one of these are retried at all. */
  readonly retriableRequestHeaders: readonly HeaderPredicate[];
  readonly hostPredicates: readonly RetryHostPredicate[];
  readonly hostSelectionMaxAttempts: number;
  /** `retry_back_off`; undefined means the runtime's `upstream.base_retry_backoff_ms` (25 ms). */
  readonly baseIntervalMs: number | undefined;
  readonly maxIntervalMs: number | undefined;

  constructor(config: RetryPolicyConfig | undefined) {
    this.retryOn = parseRetryOn(config?.retry_on ?? '');
    this.numRetries = config?.num_retries ?? 1;
    this.perTryTimeoutMs = durationMs(config?.per_try_timeout, 0);
    this.retriableStatusCodes = config?.retriable_status_codes ?? [];
    this.retriableHeaders = (config?.retriable_headers ?? []).map(compileHeaderMatcher);
    this.retriableRequestHeaders = (config?.retriable_request_headers ?? []).map(compileHeaderMatcher);
    this.hostPredicates = (config?.retry_host_predicate ?? []).flatMap((p) => {
      const kind = retryHostPredicateKind(p);
      return kind ? [kind] : [];
    });
    this.hostSelectionMaxAttempts = config?.host_selection_retry_max_attempts ?? 1;
    this.baseIntervalMs = durationMs(config?.retry_back_off?.base_interval);
    this.maxIntervalMs = durationMs(config?.retry_back_off?.max_interval);
  }
}

/** The policy of routes without `retry_policy`. */
export const NO_RETRY_POLICY = new RetryPolicy(undefined);
