import { describe, expect, it } from 'vitest';
import type { ConfigWarning } from './errors.js';
import { ConfigError } from './errors.js';
import { normalizeMessage } from './proto-json.js';
import { parseConfig } from './source.js';

const CLUSTER = 'envoy.config.cluster.v3.Cluster';
const BOOTSTRAP = 'envoy.config.bootstrap.v3.Bootstrap';
const LISTENER = 'envoy.config.listener.v3.Listener';
const ROUTE_MATCH = 'envoy.config.route.v3.RouteMatch';
const HCM = 'envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager';

/** A cluster the rules accept, to vary one field at a time. */
const cluster = (extra: Record<string, unknown> = {}) => ({ name: 'web', ...extra });

/** Normalizes YAML text, as the loader would. */
const fromYaml = (type: string, text: string) =>
  normalizeMessage(type, parseConfig(text, 'x.yaml', 'yaml').value);

function errorOf(run: () => unknown): ConfigError {
  try {
    run();
  } catch (e) {
    if (e instanceof ConfigError) return e;
    throw e;
  }
  throw new Error('expected a ConfigError');
}

const reason = (run: () => unknown) => {
  const e = errorOf(run);
  return `${e.fieldPath}: ${e.reason}`;
};

describe('normalized form', () => {
  it('canonical enum names, duration strings and snake_case names, in field-number order', () => {
    const out = fromYaml(
      CLUSTER,
      'lbPolicy: round_robin\nconnect_timeout: 0.25s\ntype: strict_dns\nname: web\n',
    );
    expect(out).toEqual({
      name: 'web',
      type: 'STRICT_DNS',
      connect_timeout: '0.250s',
      lb_policy: 'ROUND_ROBIN',
    });
    expect(Object.keys(out)).toEqual(['name', 'type', 'connect_timeout', 'lb_policy']);
  });

  it('wraps a single mapping where a list is expected (the course writes listeners: that way)', () => {
    const out = fromYaml(
      BOOTSTRAP,
      'static_resources:\n  listeners:\n    name: l0\n    address: {pipe: {path: /tmp/s}}\n',
    );
    expect(out.static_resources).toEqual({
      listeners: [{ name: 'l0', address: { pipe: { path: '/tmp/s' } } }],
    });
  });

  it('wraps a single scalar where a list is expected', () => {
    const match = normalizeMessage('envoy.config.core.v3.HealthCheck.HttpHealthCheck', {
      path: '/livez',
      request_headers_to_remove: 'x-debug',
    });
    expect(match.request_headers_to_remove).toEqual(['x-debug']);
  });

  it('turns numbers given as strings into numbers (consecutive_5xx: "3")', () => {
    const out = normalizeMessage('envoy.config.cluster.v3.OutlierDetection', {
      consecutive_5xx: '3',
      max_ejection_percent: '30',
      interval: '1s',
    });
    expect(out).toEqual({ consecutive_5xx: 3, interval: '1s', max_ejection_percent: 30 });
  });

  it('writes wrappers as plain values, whether given plain or as {value}', () => {
    expect(
      normalizeMessage(CLUSTER, cluster({ per_connection_buffer_limit_bytes: { value: 1024 } })),
    ).toEqual(cluster({ per_connection_buffer_limit_bytes: 1024 }));
    expect(normalizeMessage(LISTENER, { bind_to_port: 'false' }).bind_to_port).toBe(false);
  });

  it.each([
    ['0.25s', '0.250s'],
    ['1s', '1s'],
    ['1.5s', '1.500s'],
    ['0.000001s', '0.000001s'],
    [{ seconds: 1, nanos: 500000000 }, '1.500s'],
    [{ nanos: 500000000 }, '0.500s'],
    [{ seconds: '5' }, '5s'],
  ])('duration %j → %s', (given, expected) => {
    expect(normalizeMessage(CLUSTER, cluster({ connect_timeout: given })).connect_timeout).toBe(expected);
  });

  it('accepts proto names and JSON (lowerCamelCase) names', () => {
    expect(
      normalizeMessage(CLUSTER, { name: 'web', connectTimeout: '1s', dnsLookupFamily: 'v4_only' }),
    ).toEqual({
      name: 'web',
      connect_timeout: '1s',
      dns_lookup_family: 'V4_ONLY',
    });
  });

  it('accepts enum numbers, naming them', () => {
    expect(normalizeMessage(CLUSTER, cluster({ lb_policy: 1 })).lb_policy).toBe('LEAST_REQUEST');
  });

  it('does not fill in defaults', () => {
    expect(normalizeMessage(CLUSTER, cluster())).toEqual({ name: 'web' });
  });

  it('keeps Struct and Value as free JSON', () => {
    const out = fromYaml(BOOTSTRAP, 'node:\n  metadata: {a: [1, x, {b: yes}], v: 1.0}\n');
    expect(out.node).toEqual({ metadata: { a: [1, 'x', { b: true }], v: '1.0' } });
  });

  it('resolves Any by its type URL and keeps "@type" next to the fields', () => {
    const out = normalizeMessage('envoy.config.listener.v3.Filter', {
      name: 'anything',
      typed_config: {
        '@type': 'type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy',
        statPrefix: 'tcp',
        cluster: 'c',
      },
    });
    expect(out.typed_config).toEqual({
      '@type': 'type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy',
      stat_prefix: 'tcp',
      cluster: 'c',
    });
  });

  it('treats typed_config: {} as not set', () => {
    const out = normalizeMessage(HCM, {
      stat_prefix: 'in',
      route_config: {},
      http_filters: [{ name: 'envoy.filters.http.router', typed_config: {} }],
    });
    expect(out.http_filters).toEqual([{ name: 'envoy.filters.http.router' }]);
  });

  it('unpacks a TypedStruct into the Any it stands for', () => {
    const out = normalizeMessage('envoy.config.listener.v3.Filter', {
      name: 'tcp',
      typed_config: {
        '@type': 'type.googleapis.com/udpa.type.v1.TypedStruct',
        type_url: 'type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy',
        value: { stat_prefix: 'tcp', cluster: 'c' },
      },
    });
    expect(out.typed_config).toEqual({
      '@type': 'type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy',
      stat_prefix: 'tcp',
      cluster: 'c',
    });
  });

  it('treats null as "not set"', () => {
    expect(normalizeMessage(CLUSTER, cluster({ connect_timeout: null, health_checks: null }))).toEqual(
      cluster(),
    );
  });

  it('warns about deprecated fields as Envoy logs them, and keeps them', () => {
    const warnings: ConfigWarning[] = [];
    const out = normalizeMessage(BOOTSTRAP, { admin: { access_log_path: '/dev/null' } }, { warnings });
    expect(out.admin).toEqual({ access_log_path: '/dev/null' });
    expect(warnings).toEqual([
      expect.objectContaining({
        fieldPath: 'admin.access_log_path',
        text: expect.stringMatching(
          /^Using deprecated option 'envoy\.config\.bootstrap\.v3\.Admin\.access_log_path' from file bootstrap\.proto/,
        ),
      }),
    ]);
  });
});

