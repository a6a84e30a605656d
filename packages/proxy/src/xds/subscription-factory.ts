/**
 * Turns a ConfigSource into a subscription, as Envoy's SubscriptionFactoryImpl: `path` /
 * `path_config_source` → a watched file; `ads: {}` → a watch on the one ADS stream of
 * `dynamic_resources.ads_config`; `api_config_source` GRPC → a stream of the type's own service;
 * REST → polling. The server owns one factory; it creates the ADS stream when first used.
 */

import type { LogRegistry } from '../common/logger.js';
import { ConfigError } from '../config/index.js';
import type { ApiConfigSource, ConfigSource, Node } from '../config/types.js';
import type { Scope, Store } from '../stats/store.js';
import type { ClusterManager } from '../upstream/cluster-manager.js';
import { FilesystemSubscription } from './filesystem.js';
import { GrpcMux, GrpcSubscription } from './grpc-mux.js';
import { checkApiConfigSource } from './management-server.js';
import { ADS_PATH, grpcPath, XDS_TYPES } from './resources.js';
import { RestSubscription } from './rest.js';
import {
  InitialFetchTimer,
  type Subscription,
  type SubscriptionCallbacks,
  type SubscriptionFactory,
  SubscriptionStats,
} from './subscription.js';

export interface XdsDeps {
  clusterManager: ClusterManager;
  store: Store;
  logs: LogRegistry;
  /** The node as requests carry it (`--service-node`/`--service-cluster` applied, build filled in). */
  node: Node;
  /** `dynamic_resources.ads_config`. */
  adsConfig: ApiConfigSource | undefined;
  random: () => number;
}

export class XdsSubscriptionFactory implements SubscriptionFactory {
  private ads: GrpcMux | undefined;
  private readonly log;

  constructor(private readonly deps: XdsDeps) {
    this.log = deps.logs.get('config', 'xds/subscription-factory.ts');
    if (deps.adsConfig) checkApiConfigSource(deps.adsConfig, 'dynamic_resources.ads_config');
  }

  subscribe(
    source: ConfigSource,
    typeName: string,
    callbacks: SubscriptionCallbacks,
    scope: Scope,
  ): Subscription {
    const short = XDS_TYPES[typeName]?.short ?? typeName;
    if (!this.deps.node.id || !this.deps.node.cluster) {
      // Envoy's check: management servers (and files' owners) tell proxies apart by these.
      throw new ConfigError(
        `${short}: node 'id' and 'cluster' are required. Set it either in 'node' config or via --service-node and --service-cluster options.`,
      );
    }
    const stats = new SubscriptionStats(scope);
    const what = `${short} (${scope.prefix.replace(/\.$/, '')})`;
    const file = source.path ?? source.path_config_source?.path;
    if (file !== undefined) {
      const watched = source.path_config_source?.watched_directory?.path;
      const log = this.deps.logs.get('config', 'xds/filesystem.ts');
      return new FilesystemSubscription(file, watched, typeName, callbacks, stats, log);
    }
    const initialFetch = new InitialFetchTimer(source, stats, callbacks, this.log, what);
    if (source.ads) {
      return new GrpcSubscription(this.adsMux(), false, typeName, callbacks, stats, initialFetch);
    }
    const api = source.api_config_source;
    if (!api)
      throw new ConfigError(
        'a config source needs one of path, path_config_source, api_config_source or ads',
      );
    checkApiConfigSource(api, 'api_config_source');
    if ((api.api_type ?? 'REST') === 'REST') {
      return new RestSubscription(api, typeName, callbacks, stats, initialFetch, {
        clusterManager: this.deps.clusterManager,
        node: this.deps.node,
        log: this.deps.logs.get('config', 'xds/rest.ts'),
      });
    }
    const mux = new GrpcMux({
      source: api,
      method: grpcPath(typeName),
      node: this.deps.node,
      clusterManager: this.deps.clusterManager,
      controlPlaneScope: scope.scope('control_plane.'),
      log: this.deps.logs.get('config', 'xds/grpc-mux.ts'),
      random: this.deps.random,
    });
    return new GrpcSubscription(mux, true, typeName, callbacks, stats, initialFetch);
  }

  pauseAds(typeName: string): () => void {
    return this.ads ? this.ads.pause(typeName) : () => {};
  }

  private adsMux(): GrpcMux {
    const config = this.deps.adsConfig;
    if (!config) {
      throw new ConfigError(
        'a config source says ads: {}, but the bootstrap has no dynamic_resources.ads_config to say where ADS is',
      );
    }
    this.ads ??= new GrpcMux({
      source: config,
      method: ADS_PATH,
      node: this.deps.node,
      clusterManager: this.deps.clusterManager,
      controlPlaneScope: this.deps.store.scope('control_plane.'),
      log: this.deps.logs.get('config', 'xds/grpc-mux.ts'),
      random: this.deps.random,
    });
    return this.ads;
  }

  shutdown(): void {
    this.ads?.shutdown();
  }
}
