import { describe, expect, it } from 'vitest';
import { ConfigError } from './errors.js';
import {
  type ExtensionCategory,
  filterTypeUrl,
  findExtension,
  LEGACY_NAMES,
  typeMismatch,
} from './extensions.js';
import { normalizeMessage } from './proto-json.js';

const url = (type: string) => `type.googleapis.com/${type}`;
const ROUTER = 'envoy.extensions.filters.http.router.v3.Router';
const HCM = 'envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager';
const TCP_PROXY = 'envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy';

function reason(run: () => unknown): string {
  try {
    run();
  } catch (e) {
    if (e instanceof ConfigError) return `${e.fieldPath}: ${e.reason}`;
    throw e;
  }
  throw new Error('expected a ConfigError');
}

describe('names the course uses', () => {
  it.each([
    ['network filter', 'envoy.http_connection_manager', HCM],
    ['network filter', 'envoy.filters.network.http_connection_manager', HCM],
    ['network filter', 'envoy.tcp_proxy', TCP_PROXY],
    ['network filter', 'envoy.filters.network.tcp_proxy', TCP_PROXY],
    ['HTTP filter', 'envoy.router', ROUTER],
    ['HTTP filter', 'envoy.filters.http.router', ROUTER],
    ['HTTP filter', 'envoy.cors', 'envoy.extensions.filters.http.cors.v3.Cors'],
    ['HTTP filter', 'envoy.fault', 'envoy.extensions.filters.http.fault.v3.HTTPFault'],
    ['HTTP filter', 'envoy.health_check', 'envoy.extensions.filters.http.health_check.v3.HealthCheck'],
    [
      'HTTP filter',
      'envoy.filters.http.local_ratelimit',
      'envoy.extensions.filters.http.local_ratelimit.v3.LocalRateLimit',
    ],
    [
      'listener filter',
      'envoy.listener.tls_inspector',
      'envoy.extensions.filters.listener.tls_inspector.v3.TlsInspector',
    ],
    [
      'listener filter',
      'envoy.filters.udp_listener.udp_proxy',
      'envoy.extensions.filters.udp.udp_proxy.v3.UdpProxyConfig',
    ],
    [
      'upstream transport socket',
      'envoy.transport_sockets.tls',
      'envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext',
    ],
    ['downstream transport socket', 'tls', 'envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext'],
    ['access logger', 'envoy.file_access_log', 'envoy.extensions.access_loggers.file.v3.FileAccessLog'],
    ['access logger', 'envoy.access_loggers.file', 'envoy.extensions.access_loggers.file.v3.FileAccessLog'],
    [
      'access logger',
      'envoy.access_loggers.stdout',
      'envoy.extensions.access_loggers.stream.v3.StdoutAccessLog',
    ],
    [
      'retry host predicate',
      'envoy.retry_host_predicates.previous_hosts',
      'envoy.extensions.retry.host.previous_hosts.v3.PreviousHostsPredicate',
    ],
    ['tracer', 'envoy.tracers.zipkin', 'envoy.config.trace.v3.ZipkinConfig'],
    [
      'protocol options',
      'envoy.extensions.upstreams.http.v3.HttpProtocolOptions',
      'envoy.extensions.upstreams.http.v3.HttpProtocolOptions',
    ],
  ] as const)('%s %s → %s', (category, name, type) => {
    expect(findExtension(category, name)?.typeName).toBe(type);
  });

  it('maps every legacy name to an extension that exists', () => {
    const categories: ExtensionCategory[] = [
      'network filter',
      'HTTP filter',
      'listener filter',
      'access logger',
      'upstream transport socket',
      'tracer',
    ];
    const missing = Object.keys(LEGACY_NAMES).filter(
      (name) => !categories.some((c) => findExtension(c, name)),
    );
    expect(missing).toEqual([]);
  });
});

describe('filterTypeUrl', () => {
  it('types a filter given only by name by its name', () => {
    expect(filterTypeUrl({ name: 'envoy.filters.http.router' })).toBe(url(ROUTER));
    expect(filterTypeUrl({ name: 'envoy.router' })).toBe(url(ROUTER));
  });

  it('lets the @type decide when both are given', () => {
    expect(filterTypeUrl({ name: 'cr7_filters', typed_config: { '@type': url(HCM) } })).toBe(url(HCM));
    expect(filterTypeUrl({ name: 'envoy.tcp_proxy', typed_config: { '@type': url(HCM) } })).toBe(url(HCM));
  });

  it('needs the category where a name means two messages', () => {
    expect(() => filterTypeUrl({ name: 'envoy.transport_sockets.tls' })).toThrow(/pass the category/);
    expect(filterTypeUrl({ name: 'envoy.transport_sockets.tls' }, 'downstream transport socket')).toBe(
      url('envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext'),
    );
  });

  it('refuses a name Envoy would not know', () => {
    expect(() => filterTypeUrl({ name: 'envoy.filters.http.routr' })).toThrow(
      "Didn't find a registered implementation for name: 'envoy.filters.http.routr'",
    );
  });
});

