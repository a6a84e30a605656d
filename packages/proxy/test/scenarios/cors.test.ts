/**
 * CORS (issue 3; the course lists `cors` among route options): a front proxy with
 * `envoy.filters.http.cors` and two virtual hosts — one with its policy in typed_per_filter_config
 * (Envoy ≥ 1.25), one with the older `cors` field of the virtual host — in front of a demoapp.
 * Preflights are answered by the proxy; actual requests from an allowed origin get the
 * `access-control-*` headers on the demoapp's response.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { AddressMap, Lab, request } from './harness.js';

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
            - name: api
              domains: ["api.ik8s.io"]
              typed_per_filter_config:
                envoy.filters.http.cors:
                  "@type": type.googleapis.com/envoy.extensions.filters.http.cors.v3.CorsPolicy
                  allow_origin_string_match:
                  - safe_regex: { regex: "https://[a-z]+\\\\.ik8s\\\\.io" }
                  allow_methods: "GET, POST, PUT"
                  allow_headers: "content-type, x-api-key"
                  expose_headers: "x-envoy-upstream-service-time"
                  max_age: "86400"
                  allow_credentials: true
              routes:
              - match: { prefix: / }
                route: { cluster: web }
            - name: www
              domains: ["*"]
              cors:
                allow_origin_string_match: [{ exact: "http://www.ik8s.io" }]
                allow_methods: "GET"
              routes:
              - match: { prefix: / }
                route: { cluster: web }
          http_filters:
          - name: envoy.filters.http.cors
            typed_config:
              "@type": type.googleapis.com/envoy.extensions.filters.http.cors.v3.Cors
          - name: envoy.filters.http.router
  clusters:
  - name: web
    connect_timeout: 0.25s
    type: STATIC
    load_assignment:
      cluster_name: web
      endpoints:
      - lb_endpoints:
        - endpoint: { address: { socket_address: { address: 172.31.94.11, port_value: 8080 } } }
`;

let lab: Lab | undefined;
afterEach(async () => {
  await lab?.close();
  lab = undefined;
});

describe('CORS', () => {
  it('answers preflights itself and adds the CORS headers to allowed actual requests', async () => {
    const map = new AddressMap('172.31.94.', '127.71.2.');
    await map.allocate(80, 8080, 9901);
    lab = new Lab(map);
    await lab.demoapp({ ip: '172.31.94.11', port: 8080, serverName: 'web' });
    const front = await lab.proxy(config, { self: '172.31.94.2', name: 'front-envoy' });
    const url = `http://${map.ip('172.31.94.2')}:${map.port(80)}/`;
    const stats = async () => {
      const body = (await request(`${front.admin}/stats`)).body;
      const value = (name: string) => Number(new RegExp(`^${name}: (\\d+)$`, 'm').exec(body)?.[1]);
      return {
        valid: value('http\\.ingress_http\\.cors\\.origin_valid'),
        invalid: value('http\\.ingress_http\\.cors\\.origin_invalid'),
        upstream: value('cluster\\.web\\.upstream_rq_total'),
      };
    };
    const api = { Host: 'api.ik8s.io' };

    // A preflight from an allowed origin: answered by the proxy, never forwarded.
    const preflight = await request(url, {
      method: 'OPTIONS',
      headers: {
        ...api,
        Origin: 'https://console.ik8s.io',
        'Access-Control-Request-Method': 'PUT',
        'Access-Control-Request-Headers': 'x-api-key',
      },
    });
    expect(preflight.status).toBe(200);
    expect(preflight.body).toBe('');
    expect(preflight.headers).toMatchObject({
      'access-control-allow-origin': 'https://console.ik8s.io',
      'access-control-allow-credentials': 'true',
      'access-control-allow-methods': 'GET, POST, PUT',
      'access-control-allow-headers': 'content-type, x-api-key',
      'access-control-max-age': '86400',
      server: 'envoy',
    });
    expect(await stats()).toEqual({ valid: 1, invalid: 0, upstream: 0 });

    // The actual request: the demoapp answers, the proxy adds the CORS response headers.
    const actual = await request(url, { headers: { ...api, Origin: 'https://console.ik8s.io' } });
    expect(actual.status).toBe(200);
    expect(actual.body).toContain('ServerName: web');
    expect(actual.headers).toMatchObject({
      'access-control-allow-origin': 'https://console.ik8s.io',
      'access-control-allow-credentials': 'true',
      'access-control-expose-headers': 'x-envoy-upstream-service-time',
    });
    expect(await stats()).toEqual({ valid: 2, invalid: 0, upstream: 1 });

    // A disallowed origin: no CORS headers; its preflight goes on to the service (Envoy's
    // forward_not_matching_preflights default), which the demoapp answers.
    const denied = await request(url, { headers: { ...api, Origin: 'https://evil.example' } });
    expect(denied.status).toBe(200);
    expect(denied.headers['access-control-allow-origin']).toBeUndefined();
    const deniedPreflight = await request(url, {
      method: 'OPTIONS',
      headers: { ...api, Origin: 'https://evil.example', 'Access-Control-Request-Method': 'PUT' },
    });
    expect(deniedPreflight.headers['access-control-allow-origin']).toBeUndefined();
    expect(await stats()).toEqual({ valid: 2, invalid: 2, upstream: 3 });

    // Requests without an Origin are not CORS requests and are not counted.
    expect((await request(url, { headers: api })).headers['access-control-allow-origin']).toBeUndefined();
    expect(await stats()).toEqual({ valid: 2, invalid: 2, upstream: 4 });

    // The other virtual host's policy is in the older `cors` field.
    const legacy = await request(url, {
      method: 'OPTIONS',
      headers: { Host: 'www.ik8s.io', Origin: 'http://www.ik8s.io', 'Access-Control-Request-Method': 'GET' },
    });
    expect(legacy.status).toBe(200);
    expect(legacy.headers['access-control-allow-origin']).toBe('http://www.ik8s.io');
    expect(legacy.headers['access-control-allow-methods']).toBe('GET');
    expect(legacy.headers['access-control-allow-credentials']).toBeUndefined();
  });
});
