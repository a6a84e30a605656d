import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import protobuf from 'protobufjs';
import { describe, expect, it } from 'vitest';
import { normalizeResource } from '../config/index.js';
import { decodeEnvelope, decodeMessage, encodeMessage } from './wire.js';

/** protobufjs over Envoy's own .proto files: the reference encoder/decoder these tests compare with. */
function referenceRoot(): protobuf.Root {
  const require = createRequire(import.meta.url);
  const deps = join(dirname(require.resolve('@grpc/grpc-js-xds/package.json')), 'deps');
  const includes = ['envoy-api', 'xds', 'googleapis', 'protoc-gen-validate'].map((d) => join(deps, d));
  includes.push(dirname(require.resolve('protobufjs/package.json')));
  const root = new protobuf.Root();
  root.resolvePath = (_origin, target) => includes.map((d) => join(d, target)).find(existsSync) ?? target;
  for (const file of [
    'envoy/config/cluster/v3/cluster.proto',
    'envoy/config/listener/v3/listener.proto',
    'envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager.proto',
    'envoy/extensions/filters/http/router/v3/router.proto',
    'envoy/extensions/upstreams/http/v3/http_protocol_options.proto',
    'envoy/service/discovery/v3/discovery.proto',
  ]) {
    root.loadSync(file, { keepCase: true });
  }
  root.resolveAll();
  return root;
}

const root = referenceRoot();

const CLUSTER = 'envoy.config.cluster.v3.Cluster';
const cluster = normalizeResource(CLUSTER, {
  name: 'webcluster',
  type: 'EDS',
  connect_timeout: '0.25s',
  lb_policy: 'LEAST_REQUEST',
  eds_cluster_config: {
    service_name: 'webcluster',
    eds_config: {
      resource_api_version: 'V3',
      api_config_source: {
        api_type: 'GRPC',
        transport_api_version: 'V3',
        grpc_services: [{ envoy_grpc: { cluster_name: 'xds_cluster' } }],
        set_node_on_first_message_only: true,
      },
    },
  },
  typed_extension_protocol_options: {
    'envoy.extensions.upstreams.http.v3.HttpProtocolOptions': {
      '@type': 'type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions',
      explicit_http_config: { http2_protocol_options: {} },
    },
  },
  least_request_lb_config: { choice_count: 3 },
  common_lb_config: { healthy_panic_threshold: { value: 25.5 } },
  circuit_breakers: { thresholds: [{ priority: 'HIGH', max_connections: 2048 }] },
  metadata: {
    filter_metadata: { 'envoy.lb': { version: 'v1', canary: true, weight: 3, tags: ['a', null] } },
  },
  dns_lookup_family: 'V4_ONLY',
  per_connection_buffer_limit_bytes: 0,
});

