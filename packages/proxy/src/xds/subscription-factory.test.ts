import { describe, expect, it } from 'vitest';
import { LogRegistry } from '../common/logger.js';
import type { ApiConfigSource, ConfigSource, Node } from '../config/types.js';
import { Store } from '../stats/store.js';
import type { ClusterManager } from '../upstream/cluster-manager.js';
import { CLUSTER } from './resources.js';
import { XdsSubscriptionFactory } from './subscription-factory.js';

const callbacks = { onConfigUpdate: () => {}, onConfigUpdateFailed: () => {} };

function subscribe(source: ConfigSource, o: { node?: Node; adsConfig?: ApiConfigSource } = {}) {
  const store = new Store();
  const factory = new XdsSubscriptionFactory({
    clusterManager: {} as ClusterManager,
    store,
    logs: new LogRegistry('off'),
    node: o.node ?? { id: 'front', cluster: 'web' },
    adsConfig: o.adsConfig,
    random: Math.random,
  });
  return () => factory.subscribe(source, CLUSTER, callbacks, store.scope('cluster_manager.cds.'));
}

const grpc = (services: number, extra: Partial<ApiConfigSource> = {}): ConfigSource => ({
  api_config_source: {
    api_type: 'GRPC',
    grpc_services: Array.from({ length: services }, () => ({ envoy_grpc: { cluster_name: 'xds_cluster' } })),
    ...extra,
  },
});

describe('config sources Envoy refuses', () => {
  it('need a node id and cluster', () => {
    expect(subscribe(grpc(1), { node: { id: 'front' } })).toThrow(
      "cds: node 'id' and 'cluster' are required. Set it either in 'node' config or via --service-node and --service-cluster options.",
    );
  });

  it('gRPC: exactly one gRPC service and no cluster_names; REST: one cluster name and a refresh_delay', () => {
    expect(subscribe(grpc(2))).toThrow(/must have a single gRPC service specified/);
    expect(subscribe(grpc(1, { cluster_names: ['xds_cluster'] }))).toThrow(
      /must not have a cluster name specified/,
    );
    const rest = (extra: Partial<ApiConfigSource>): ConfigSource => ({
      api_config_source: { api_type: 'REST', ...extra },
    });
    expect(subscribe(rest({ cluster_names: ['a', 'b'], refresh_delay: '1s' }))).toThrow(
      /must have a singleton cluster name specified/,
    );
    expect(subscribe(rest({ cluster_names: ['a'] }))).toThrow(
      'refresh_delay is required for REST API configuration sources',
    );
  });

  it('ads: {} needs dynamic_resources.ads_config', () => {
    expect(subscribe({ ads: {} })).toThrow(/no dynamic_resources\.ads_config/);
  });
});