describe('refusals, with the field path', () => {
  it('unknown fields, suggesting the closest name', () => {
    expect(reason(() => normalizeMessage(CLUSTER, cluster({ conect_timeout: '1s' })))).toBe(
      "conect_timeout: unknown field (did you mean 'connect_timeout'?)",
    );
    expect(reason(() => normalizeMessage(CLUSTER, cluster({ alt_state_name: 'x' })))).toContain(
      "did you mean 'alt_stat_name'?",
    );
  });

  it('unknown fields without a close name say which message lacks them', () => {
    expect(reason(() => normalizeMessage(CLUSTER, cluster({ frobnicate: 1 })))).toBe(
      "frobnicate: unknown field: envoy.config.cluster.v3.Cluster has no field 'frobnicate'",
    );
  });

  it('v2 fields the v3 API removed, saying what replaced them', () => {
    expect(reason(() => normalizeMessage(CLUSTER, cluster({ hosts: [] })))).toBe(
      "hosts: unknown field: 'hosts' was removed from Cluster in Envoy's v3 API (this looks like a v2 config); list the endpoints under load_assignment",
    );
    expect(
      reason(() => normalizeMessage('envoy.config.listener.v3.Filter', { name: 'x', config: {} })),
    ).toContain('write typed_config with an "@type"');
  });

  it('a field meant to be indented under an empty sibling', () => {
    expect(
      reason(() =>
        normalizeMessage(CLUSTER, cluster({ circuit_breakers: { thresholds: null, max_retries: 3 } })),
      ),
    ).toBe(
      "circuit_breakers.max_retries: unknown field of CircuitBreakers; 'max_retries' is a field of 'thresholds', which is empty here — indent 'max_retries' under 'thresholds:'",
    );
  });

  it('a field given twice, by its proto and its JSON name', () => {
    expect(
      reason(() => normalizeMessage(CLUSTER, cluster({ connect_timeout: '1s', connectTimeout: '2s' }))),
    ).toBe("connect_timeout: set twice, as 'connect_timeout' and as 'connectTimeout'");
  });

  it.each([
    [{ connect_timeout: 5 }, 'connect_timeout: a duration needs its unit: write "5s" for 5 seconds'],
    [{ connect_timeout: '250ms' }, 'Envoy durations are seconds with an \'s\' suffix ("0.25s" for 250ms)'],
    [{ alt_stat_name: 80 }, 'alt_stat_name: expected a string, got the number 80 (put it in quotes: "80")'],
    [{ respect_dns_ttl: 'maybe' }, 'respect_dns_ttl: expected true or false, got the string "maybe"'],
    [
      { per_connection_buffer_limit_bytes: -1 },
      'per_connection_buffer_limit_bytes: -1 is out of range for uint32',
    ],
    [{ per_connection_buffer_limit_bytes: 1.5 }, 'expected a non-negative whole number, got the number 1.5'],
    [
      { load_assignment: 'x' },
      'load_assignment: expected a mapping (an Envoy ClusterLoadAssignment), got the string "x"',
    ],
    [{ health_checks: [null] }, 'health_checks[0]: is an empty list entry'],
  ])('wrong types: %j', (extra, message) => {
    expect(reason(() => normalizeMessage(CLUSTER, cluster(extra)))).toContain(message);
  });

  it('unknown enum values, listing the valid ones', () => {
    expect(reason(() => normalizeMessage(CLUSTER, cluster({ type: 'strict-dns' })))).toBe(
      "type: unknown value 'strict-dns' for DiscoveryType (did you mean 'STRICT_DNS'?); expected one of STATIC, STRICT_DNS, LOGICAL_DNS, EDS, ORIGINAL_DST",
    );
  });

  it('two members of one oneof', () => {
    expect(reason(() => normalizeMessage(ROUTE_MATCH, { prefix: '/', path: '/x' }))).toBe(
      "path: cannot be set together with 'prefix': they are alternatives (oneof 'path_specifier' of RouteMatch)",
    );
  });

  it('a type URL that names no message, suggesting the closest', () => {
    const message = reason(() =>
      normalizeMessage('envoy.config.listener.v3.Filter', {
        name: 'x',
        typed_config: {
          '@type': 'type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TCPProxy',
        },
      }),
    );
    expect(message).toBe(
      "typed_config[\"@type\"]: unknown type 'envoy.extensions.filters.network.tcp_proxy.v3.TCPProxy': no such message in Envoy's v3 API (did you mean 'type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy'?)",
    );
  });

  it('v2 type URLs, naming the v3 replacement', () => {
    const message = reason(() =>
      normalizeMessage('envoy.config.listener.v3.Filter', {
        name: 'envoy.http_connection_manager',
        typed_config: {
          '@type':
            'type.googleapis.com/envoy.config.filter.network.http_connection_manager.v2.HttpConnectionManager',
        },
      }),
    );
    expect(message).toContain(
      "is an Envoy v2 API type; Envoy (since 1.18) and meshcraft-proxy accept only v3: use 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager'",
    );
  });

  it('an Any with fields but no "@type"', () => {
    expect(
      reason(() =>
        normalizeMessage('envoy.config.listener.v3.Filter', {
          name: 'x',
          typed_config: { stat_prefix: 'a' },
        }),
      ),
    ).toBe('typed_config: has fields but no "@type"; add "@type": type.googleapis.com/<config message>');
  });

  it('deprecated values Envoy no longer allows', () => {
    expect(
      reason(() =>
        normalizeMessage('envoy.config.trace.v3.ZipkinConfig', {
          collector_cluster: 'jaeger',
          collector_endpoint: '/api/v1/spans',
          collector_endpoint_version: 'DEPRECATED_AND_UNAVAILABLE_DO_NOT_USE',
        }),
      ),
    ).toBe(
      "collector_endpoint_version: Using deprecated option 'envoy.config.trace.v3.ZipkinConfig.CollectorEndpointVersion.DEPRECATED_AND_UNAVAILABLE_DO_NOT_USE' — it is no longer allowed (Envoy rejects it by default)",
    );
  });

  it('the v2 xDS API version', () => {
    expect(
      reason(() =>
        normalizeMessage('envoy.config.core.v3.ConfigSource', { resource_api_version: 'V2', ads: {} }),
      ),
    ).toBe(
      'resource_api_version: the v2 xDS API is no longer supported by Envoy (since 1.19) or meshcraft-proxy; use V3',
    );
  });
});

