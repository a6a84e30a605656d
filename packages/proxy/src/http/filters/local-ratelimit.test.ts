import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Runtime } from '../../runtime/runtime.js';
import { Store } from '../../stats/store.js';
import { HeaderMap } from '../headers.js';
import { RouteTable } from '../route/route-table.js';
import {
  type LocalRateLimitConfig,
  LocalRateLimitFilter,
  LocalRateLimitFilterConfig,
  TokenBucket,
} from './local-ratelimit.js';
import { request, routes, TestStream } from './test-support.js';

const LRL = 'type.googleapis.com/envoy.extensions.filters.http.local_ratelimit.v3.LocalRateLimit';
const NAME = 'envoy.filters.http.local_ratelimit';
const always = (key: string) => ({ default_value: { numerator: 100 }, runtime_key: key });

describe('TokenBucket', () => {
  it('starts full, refills tokens_per_fill every fill_interval up to max_tokens', () => {
    let now = 0;
    const bucket = new TokenBucket(3, 2, 1000, () => now);
    expect([bucket.consume(), bucket.consume(), bucket.consume(), bucket.consume()]).toEqual([
      true,
      true,
      true,
      false,
    ]);
    now = 999;
    expect(bucket.consume()).toBe(false);
    now = 1000;
    expect(bucket.remaining()).toBe(2);
    now = 10_000;
    expect(bucket.remaining()).toBe(3);
  });

  it('counts x-ratelimit-reset in whole seconds to the next fill, as Envoy does', () => {
    let now = 0;
    const bucket = new TokenBucket(1, 1, 60_000, () => now);
    now = 10_500;
    expect(bucket.resetSeconds()).toBe(50);
    now = 60_000;
    expect(bucket.resetSeconds()).toBe(60);
  });

  it('never refills without a fill interval', () => {
    let now = 0;
    const bucket = new TokenBucket(1, 1, 0, () => now);
    bucket.consume();
    now = 1e9;
    expect(bucket.consume()).toBe(false);
  });
});

