import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { envoyApi } from './envoy-protos.js';
import { ConfigError } from './errors.js';
import {
  assertImplemented,
  assertResourceImplemented,
  NOT_IMPLEMENTED,
  unsupportedFeatures,
} from './feature-gate.js';
import { loadBootstrap } from './load.js';

const reference = (name: string) =>
  fileURLToPath(new URL(`../../test/fixtures/reference/${name}`, import.meta.url));
const features = (yaml: string) => unsupportedFeatures(loadBootstrap({ yaml }).bootstrap);

const cluster = (extra: string) => `static_resources:
  clusters:
  - name: c
    type: STRICT_DNS
    load_assignment: {cluster_name: c, endpoints: [{lb_endpoints: [{endpoint: {address: {socket_address: {address: web, port_value: 80}}}}]}]}
${extra}`;

const hcm = (extra: string, httpFilters = '[{name: envoy.filters.http.router}]') => `static_resources:
  listeners:
  - name: l
    address: {socket_address: {address: 0.0.0.0, port_value: 80}}
    filter_chains:
    - filters:
      - name: envoy.filters.network.http_connection_manager
        typed_config:
          "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
          stat_prefix: ingress_http
          route_config: {virtual_hosts: [{name: v, domains: ["*"], routes: [{match: {prefix: /}, route: {cluster: c}}]}]}
          http_filters: ${httpFilters}
${extra}
  clusters: [{name: c, type: STRICT_DNS}]
`;

describe('the course labs meshcraft-proxy runs today pass the gate', () => {
  it.each([
    'day13-lab01-http-front-proxy.envoy.yaml',
    'day13-lab02-http-ingress.envoy.yaml',
    'day13-lab03-http-egress.envoy.yaml',
    'day13-lab04-tcp-front-proxy.envoy.yaml',
    'day13-lab05-strict-dns.envoy.yaml',
    'day13-lab06-admin-interface.admin.yaml',
    'day13-lab07-layered-runtime.head.yaml',
    'day13-snippet10-https-passthrough.envoy.yaml',
    'day14a-common-sidecar.envoy.yaml',
    'day14b-common-sidecar.envoy.yaml',
    'day14b-lab02-ring-hash-header.front-envoy.yaml',
    'day14b-lab05-lb-subsets.front-envoy.yaml',
    'day14b-lab06-circuit-breaker.front-envoy.yaml',
    'articles-002-front-proxy.service-envoy.yaml',
    'day14a-lab02-lds-cds-filesystem.front-envoy.yaml',
    'day14a-lab03-lds-cds-grpc.front-envoy.yaml',
    'articles-004-dynamic-config-cp.bootstrap.yaml',
    'articles-004-udp.envoy.yaml',
    'day13-lab11-tls-static.front-envoy.yaml',
    'day13-lab11-tls-static.service-gray.yaml',
    'day13-lab11-tls-static.service-purple.yaml',
    'articles-002-front-proxy.front-envoy.yaml',
    'articles-004-front-proxy.envoy.yaml',
  ])('%s', (name) => {
    const { bootstrap } = loadBootstrap({ path: reference(name) });
    expect(unsupportedFeatures(bootstrap)).toEqual([]);
    expect(() => assertImplemented(bootstrap)).not.toThrow();
  });
});

