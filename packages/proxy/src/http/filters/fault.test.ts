import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Struct } from '../../config/types.js';
import { Runtime } from '../../runtime/runtime.js';
import { Store } from '../../stats/store.js';
import { FaultFilter, FaultFilterConfig, type HttpFaultConfig } from './fault.js';
import { request, routes, TestStream } from './test-support.js';

const FAULT = 'type.googleapis.com/envoy.extensions.filters.http.fault.v3.HTTPFault';

/** A random source whose draws `Runtime.featureEnabled` sees as exactly these integers. */
const draws = (...values: number[]) => {
  let i = 0;
  return () => values[i++ % values.length]! / 0x1_0000_0000;
};

function setup(
  config: HttpFaultConfig,
  o: { random?: () => number; runtime?: Struct; routeConfig?: ReturnType<typeof routes> } = {},
) {
  const store = new Store();
  const runtime = new Runtime(
    o.runtime ? { layers: [{ name: 'static', static_layer: o.runtime }] } : undefined,
  );
  const faultConfig = new FaultFilterConfig(
    config,
    store.scope('http.ingress.'),
    runtime,
    o.random ?? draws(0),
    'envoy.filters.http.fault',
  );
  const stat = (name: string) =>
    store.counters().find((c) => c.name === name)?.value ??
    store.gauges().find((g) => g.name === name)?.value;
  const stream = (headers: Record<string, string> = {}, path = '/') => {
    const s = new TestStream(request('GET', path, headers), o.routeConfig ?? routes(), runtime);
    return { s, filter: new FaultFilter(s.callbacks, faultConfig) };
  };
  return { stat, stream };
}

const percent = (numerator: number) => ({ numerator, denominator: 'HUNDRED' as const });