describe('wire encoding of Envoy messages', () => {
  it('encodes what protobufjs decodes to the same message (durations, enums, wrappers, Any, Struct, maps)', () => {
    const bytes = encodeMessage(CLUSTER, cluster);
    const type = root.lookupType(CLUSTER);
    const decoded = type.toObject(type.decode(bytes), {
      enums: String,
      longs: String,
      defaults: false,
    }) as Record<string, unknown>;
    expect(decoded.name).toBe('webcluster');
    expect(decoded.type).toBe('EDS');
    expect(decoded.lb_policy).toBe('LEAST_REQUEST');
    expect(decoded.connect_timeout).toEqual({ nanos: 250_000_000 });
    expect(decoded.least_request_lb_config).toEqual({ choice_count: { value: 3 } });
    expect(decoded.common_lb_config).toEqual({ healthy_panic_threshold: { value: 25.5 } });
    const options = (decoded.typed_extension_protocol_options as Record<string, { type_url: string }>)[
      'envoy.extensions.upstreams.http.v3.HttpProtocolOptions'
    ]!;
    expect(options.type_url).toBe(
      'type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions',
    );
    const meta = (
      decoded.metadata as { filter_metadata: Record<string, { fields: Record<string, unknown> }> }
    ).filter_metadata['envoy.lb']!.fields;
    // protobufjs' bundled google/protobuf/struct.proto names Value's fields in camelCase.
    expect(meta.version).toEqual({ stringValue: 'v1' });
    expect(meta.canary).toEqual({ boolValue: true });
    expect(meta.weight).toEqual({ numberValue: 3 });
    expect(meta.tags).toEqual({ listValue: { values: [{ stringValue: 'a' }, { nullValue: 'NULL_VALUE' }] } });
  });

  it('decodes what it encodes back to the normalized form, field for field', () => {
    expect(decodeMessage(CLUSTER, encodeMessage(CLUSTER, cluster))).toEqual(cluster);
  });

  it('decodes what protobufjs encodes (a DiscoveryResponse with an Any-packed Listener)', () => {
    const listener = normalizeResource('envoy.config.listener.v3.Listener', {
      name: 'listener_http',
      address: { socket_address: { address: '0.0.0.0', port_value: 80 } },
      filter_chains: [
        {
          filters: [
            {
              name: 'envoy.filters.network.http_connection_manager',
              typed_config: {
                '@type':
                  'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager',
                stat_prefix: 'http',
                rds: {
                  route_config_name: 'local_route',
                  config_source: { ads: {}, resource_api_version: 'V3' },
                },
                http_filters: [{ name: 'envoy.filters.http.router' }],
              },
            },
          ],
        },
      ],
    });
    const listenerType = root.lookupType('envoy.config.listener.v3.Listener');
    const hcmType = root.lookupType(
      'envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager',
    );
    const hcm = hcmType
      .encode(
        hcmType.fromObject({
          stat_prefix: 'http',
          rds: { route_config_name: 'local_route', config_source: { ads: {}, resource_api_version: 'V3' } },
          http_filters: [{ name: 'envoy.filters.http.router' }],
        }),
      )
      .finish();
    const listenerBytes = listenerType
      .encode(
        listenerType.fromObject({
          name: 'listener_http',
          address: { socket_address: { address: '0.0.0.0', port_value: 80 } },
          filter_chains: [
            {
              filters: [
                {
                  name: 'envoy.filters.network.http_connection_manager',
                  typed_config: { type_url: `type.googleapis.com/${hcmType.fullName.slice(1)}`, value: hcm },
                },
              ],
            },
          ],
        }),
      )
      .finish();
    const responseType = root.lookupType('envoy.service.discovery.v3.DiscoveryResponse');
    const bytes = responseType
      .encode(
        responseType.fromObject({
          version_info: '411',
          nonce: '7',
          type_url: 'type.googleapis.com/envoy.config.listener.v3.Listener',
          resources: [
            { type_url: 'type.googleapis.com/envoy.config.listener.v3.Listener', value: listenerBytes },
          ],
        }),
      )
      .finish();
    const decoded = decodeMessage('envoy.service.discovery.v3.DiscoveryResponse', bytes) as {
      version_info: string;
      nonce: string;
      resources: Record<string, unknown>[];
    };
    expect(decoded.version_info).toBe('411');
    expect(decoded.nonce).toBe('7');
    const { '@type': type, ...fields } = decoded.resources[0]!;
    expect(type).toBe('type.googleapis.com/envoy.config.listener.v3.Listener');
    expect(fields).toEqual(listener);
  });

  it('reads packed and unpacked repeated scalars, negative and 64-bit integers', () => {
    const thresholds = 'envoy.config.cluster.v3.CircuitBreakers.Thresholds';
    const retry = root.lookupType('envoy.config.route.v3.RetryPolicy');
    const codes = [503, 504, 429];
    const bytes = retry.encode(retry.fromObject({ retriable_status_codes: codes })).finish();
    expect(decodeMessage('envoy.config.route.v3.RetryPolicy', bytes)).toEqual({
      retriable_status_codes: codes,
    });
    const big = { max_connections: 4_000_000_000 };
    expect(decodeMessage(thresholds, encodeMessage(thresholds, big))).toEqual(big);
    const int64 = 'google.protobuf.Int64Value';
    expect(decodeMessage(int64, encodeMessage(int64, '-9007199254740993'))).toBe('-9007199254740993');
    expect(decodeMessage(int64, encodeMessage(int64, -5))).toBe(-5);
  });

  it('skips fields it does not know, as protobuf does', () => {
    const known = encodeMessage('envoy.config.core.v3.Node', { id: 'a', cluster: 'b' });
    const unknownField = Uint8Array.from([0xf8, 0x07, 0x01]); // field 127, varint 1
    const bytes = new Uint8Array([...unknownField, ...known]);
    expect(decodeMessage('envoy.config.core.v3.Node', bytes)).toEqual({ id: 'a', cluster: 'b' });
  });
});

describe('packed Anys', () => {
  it('leaves the resources of an envelope packed and writes packed ones as they are', () => {
    const node = { id: 'front', cluster: 'web' };
    const packed = {
      type_url: 'type.googleapis.com/envoy.config.core.v3.Node',
      value: encodeMessage('envoy.config.core.v3.Node', node),
    };
    const response = encodeMessage('envoy.service.discovery.v3.DiscoveryResponse', {
      version_info: '3',
      resources: [packed],
    });
    const envelope = decodeEnvelope('envoy.service.discovery.v3.DiscoveryResponse', response) as {
      resources: { type_url: string; value: Uint8Array }[];
    };
    expect(envelope.resources[0]!.type_url).toBe(packed.type_url);
    expect(decodeMessage('envoy.config.core.v3.Node', envelope.resources[0]!.value)).toEqual(node);
    expect(decodeMessage('envoy.service.discovery.v3.DiscoveryResponse', response)).toEqual({
      version_info: '3',
      resources: [{ '@type': packed.type_url, ...node }],
    });
  });
});
