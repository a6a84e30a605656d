import { afterEach, describe, expect, it } from 'vitest';
import type { CheckerFixture } from './test-support.js';
import { closedPort, makeChecker, sleep, TestHttpServer, waitFor } from './test-support.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function server(): Promise<TestHttpServer> {
  const s = await new TestHttpServer().listen();
  cleanups.push(() => s.close());
  return s;
}

function checker(...args: Parameters<typeof makeChecker>): CheckerFixture {
  const f = makeChecker(...args);
  cleanups.push(() => f.checker.stop());
  return f;
}

const livez = (extra: Record<string, unknown> = {}) => ({ http_health_check: { path: '/livez', ...extra } });
const gauge = (f: CheckerFixture, name: string) =>
  f.store.gauge(`cluster.web_cluster_01.health_check.${name}`).value;

describe('HTTP health checking', () => {
  it('makes hosts healthy at their first successful check, ignoring healthy_threshold', async () => {
    const [a, b] = [await server(), await server()];
    const f = checker({ ...livez(), healthy_threshold: 3, unhealthy_threshold: 3 }, [a.port, b.port]);
    expect(f.ps.hostSetsPerPriority[0]!.healthyHosts).toEqual([]);
    f.checker.start();
    await f.checker.initialized();
    // The first success counts, although healthy_threshold is 3.
    expect(f.hosts.map((h) => h.healthFlagsString())).toEqual(['healthy', 'healthy']);
    expect(f.ps.hostSetsPerPriority[0]!.healthyHosts).toHaveLength(2);
    expect(gauge(f, 'healthy')).toBe(2);
    expect(f.stat('attempt')).toBeGreaterThanOrEqual(2);
    expect(f.stat('success')).toBeGreaterThanOrEqual(2);
    expect(f.stat('failure')).toBe(0);
  });

  it('sends GET <path> with host = cluster name and user-agent Envoy/HC', async () => {
    const s = await server();
    const f = checker(livez(), [s.port]);
    f.checker.start();
    await f.checker.initialized();
    const r = s.requests[0]!;
    expect([r.method, r.url]).toEqual(['GET', '/livez']);
    expect(r.rawHeaders.slice(0, 4)).toEqual(['host', 'web_cluster_01', 'user-agent', 'Envoy/HC']);
  });

  it('applies host, method, request_headers_to_add and _to_remove', async () => {
    const s = await server();
    const f = checker(
      livez({
        host: 'myservice.local',
        method: 'POST',
        send: { text: '7b7d' },
        request_headers_to_add: [
          { header: { key: 'x-probe', value: 'meshcraft' } },
          { header: { key: 'User-Agent', value: 'probe/1' }, append_action: 'OVERWRITE_IF_EXISTS_OR_ADD' },
        ],
        request_headers_to_remove: ['x-nothing'],
      }),
      [s.port],
    );
    f.checker.start();
    await f.checker.initialized();
    const r = s.requests[0]!;
    expect(r.method).toBe('POST');
    expect(r.body).toBe('{}');
    expect(r.rawHeaders).toEqual([
      'host',
      'myservice.local',
      'x-probe',
      'meshcraft',
      'user-agent',
      'probe/1',
      'content-length',
      '2',
    ]);
  });

  it('fails a host immediately on 506, ignoring unhealthy_threshold', async () => {
    const s = await server();
    const f = checker({ ...livez(), unhealthy_threshold: 3 }, [s.port]);
    f.checker.start();
    await f.checker.initialized();
    s.status = 506;
    await waitFor(() => f.hosts[0]!.hasFlag('failed_active_hc'), 'host to fail');
    const t = f.transitions.at(-1)!;
    expect(t.flags).toBe('/failed_active_hc');
    expect(t.failures).toBe(1);
    expect(f.stat('network_failure')).toBe(0);
    expect(gauge(f, 'healthy')).toBe(0);
    expect(
      f.logs.some((l) =>
        /\[debug\]\[hc\].*health check failed for host 127\.0\.0\.1:\d+ .*status 506/.test(l),
      ),
    ).toBe(true);
    expect(
      f.logs.some((l) =>
        /\[info\]\[hc\].*host 127\.0\.0\.1:\d+ in cluster web_cluster_01 is now unhealthy/.test(l),
      ),
    ).toBe(true);
  });

  it('counts retriable statuses toward unhealthy_threshold', async () => {
    const s = await server();
    const f = checker(
      { ...livez({ retriable_statuses: [{ start: 503, end: 504 }] }), unhealthy_threshold: 3 },
      [s.port],
    );
    f.checker.start();
    await f.checker.initialized();
    s.status = 503;
    await waitFor(() => f.hosts[0]!.hasFlag('failed_active_hc'), 'host to fail');
    expect(f.transitions.at(-1)!.failures).toBe(3);
  });

  it('needs healthy_threshold successes to recover, and logs it', async () => {
    const s = await server();
    const f = checker({ ...livez(), healthy_threshold: 2 }, [s.port]);
    f.checker.start();
    await f.checker.initialized();
    s.status = 506;
    await waitFor(() => f.hosts[0]!.hasFlag('failed_active_hc'), 'host to fail');
    const before = f.stat('success');
    s.status = 200;
    await waitFor(() => !f.hosts[0]!.hasFlag('failed_active_hc'), 'host to recover');
    expect(f.transitions.at(-1)!.successes - before).toBe(2);
    expect(f.logs.some((l) => /\[info\]\[hc\].*is now healthy/.test(l))).toBe(true);
  });

  it('counts network failures toward unhealthy_threshold', async () => {
    const s = await server();
    const f = checker({ ...livez(), unhealthy_threshold: 2 }, [s.port]);
    f.checker.start();
    await f.checker.initialized();
    await s.close();
    await waitFor(() => f.hosts[0]!.hasFlag('failed_active_hc'), 'host to fail');
    expect(f.transitions.at(-1)!.failures).toBe(2);
    expect(f.stat('network_failure')).toBe(f.stat('failure'));
  });

  it('treats a timeout as a network failure and flags active_hc_timeout', async () => {
    const s = await server();
    const f = checker({ ...livez(), timeout: '0.100s', unhealthy_threshold: 2 }, [s.port]);
    f.checker.start();
    await f.checker.initialized();
    s.respond = false;
    await waitFor(() => f.hosts[0]!.hasFlag('failed_active_hc'), 'host to fail', 5000);
    expect(f.hosts[0]!.healthFlagsString()).toBe('/failed_active_hc/active_hc_timeout');
    expect(f.transitions.at(-1)!.failures).toBe(2);
    expect(f.stat('network_failure')).toBeGreaterThanOrEqual(2);
    s.respond = true;
    await waitFor(() => f.hosts[0]!.healthFlagsString() === 'healthy', 'host to recover', 5000);
  });

  it('accepts statuses in expected_statuses ranges [start, end)', async () => {
    const s = await server();
    const f = checker(livez({ expected_statuses: [{ start: 200, end: 399 }] }), [s.port]);
    s.status = 302;
    f.checker.start();
    await f.checker.initialized();
    expect(f.hosts[0]!.healthFlagsString()).toBe('healthy');
    s.status = 399;
    await waitFor(() => f.hosts[0]!.hasFlag('failed_active_hc'), 'host to fail on 399');
  });

  it('marks a host degraded on x-envoy-degraded', async () => {
    const s = await server();
    s.headers = { 'x-envoy-degraded': '' };
    const f = checker(livez(), [s.port]);
    f.checker.start();
    await f.checker.initialized();
    expect(f.hosts[0]!.healthFlagsString()).toBe('/degraded_active_hc');
    expect(f.ps.hostSetsPerPriority[0]!.degradedHosts).toEqual(f.hosts);
    expect(gauge(f, 'degraded')).toBe(1);
    s.headers = {};
    await waitFor(() => f.hosts[0]!.healthFlagsString() === 'healthy', 'degraded to clear');
    expect(gauge(f, 'degraded')).toBe(0);
  });

  it('excludes a host that fails with x-envoy-immediate-health-check-fail', async () => {
    const s = await server();
    const f = checker(livez(), [s.port]);
    f.checker.start();
    await f.checker.initialized();
    s.status = 503;
    s.headers = { 'x-envoy-immediate-health-check-fail': 'true' };
    await waitFor(() => f.hosts[0]!.hasFlag('failed_active_hc'), 'host to fail');
    expect(f.hosts[0]!.healthFlagsString()).toBe('/failed_active_hc/excluded_via_immediate_hc_fail');
    expect(f.ps.hostSetsPerPriority[0]!.excludedHosts).toEqual(f.hosts);
    s.status = 200;
    s.headers = {};
    await waitFor(() => f.hosts[0]!.healthFlagsString() === 'healthy', 'host to recover');
  });

  it('fails a host on a passive immediate failure from the data path', async () => {
    const s = await server();
    const f = checker({ ...livez(), interval: '10s' }, [s.port]);
    f.checker.start();
    await f.checker.initialized();
    f.checker.immediateHealthCheckFail(f.hosts[0]!);
    expect(f.hosts[0]!.healthFlagsString()).toBe('/failed_active_hc/excluded_via_immediate_hc_fail');
    expect(f.stat('passive_failure')).toBe(1);
    expect(f.ps.hostSetsPerPriority[0]!.healthyHosts).toEqual([]);
  });

  it('matches receive payloads in the response body', async () => {
    const s = await server();
    s.body = 'status: OK, version: v1.1';
    const f = checker(
      livez({
        receive: [{ text: Buffer.from('OK').toString('hex') }, { text: Buffer.from('v1.1').toString('hex') }],
      }),
      [s.port],
    );
    f.checker.start();
    await f.checker.initialized();
    expect(f.hosts[0]!.healthFlagsString()).toBe('healthy');
    s.body = 'status: OK, version: v1.0';
    await waitFor(() => f.hosts[0]!.hasFlag('failed_active_hc'), 'payload mismatch to fail the host');
  });

  it('reuses one connection per host by default', async () => {
    const s = await server();
    const f = checker(livez(), [s.port]);
    f.checker.start();
    await waitFor(() => s.requests.length >= 4, '4 checks');
    expect(s.connections).toBe(1);
  });

  it('opens a connection per check with reuse_connection: false', async () => {
    const s = await server();
    const f = checker({ ...livez(), reuse_connection: false }, [s.port]);
    f.checker.start();
    await waitFor(() => s.requests.length >= 4, '4 checks');
    expect(s.connections).toBeGreaterThanOrEqual(4);
  });

  it('checks the endpoint health_check_config port instead of the traffic port', async () => {
    const s = await server();
    const f = checker(livez(), [{ port: await closedPort(), healthCheckPort: s.port }]);
    f.checker.start();
    await f.checker.initialized();
    expect(f.hosts[0]!.healthFlagsString()).toBe('healthy');
  });

  it('checks every no_traffic_interval until the cluster has traffic, then every interval', async () => {
    const s = await server();
    const f = checker({ ...livez(), interval: '0.020s', no_traffic_interval: '0.400s' }, [s.port], false);
    f.checker.start();
    await f.checker.initialized();
    await sleep(250);
    // Only the initial check: the next one is 400 ms away.
    expect(s.requests.length).toBe(1);
    f.traffic.value = true;
    // The check at 400 ms schedules the next one 20 ms later, and so on.
    await waitFor(() => s.requests.length >= 6, 'fast checks once traffic flows', 2000);
  });

  it('uses unhealthy_interval for a failed host', async () => {
    const s = await server();
    const f = checker({ ...livez(), interval: '0.020s', unhealthy_interval: '0.500s' }, [s.port]);
    s.status = 506;
    f.checker.start();
    await f.checker.initialized();
    const n = s.requests.length;
    await sleep(250);
    expect(s.requests.length).toBe(n);
  });

  it('clears pending_active_hc (ignore_new_hosts_until_first_hc) with the first result', async () => {
    const s = await server();
    s.status = 506;
    const f = checker(livez(), [s.port], true, true);
    expect(f.hosts[0]!.healthFlagsString()).toBe('/failed_active_hc/pending_active_hc');
    f.checker.start();
    await f.checker.initialized();
    // Still failed, but checked: the cluster is told so that it can stop excluding the host.
    expect(f.hosts[0]!.healthFlagsString()).toBe('/failed_active_hc');
    expect(f.transitions.map((t) => t.flags)).toEqual(['/failed_active_hc']);
  });

  it('checks hosts added later and forgets removed ones', async () => {
    const [a, b] = [await server(), await server()];
    const f = checker(livez(), [a.port]);
    f.checker.start();
    await f.checker.initialized();
    const [hostA] = f.hosts;
    const { Host } = await import('../host.js');
    const hostB = new Host({ address: '127.0.0.1', port: b.port });
    f.ps.updateHosts(0, [{ hosts: [hostA!, hostB], weight: 1 }], [hostB], []);
    // A host nobody flagged is flagged by the checker until its first check.
    expect(hostB.healthFlagsString()).toBe('/failed_active_hc');
    await waitFor(() => hostB.healthFlagsString() === 'healthy', 'added host to pass');
    expect(gauge(f, 'healthy')).toBe(2);
    f.ps.updateHosts(0, [{ hosts: [hostB], weight: 1 }], [], [hostA!]);
    expect(gauge(f, 'healthy')).toBe(1);
    await waitFor(() => a.openConnections === 0, 'removed host connection to close');
    const n = a.requests.length;
    await sleep(150);
    expect(a.requests.length).toBe(n);
  });

  it('stops every check and connection on stop()', async () => {
    const s = await server();
    const f = checker(livez(), [s.port]);
    f.checker.start();
    await waitFor(() => s.requests.length >= 2, 'checks');
    f.checker.stop();
    await waitFor(() => s.openConnections === 0, 'connections to close');
    const n = s.requests.length;
    await sleep(150);
    expect(s.requests.length).toBe(n);
  });

  it('resolves initialized() also when the first check fails', async () => {
    const f = checker(livez(), [await closedPort()]);
    f.checker.start();
    await f.checker.initialized();
    expect(f.hosts[0]!.healthFlagsString()).toBe('/failed_active_hc');
    expect(f.stat('network_failure')).toBe(1);
  });

  it.each([
    [livez({ send: { text: '00' } }), /cannot specify a request payload with method 'GET'/],
    [livez({ expected_statuses: [{ start: 300, end: 200 }] }), /expecting start < end/],
    [livez({ codec_client_type: 'HTTP2' }), /codec_client_type HTTP2 is not implemented/],
    [{ grpc_health_check: {} }, /grpc_health_check is not implemented/],
    [{ tcp_health_check: { send: { text: 'xyz' } } }, /not hex-encoded/],
  ])('rejects %j', (config, error) => {
    expect(() => makeChecker(config, [1])).toThrow(error);
  });
});