describe('protoc-gen-validate rules', () => {
  it('required messages and durations', () => {
    expect(
      reason(() =>
        normalizeMessage('envoy.config.core.v3.HealthCheck', {
          interval: '1s',
          unhealthy_threshold: 1,
          healthy_threshold: 1,
          tcp_health_check: {},
        }),
      ),
    ).toBe('timeout: is required');
  });

  it('required messages', () => {
    expect(reason(() => normalizeMessage('envoy.config.route.v3.Route', { route: { cluster: 'c' } }))).toBe(
      'match: is required',
    );
  });

  it('required strings (min_len)', () => {
    expect(reason(() => normalizeMessage(CLUSTER, {}))).toBe('name: must not be empty');
    expect(
      reason(() => normalizeMessage('envoy.config.endpoint.v3.ClusterLoadAssignment', { endpoints: [] })),
    ).toBe('cluster_name: must not be empty');
  });

  it('minimum list sizes (min_items)', () => {
    expect(
      reason(() => normalizeMessage('envoy.config.route.v3.VirtualHost', { name: 'v', domains: [] })),
    ).toBe('domains: needs at least 1 entry');
  });

  it('numeric bounds', () => {
    expect(
      reason(() =>
        normalizeMessage('envoy.config.core.v3.SocketAddress', { address: '0.0.0.0', port_value: 70000 }),
      ),
    ).toBe('port_value: must be at most 65535 (got 70000)');
  });

  it('duration bounds (connect_timeout must be greater than 0)', () => {
    expect(reason(() => normalizeMessage(CLUSTER, cluster({ connect_timeout: '0s' })))).toBe(
      'connect_timeout: must be greater than 0s (got 0s)',
    );
  });

  it('enum numbers that name no value (defined_only)', () => {
    expect(reason(() => normalizeMessage(CLUSTER, cluster({ lb_policy: 42 })))).toBe(
      'lb_policy: 42 is not a defined value of envoy.config.cluster.v3.Cluster.LbPolicy',
    );
  });

  it('oneofs that must be set', () => {
    expect(reason(() => normalizeMessage(ROUTE_MATCH, { case_sensitive: true }))).toBe(
      ": one of 'prefix', 'path', 'safe_regex', 'connect_matcher', 'path_separated_prefix', 'path_match_policy' must be set (oneof 'path_specifier' of RouteMatch)",
    );
  });

  it('HTTP header names (well_known_regex), strict or not as the field says', () => {
    const strict = 'envoy.extensions.http.original_ip_detection.custom_header.v3.CustomHeaderConfig';
    expect(reason(() => normalizeMessage(strict, { header_name: 'User Agent' }))).toBe(
      "header_name: 'User Agent' is not a valid HTTP header name",
    );
    expect(normalizeMessage(strict, { header_name: 'x-real-ip' })).toEqual({ header_name: 'x-real-ip' });
    // Route header matchers only refuse NUL, CR and LF.
    const matcher = 'envoy.config.route.v3.HeaderMatcher';
    expect(normalizeMessage(matcher, { name: 'User Agent', present_match: true })).toEqual({
      name: 'User Agent',
      present_match: true,
    });
    expect(reason(() => normalizeMessage(matcher, { name: 'x\ny', present_match: true }))).toBe(
      "name: 'x\ny' is not a valid HTTP header name",
    );
  });

  it('rules of list entries point at the entry', () => {
    expect(
      reason(() => normalizeMessage('envoy.config.listener.v3.FilterChainMatch', { source_ports: [80, 0] })),
    ).toBe('source_ports[1]: must be at least 1 (got 0)');
  });

  it('can be left for later (the halves of a --config-yaml merge)', () => {
    expect(normalizeMessage(CLUSTER, {}, { rules: false })).toEqual({});
  });
});

describe('error locations', () => {
  it('carry the input path, through wrapped single mappings', () => {
    const e = errorOf(() =>
      normalizeMessage(BOOTSTRAP, { static_resources: { listeners: { name: 'l', adress: {} } } }),
    );
    expect(e.fieldPath).toBe('static_resources.listeners[0].adress');
    expect(e.source).toEqual({ path: ['static_resources', 'listeners', 'adress'], at: 'key' });
  });

  it('record where every normalized field came from', () => {
    const sources = new Map();
    normalizeMessage(CLUSTER, { name: 'web', healthChecks: { timeout: '1s' } }, { rules: false, sources });
    expect(sources.get('health_checks[0].timeout')).toEqual(['healthChecks', 'timeout']);
  });
});