describe('extension slots in configs', () => {
  const filter = (value: Record<string, unknown>) =>
    normalizeMessage('envoy.config.listener.v3.Filter', value);
  const httpFilter = (value: Record<string, unknown>) =>
    normalizeMessage('envoy.extensions.filters.network.http_connection_manager.v3.HttpFilter', value);

  it('refuses an unknown name without typed_config, as Envoy does, with a suggestion', () => {
    expect(reason(() => httpFilter({ name: 'envoy.filters.http.routr' }))).toBe(
      "name: Didn't find a registered implementation for name: 'envoy.filters.http.routr' (did you mean 'envoy.filters.http.router'?); a HTTP filter without typed_config must use a known extension name",
    );
  });

  it('accepts any name when the @type says what it is', () => {
    expect(
      filter({
        name: 'cr7_filters',
        typed_config: { '@type': url(TCP_PROXY), stat_prefix: 's', cluster: 'c' },
      }),
    ).toEqual({
      name: 'cr7_filters',
      typed_config: { '@type': url(TCP_PROXY), stat_prefix: 's', cluster: 'c' },
    });
  });

  it('refuses a config of the wrong kind of extension', () => {
    const tcpProxy = { '@type': url(TCP_PROXY), stat_prefix: 's', cluster: 'c' };
    expect(reason(() => httpFilter({ name: 'x', typed_config: tcpProxy }))).toBe(
      `typed_config: Didn't find a registered implementation for 'x' with type URL: '${TCP_PROXY}' (${TCP_PROXY} configures the network filter 'envoy.filters.network.tcp_proxy', not a HTTP filter)`,
    );
  });

  it('tells upstream from downstream TLS by where the transport socket is', () => {
    const downstream = { '@type': url('envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext') };
    expect(
      reason(() =>
        normalizeMessage('envoy.config.cluster.v3.Cluster', {
          name: 'c',
          transport_socket: { name: 'envoy.transport_sockets.tls', typed_config: downstream },
        }),
      ),
    ).toContain(
      "configures the downstream transport socket 'envoy.transport_sockets.tls', not a upstream transport socket",
    );
    expect(
      normalizeMessage('envoy.config.listener.v3.FilterChain', {
        transport_socket: { name: 'envoy.transport_sockets.tls', typed_config: downstream },
      }),
    ).toBeDefined();
  });

  it('lets an optional HTTP filter name something unknown', () => {
    expect(httpFilter({ name: 'com.example.custom', is_optional: true })).toEqual({
      name: 'com.example.custom',
      is_optional: true,
    });
  });

  it('checks typed_extension_protocol_options keys', () => {
    const options = (key: string) =>
      normalizeMessage('envoy.config.cluster.v3.Cluster', {
        name: 'c',
        typed_extension_protocol_options: {
          [key]: {
            '@type': url('envoy.extensions.upstreams.http.v3.HttpProtocolOptions'),
            explicit_http_config: { http2_protocol_options: {} },
          },
        },
      });
    expect(options('envoy.extensions.upstreams.http.v3.HttpProtocolOptions')).toBeDefined();
    expect(reason(() => options('envoy.upstreams.http2'))).toBe(
      `typed_extension_protocol_options["envoy.upstreams.http2"]: Didn't find a registered network or http filter or protocol options implementation for name: 'envoy.upstreams.http2'`,
    );
  });
});

describe('typeMismatch', () => {
  it('accepts types of the category, registered or from its package', () => {
    expect(typeMismatch('HTTP filter', ROUTER)).toBeUndefined();
    expect(typeMismatch('network filter', 'envoy.extensions.filters.network.rbac.v3.RBAC')).toBeUndefined();
  });

  it('refuses types of other categories and unrelated messages', () => {
    expect(typeMismatch('network filter', ROUTER)).toMatch(
      /configures the HTTP filter 'envoy.filters.http.router'/,
    );
    expect(typeMismatch('access logger', 'google.protobuf.Struct')).toBe(
      'google.protobuf.Struct does not configure any access logger',
    );
  });
});