describe('labs that need what is not implemented yet are refused, naming it', () => {
  it.each([['articles-004-jaeger.front-envoy.yaml', ['tracing', 'Route.decorator']]])(
    '%s',
    (name, expected) => {
      const { bootstrap } = loadBootstrap({ path: reference(name) });
      expect(unsupportedFeatures(bootstrap).map((f) => f.feature)).toEqual(expected);
    },
  );

  it('names the field and its line, and lists the rest', () => {
    const path = reference('articles-004-jaeger.front-envoy.yaml');
    const { bootstrap } = loadBootstrap({ path });
    let error: unknown;
    try {
      assertImplemented(bootstrap);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const hcm = 'static_resources.listeners[0].filter_chains[0].filters[0].typed_config';
    expect((error as ConfigError).message.split('\n')).toEqual([
      `${path}:14:11: ${hcm}.tracing: tracing is not implemented by meshcraft-proxy yet`,
      `  ${path}:36:17: ${hcm}.route_config.virtual_hosts[0].routes[0].decorator: Route.decorator is not implemented either`,
    ]);
    expect((error as ConfigError).fieldPath).toBe(`${hcm}.tracing`);
  });
});

describe('rows', () => {
  it('outlier detection, except its monitor extensions', () => {
    expect(
      features(cluster('    outlier_detection: {consecutive_5xx: 3, max_ejection_percent: 30}')),
    ).toEqual([]);
    expect(
      features(
        cluster(
          '    outlier_detection: {monitors: [{name: m, typed_config: {"@type": type.googleapis.com/google.protobuf.Empty}}]}',
        ),
      ),
    ).toEqual([
      {
        path: 'static_resources.clusters[0].outlier_detection.monitors',
        feature: 'outlier detection monitor extensions',
      },
    ]);
  });

  it('circuit breakers at both priorities, with budgets and remaining gauges; not max_connection_pools', () => {
    expect(
      features(
        cluster(
          '    circuit_breakers: {thresholds: [{max_connections: 1, max_retries: 2, track_remaining: true}, {priority: HIGH, max_requests: 5, retry_budget: {}}]}',
        ),
      ),
    ).toEqual([]);
    expect(
      features(cluster('    circuit_breakers: {thresholds: {max_connection_pools: 2}}')).map((f) => f.path),
    ).toEqual(['static_resources.clusters[0].circuit_breakers.thresholds[0].max_connection_pools']);
  });

  it('fields set to their default value do not count; messages count even when empty', () => {
    expect(features(cluster('    close_connections_on_host_health_failure: false'))).toEqual([]);
    expect(features(cluster('    close_connections_on_host_health_failure: true'))).toEqual([
      {
        path: 'static_resources.clusters[0].close_connections_on_host_health_failure',
        feature: 'Cluster.close_connections_on_host_health_failure',
      },
    ]);
    expect(features(cluster('    upstream_http_protocol_options: {}')).map((f) => f.feature)).toEqual([
      'upstream_http_protocol_options (auto SNI and SAN validation)',
    ]);
  });

  it('cluster types and load balancers', () => {
    expect(
      features(
        cluster('    lb_policy: MAGLEV\n    common_lb_config: {healthy_panic_threshold: {value: 49}}'),
      ),
    ).toEqual([]);
    expect(
      features(
        'static_resources:\n  clusters:\n  - {name: c, type: ORIGINAL_DST, lb_policy: CLUSTER_PROVIDED}\n',
      ),
    ).toEqual([
      { path: 'static_resources.clusters[0].type', feature: 'ORIGINAL_DST clusters' },
      { path: 'static_resources.clusters[0].lb_policy', feature: 'lb_policy CLUSTER_PROVIDED' },
    ]);
  });

  it('HTTP filters other than the router, fault, cors, local_ratelimit and health_check', () => {
    expect(features(hcm('', '[{name: envoy.router}]'))).toEqual([]);
    expect(
      features(
        hcm(
          '',
          `[{name: envoy.filters.http.cors}, {name: envoy.fault},
            {name: envoy.filters.http.health_check, typed_config: {"@type": type.googleapis.com/envoy.extensions.filters.http.health_check.v3.HealthCheck, pass_through_mode: false}},
            {name: envoy.filters.http.local_ratelimit, typed_config: {"@type": type.googleapis.com/envoy.extensions.filters.http.local_ratelimit.v3.LocalRateLimit, stat_prefix: rl}},
            {name: envoy.filters.http.router}]`,
        ),
      ),
    ).toEqual([]);
    expect(
      features(hcm('', '[{name: envoy.filters.http.buffer}, {name: envoy.filters.http.router}]')).map(
        (f) => f.feature,
      ),
    ).toEqual([
      "the HTTP filter 'envoy.filters.http.buffer' (router, fault, cors, local_ratelimit and health_check are implemented)",
    ]);
  });

  it('what the implemented HTTP filters leave out', () => {
    const filters = `[{name: envoy.filters.http.fault, typed_config: {"@type": type.googleapis.com/envoy.extensions.filters.http.fault.v3.HTTPFault, response_rate_limit: {fixed_limit: {limit_kbps: 1}, percentage: {numerator: 1}}}},
            {name: envoy.filters.http.local_ratelimit, typed_config: {"@type": type.googleapis.com/envoy.extensions.filters.http.local_ratelimit.v3.LocalRateLimit, stat_prefix: rl, descriptors: [{entries: [{key: k, value: v}], token_bucket: {max_tokens: 1, fill_interval: 1s}}]}},
            {name: envoy.filters.http.router}]`;
    expect(features(hcm('', filters)).map((f) => f.feature)).toEqual([
      'HTTPFault.response_rate_limit',
      'LocalRateLimit.descriptors',
    ]);
  });

  it('per-route filter configs and CORS policies on virtual hosts and routes', () => {
    const routes = `          route_config:
            typed_per_filter_config:
              envoy.filters.http.fault: {"@type": type.googleapis.com/envoy.extensions.filters.http.fault.v3.HTTPFault}
            virtual_hosts:
            - name: v
              domains: ["*"]
              cors: {allow_origin_string_match: [{exact: "http://a"}]}
              typed_per_filter_config:
                envoy.filters.http.cors: {"@type": type.googleapis.com/envoy.extensions.filters.http.cors.v3.CorsPolicy, max_age: "60"}
              routes:
              - match: {prefix: /}
                route: {cluster: c, cors: {allow_methods: GET}}
                typed_per_filter_config:
                  envoy.filters.http.local_ratelimit: {"@type": type.googleapis.com/envoy.extensions.filters.http.local_ratelimit.v3.LocalRateLimit, stat_prefix: r, token_bucket: {max_tokens: 1, fill_interval: 1s}}`;
    const yaml = hcm('', '[{name: envoy.filters.http.router}]').replace(/^ {10}route_config: .*$/m, routes);
    expect(features(yaml)).toEqual([]);
  });

  it('optional HTTP filters, known or not', () => {
    const optional = '[{name: com.example.auth, is_optional: true}, {name: envoy.filters.http.router}]';
    expect(features(hcm('', optional)).map((f) => f.feature)).toEqual([
      "the HTTP filter 'com.example.auth' (router, fault, cors, local_ratelimit and health_check are implemented)",
      'HttpFilter.is_optional',
    ]);
  });

  it('codec types other than AUTO, HTTP1 and HTTP2; HTTP/2 options but the flow-control and limit ones', () => {
    expect(features(hcm('          codec_type: http1'))).toEqual([]);
    expect(
      features(
        hcm(
          '          codec_type: HTTP2\n          http2_protocol_options: {max_concurrent_streams: 10, initial_stream_window_size: 65536, initial_connection_window_size: 1048576, hpack_table_size: 0}',
        ),
      ),
    ).toEqual([]);
    expect(features(hcm('          codec_type: HTTP3')).map((f) => f.feature)).toEqual(['codec_type HTTP3']);
    expect(
      features(hcm('          http2_protocol_options: {allow_connect: true}')).map((f) => f.path),
    ).toEqual([
      'static_resources.listeners[0].filter_chains[0].filters[0].typed_config.http2_protocol_options.allow_connect',
    ]);
  });

  it('TLS: static secrets, certificates from files, validation, ALPN; not SDS sources, pkcs12 or CRLs', () => {
    const tls = (typed: string) =>
      hcm(
        `      transport_socket: {name: envoy.transport_sockets.tls, typed_config: {"@type": type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext, ${typed}}}`,
      );
    const secrets =
      '  secrets: [{name: s, tls_certificate: {certificate_chain: {filename: c}, private_key: {filename: k}}}]\n';
    expect(
      features(
        `${tls('common_tls_context: {tls_certificate_sds_secret_configs: [{name: s}], validation_context: {trusted_ca: {filename: ca}}, alpn_protocols: [h2]}, require_client_certificate: true')}${secrets}`,
      ),
    ).toEqual([]);
    expect(
      features(
        tls(
          'common_tls_context: {tls_certificate_sds_secret_configs: [{name: s, sds_config: {path_config_source: {path: /x}}}]}',
        ),
      ).map((f) => f.feature),
    ).toEqual(['secret discovery (SDS) over a config source']);
    expect(
      features(
        tls(
          'common_tls_context: {tls_certificates: [{pkcs12: {filename: p}}], validation_context: {crl: {filename: c}}}',
        ),
      ).map((f) => f.feature),
    ).toEqual(['TlsCertificate.pkcs12', 'CertificateValidationContext.crl']);
    expect(
      features(hcm('      transport_socket: {name: envoy.transport_sockets.alts}')).map((f) => f.feature),
    ).toEqual(["the transport socket 'envoy.transport_sockets.alts'"]);
  });

  it('the TLS inspector and SNI filter-chain matching, not other listener filters', () => {
    const listener = (filters: string, match: string) =>
      hcm('').replace(
        '    filter_chains:\n    - filters:',
        `    listener_filters: ${filters}\n    filter_chains:\n    - filter_chain_match: ${match}\n      filters:`,
      );
    expect(
      features(
        listener(
          '[{name: envoy.filters.listener.tls_inspector}]',
          '{server_names: [a.example], transport_protocol: tls, application_protocols: [h2]}',
        ),
      ),
    ).toEqual([]);
    expect(
      features(listener('[{name: envoy.filters.listener.http_inspector}]', '{}')).map((f) => f.feature),
    ).toEqual(["the listener filter 'envoy.filters.listener.http_inspector'"]);
  });

  it('upstream TLS without active health checks, HTTP/2 via either option field, no other protocol options', () => {
    const upstreamTls =
      '    transport_socket: {name: envoy.transport_sockets.tls, typed_config: {"@type": type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext, sni: x}}\n';
    expect(features(cluster(`${upstreamTls}    http2_protocol_options: {}`))).toEqual([]);
    expect(
      features(
        cluster(
          `${upstreamTls}    health_checks: [{timeout: 1s, interval: 1s, unhealthy_threshold: 1, healthy_threshold: 1, tcp_health_check: {}}]`,
        ),
      ).map((f) => f.feature),
    ).toEqual(['active health checks of a TLS cluster (they would not use its transport socket)']);
    expect(
      features(
        cluster(
          '    typed_extension_protocol_options: {envoy.extensions.upstreams.http.v3.HttpProtocolOptions: {"@type": type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions, auto_config: {}}}',
        ),
      ).map((f) => f.feature),
    ).toEqual(['HttpProtocolOptions.auto_config']);
  });

  it('access loggers other than file and stdout', () => {
    const log = (name: string, type: string) =>
      `          access_log: [{name: ${name}, typed_config: {"@type": type.googleapis.com/${type}}}]`;
    expect(
      features(
        hcm(log('envoy.access_loggers.stdout', 'envoy.extensions.access_loggers.stream.v3.StdoutAccessLog')),
      ),
    ).toEqual([]);
    expect(
      features(
        hcm(log('envoy.access_loggers.stderr', 'envoy.extensions.access_loggers.stream.v3.StderrAccessLog')),
      ).map((f) => f.feature),
    ).toEqual(["the access logger 'envoy.access_loggers.stderr' (file and stdout are implemented)"]);
  });

  it('retries and mirroring on routes, except retry priorities and unknown host predicates', () => {
    const route = (action: string) =>
      hcm('').replace('route: {cluster: c}', `route: {cluster: c, ${action}}`);
    const previousHosts =
      '{name: envoy.retry_host_predicates.previous_hosts, typed_config: {"@type": type.googleapis.com/envoy.extensions.retry.host.previous_hosts.v3.PreviousHostsPredicate}}';
    expect(
      features(
        route(
          `retry_policy: {retry_on: 5xx, retry_host_predicate: [${previousHosts}]}, request_mirror_policies: [{cluster: c}]`,
        ),
      ),
    ).toEqual([]);
    expect(
      features(
        route(
          'retry_policy: {retry_on: 5xx, retry_priority: {name: envoy.retry_priorities.previous_priorities, typed_config: {"@type": type.googleapis.com/envoy.extensions.retry.priority.previous_priorities.v3.PreviousPrioritiesConfig, update_frequency: 2}}}',
        ),
      ).map((f) => f.feature),
    ).toEqual(['RetryPolicy.retry_priority']);
    expect(
      features(
        route(
          'retry_policy: {retry_host_predicate: [{name: envoy.retry_host_predicates.omit_host_metadata, typed_config: {"@type": type.googleapis.com/envoy.extensions.retry.host.omit_host_metadata.v3.OmitHostMetadataConfig}}]}',
        ),
      ).map((f) => f.feature),
    ).toEqual(['retry host predicates other than previous_hosts and omit_canary_hosts']);
  });

  it('xDS over gRPC and REST, not incremental', () => {
    const grpcSource = (type: string) =>
      `dynamic_resources:\n  cds_config: {api_config_source: {api_type: ${type}, transport_api_version: V3, grpc_services: [{envoy_grpc: {cluster_name: c}}]}}\n`;
    const h2 =
      '    typed_extension_protocol_options: {envoy.extensions.upstreams.http.v3.HttpProtocolOptions: {"@type": type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions, explicit_http_config: {http2_protocol_options: {}}}}\n';
    expect(features(`${grpcSource('GRPC')}${cluster(h2)}`)).toEqual([]);
    expect(features(`${grpcSource('DELTA_GRPC')}${cluster('')}`)).toEqual([
      {
        path: 'dynamic_resources.cds_config.api_config_source.api_type',
        feature: 'xDS api_type DELTA_GRPC (GRPC and REST are implemented)',
      },
    ]);
    // The router speaks HTTP/2 to any cluster that asks for it, not only to management servers.
    expect(features(cluster(h2))).toEqual([]);
  });

  it('xDS resources pass the same gate: a cluster or listener with what is not implemented is refused', () => {
    const { bootstrap } = loadBootstrap({ yaml: cluster('    lb_policy: CLUSTER_PROVIDED') });
    const resource = bootstrap.static_resources!.clusters![0]! as unknown as Record<string, unknown>;
    expect(() => assertResourceImplemented('envoy.config.cluster.v3.Cluster', resource)).toThrow(
      /^lb_policy: lb_policy CLUSTER_PROVIDED is not implemented by meshcraft-proxy yet$/,
    );
    const plain = loadBootstrap({ yaml: cluster('') }).bootstrap.static_resources!.clusters![0]!;
    expect(() => assertResourceImplemented('envoy.config.cluster.v3.Cluster', plain as never)).not.toThrow();
  });

  it('a plain-TCP transport socket is what a listener has anyway', () => {
    expect(features(cluster('    transport_socket: {name: envoy.transport_sockets.raw_buffer}'))).toEqual([]);
  });

  it('name existing messages and fields (so a proto update cannot silently disable a row)', () => {
    const api = envoyApi();
    const broken = NOT_IMPLEMENTED.flatMap((row) => {
      const message = api.message(row.message);
      if (!message) return [row.message];
      return row.fields
        .filter((f) => !message.field(f) || message.field(f)?.name !== f)
        .map((f) => `${row.message}.${f}`);
    });
    expect(broken).toEqual([]);
  });
});
