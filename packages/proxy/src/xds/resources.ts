/**
 * The xDS resource types meshcraft-proxy subscribes to, their type URLs and names, and turning the
 * resources of one discovery response into validated, normalized resources — the same validation a
 * config file gets, plus the feature gate — or one error that rejects (NACKs) the whole response.
 */

import { TYPE_URL_PREFIX, typeUrl } from '../config/extensions.js';
import { assertResourceImplemented } from '../config/feature-gate.js';
import { ConfigError, normalizeResource } from '../config/index.js';
import { decodeMessage, type PackedAny } from './wire.js';

export const LISTENER = 'envoy.config.listener.v3.Listener';
export const CLUSTER = 'envoy.config.cluster.v3.Cluster';
export const ROUTE_CONFIGURATION = 'envoy.config.route.v3.RouteConfiguration';
export const CLUSTER_LOAD_ASSIGNMENT = 'envoy.config.endpoint.v3.ClusterLoadAssignment';

export const DISCOVERY_REQUEST = 'envoy.service.discovery.v3.DiscoveryRequest';
export const DISCOVERY_RESPONSE = 'envoy.service.discovery.v3.DiscoveryResponse';

/** How Envoy names each discovery service in logs and stats, and where its REST endpoint is. */
export const XDS_TYPES: Record<
  string,
  { short: string; rest: string; grpcService: string; grpcMethod: string; wildcard: boolean }
> = {
  [LISTENER]: {
    short: 'lds',
    rest: '/v3/discovery:listeners',
    grpcService: 'envoy.service.listener.v3.ListenerDiscoveryService',
    grpcMethod: 'StreamListeners',
    wildcard: true,
  },
  [CLUSTER]: {
    short: 'cds',
    rest: '/v3/discovery:clusters',
    grpcService: 'envoy.service.cluster.v3.ClusterDiscoveryService',
    grpcMethod: 'StreamClusters',
    wildcard: true,
  },
  [ROUTE_CONFIGURATION]: {
    short: 'rds',
    rest: '/v3/discovery:routes',
    grpcService: 'envoy.service.route.v3.RouteDiscoveryService',
    grpcMethod: 'StreamRoutes',
    wildcard: false,
  },
  [CLUSTER_LOAD_ASSIGNMENT]: {
    short: 'eds',
    rest: '/v3/discovery:endpoints',
    grpcService: 'envoy.service.endpoint.v3.EndpointDiscoveryService',
    grpcMethod: 'StreamEndpoints',
    wildcard: false,
  },
};

export const ADS_PATH = '/envoy.service.discovery.v3.AggregatedDiscoveryService/StreamAggregatedResources';

/** The gRPC method path of a type's own (non-aggregated) discovery service. */
export function grpcPath(typeName: string): string {
  const t = XDS_TYPES[typeName];
  if (!t) throw new Error(`${typeName} is not an xDS resource type`);
  return `/${t.grpcService}/${t.grpcMethod}`;
}

export function typeNameOf(url: string): string {
  return url.startsWith(TYPE_URL_PREFIX)
    ? url.slice(TYPE_URL_PREFIX.length)
    : url.slice(url.lastIndexOf('/') + 1);
}

export { typeUrl };

/** A resource's name, the key xDS identifies it by (a ClusterLoadAssignment's is its cluster_name). */
export function resourceName(typeName: string, resource: Record<string, unknown>): string {
  const name = typeName === CLUSTER_LOAD_ASSIGNMENT ? resource?.cluster_name : resource?.name;
  return typeof name === 'string' ? name : '';
}

export interface DecodedResource<T = Record<string, unknown>> {
  name: string;
  resource: T;
}

/** A resource as it arrived: packed (gRPC) or as proto3 JSON with an `"@type"` (REST, files). */
export type RawResource = PackedAny | Record<string, unknown>;

function isPacked(raw: RawResource): raw is PackedAny {
  return (raw as PackedAny).value instanceof Uint8Array && typeof raw.type_url === 'string';
}

/**
 * Validates and normalizes every resource of one response of type `typeName` (Envoy: "type URL X
 * embedded in an individual Any does not match the message-wide type URL Y"), refusing what the
 * proxy does not implement. Throws a ConfigError naming the resource and field.
 */
export function decodeResources(typeName: string, raws: readonly RawResource[]): DecodedResource[] {
  return raws.map((raw, i) => {
    const at = `resources[${i}]`;
    const url = isPacked(raw) ? raw.type_url : String(raw['@type'] ?? '');
    if (typeNameOf(url) !== typeName) {
      throw new ConfigError(
        `type URL ${url} embedded in an individual Any does not match the message-wide type URL ${typeUrl(typeName)}`,
        { fieldPath: at },
      );
    }
    let value: unknown;
    try {
      value = isPacked(raw) ? decodeMessage(typeName, raw.value) : raw;
    } catch (err) {
      throw new ConfigError(`cannot decode the resource: ${(err as Error).message}`, { fieldPath: at });
    }
    // Errors name the resource too: a response's order means little to whoever reads the NACK.
    const named = (e: ConfigError, fieldPath: string) => {
      const name = resourceName(typeName, value as Record<string, unknown>);
      return new ConfigError(
        name ? `${e.reason} (in ${typeName.slice(typeName.lastIndexOf('.') + 1)} '${name}')` : e.reason,
        {
          fieldPath,
        },
      );
    };
    let resource: Record<string, unknown>;
    try {
      resource = normalizeResource(typeName, value, at);
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      throw named(err, err.fieldPath);
    }
    try {
      assertResourceImplemented(typeName, resource);
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      throw named(err, err.fieldPath ? `${at}.${err.fieldPath}` : at);
    }
    return { name: resourceName(typeName, resource), resource };
  });
}