describe('fault filter', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('delays a request by fixed_delay, then lets it continue (DI, delays_injected, active_faults)', () => {
    const { stat, stream } = setup({ delay: { fixed_delay: '0.250s', percentage: percent(100) } });
    const { s, filter } = stream();
    expect(filter.decodeHeaders(s.request)).toBe('StopIteration');
    expect(s.streamInfo.flagsString()).toBe('DI');
    expect(stat('http.ingress.fault.delays_injected')).toBe(1);
    expect(stat('http.ingress.fault.active_faults')).toBe(1);
    vi.advanceTimersByTime(249);
    expect(s.continued).toBe(0);
    vi.advanceTimersByTime(1);
    expect(s.continued).toBe(1);
    expect(stat('http.ingress.fault.active_faults')).toBe(0);
    filter.onDestroy();
    expect(stat('http.ingress.fault.active_faults')).toBe(0);
  });

  it('aborts with the configured HTTP status (FI, aborts_injected, fault_filter_abort)', () => {
    const { stat, stream } = setup({ abort: { http_status: 503, percentage: percent(100) } });
    const { s, filter } = stream();
    expect(filter.decodeHeaders(s.request)).toBe('StopIteration');
    expect(s.localReplies).toEqual([
      { status: 503, body: 'fault filter abort', options: { details: 'fault_filter_abort' } },
    ]);
    expect(s.streamInfo.flagsString()).toBe('FI');
    expect(stat('http.ingress.fault.aborts_injected')).toBe(1);
    expect(stat('http.ingress.fault.active_faults')).toBe(1);
    filter.onDestroy();
    expect(stat('http.ingress.fault.active_faults')).toBe(0);
  });

  it('injects a fault on the requests the percentage selects, each fault with its own draw', () => {
    // Draws 49 then 50: a 50 % delay is injected on the first, the abort not on the second.
    const { stream } = setup(
      {
        delay: { fixed_delay: '1s', percentage: percent(50) },
        abort: { http_status: 500, percentage: percent(50) },
      },
      { random: draws(49, 50) },
    );
    const { s, filter } = stream();
    expect(filter.decodeHeaders(s.request)).toBe('StopIteration');
    vi.advanceTimersByTime(1000);
    expect(s.continued).toBe(1);
    expect(s.localReplies).toEqual([]);
  });

  it('follows a delay with an abort when both are selected', () => {
    const { stream } = setup({
      delay: { fixed_delay: '0.1s', percentage: percent(100) },
      abort: { http_status: 502, percentage: percent(100) },
    });
    const { s, filter } = stream();
    filter.decodeHeaders(s.request);
    expect(s.localReplies).toEqual([]);
    vi.advanceTimersByTime(100);
    expect(s.localReplies.map((r) => r.status)).toEqual([502]);
    expect(s.continued).toBe(0);
    expect(s.streamInfo.flagsString()).toBe('DI,FI');
  });

  it('aborts gRPC requests with a trailers-only response carrying grpc_status', () => {
    const { stream } = setup({ abort: { grpc_status: 14, percentage: percent(100) } });
    const { s, filter } = stream({ 'content-type': 'application/grpc' });
    filter.decodeHeaders(s.request);
    expect(s.encoded).toHaveLength(1);
    expect(s.encoded[0]!.endStream).toBe(true);
    expect(s.encoded[0]!.response.status).toBe(200);
    expect(s.encoded[0]!.response.headers.entries()).toEqual([
      ['content-type', 'application/grpc'],
      ['grpc-status', '14'],
      ['grpc-message', 'fault filter abort'],
    ]);
    // A request that is not gRPC gets Envoy's plain local reply with status 200.
    const plain = stream();
    plain.filter.decodeHeaders(plain.s.request);
    expect(plain.s.localReplies.map((r) => r.status)).toEqual([200]);
  });

  it('takes delay and abort from the request headers with header_delay / header_abort', () => {
    const { stream } = setup({
      delay: { header_delay: {}, percentage: percent(100) },
      abort: { header_abort: {}, percentage: percent(100) },
    });
    const none = stream();
    expect(none.filter.decodeHeaders(none.s.request)).toBe('Continue');

    const delayed = stream({ 'x-envoy-fault-delay-request': '300' });
    expect(delayed.filter.decodeHeaders(delayed.s.request)).toBe('StopIteration');
    vi.advanceTimersByTime(299);
    expect(delayed.s.continued).toBe(0);
    vi.advanceTimersByTime(1);
    expect(delayed.s.continued).toBe(1);

    const aborted = stream({ 'x-envoy-fault-abort-request': '429' });
    aborted.filter.decodeHeaders(aborted.s.request);
    expect(aborted.s.localReplies.map((r) => r.status)).toEqual([429]);

    // Outside [200, 600) the header is ignored.
    const invalid = stream({ 'x-envoy-fault-abort-request': '700' });
    expect(invalid.filter.decodeHeaders(invalid.s.request)).toBe('Continue');
  });

  it('lets the -percentage headers lower, never raise, the configured percentage', () => {
    const config = { abort: { header_abort: {}, percentage: percent(50) } };
    // Draw 30: selected at 50 %, not at 20 %.
    const lowered = setup(config, { random: draws(30) }).stream({
      'x-envoy-fault-abort-request': '503',
      'x-envoy-fault-abort-request-percentage': '20',
    });
    expect(lowered.filter.decodeHeaders(lowered.s.request)).toBe('Continue');
    // Draw 70: not selected at 50 %, and a header asking for 100 % cannot raise it.
    const raised = setup(config, { random: draws(70) }).stream({
      'x-envoy-fault-abort-request': '503',
      'x-envoy-fault-abort-request-percentage': '100',
    });
    expect(raised.filter.decodeHeaders(raised.s.request)).toBe('Continue');
  });

  it('stops injecting past max_active_faults (faults_overflow)', () => {
    const { stat, stream } = setup({
      delay: { fixed_delay: '1s', percentage: percent(100) },
      max_active_faults: 1,
    });
    const first = stream();
    expect(first.filter.decodeHeaders(first.s.request)).toBe('StopIteration');
    const second = stream();
    expect(second.filter.decodeHeaders(second.s.request)).toBe('Continue');
    expect(stat('http.ingress.fault.faults_overflow')).toBe(1);
    expect(stat('http.ingress.fault.delays_injected')).toBe(1);
  });

  it('reads percentages, durations and statuses from runtime', () => {
    const { stream } = setup(
      {
        delay: { fixed_delay: '1s', percentage: percent(100) },
        abort: { http_status: 503, percentage: percent(0) },
      },
      {
        runtime: {
          'fault.http.delay.fixed_duration_ms': 50,
          'fault.http.abort.abort_percent': 100,
          'fault.http.abort.http_status': 418,
        },
      },
    );
    const { s, filter } = stream();
    filter.decodeHeaders(s.request);
    vi.advanceTimersByTime(50);
    expect(s.localReplies.map((r) => r.status)).toEqual([418]);
  });

  it('uses the downstream cluster runtime keys and counts per downstream cluster', () => {
    const { stat, stream } = setup(
      { abort: { http_status: 503, percentage: percent(0) } },
      { runtime: { 'fault.http.frontend.abort.abort_percent': 100 } },
    );
    const other = stream({ 'x-envoy-downstream-service-cluster': 'backend' });
    expect(other.filter.decodeHeaders(other.s.request)).toBe('Continue');
    const front = stream({ 'x-envoy-downstream-service-cluster': 'frontend' });
    expect(front.filter.decodeHeaders(front.s.request)).toBe('StopIteration');
    expect(stat('http.ingress.fault.frontend.aborts_injected')).toBe(1);
    expect(stat('http.ingress.fault.aborts_injected')).toBe(1);
  });

  it('applies only to requests matching headers, downstream_nodes and upstream_cluster', () => {
    const abort = { http_status: 503, percentage: percent(100) };
    const byHeader = setup({ abort, headers: [{ name: 'x-canary', exact_match: 'yes' }] });
    const miss = byHeader.stream();
    expect(miss.filter.decodeHeaders(miss.s.request)).toBe('Continue');
    const hit = byHeader.stream({ 'x-canary': 'yes' });
    expect(hit.filter.decodeHeaders(hit.s.request)).toBe('StopIteration');

    const byNode = setup({ abort, downstream_nodes: ['node-a'] });
    const wrongNode = byNode.stream({ 'x-envoy-downstream-service-node': 'node-b' });
    expect(wrongNode.filter.decodeHeaders(wrongNode.s.request)).toBe('Continue');
    const rightNode = byNode.stream({ 'x-envoy-downstream-service-node': 'node-a' });
    expect(rightNode.filter.decodeHeaders(rightNode.s.request)).toBe('StopIteration');

    const byCluster = setup({ abort, upstream_cluster: 'other' }).stream();
    expect(byCluster.filter.decodeHeaders(byCluster.s.request)).toBe('Continue');
    const rightCluster = setup({ abort, upstream_cluster: 'web' }).stream();
    expect(rightCluster.filter.decodeHeaders(rightCluster.s.request)).toBe('StopIteration');
  });

  it('matches headers on pseudo-headers such as :path', () => {
    const { stream } = setup({
      abort: { http_status: 503, percentage: percent(100) },
      headers: [{ name: ':path', prefix_match: '/api' }],
    });
    const other = stream({}, '/web');
    expect(other.filter.decodeHeaders(other.s.request)).toBe('Continue');
    const api = stream({}, '/api/x');
    expect(api.filter.decodeHeaders(api.s.request)).toBe('StopIteration');
  });

  it('lets a route or virtual host replace the fault configuration', () => {
    const perRoute = routes({
      typed_per_filter_config: {
        'envoy.filters.http.fault': { '@type': FAULT, abort: { http_status: 404, percentage: percent(100) } },
      },
    });
    const { s, filter } = setup(
      { abort: { http_status: 503, percentage: percent(100) } },
      { routeConfig: perRoute },
    ).stream();
    filter.decodeHeaders(s.request);
    expect(s.localReplies.map((r) => r.status)).toEqual([404]);
  });
});
