/**
 * The retry state machine: policy and header merging, decisions, the retry breaker, back-off and
 * host predicates.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { RetryPolicy as RetryPolicyConfig } from '../config/types.js';
import { Runtime } from '../runtime/runtime.js';
import { Store } from '../stats/store.js';
import { createClusterStats } from '../upstream/cluster-stats.js';
import { Host } from '../upstream/host.js';
import { seededRandom } from '../upstream/load-balancer/test-support.js';
import { ResourceManager } from '../upstream/resource-manager.js';
import { HeaderMap } from './headers.js';
import { JitteredExponentialBackOff, RetryState } from './retry-state.js';
import { RetryPolicy } from './route/retry-policy.js';

function setup(policy: RetryPolicyConfig | undefined, headers: [string, string][] = [], maxRetries = 3) {
  const store = new Store();
  const scope = store.scope('cluster.c.');
  const resources = new ResourceManager({ max_retries: maxRetries }, scope, 'default');
  const stats = createClusterStats(scope);
  const h = new HeaderMap();
  for (const [k, v] of headers) h.add(k, v);
  const state = RetryState.create(new RetryPolicy(policy), h, {
    retries: resources.retries,
    stats,
    runtime: new Runtime(undefined),
    random: seededRandom(3),
  });
  return { state, stats, resources, headers: h };
}

const noHeaders = new HeaderMap();
const response = (pairs: [string, string][]) => {
  const h = new HeaderMap();
  for (const [k, v] of pairs) h.add(k, v);
  return h;
};

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe('creating the state', () => {
  it('is absent without a retry_on in the policy or the request, and the retry headers never go upstream', () => {
    const { state, headers } = setup(undefined, [
      ['x-envoy-max-retries', '3'],
      ['x-envoy-retriable-status-codes', '418'],
      ['x-envoy-upstream-rq-per-try-timeout-ms', '100'],
      ['x-keep', 'yes'],
    ]);
    expect(state).toBeUndefined();
    expect(headers.entries()).toEqual([['x-keep', 'yes']]);
  });

  it('x-envoy-retry-on turns retries on for a route without a policy, with one retry by default', () => {
    const { state, stats } = setup(undefined, [['x-envoy-retry-on', '5xx']]);
    const retry = vi.fn();
    expect(state!.shouldRetryHeaders(503, noHeaders, retry)).toBe('yes');
    vi.runAllTimers();
    expect(retry).toHaveBeenCalledOnce();
    expect(state!.shouldRetryHeaders(503, noHeaders, retry)).toBe('no_retry_limit_exceeded');
    expect(stats.upstream_rq_retry.value).toBe(1);
    expect(stats.upstream_rq_retry_limit_exceeded.value).toBe(1);
  });

  it('merges x-envoy-retry-on into the policy and lets x-envoy-max-retries set the count', () => {
    const { state } = setup({ retry_on: 'connect-failure', num_retries: 1 }, [
      ['x-envoy-retry-on', 'retriable-4xx,bogus'],
      ['x-envoy-max-retries', '2'],
    ]);
    expect(state!.wouldRetryFromHeaders(409, noHeaders)).toBe(true);
    expect(state!.wouldRetryFromReset('remote_connection_failure', false)).toBe(true);
    expect(state!.wouldRetryFromHeaders(503, noHeaders)).toBe(false);
    expect(state!.shouldRetryHeaders(409, noHeaders, () => {})).toBe('yes');
    vi.runAllTimers();
    expect(state!.shouldRetryHeaders(409, noHeaders, () => {})).toBe('yes');
    vi.runAllTimers();
    expect(state!.shouldRetryHeaders(409, noHeaders, () => {})).toBe('no_retry_limit_exceeded');
  });

  it('retries only requests matching retriable_request_headers, when given', () => {
    const policy = { retry_on: '5xx', retriable_request_headers: [{ name: 'x-idempotent' }] };
    expect(setup(policy).state).toBeUndefined();
    expect(setup(policy, [['x-idempotent', '1']]).state).toBeDefined();
  });
});

describe('decisions', () => {
  it('5xx retries any 5xx and any reset but an overflow; gateway-error only 502-504', () => {
    const fiveXx = setup({ retry_on: '5xx' }).state!;
    expect([500, 503, 506, 404].map((c) => fiveXx.wouldRetryFromHeaders(c, noHeaders))).toEqual([
      true,
      true,
      true,
      false,
    ]);
    expect(fiveXx.wouldRetryFromReset('connection_termination', true)).toBe(true);
    expect(fiveXx.wouldRetryFromReset('overflow', false)).toBe(false);
    const gateway = setup({ retry_on: 'gateway-error' }).state!;
    expect([500, 502, 503, 504, 506].map((c) => gateway.wouldRetryFromHeaders(c, noHeaders))).toEqual([
      false,
      true,
      true,
      true,
      false,
    ]);
  });

  it('connect-failure retries connection failures and timeouts, not resets of a connected request', () => {
    const s = setup({ retry_on: 'connect-failure' }).state!;
    expect(s.wouldRetryFromReset('remote_connection_failure', false)).toBe(true);
    expect(s.wouldRetryFromReset('connection_timeout', false)).toBe(true);
    expect(s.wouldRetryFromReset('connection_termination', true)).toBe(false);
    expect(s.wouldRetryFromHeaders(503, noHeaders)).toBe(false);
  });

  it('reset-before-request only retries resets before anything was sent', () => {
    const s = setup({ retry_on: 'reset-before-request' }).state!;
    expect(s.wouldRetryFromReset('connection_termination', false)).toBe(true);
    expect(s.wouldRetryFromReset('connection_termination', true)).toBe(false);
  });

  it('retriable-status-codes from the policy and the request header; retriable-headers by name', () => {
    const s = setup({ retry_on: 'retriable-status-codes,retriable-headers', retriable_status_codes: [418] }, [
      ['x-envoy-retriable-status-codes', '429, 451'],
      ['x-envoy-retriable-header-names', 'x-upstream-pushback'],
    ]).state!;
    expect([418, 429, 451, 500].map((c) => s.wouldRetryFromHeaders(c, noHeaders))).toEqual([
      true,
      true,
      true,
      false,
    ]);
    expect(s.wouldRetryFromHeaders(200, response([['x-upstream-pushback', '1']]))).toBe(true);
  });

  it('does not retry an upstream Envoy rate limit unless envoy-ratelimited is asked for', () => {
    const limited = response([['x-envoy-ratelimited', 'true']]);
    expect(setup({ retry_on: '5xx' }).state!.wouldRetryFromHeaders(503, limited)).toBe(false);
    expect(setup({ retry_on: 'envoy-ratelimited' }).state!.wouldRetryFromHeaders(429, limited)).toBe(true);
  });

  it('gRPC conditions read grpc-status, and x-envoy-retry-grpc-on adds them', () => {
    const s = setup({ retry_on: 'unavailable' }, [['x-envoy-retry-grpc-on', 'cancelled']]).state!;
    expect(s.wouldRetryFromHeaders(200, response([['grpc-status', '14']]))).toBe(true);
    expect(s.wouldRetryFromHeaders(200, response([['grpc-status', '1']]))).toBe(true);
    expect(s.wouldRetryFromHeaders(200, response([['grpc-status', '13']]))).toBe(false);
  });
});

describe('the retry breaker and stats', () => {
  it('holds a retries unit from the decision until the retried attempt is judged, and counts a success then', () => {
    const { state, resources, stats } = setup({ retry_on: '5xx', num_retries: 3 });
    expect(state!.shouldRetryHeaders(503, noHeaders, () => {})).toBe('yes');
    expect(resources.retries.count).toBe(1);
    vi.runAllTimers();
    expect(resources.retries.count).toBe(1);
    expect(state!.shouldRetryHeaders(200, noHeaders, () => {})).toBe('no');
    expect(resources.retries.count).toBe(0);
    expect(stats.upstream_rq_retry_success.value).toBe(1);
  });

  it('refuses a retry past max_retries as an overflow', () => {
    const { state, resources, stats } = setup({ retry_on: '5xx', num_retries: 3 }, [], 1);
    resources.retries.inc(); // another request's retry
    expect(state!.shouldRetryHeaders(503, noHeaders, () => {})).toBe('no_overflow');
    expect(stats.upstream_rq_retry_overflow.value).toBe(1);
  });

  it('destroying the state cancels a scheduled retry and gives back its unit', () => {
    const { state, resources } = setup({ retry_on: '5xx' });
    const retry = vi.fn();
    state!.shouldRetryHeaders(503, noHeaders, retry);
    state!.destroy();
    vi.runAllTimers();
    expect(retry).not.toHaveBeenCalled();
    expect(resources.retries.count).toBe(0);
  });
});

describe('back-off', () => {
  it('waits a random time below base × 2^(n-1), capped at max (Envoy: default base 25 ms, max 10 × base)', () => {
    const random = seededRandom(5);
    const backOff = new JitteredExponentialBackOff(25, 250, random);
    const ceilings = [25, 50, 100, 200, 250, 250];
    for (const ceiling of ceilings) {
      const ms = backOff.nextBackOffMs();
      expect(ms).toBeGreaterThanOrEqual(0);
      expect(ms).toBeLessThan(ceiling);
    }
  });

  it('schedules the retry after the back-off', () => {
    const { state } = setup({
      retry_on: '5xx',
      retry_back_off: { base_interval: '0.1s', max_interval: '0.1s' },
    });
    const retry = vi.fn();
    state!.shouldRetryHeaders(503, noHeaders, retry);
    vi.advanceTimersByTime(100);
    expect(retry).toHaveBeenCalledOnce();
  });
});

describe('host predicates', () => {
  const host = (address: string, canary = false) =>
    new Host({
      address,
      port: 80,
      metadata: canary ? { filter_metadata: { 'envoy.lb': { canary: true } } } : undefined,
    });

  it('previous_hosts rejects the hosts already attempted; omit_canary_hosts rejects canaries', () => {
    const s = setup({
      retry_on: '5xx',
      retry_host_predicate: [
        { name: 'envoy.retry_host_predicates.previous_hosts' },
        { name: 'envoy.retry_host_predicates.omit_canary_hosts' },
      ],
      host_selection_retry_max_attempts: 3,
    }).state!;
    const [a, b, canary] = [host('10.0.0.1'), host('10.0.0.2'), host('10.0.0.3', true)];
    s.onHostAttempted(a);
    expect([a, b, canary].map((h) => s.shouldSelectAnotherHost(h))).toEqual([true, false, true]);
    expect(s.hostSelectionMaxAttempts).toBe(3);
  });
});
