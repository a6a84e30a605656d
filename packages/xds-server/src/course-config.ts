/**
 * The course's control-plane file (the `ikubernetes/envoy-xds-server` image, built from
 * stevesloka/envoy-xds-server): a simplified YAML, not Envoy's API —
 *
 *     name: myconfig
 *     spec:
 *       listeners:
 *       - {name: listener_http, address: 0.0.0.0, port: 80,
 *          routes: [{name: local_route, prefix: /, clusters: [webcluster]}]}
 *       clusters:
 *       - {name: webcluster, endpoints: [{address: 172.31.15.11, port: 80}]}
 *
 * — turned into the Envoy resources that server generates (its start-up log in the course notes):
 * per listener an HTTP connection manager (`stat_prefix: http`) fetching its routes over RDS; one
 * RouteConfiguration per listener, named after its first route, with virtual host `local_service`
 * for `*` and a prefix route to each route's first cluster; per cluster an EDS cluster
 * (`connect_timeout: 5s`, `dns_lookup_family: V4_ONLY`) and its ClusterLoadAssignment. RDS and
 * EDS come from the management server's cluster (`xds_cluster`), over their own gRPC streams as
 * the course's server has it, over ADS (`configSource: 'ads'`), or by REST polling (`'rest'`, for
 * proxies that poll this server's REST port, every `refresh_delay`).
 *
 * Unlike that server, resources dropped from the file are dropped from the snapshot.
 */

import type { ConfigSource } from '@meshcraft/proxy';
import { parse } from 'yaml';
import type { Resources } from './snapshot.js';

export interface CourseConfigOptions {
  /** How the generated RDS and EDS config sources fetch: own gRPC streams (the course's), ADS, or REST. */
  configSource?: 'grpc' | 'ads' | 'rest';
  /** The bootstrap's static cluster of the management server. */
  managementCluster?: string;
  /** `refresh_delay` of generated REST config sources (default "0.5s", as in the notes' REST example). */
  refreshDelay?: string;
}

function configSourceFor(options: CourseConfigOptions): ConfigSource {
  const cluster = options.managementCluster ?? 'xds_cluster';
  switch (options.configSource ?? 'grpc') {
    case 'ads':
      return { ads: {}, resource_api_version: 'V3' };
    case 'rest':
      return {
        api_config_source: {
          api_type: 'REST',
          transport_api_version: 'V3',
          cluster_names: [cluster],
          refresh_delay: options.refreshDelay ?? '0.5s',
        },
        resource_api_version: 'V3',
      };
    default:
      return {
        api_config_source: {
          api_type: 'GRPC',
          transport_api_version: 'V3',
          grpc_services: [{ envoy_grpc: { cluster_name: cluster } }],
          set_node_on_first_message_only: true,
        },
        resource_api_version: 'V3',
      };
  }
}

/** A problem in the course file, with the path of the offending entry. */
export class CourseConfigError extends Error {}

function fail(path: string, reason: string): never {
  throw new CourseConfigError(`${path}: ${reason}`);
}

function list(value: unknown, path: string): unknown[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) fail(path, 'expected a list');
  return value;
}

function text(value: unknown, path: string): string {
  if (typeof value !== 'string' || value === '') fail(path, 'expected a non-empty string');
  return value;
}

function port(value: unknown, path: string): number {
  const n = typeof value === 'string' ? Number(value) : value;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 0 || n > 65535)
    fail(path, 'expected a port number');
  return n;
}

function record(value: unknown, path: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) fail(path, 'expected a mapping');
  return value as Record<string, unknown>;
}

/** Parses the course's control-plane YAML into Envoy resources. Throws CourseConfigError naming the entry. */
export function courseResources(yamlText: string, options: CourseConfigOptions = {}): Resources {
  let doc: unknown;
  try {
    doc = parse(yamlText);
  } catch (err) {
    throw new CourseConfigError(`not valid YAML: ${(err as Error).message}`);
  }
  const spec = record(record(doc ?? {}, '(file)').spec ?? {}, 'spec');
  const source = configSourceFor(options);
  const resources: Required<Resources> = { listeners: [], routes: [], clusters: [], endpoints: [] };
  list(spec.listeners, 'spec.listeners').forEach((raw, i) => {
    const at = `spec.listeners[${i}]`;
    const l = record(raw, at);
    const routes = list(l.routes, `${at}.routes`).map((r, j) => {
      const rat = `${at}.routes[${j}]`;
      const route = record(r, rat);
      const [target] = list(route.clusters, `${rat}.clusters`);
      return {
        name: text(route.name, `${rat}.name`),
        prefix: text(route.prefix, `${rat}.prefix`),
        cluster: text(target, `${rat}.clusters[0]`),
      };
    });
    if (routes.length === 0) fail(`${at}.routes`, 'a listener needs at least one route');
    const routeName = routes[0]!.name;
    resources.listeners.push({
      name: text(l.name, `${at}.name`),
      address: {
        socket_address: { address: text(l.address, `${at}.address`), port_value: port(l.port, `${at}.port`) },
      },
      filter_chains: [
        {
          filters: [
            {
              name: 'envoy.filters.network.http_connection_manager',
              typed_config: {
                '@type':
                  'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager',
                stat_prefix: 'http',
                rds: { config_source: source, route_config_name: routeName },
                http_filters: [{ name: 'envoy.filters.http.router' }],
              },
            },
          ],
        },
      ],
    });
    resources.routes.push({
      name: routeName,
      virtual_hosts: [
        {
          name: 'local_service',
          domains: ['*'],
          routes: routes.map((r) => ({ match: { prefix: r.prefix }, route: { cluster: r.cluster } })),
        },
      ],
    });
  });
  list(spec.clusters, 'spec.clusters').forEach((raw, i) => {
    const at = `spec.clusters[${i}]`;
    const c = record(raw, at);
    const name = text(c.name, `${at}.name`);
    resources.clusters.push({
      name,
      type: 'EDS',
      eds_cluster_config: { eds_config: source },
      connect_timeout: '5s',
      dns_lookup_family: 'V4_ONLY',
    });
    resources.endpoints.push({
      cluster_name: name,
      endpoints: [
        {
          lb_endpoints: list(c.endpoints, `${at}.endpoints`).map((e, j) => {
            const ep = record(e, `${at}.endpoints[${j}]`);
            return {
              endpoint: {
                address: {
                  socket_address: {
                    address: text(ep.address, `${at}.endpoints[${j}].address`),
                    port_value: port(ep.port, `${at}.endpoints[${j}].port`),
                  },
                },
              },
            };
          }),
        },
      ],
    });
  });
  return resources;
}
