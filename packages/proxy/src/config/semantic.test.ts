import { describe, expect, it } from 'vitest';
import { ConfigError } from './errors.js';
import { loadBootstrap, normalizeResource } from './load.js';

function errorOf(run: () => unknown): ConfigError {
  try {
    run();
  } catch (e) {
    if (e instanceof ConfigError) return e;
    throw e;
  }
  throw new Error('expected a ConfigError');
}

/** `fieldPath: reason` of the error loading a bootstrap given as YAML. */
const refusal = (yaml: string) => {
  const e = errorOf(() => loadBootstrap({ yaml }));
  return `${e.fieldPath}: ${e.reason}`;
};
const accepts = (yaml: string) => expect(() => loadBootstrap({ yaml })).not.toThrow();

const cluster = (name: string, type = 'STATIC', address = '10.0.0.1', extra = '') => `
  - name: ${name}
    type: ${type}
    load_assignment:
      cluster_name: ${name}
      endpoints:
      - lb_endpoints:
        - endpoint: {address: {socket_address: {address: ${address}, port_value: 80}}}${extra}`;

const hcm = (routeConfig: string, httpFilters = '[{name: envoy.filters.http.router}]') => `
    filter_chains:
    - filters:
      - name: envoy.filters.network.http_connection_manager
        typed_config:
          "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
          stat_prefix: ingress_http
          http_filters: ${httpFilters}
          route_config:${routeConfig}`;

const listener = (
  name: string,
  body: string,
  address = '{socket_address: {address: 0.0.0.0, port_value: 80}}',
) => `
  - name: ${name}
    address: ${address}${body}`;

const bootstrap = (listeners: string[], clusters: string[], rest = '') =>
  `static_resources:\n  listeners:${listeners.join('') || ' []'}\n  clusters:${clusters.join('') || ' []'}\n${rest}`;

const routes = (...clusters: string[]) => `
            virtual_hosts:
            - name: vh
              domains: ["*"]
              routes:${clusters.map((c) => `\n              - {match: {prefix: "/"}, route: {cluster: ${c}}}`).join('')}`;

describe('names', () => {
  it('refuses duplicate cluster names', () => {
    expect(refusal(bootstrap([], [cluster('a'), cluster('a')]))).toBe(
      "static_resources.clusters[1].name: duplicate cluster name 'a' (static_resources.clusters[0] has it too); names must be unique",
    );
  });

  it('refuses duplicate listener names, but not several unnamed listeners', () => {
    const tcp = `
    filter_chains: [{filters: [{name: envoy.tcp_proxy, typed_config: {"@type": type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy, stat_prefix: t, cluster: a}}]}]`;
    expect(refusal(bootstrap([listener('l', tcp), listener('l', tcp)], [cluster('a')]))).toContain(
      "static_resources.listeners[1].name: duplicate listener name 'l'",
    );
    const unnamed = `
  - address: {socket_address: {address: 0.0.0.0, port_value: 80}}${tcp}`;
    accepts(bootstrap([unnamed, unnamed.replace('80', '81')], [cluster('a')]));
  });

  it('refuses duplicate secret names', () => {
    expect(
      refusal(
        'static_resources:\n  secrets:\n  - {name: s, tls_certificate: {}}\n  - {name: s, validation_context: {}}\n',
      ),
    ).toContain("static_resources.secrets[1].name: duplicate secret name 's'");
  });
});

