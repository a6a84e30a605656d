/**
 * Where a config source's management server is: a host of the static cluster it names
 * (`envoy_grpc.cluster_name` or `cluster_names`), and the rules Envoy checks on an ApiConfigSource
 * before it subscribes.
 */

import { ConfigError } from '../config/index.js';
import type { ApiConfigSource } from '../config/types.js';
import type { ClusterManager } from '../upstream/cluster-manager.js';

/**
 * Envoy's checks of an ApiConfigSource: gRPC sources name exactly one gRPC service and no
 * cluster_names, REST sources exactly one cluster name; REST needs a refresh_delay.
 */
export function checkApiConfigSource(source: ApiConfigSource, fieldPath: string): void {
  const type = source.api_type ?? 'REST';
  const fail = (reason: string) => {
    throw new ConfigError(reason, { fieldPath });
  };
  if (type === 'GRPC') {
    if (source.cluster_names?.length) {
      fail(
        'API configs of api_type GRPC must not have a cluster name specified (name the cluster in grpc_services)',
      );
    }
    if (source.grpc_services?.length !== 1)
      fail('API configs of api_type GRPC must have a single gRPC service specified');
    if (!source.grpc_services?.[0]?.envoy_grpc) fail('the gRPC service must be an envoy_grpc {cluster_name}');
  } else {
    if (source.grpc_services?.length)
      fail(`API configs of api_type ${type} must not have a gRPC service specified`);
    if (source.cluster_names?.length !== 1)
      fail(`API configs of api_type ${type} must have a singleton cluster name specified`);
    if (!source.refresh_delay) fail('refresh_delay is required for REST API configuration sources');
  }
}

/** The management server's cluster of a checked ApiConfigSource. */
export function managementCluster(source: ApiConfigSource): string {
  return source.grpc_services?.[0]?.envoy_grpc?.cluster_name ?? source.cluster_names?.[0] ?? '';
}

/**
 * The address to (re)connect to on attempt `attempt`: the cluster's healthy hosts in turn (all of
 * them when none is healthy), so a failed server is followed by the next.
 */
export function managementServer(
  clusterManager: ClusterManager,
  clusterName: string,
  attempt: number,
): { address: string; port: number } | undefined {
  const hosts = clusterManager.get(clusterName)?.prioritySet.allHosts() ?? [];
  const healthy = hosts.filter((h) => h.coarseHealth() === 'healthy');
  const candidates = healthy.length > 0 ? healthy : hosts;
  const host = candidates[attempt % Math.max(candidates.length, 1)];
  return host && { address: host.address, port: host.port };
}
