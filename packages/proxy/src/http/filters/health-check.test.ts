import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { ClusterManager } from '../../upstream/cluster-manager.js';
import { HeaderMap } from '../headers.js';
import { HealthCheckFilter, HealthCheckFilterConfig, type HealthCheckFilterProto } from './health-check.js';
import { request, routes, TestStream } from './test-support.js';

const healthz = [{ name: ':path', string_match: { exact: '/healthz' } }];

/** A cluster manager with clusters of the given membership (healthy, degraded, total). */
function clusters(members: Record<string, [number, number, number]>): ClusterManager {
  const gauge = (value: number) => ({ value });
  return {
    get: (name: string) => {
      const m = members[name];
      return m
        ? {
            stats: {
              membership_healthy: gauge(m[0]),
              membership_degraded: gauge(m[1]),
              membership_total: gauge(m[2]),
            },
          }
        : undefined;
    },
  } as unknown as ClusterManager;
}

function setup(proto: HealthCheckFilterProto, cm: ClusterManager = clusters({})) {
  let failed = false;
  const config = new HealthCheckFilterConfig(
    proto,
    { healthCheckFailed: () => failed, localClusterName: 'service_red' },
    cm,
  );
  const run = (path: string, upstreamStatus = 200) => {
    const s = new TestStream(request('GET', path), routes());
    const filter = new HealthCheckFilter(s.callbacks, config);
    const status = filter.decodeHeaders(s.request, true);
    const reply = s.localReplies[0];
    const response = { status: reply?.status ?? upstreamStatus, headers: new HeaderMap() };
    for (const [k, v] of reply?.options.headers ?? []) response.headers.add(k, v);
    filter.encodeHeaders(response);
    return { s, status, reply, response };
  };
  return {
    run,
    fail: (f: boolean) => {
      failed = f;
    },
  };
}

describe('health_check filter', () => {
  it('answers matching requests itself without pass_through_mode: 200, or 503 (LH) after /healthcheck/fail', () => {
    const { run, fail } = setup({ pass_through_mode: false, headers: healthz });
    const ok = run('/healthz');
    expect(ok.status).toBe('StopIteration');
    expect(ok.reply).toMatchObject({ status: 200, body: '', options: { details: 'health_check_ok' } });
    expect(ok.response.headers.get('x-envoy-upstream-healthchecked-cluster')).toBe('service_red');

    fail(true);
    const failed = run('/healthz');
    expect(failed.reply).toMatchObject({ status: 503, options: { details: 'health_check_failed' } });
    expect(failed.s.streamInfo.flagsString()).toBe('LH');
    // A health check's response never carries the immediate-fail header; other responses do.
    expect(failed.response.headers.has('x-envoy-immediate-health-check-fail')).toBe(false);
    const other = run('/');
    expect(other.status).toBe('Continue');
    expect(other.response.headers.get('x-envoy-immediate-health-check-fail')).toBe('true');

    fail(false);
    expect(run('/healthz').reply?.status).toBe(200);
    expect(run('/').response.headers.has('x-envoy-immediate-health-check-fail')).toBe(false);
  });

  it('forwards health checks in pass_through_mode unless failed', () => {
    const { run, fail } = setup({ pass_through_mode: true, headers: healthz });
    const forwarded = run('/healthz', 204);
    expect(forwarded.status).toBe('Continue');
    expect(forwarded.reply).toBeUndefined();
    expect(forwarded.response.headers.get('x-envoy-upstream-healthchecked-cluster')).toBe('service_red');
    fail(true);
    expect(run('/healthz').reply?.status).toBe(503);
    expect(run('/other').response.headers.get('x-envoy-immediate-health-check-fail')).toBe('true');
  });

  describe('cache_time', () => {
    beforeEach(() => vi.useFakeTimers());
    afterEach(() => vi.useRealTimers());

    it('answers with the cached response of the service until the cache window ends', () => {
      const { run } = setup({ pass_through_mode: true, headers: healthz, cache_time: '5s' });
      expect(run('/healthz', 500).status).toBe('Continue');
      const cached = run('/healthz');
      expect(cached.reply).toMatchObject({ status: 500, options: { details: 'health_check_cached' } });
      vi.advanceTimersByTime(5000);
      expect(run('/healthz', 200).status).toBe('Continue');
    });

    it('is refused without pass_through_mode', () => {
      expect(() => setup({ pass_through_mode: false, cache_time: '5s' })).toThrow(
        'cache_time_ms must not be set when path_through_mode is disabled',
      );
    });
  });

  it('fails when a cluster of cluster_min_healthy_percentages has too few healthy or degraded members', () => {
    const cm = clusters({ web: [1, 1, 4], empty: [0, 0, 0] });
    const check = (percentages: Record<string, number>) =>
      setup(
        {
          pass_through_mode: false,
          headers: healthz,
          cluster_min_healthy_percentages: Object.fromEntries(
            Object.entries(percentages).map(([k, v]) => [k, { value: v }]),
          ),
        },
        cm,
      ).run('/healthz').reply;
    expect(check({ web: 50 })).toMatchObject({
      status: 200,
      options: { details: 'health_check_ok_cluster_healthy' },
    });
    expect(check({ web: 50.9 })).toMatchObject({ status: 200 });
    expect(check({ web: 51 })).toMatchObject({
      status: 503,
      options: { details: 'health_check_failed_cluster_unhealthy' },
    });
    expect(check({ missing: 0 })).toMatchObject({
      status: 503,
      options: { details: 'health_check_failed_no_cluster_found' },
    });
    expect(check({ empty: 0 })).toMatchObject({ status: 200 });
    expect(check({ empty: 1 })).toMatchObject({
      status: 503,
      options: { details: 'health_check_failed_cluster_empty' },
    });
  });

  it('waits for the end of a health check request with a body before answering', () => {
    const s = new TestStream(request('POST', '/healthz'), routes());
    const filter = new HealthCheckFilter(
      s.callbacks,
      new HealthCheckFilterConfig(
        { pass_through_mode: false, headers: healthz },
        { healthCheckFailed: () => false, localClusterName: '' },
        clusters({}),
      ),
    );
    expect(filter.decodeHeaders(s.request, false)).toBe('StopIteration');
    expect(s.localReplies).toEqual([]);
    expect(filter.decodeData(Buffer.from('x'), true)).toBe('StopIterationNoBuffer');
    expect(s.localReplies.map((r) => r.status)).toEqual([200]);
  });
});