describe('listeners', () => {
  it('need an address', () => {
    expect(refusal(bootstrap([listener('l', hcm(routes('a')), '')], [cluster('a')]))).toBe(
      'static_resources.listeners[0]: listener \'l\' has no address; give it address.socket_address {address, port_value} (Envoy: "address is necessary")',
    );
  });

  it('need a filter chain (unless they are UDP listeners)', () => {
    expect(refusal(bootstrap([listener('l', '')], []))).toBe(
      "static_resources.listeners[0]: error adding listener '0.0.0.0:80': no filter chains specified; add filter_chains with the filters to run",
    );
    const udp = `
  - name: udp
    address: {socket_address: {protocol: UDP, address: 0.0.0.0, port_value: 10000}}
    listener_filters:
    - name: envoy.filters.udp_listener.udp_proxy
      typed_config:
        '@type': type.googleapis.com/envoy.extensions.filters.udp.udp_proxy.v3.UdpProxyConfig
        stat_prefix: service
        matcher: {on_no_match: {action: {name: route, typed_config: {'@type': type.googleapis.com/envoy.extensions.filters.udp.udp_proxy.v3.Route, cluster: a}}}}`;
    accepts(bootstrap([udp], [cluster('a')]));
  });

  it('need distinct filter chain matches', () => {
    const chain = `
    - filters: [{name: envoy.tcp_proxy, typed_config: {"@type": type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy, stat_prefix: t, cluster: a}}]`;
    expect(
      refusal(
        bootstrap(
          [
            listener(
              'l',
              `
    filter_chains:${chain}${chain}`,
            ),
          ],
          [cluster('a')],
        ),
      ),
    ).toBe(
      "static_resources.listeners[0].filter_chains[1]: error adding listener '0.0.0.0:80': multiple filter chains with the same matching rules are defined (filter_chains[0] has the same filter_chain_match)",
    );
    const byPort = (port: number) => `${chain}
      filter_chain_match: {destination_port: ${port}}`;
    accepts(
      bootstrap(
        [
          listener(
            'l',
            `
    filter_chains:${byPort(80)}${byPort(8080)}`,
          ),
        ],
        [cluster('a')],
      ),
    );
  });

  it('need the router last in http_filters', () => {
    const filters = '[{name: envoy.filters.http.router}, {name: envoy.filters.http.cors}]';
    expect(refusal(bootstrap([listener('l', hcm(routes('a'), filters))], [cluster('a')]))).toBe(
      'static_resources.listeners[0].filter_chains[0].filters[0].typed_config.http_filters[0]: Error: terminal filter named envoy.filters.http.router of type envoy.extensions.filters.http.router.v3.Router must be the last filter in a http filter chain',
    );
  });

  it('refuse a non-terminal filter at the end of http_filters', () => {
    expect(
      refusal(
        bootstrap([listener('l', hcm(routes('a'), '[{name: envoy.filters.http.cors}]'))], [cluster('a')]),
      ),
    ).toContain(
      'Error: non-terminal filter named envoy.filters.http.cors of type envoy.extensions.filters.http.cors.v3.Cors is the last filter in a http filter chain; end http_filters with envoy.filters.http.router',
    );
  });

  it('refuse a network filter chain whose terminal filter is not last', () => {
    const chain = `
    filter_chains:
    - filters:
      - {name: envoy.tcp_proxy, typed_config: {"@type": type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy, stat_prefix: t, cluster: a}}
      - {name: envoy.filters.network.echo}`;
    expect(refusal(bootstrap([listener('l', chain)], [cluster('a')]))).toContain(
      'filter_chains[0].filters[0]: Error: terminal filter named envoy.tcp_proxy of type envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy must be the last filter in a network filter chain',
    );
  });
});

describe('routes', () => {
  it('must name static clusters (Envoy: route: unknown cluster)', () => {
    const e = errorOf(() =>
      loadBootstrap({ yaml: bootstrap([listener('l', hcm(routes('a', 'nope')))], [cluster('a')]) }),
    );
    expect(e.reason).toBe(
      "route: unknown cluster 'nope'; define it under static_resources.clusters, or set route_config.validate_clusters: false if it comes from CDS",
    );
    expect(e.fieldPath).toBe(
      'static_resources.listeners[0].filter_chains[0].filters[0].typed_config.route_config.virtual_hosts[0].routes[1].route.cluster',
    );
    expect(e.line).toBe(18);
  });

  it('may name other clusters with validate_clusters: false', () => {
    accepts(
      bootstrap([listener('l', hcm(`\n            validate_clusters: false${routes('from_cds')}`))], []),
    );
  });

  it('weighted clusters must exist and add up to total_weight', () => {
    const weighted = (total: string, w1: number, w2: number, second = 'b') => `
            virtual_hosts:
            - name: vh
              domains: ["*"]
              routes:
              - match: {prefix: "/"}
                route:
                  weighted_clusters:${total}
                    clusters: [{name: a, weight: ${w1}}, {name: ${second}, weight: ${w2}}]`;
    const clusters = [cluster('a'), cluster('b', 'STATIC', '10.0.0.2')];
    accepts(bootstrap([listener('l', hcm(weighted('', 90, 10)))], clusters));
    accepts(
      bootstrap([listener('l', hcm(weighted('\n                    total_weight: 10', 3, 7)))], clusters),
    );
    expect(
      refusal(
        bootstrap([listener('l', hcm(weighted('\n                    total_weight: 100', 3, 7)))], clusters),
      ),
    ).toContain(
      'route.weighted_clusters: Sum of weights in the weighted_cluster should add up to 100 (they add up to 10)',
    );
    expect(refusal(bootstrap([listener('l', hcm(weighted('', 0, 0)))], clusters))).toContain(
      'Sum of weights in the weighted_cluster must be greater than 0',
    );
    expect(refusal(bootstrap([listener('l', hcm(weighted('', 1, 1, 'c')))], clusters))).toContain(
      "weighted_clusters.clusters[1].name: route: unknown weighted cluster 'c'",
    );
  });

  it('refuses a domain in two virtual hosts of one route table', () => {
    const vhosts = `
            name: local_route
            virtual_hosts:
            - {name: one, domains: ["*.ik8s.io", "ik8s.io"], routes: [{match: {prefix: "/"}, route: {cluster: a}}]}
            - {name: two, domains: ["IK8S.io"], routes: [{match: {prefix: "/"}, route: {cluster: a}}]}`;
    expect(refusal(bootstrap([listener('l', hcm(vhosts))], [cluster('a')]))).toContain(
      'virtual_hosts[1].domains[0]: Only unique values for domains are permitted. Duplicate entry of domain IK8S.io in route local_route (virtual host one has it too)',
    );
  });
});

