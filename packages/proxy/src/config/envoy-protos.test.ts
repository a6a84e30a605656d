import { describe, expect, it } from 'vitest';
import { buildEnvoyApiSchema } from '../../scripts/envoy-api-source.mjs';
import { envoyApi, jsonName } from './envoy-protos.js';

describe('the schema built from the protos', () => {
  const built = buildEnvoyApiSchema();

  it('skips only the files whose imports grpc-js-xds does not ship', () => {
    expect(built.skipped).toEqual([
      'envoy/config/trace/v3/opencensus.proto',
      'envoy/config/trace/v3/trace.proto',
      'envoy/extensions/access_loggers/open_telemetry/v3/logs_service.proto',
      'envoy/service/metrics/v3/metrics_service.proto',
      'envoy/service/trace/v3/trace_service.proto',
    ]);
  });

  it('has no v2 packages, but the TypedStruct wrappers', () => {
    const names = Object.keys(built.schema.messages);
    expect(names.filter((n) => n.startsWith('envoy.api.v2.') || /^envoy\.config\.filter\./.test(n))).toEqual(
      [],
    );
    expect(names).toEqual(expect.arrayContaining(['udpa.type.v1.TypedStruct', 'xds.type.v3.TypedStruct']));
  });

  it('survives a JSON round trip unchanged (what dist/envoy-api.json holds)', () => {
    expect(JSON.parse(JSON.stringify(built.schema))).toEqual(built.schema);
  });
});

describe('messages', () => {
  const api = envoyApi();

  it('come from the .proto files when dist/envoy-api.json is not there (as in tests run from src/)', () => {
    expect(api.loadInfo.source).toBe('proto');
    expect(api.loadInfo.ms).toBeGreaterThan(0);
  });
  const cluster = api.message('envoy.config.cluster.v3.Cluster');

  it('look fields up by proto or JSON name, in field-number order', () => {
    expect(cluster?.field('connect_timeout')).toBe(cluster?.field('connectTimeout'));
    expect(cluster?.field('connect_timeout')?.fullName).toBe(
      'envoy.config.cluster.v3.Cluster.connect_timeout',
    );
    const ids = cluster?.fields.map((f) => f.id) ?? [];
    expect(ids).toEqual([...ids].sort((a, b) => a - b));
  });

  it('keep validation rules structured, including empty bounds and repeated values', () => {
    expect(cluster?.field('connect_timeout')?.rules).toEqual({ duration: { gt: {} } });
    expect(
      api.message('envoy.config.core.v3.SchemeHeaderTransformation')?.field('scheme_to_overwrite')?.rules,
    ).toEqual({
      string: { in: ['http', 'https'] },
    });
  });

  it('mark deprecated fields with the API version that deprecated them', () => {
    expect(api.message('envoy.config.bootstrap.v3.Admin')?.field('access_log_path')?.deprecated).toBe('3.0');
  });

  it('know the v3 replacement of v2 messages', () => {
    expect(api.v3Replacement('envoy.api.v2.Cluster')).toBe('envoy.config.cluster.v3.Cluster');
    expect(api.v3Replacement('envoy.config.filter.network.tcp_proxy.v2.TcpProxy')).toBe(
      'envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy',
    );
  });
});

describe('extension names from the [#extension: ...] tags', () => {
  const extensions = new Map(envoyApi().schema.extensions);

  it.each([
    [
      'envoy.filters.network.http_connection_manager',
      'envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager',
    ],
    ['envoy.filters.http.router', 'envoy.extensions.filters.http.router.v3.Router'],
    // Files whose first message is a helper of the config message:
    ['envoy.filters.http.fault', 'envoy.extensions.filters.http.fault.v3.HTTPFault'],
    ['envoy.filters.http.jwt_authn', 'envoy.extensions.filters.http.jwt_authn.v3.JwtAuthentication'],
    ['envoy.filters.network.dubbo_proxy', 'envoy.extensions.filters.network.dubbo_proxy.v3.DubboProxy'],
    [
      'envoy.filters.http.adaptive_concurrency',
      'envoy.extensions.filters.http.adaptive_concurrency.v3.AdaptiveConcurrency',
    ],
    // Tagged in two files; the helper one loses:
    ['envoy.filters.http.ext_proc', 'envoy.extensions.filters.http.ext_proc.v3.ExternalProcessor'],
    // A tag on a nested message:
    ['envoy.clusters.original_dst', 'envoy.config.cluster.v3.Cluster.OriginalDstLbConfig'],
    ['envoy.filters.udp_listener.udp_proxy', 'envoy.extensions.filters.udp.udp_proxy.v3.UdpProxyConfig'],
    ['envoy.access_loggers.stdout', 'envoy.extensions.access_loggers.stream.v3.StdoutAccessLog'],
  ])('%s → %s', (name, type) => {
    expect(extensions.get(name)).toBe(type);
  });
});

describe('jsonName', () => {
  it.each([
    ['connect_timeout', 'connectTimeout'],
    ['consecutive_5xx', 'consecutive5xx'],
    ['name', 'name'],
    ['http2_protocol_options', 'http2ProtocolOptions'],
  ])('%s → %s', (name, json) => {
    expect(jsonName(name)).toBe(json);
  });
});
