/**
 * Local rate limiting (issue 3; the course names rate limiting among a proxy's jobs): Envoy's own
 * example configuration of `envoy.filters.http.local_ratelimit` — a bucket for the whole listener,
 * `filter_enabled` / `filter_enforced` at 100 %, `x-local-rate-limit: true` on 429s — plus a route
 * with its own bucket through typed_per_filter_config, in front of a demoapp.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { AddressMap, Lab, request } from './harness.js';

const LRL = 'type.googleapis.com/envoy.extensions.filters.http.local_ratelimit.v3.LocalRateLimit';

const config = `
admin:
  address: { socket_address: { address: 0.0.0.0, port_value: 9901 } }
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
          route_config:
            name: local_route
            virtual_hosts:
            - name: web
              domains: ["*"]
              routes:
              - match: { prefix: /fast }
                route: { cluster: web, prefix_rewrite: / }
                typed_per_filter_config:
                  envoy.filters.http.local_ratelimit:
                    "@type": ${LRL}
                    stat_prefix: fast_route
                    token_bucket: { max_tokens: 2, tokens_per_fill: 2, fill_interval: 1s }
                    filter_enabled: { runtime_key: fast_enabled, default_value: { numerator: 100 } }
                    filter_enforced: { runtime_key: fast_enforced, default_value: { numerator: 100 } }
              - match: { prefix: / }
                route: { cluster: web }
          http_filters:
          - name: envoy.filters.http.local_ratelimit
            typed_config:
              "@type": ${LRL}
              stat_prefix: http_local_rate_limiter
              token_bucket: { max_tokens: 5, tokens_per_fill: 1, fill_interval: 60s }
              filter_enabled:
                runtime_key: local_rate_limit_enabled
                default_value: { numerator: 100, denominator: HUNDRED }
              filter_enforced:
                runtime_key: local_rate_limit_enforced
                default_value: { numerator: 100, denominator: HUNDRED }
              response_headers_to_add:
              - append: false
                header: { key: x-local-rate-limit, value: 'true' }
              enable_x_ratelimit_headers: DRAFT_VERSION_03
          - name: envoy.filters.http.router
  clusters:
  - name: web
    connect_timeout: 0.25s
    type: STATIC
    load_assignment:
      cluster_name: web
      endpoints:
      - lb_endpoints:
        - endpoint: { address: { socket_address: { address: 172.31.95.11, port_value: 8080 } } }
`;

let lab: Lab | undefined;
afterEach(async () => {
  await lab?.close();
  lab = undefined;
});

describe('local rate limit', () => {
  it('answers 429 to a burst above the bucket, with x-ratelimit headers, and refills over time', async () => {
    const map = new AddressMap('172.31.95.', '127.71.3.');
    await map.allocate(80, 8080, 9901);
    lab = new Lab(map);
    await lab.demoapp({ ip: '172.31.95.11', port: 8080, serverName: 'web' });
    const front = await lab.proxy(config, { self: '172.31.95.2', name: 'front-envoy' });
    const url = `http://${map.ip('172.31.95.2')}:${map.port(80)}`;

    // The listener's bucket holds 5 tokens and gets its first one back a minute after start-up.
    const burst = [];
    for (let i = 0; i < 8; i++) burst.push(await request(`${url}/`));
    expect(burst.map((r) => r.status)).toEqual([200, 200, 200, 200, 200, 429, 429, 429]);
    expect(burst.map((r) => r.headers['x-ratelimit-remaining'])).toEqual([
      '4',
      '3',
      '2',
      '1',
      '0',
      '0',
      '0',
      '0',
    ]);
    for (const r of burst) {
      expect(r.headers['x-ratelimit-limit']).toBe('5');
      expect(Number(r.headers['x-ratelimit-reset'])).toBeGreaterThan(0);
      expect(Number(r.headers['x-ratelimit-reset'])).toBeLessThanOrEqual(60);
    }
    const limited = burst[7]!;
    expect(limited.body).toBe('local_rate_limited');
    expect(limited.headers['x-local-rate-limit']).toBe('true');
    expect(burst[0]!.headers['x-local-rate-limit']).toBeUndefined();
    const stats = (await request(`${front.admin}/stats?filter=http_local_rate_limit`)).body;
    expect(stats).toContain('http_local_rate_limiter.http_local_rate_limit.enabled: 8\n');
    expect(stats).toContain('http_local_rate_limiter.http_local_rate_limit.ok: 5\n');
    expect(stats).toContain('http_local_rate_limiter.http_local_rate_limit.rate_limited: 3\n');
    expect(stats).toContain('http_local_rate_limiter.http_local_rate_limit.enforced: 3\n');

    // The /fast route has its own bucket: 2 tokens, both back every second.
    let served = 0;
    while ((await request(`${url}/fast`)).status === 200) {
      served++;
      expect(served).toBeLessThanOrEqual(4);
    }
    await new Promise((r) => setTimeout(r, 1100));
    expect((await request(`${url}/fast`)).status).toBe(200);
    expect((await request(`${url}/fast`)).status).toBe(200);
    const routeStats = (await request(`${front.admin}/stats?filter=fast_route`)).body;
    expect(routeStats).toMatch(/fast_route\.http_local_rate_limit\.rate_limited: [1-9]/);
    // The listener's bucket is still empty: /fast did not take from it.
    expect((await request(`${url}/`)).status).toBe(429);
  });
});