describe('clusters', () => {
  it('STATIC endpoints must be IP addresses', () => {
    expect(refusal(bootstrap([], [cluster('a', 'STATIC', 'myservice')]))).toBe(
      "static_resources.clusters[0].load_assignment.endpoints[0].lb_endpoints[0].endpoint.address.socket_address.address: malformed IP address: myservice. Consider setting resolver_name or setting cluster type to 'STRICT_DNS' or 'LOGICAL_DNS'",
    );
    accepts(bootstrap([], [cluster('a', 'STRICT_DNS', 'myservice'), cluster('b', 'STATIC', '::1')]));
  });

  it('LOGICAL_DNS takes exactly one endpoint', () => {
    const two = `\n        - endpoint: {address: {socket_address: {address: b.example, port_value: 80}}}`;
    expect(refusal(bootstrap([], [cluster('a', 'LOGICAL_DNS', 'a.example', two)]))).toBe(
      'static_resources.clusters[0].load_assignment: LOGICAL_DNS clusters must have a single locality_lb_endpoint and a single lb_endpoint (use STRICT_DNS for several endpoints)',
    );
    accepts(bootstrap([], [cluster('a', 'LOGICAL_DNS', 'httpbin.org')]));
  });

  it('EDS clusters need eds_cluster_config', () => {
    expect(refusal('static_resources:\n  clusters:\n  - {name: a, type: EDS}\n')).toBe(
      'static_resources.clusters[0]: cannot create an EDS cluster without an EDS config: add eds_cluster_config {eds_config: ...}',
    );
  });

  it('load_assignment needs its cluster_name', () => {
    expect(refusal('static_resources:\n  clusters:\n  - {name: a, load_assignment: {endpoints: []}}\n')).toBe(
      'static_resources.clusters[0].load_assignment.cluster_name: must not be empty',
    );
  });

  it('a ring cannot have a minimum above its maximum (defaults included)', () => {
    const ring = (config: string) =>
      `static_resources:\n  clusters:\n  - {name: a, lb_policy: RING_HASH, ring_hash_lb_config: ${config}}\n`;
    expect(refusal(ring('{minimum_ring_size: 2048, maximum_ring_size: 1024}'))).toBe(
      'static_resources.clusters[0].ring_hash_lb_config: ring hash: minimum_ring_size (2048) > maximum_ring_size (1024)',
    );
    expect(refusal(ring('{maximum_ring_size: 512}'))).toContain(
      'minimum_ring_size (1024) > maximum_ring_size (512)',
    );
    accepts(ring('{minimum_ring_size: 512, maximum_ring_size: 1048576}'));
  });

  it('health check status ranges are [start, end) within 100..600', () => {
    const hc = (range: string) => `static_resources:
  clusters:
  - name: a
    health_checks:
    - {timeout: 1s, interval: 1s, unhealthy_threshold: 1, healthy_threshold: 1, http_health_check: {path: /livez, expected_statuses: ${range}}}
`;
    accepts(hc('{start: 200, end: 399}'));
    expect(refusal(hc('{start: 399, end: 200}'))).toContain(
      'expected_statuses[0]: Invalid http expected status range: expecting start < end, but found start=399 and end=200',
    );
  });
});