describe('local rate limit filter', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  function setup(config: LocalRateLimitConfig, routeConfig = routes()) {
    const store = new Store();
    const runtime = new Runtime(undefined);
    const c = new LocalRateLimitFilterConfig(config, store, runtime, () => 0, NAME);
    const table = new RouteTable(routeConfig, runtime);
    const stat = (name: string) => store.counters().find((x) => x.name === name)?.value;
    const run = (headers: Record<string, string> = {}) => {
      const s = new TestStream(request('GET', '/', headers), table, runtime);
      const filter = new LocalRateLimitFilter(s.callbacks, c);
      const status = filter.decodeHeaders(s.request);
      const response = { status: s.localReplies[0]?.status ?? 200, headers: new HeaderMap() };
      for (const [k, v] of s.localReplies[0]?.options.headers ?? []) response.headers.add(k, v);
      filter.encodeHeaders(response);
      return { s, status, response };
    };
    return { stat, run };
  }

  const bucket = { max_tokens: 2, tokens_per_fill: 1, fill_interval: '1s' };

  it('lets a burst up to max_tokens through, then answers 429 local_rate_limited (RL), and refills', () => {
    const { stat, run } = setup({
      stat_prefix: 'rl',
      token_bucket: bucket,
      filter_enabled: always('rl.enabled'),
      filter_enforced: always('rl.enforced'),
      response_headers_to_add: [{ header: { key: 'x-local-rate-limit', value: 'true' }, append: false }],
    });
    expect(run().status).toBe('Continue');
    expect(run().status).toBe('Continue');
    const limited = run();
    expect(limited.status).toBe('StopIteration');
    expect(limited.s.localReplies).toEqual([
      {
        status: 429,
        body: 'local_rate_limited',
        options: { details: 'local_rate_limited', headers: [['x-local-rate-limit', 'true']] },
      },
    ]);
    expect(limited.s.streamInfo.flagsString()).toBe('RL');
    expect([
      stat('rl.http_local_rate_limit.enabled'),
      stat('rl.http_local_rate_limit.ok'),
      stat('rl.http_local_rate_limit.rate_limited'),
      stat('rl.http_local_rate_limit.enforced'),
    ]).toEqual([3, 2, 1, 1]);
    vi.advanceTimersByTime(1000);
    expect(run().status).toBe('Continue');
    expect(run().status).toBe('StopIteration');
  });

  it('adds the x-ratelimit headers to every response the bucket was checked for', () => {
    const { run } = setup({
      stat_prefix: 'rl',
      token_bucket: bucket,
      filter_enabled: always('rl.enabled'),
      filter_enforced: always('rl.enforced'),
      enable_x_ratelimit_headers: 'DRAFT_VERSION_03',
    });
    expect(run().response.headers.entries()).toEqual([
      ['x-ratelimit-limit', '2'],
      ['x-ratelimit-remaining', '1'],
      ['x-ratelimit-reset', '1'],
    ]);
    run();
    const limited = run().response;
    expect(limited.status).toBe(429);
    expect(limited.headers.get('x-ratelimit-remaining')).toBe('0');
  });

  it('only counts, and marks the request, when not enforced', () => {
    const { stat, run } = setup({
      stat_prefix: 'rl',
      token_bucket: { ...bucket, max_tokens: 0 },
      filter_enabled: always('rl.enabled'),
      request_headers_to_add_when_not_enforced: [{ header: { key: 'x-rate-limited', value: 'true' } }],
    });
    const { status, s } = run();
    expect(status).toBe('Continue');
    expect(s.request.headers.get('x-rate-limited')).toBe('true');
    expect(stat('rl.http_local_rate_limit.rate_limited')).toBe(1);
    expect(stat('rl.http_local_rate_limit.enforced')).toBe(0);
  });

  it('does nothing without filter_enabled; answers with `status` when it is a 4xx or 5xx', () => {
    const disabled = setup({ stat_prefix: 'rl', token_bucket: { ...bucket, max_tokens: 0 } });
    expect(disabled.run().status).toBe('Continue');
    expect(disabled.stat('rl.http_local_rate_limit.enabled')).toBe(0);
    const custom = setup({
      stat_prefix: 'rl',
      status: { code: 'ServiceUnavailable' },
      token_bucket: { ...bucket, max_tokens: 0 },
      filter_enabled: always('rl.enabled'),
      filter_enforced: always('rl.enforced'),
    });
    expect(custom.run().s.localReplies[0]?.status).toBe(503);
  });

  it('gives a route with its own configuration its own bucket and stats', () => {
    const routeConfig = routes({
      routes: [
        {
          match: { prefix: '/' },
          route: { cluster: 'web' },
          typed_per_filter_config: {
            [NAME]: {
              '@type': LRL,
              stat_prefix: 'route_rl',
              token_bucket: { max_tokens: 1, fill_interval: '60s' },
              filter_enabled: always('route.enabled'),
              filter_enforced: always('route.enforced'),
            },
          },
        },
      ],
    });
    // The filter's own configuration is disabled: only routes opt in.
    const { stat, run } = setup({ stat_prefix: 'global' }, routeConfig);
    expect(run().status).toBe('Continue');
    expect(run().status).toBe('StopIteration');
    expect(stat('route_rl.http_local_rate_limit.enforced')).toBe(1);
    expect(stat('global.http_local_rate_limit.enabled')).toBe(0);
  });

  it('refuses a route configuration without a token bucket and fill intervals under 50 ms', () => {
    expect(
      () =>
        new TestStream(
          request('GET', '/'),
          routes({ typed_per_filter_config: { [NAME]: { '@type': LRL, stat_prefix: 'x' } } }),
        ),
    ).toThrow('local rate limit token bucket must be set for per filter configs');
    expect(() =>
      setup({ stat_prefix: 'x', token_bucket: { max_tokens: 1, fill_interval: '0.010s' } }),
    ).toThrow('local rate limit token bucket fill timer must be >= 50ms');
  });
});
