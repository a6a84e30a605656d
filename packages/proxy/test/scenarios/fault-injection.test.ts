/**
 * Fault injection (issue 3; the course describes it for Envoy and Istio without a config): a front
 * proxy with `envoy.filters.http.fault` before the router and a demoapp behind it. The filter's own
 * config aborts 30 % of requests with 503; routes replace it through typed_per_filter_config with a
 * fixed delay (capped by max_active_faults) and with header-controlled faults.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { AddressMap, binomialTolerance, Lab, type ProxyHandle, request, until } from './harness.js';

const FAULT = 'type.googleapis.com/envoy.extensions.filters.http.fault.v3.HTTPFault';

const config = `
admin:
  address: { socket_address: { address: 0.0.0.0, port_value: 9901 } }
layered_runtime:
  layers:
  - name: admin
    admin_layer: {}
static_resources:
  listeners:
  - name: listener_0
    address: { socket_address: { address: 0.0.0.0, port_value: 80 } }
    filter_chains:
    - filters:
      - name: envoy.filters.network.http_connection_manager
        typed_config:
          "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
          stat_prefix: ingress_http
          access_log:
          - name: envoy.access_loggers.stdout
            typed_config:
              "@type": type.googleapis.com/envoy.extensions.access_loggers.stream.v3.StdoutAccessLog
              log_format:
                text_format_source: { inline_string: "ACCESS %REQ(:PATH)% %RESPONSE_CODE% %RESPONSE_FLAGS%\\n" }
          route_config:
            name: local_route
            virtual_hosts:
            - name: web
              domains: ["*"]
              routes:
              - match: { prefix: /delay }
                route: { cluster: web, prefix_rewrite: / }
                typed_per_filter_config:
                  envoy.filters.http.fault:
                    "@type": ${FAULT}
                    max_active_faults: 1
                    delay: { fixed_delay: 0.5s, percentage: { numerator: 100, denominator: HUNDRED } }
              - match: { prefix: /header }
                route: { cluster: web, prefix_rewrite: / }
                typed_per_filter_config:
                  envoy.filters.http.fault:
                    "@type": ${FAULT}
                    delay: { header_delay: {}, percentage: { numerator: 100 } }
                    abort: { header_abort: {}, percentage: { numerator: 100 } }
              - match: { prefix: / }
                route: { cluster: web }
          http_filters:
          - name: envoy.filters.http.fault
            typed_config:
              "@type": ${FAULT}
              abort: { http_status: 503, percentage: { numerator: 30, denominator: HUNDRED } }
          - name: envoy.filters.http.router
  clusters:
  - name: web
    connect_timeout: 0.25s
    type: STATIC
    load_assignment:
      cluster_name: web
      endpoints:
      - lb_endpoints:
        - endpoint: { address: { socket_address: { address: 172.31.93.11, port_value: 8080 } } }
`;

let lab: Lab | undefined;
afterEach(async () => {
  await lab?.close();
  lab = undefined;
});

async function start(): Promise<{ front: ProxyHandle; url: string }> {
  const map = new AddressMap('172.31.93.', '127.71.1.');
  await map.allocate(80, 8080, 9901);
  lab = new Lab(map);
  await lab.demoapp({ ip: '172.31.93.11', port: 8080, serverName: 'web' });
  const front = await lab.proxy(config, { self: '172.31.93.2', name: 'front-envoy' });
  return { front, url: `http://${map.ip('172.31.93.2')}:${map.port(80)}` };
}

async function stat(admin: string, name: string): Promise<number> {
  const body = (await request(`${admin}/stats?filter=${encodeURIComponent(name)}`)).body;
  return Number(new RegExp(`^${name.replace(/\./g, '\\.')}: (\\d+)$`, 'm').exec(body)?.[1] ?? Number.NaN);
}

async function timed(url: string, headers: Record<string, string> = {}) {
  const started = performance.now();
  const r = await request(url, { headers });
  return { ...r, ms: performance.now() - started };
}

describe('fault injection', () => {
  it('aborts the configured percentage of requests with 503 (FI, aborts_injected)', async () => {
    const { front, url } = await start();
    const n = 300;
    let aborted = 0;
    for (let i = 0; i < n; i++) {
      const r = await request(`${url}/`);
      if (r.status === 503) {
        expect(r.body).toBe('fault filter abort');
        aborted++;
      } else {
        expect(r.status).toBe(200);
        expect(r.body).toContain('ServerName: web');
      }
    }
    expect(Math.abs(aborted - n * 0.3)).toBeLessThanOrEqual(binomialTolerance(n, 0.3));
    expect(await stat(front.admin, 'http.ingress_http.fault.aborts_injected')).toBe(aborted);
    expect(await stat(front.admin, 'http.ingress_http.fault.active_faults')).toBe(0);
    await until('the access log', async () => front.logs().includes('ACCESS / 503 FI'));
    expect(front.logs()).toContain('ACCESS / 200 -');
  });

  it('delays requests by fixed_delay, at most max_active_faults at a time (DI, delays_injected, faults_overflow)', async () => {
    const { front, url } = await start();
    const fast = await timed(`${url}/header`);
    expect(fast.status).toBe(200);
    for (let i = 0; i < 3; i++) {
      const r = await timed(`${url}/delay`);
      expect(r.status).toBe(200);
      expect(r.ms).toBeGreaterThanOrEqual(500);
      expect(r.ms).toBeLessThan(5000);
    }
    expect(await stat(front.admin, 'http.ingress_http.fault.delays_injected')).toBe(3);
    await until('the access log', async () => front.logs().includes('ACCESS /delay 200 DI'));

    // Three at once: the first is delayed, the other two find max_active_faults (1) taken.
    const concurrent = await Promise.all([0, 1, 2].map(() => timed(`${url}/delay`)));
    const delayed = concurrent.filter((r) => r.ms >= 500);
    expect(delayed).toHaveLength(1);
    expect(concurrent.every((r) => r.status === 200)).toBe(true);
    expect(await stat(front.admin, 'http.ingress_http.fault.faults_overflow')).toBe(2);
    expect(await stat(front.admin, 'http.ingress_http.fault.delays_injected')).toBe(4);
  });

  it('takes the delay and the abort status from the request headers when header_delay / header_abort are set', async () => {
    const { url } = await start();
    const delayed = await timed(`${url}/header`, { 'x-envoy-fault-delay-request': '300' });
    expect(delayed.status).toBe(200);
    expect(delayed.ms).toBeGreaterThanOrEqual(300);
    const aborted = await request(`${url}/header`, { headers: { 'x-envoy-fault-abort-request': '418' } });
    expect(aborted.status).toBe(418);
    expect(aborted.body).toBe('fault filter abort');
    // `-percentage` headers can only lower the configured 100 %.
    const skipped = await request(`${url}/header`, {
      headers: { 'x-envoy-fault-abort-request': '418', 'x-envoy-fault-abort-request-percentage': '0' },
    });
    expect(skipped.status).toBe(200);
  });

  it('follows the runtime keys fault.http.abort.abort_percent and fault.http.abort.http_status', async () => {
    const { front, url } = await start();
    const modify = (q: string) => request(`${front.admin}/runtime_modify?${q}`, { method: 'POST' });
    expect((await modify('fault.http.abort.abort_percent=100')).status).toBe(200);
    for (let i = 0; i < 10; i++) expect((await request(`${url}/`)).status).toBe(503);
    await modify('fault.http.abort.http_status=429');
    expect((await request(`${url}/`)).status).toBe(429);
    await modify('fault.http.abort.abort_percent=0');
    for (let i = 0; i < 10; i++) expect((await request(`${url}/`)).status).toBe(200);
  });
});