describe('references to static resources', () => {
  const tlsCluster = (commonTlsContext: string) => `
  - name: up
    type: STRICT_DNS
    transport_socket:
      name: envoy.transport_sockets.tls
      typed_config:
        "@type": type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext
        common_tls_context: ${commonTlsContext}`;
  const secrets =
    '\n  secrets:\n  - {name: client_cert, tls_certificate: {certificate_chain: {filename: /c.crt}}}\n  - {name: ca, validation_context: {trusted_ca: {filename: /ca.crt}}}\n';

  it('SDS secret configs without an sds_config name a static secret of the right kind', () => {
    const ok =
      '{tls_certificate_sds_secret_configs: [{name: client_cert}], validation_context_sds_secret_config: {name: ca}}';
    accepts(bootstrap([], [tlsCluster(ok)]) + secrets);
    expect(
      refusal(
        bootstrap([], [tlsCluster('{tls_certificate_sds_secret_configs: [{name: server_cert}]}')]) + secrets,
      ),
    ).toBe(
      'static_resources.clusters[0].transport_socket.typed_config.common_tls_context.tls_certificate_sds_secret_configs[0].name: Unknown static secret: server_cert; define it under static_resources.secrets with a tls_certificate',
    );
    expect(
      refusal(
        bootstrap([], [tlsCluster('{validation_context_sds_secret_config: {name: client_cert}}')]) + secrets,
      ),
    ).toContain(
      'Unknown static certificate validation context: client_cert (static_resources.secrets[0] is not a validation_context secret)',
    );
  });

  it('secrets fetched over SDS need no static secret', () => {
    const sds =
      '{tls_certificate_sds_secret_configs: [{name: remote, sds_config: {ads: {}, resource_api_version: V3}}]}';
    accepts(bootstrap([], [tlsCluster(sds)]));
  });

  it('xDS config sources must use a static, non-EDS cluster', () => {
    const dynamic = (clusterName: string) => `dynamic_resources:
  cds_config:
    resource_api_version: V3
    api_config_source: {api_type: GRPC, transport_api_version: V3, grpc_services: [{envoy_grpc: {cluster_name: ${clusterName}}}]}
`;
    accepts(bootstrap([], [cluster('xds_cluster', 'STRICT_DNS', 'xdsserver')], dynamic('xds_cluster')));
    expect(refusal(bootstrap([], [cluster('xds_cluster', 'STRICT_DNS', 'xdsserver')], dynamic('xds')))).toBe(
      "dynamic_resources.cds_config.api_config_source.grpc_services[0].envoy_grpc.cluster_name: must name a statically defined non-EDS cluster: 'xds' does not exist, was added via api, or is an EDS cluster; define it under static_resources.clusters",
    );
  });
});

describe('runtime', () => {
  it('refuses empty values in a static layer (the mis-indented example of the notes)', () => {
    expect(
      refusal(
        'layered_runtime:\n  layers:\n  - name: s\n    static_layer:\n      health_check:\n      min_interval: 5\n',
      ),
    ).toContain(
      'layered_runtime.layers[0].static_layer.health_check: Invalid runtime entry value for health_check: it is empty (null)',
    );
    accepts(
      'layered_runtime:\n  layers:\n  - name: s\n    static_layer:\n      health_check:\n        min_interval: 5\n',
    );
  });
});

describe('xDS resources get the checks that need no bootstrap', () => {
  it('Cluster', () => {
    const e = errorOf(() =>
      normalizeResource(
        'type.googleapis.com/envoy.config.cluster.v3.Cluster',
        {
          name: 'a',
          load_assignment: {
            cluster_name: 'a',
            endpoints: [
              {
                lb_endpoints: [
                  { endpoint: { address: { socket_address: { address: 'web', port_value: 80 } } } },
                ],
              },
            ],
          },
        },
        'resources[0]',
      ),
    );
    expect(e.fieldPath).toBe(
      'resources[0].load_assignment.endpoints[0].lb_endpoints[0].endpoint.address.socket_address.address',
    );
  });

  it('ClusterLoadAssignment endpoints must be IPs', () => {
    expect(() =>
      normalizeResource('envoy.config.endpoint.v3.ClusterLoadAssignment', {
        cluster_name: 'a',
        endpoints: [
          {
            lb_endpoints: [{ endpoint: { address: { socket_address: { address: 'web', port_value: 80 } } } }],
          },
        ],
      }),
    ).toThrow('malformed IP address: web. EDS endpoints must be IP addresses');
  });

  it('a Listener route may name clusters the bootstrap does not (they may come from CDS)', () => {
    expect(
      normalizeResource('envoy.config.listener.v3.Listener', {
        name: 'l',
        address: { socket_address: { address: '0.0.0.0', port_value: 80 } },
        filter_chains: [
          {
            filters: [
              {
                name: 'envoy.http_connection_manager',
                typed_config: {
                  '@type':
                    'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager',
                  stat_prefix: 'http',
                  route_config: {
                    virtual_hosts: [
                      {
                        name: 'v',
                        domains: ['*'],
                        routes: [{ match: { prefix: '/' }, route: { cluster: 'webcluster' } }],
                      },
                    ],
                  },
                  http_filters: [{ name: 'envoy.filters.http.router' }],
                },
              },
            ],
          },
        ],
      }),
    ).toBeDefined();
  });
});
