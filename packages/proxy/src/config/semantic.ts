/**
 * Checks Envoy makes when it builds its objects from a valid-looking config — things the protos
 * cannot express: unique names, resolvable addresses, route targets that exist, filter chains that
 * end in a terminal filter, references to static secrets and clusters. Messages quote Envoy's own
 * wording where people search for it, and add what to do.
 */

import { isIP } from 'node:net';
import { ConfigError } from './errors.js';
import { configTypeName, type ExtensionCategory, isTerminalFilter } from './extensions.js';
import type {
  ApiConfigSource,
  Bootstrap,
  Cluster,
  ClusterLoadAssignment,
  HttpConnectionManager,
  Listener,
  RouteConfiguration,
  Secret,
} from './types.js';
import { type Visit, visitMessages } from './visit.js';

interface StaticCluster {
  type: string;
  path: string;
}

interface StaticSecret {
  kind: 'tls_certificate' | 'validation_context' | 'other';
  path: string;
}

/** What a whole bootstrap provides to the checks of its parts. */
interface BootstrapScope {
  clusters: Map<string, StaticCluster>;
  secrets: Map<string, StaticSecret>;
}

function fail(path: string, reason: string): never {
  throw new ConfigError(reason, { fieldPath: path });
}

const join = (path: string, field: string) => (path ? `${path}.${field}` : field);

/** Indexes named entries and refuses duplicates, Envoy's "duplicate ... name" errors. */
function uniqueNames<T extends { name?: string }>(
  list: T[] | undefined,
  path: string,
  what: string,
): Map<string, { item: T; path: string }> {
  const byName = new Map<string, { item: T; path: string }>();
  (list ?? []).forEach((item, i) => {
    const at = `${path}[${i}]`;
    // Unnamed listeners get generated names in Envoy, so they cannot clash.
    if (item.name === undefined) return;
    const earlier = byName.get(item.name);
    if (earlier)
      fail(
        join(at, 'name'),
        `duplicate ${what} name '${item.name}' (${earlier.path} has it too); names must be unique`,
      );
    byName.set(item.name, { item, path: at });
  });
  return byName;
}

function checkListener({ value, path }: Visit): void {
  const listener = value as Listener;
  if (listener.api_listener || listener.internal_listener) return;
  if (!listener.address) {
    fail(
      path,
      `listener${listener.name ? ` '${listener.name}'` : ''} has no address; give it address.socket_address ` +
        '{address, port_value} (Envoy: "address is necessary")',
    );
  }
  const socket = listener.address.socket_address;
  const where = socket ? `${socket.address}:${socket.port_value ?? 0}` : (listener.address.pipe?.path ?? '');
  const chains = listener.filter_chains ?? [];
  // UDP listeners are configured by listener filters (udp_proxy) instead.
  if (chains.length === 0 && !listener.default_filter_chain && socket?.protocol !== 'UDP') {
    fail(
      path,
      `error adding listener '${where}': no filter chains specified; add filter_chains with the filters to run`,
    );
  }
  const matches = new Map<string, number>();
  chains.forEach((chain, i) => {
    const key = JSON.stringify(chain.filter_chain_match ?? {});
    const earlier = matches.get(key);
    if (earlier !== undefined) {
      fail(
        `${path}.filter_chains[${i}]`,
        `error adding listener '${where}': multiple filter chains with the same matching rules are defined ` +
          `(filter_chains[${earlier}] has the same filter_chain_match)`,
      );
    }
    matches.set(key, i);
  });
}

/** Envoy refuses chains whose terminal filter is not last, or whose last filter is not terminal. */
function checkFilterOrder(
  filters: { name: string; typed_config?: { '@type': string } }[] | undefined,
  path: string,
  category: ExtensionCategory,
  chain: string,
): void {
  const list = filters ?? [];
  list.forEach((filter, i) => {
    const typeName = configTypeName(filter, category) ?? 'unknown';
    const terminal = isTerminalFilter(typeName);
    const last = i === list.length - 1;
    if (terminal && !last) {
      fail(
        `${path}[${i}]`,
        `Error: terminal filter named ${filter.name} of type ${typeName} must be the last filter in a ${chain} filter chain`,
      );
    }
    if (!terminal && last) {
      fail(
        `${path}[${i}]`,
        `Error: non-terminal filter named ${filter.name} of type ${typeName} is the last filter in a ${chain} filter chain` +
          (chain === 'http' ? '; end http_filters with envoy.filters.http.router' : ''),
      );
    }
  });
}

function checkFilterChain({ value, path }: Visit): void {
  const chain = value as { filters?: { name: string; typed_config?: { '@type': string } }[] };
  checkFilterOrder(chain.filters, join(path, 'filters'), 'network filter', 'network');
}

function checkHttpConnectionManager({ value, path }: Visit): void {
  const hcm = value as HttpConnectionManager;
  checkFilterOrder(hcm.http_filters, join(path, 'http_filters'), 'HTTP filter', 'http');
}

function checkRouteConfiguration({ value, path }: Visit, scope?: BootstrapScope): void {
  const config = value as RouteConfiguration;
  const domains = new Map<string, string>();
  (config.virtual_hosts ?? []).forEach((vhost, v) => {
    const vpath = `${path}.virtual_hosts[${v}]`;
    vhost.domains.forEach((domain, d) => {
      const key = domain.toLowerCase();
      if (domains.has(key)) {
        fail(
          `${vpath}.domains[${d}]`,
          `Only unique values for domains are permitted. Duplicate entry of domain ${domain} in route ` +
            `${config.name ?? ''} (virtual host ${domains.get(key)} has it too)`,
        );
      }
      domains.set(key, vhost.name);
    });
    (vhost.routes ?? []).forEach((route, r) => {
      const action = route.route;
      if (!action) return;
      const apath = `${vpath}.routes[${r}].route`;
      const weighted = action.weighted_clusters;
      if (weighted) {
        const sum = weighted.clusters.reduce((total, c) => total + (c.weight ?? 0), 0);
        if (weighted.total_weight !== undefined && sum !== weighted.total_weight) {
          fail(
            `${apath}.weighted_clusters`,
            `Sum of weights in the weighted_cluster should add up to ${weighted.total_weight} (they add up to ${sum})`,
          );
        }
        if (sum === 0)
          fail(`${apath}.weighted_clusters`, 'Sum of weights in the weighted_cluster must be greater than 0');
      }
      // Envoy checks route targets of a static route table against the static clusters unless
      // validate_clusters is false (routes to CDS clusters need that).
      if (!scope || config.validate_clusters === false) return;
      const unknown = (name: string | undefined, at: string, kind: string) => {
        if (name !== undefined && !scope.clusters.has(name)) {
          fail(
            at,
            `route: unknown ${kind}'${name}'; define it under static_resources.clusters, or set ` +
              'route_config.validate_clusters: false if it comes from CDS',
          );
        }
      };
      unknown(action.cluster, `${apath}.cluster`, 'cluster ');
      weighted?.clusters.forEach((c, i) => {
        unknown(c.name, `${apath}.weighted_clusters.clusters[${i}].name`, 'weighted cluster ');
      });
      action.request_mirror_policies?.forEach((m, i) => {
        unknown(m.cluster, `${apath}.request_mirror_policies[${i}].cluster`, 'shadow cluster ');
      });
    });
  });
}

function endpointsOf(assignment: ClusterLoadAssignment | undefined, path: string) {
  const out: { address?: string; resolver?: string; path: string }[] = [];
  (assignment?.endpoints ?? []).forEach((locality, l) => {
    (locality.lb_endpoints ?? []).forEach((lbEndpoint, e) => {
      const socket = lbEndpoint.endpoint?.address?.socket_address;
      out.push({
        address: socket?.address,
        resolver: socket?.resolver_name,
        path: `${path}.endpoints[${l}].lb_endpoints[${e}].endpoint.address.socket_address.address`,
      });
    });
  });
  return out;
}

function checkIpEndpoints(assignment: ClusterLoadAssignment | undefined, path: string, why: string): void {
  for (const endpoint of endpointsOf(assignment, path)) {
    if (endpoint.address === undefined || endpoint.resolver || isIP(endpoint.address) !== 0) continue;
    fail(endpoint.path, `malformed IP address: ${endpoint.address}. ${why}`);
  }
}

const RING_DEFAULTS = { min: 1024, max: 8 * 1024 * 1024 };

function checkCluster({ value, path }: Visit): void {
  const cluster = value as Cluster;
  const type = cluster.type ?? (cluster.cluster_type ? 'CUSTOM' : 'STATIC');
  const assignment = join(path, 'load_assignment');
  if (type === 'STATIC') {
    checkIpEndpoints(
      cluster.load_assignment,
      assignment,
      "Consider setting resolver_name or setting cluster type to 'STRICT_DNS' or 'LOGICAL_DNS'",
    );
  }
  if (type === 'LOGICAL_DNS') {
    const localities = cluster.load_assignment?.endpoints ?? [];
    if (localities.length !== 1 || (localities[0]?.lb_endpoints ?? []).length !== 1) {
      fail(
        assignment,
        'LOGICAL_DNS clusters must have a single locality_lb_endpoint and a single lb_endpoint ' +
          '(use STRICT_DNS for several endpoints)',
      );
    }
  }
  if (type === 'EDS' && !cluster.eds_cluster_config) {
    fail(
      path,
      'cannot create an EDS cluster without an EDS config: add eds_cluster_config {eds_config: ...}',
    );
  }
  const ring = cluster.ring_hash_lb_config;
  if (ring) {
    const min = ring.minimum_ring_size ?? RING_DEFAULTS.min;
    const max = ring.maximum_ring_size ?? RING_DEFAULTS.max;
    if (min > max) {
      fail(
        join(path, 'ring_hash_lb_config'),
        `ring hash: minimum_ring_size (${min}) > maximum_ring_size (${max})`,
      );
    }
  }
}

function checkClusterLoadAssignment({ value, path, via }: Visit): void {
  // Inside a cluster, the cluster's type says whether addresses are resolved; an EDS resource's are not.
  if (via) return;
  checkIpEndpoints(value as unknown as ClusterLoadAssignment, path, 'EDS endpoints must be IP addresses');
}

function checkHttpHealthCheck({ value, path }: Visit): void {
  const ranges =
    (value as { expected_statuses?: { start?: number; end?: number }[] }).expected_statuses ?? [];
  ranges.forEach(({ start = 0, end = 0 }, i) => {
    const at = `${path}.expected_statuses[${i}]`;
    if (start >= end) {
      fail(
        at,
        `Invalid http expected status range: expecting start < end, but found start=${start} and end=${end}`,
      );
    }
    if (start < 100) fail(at, `Invalid http status range: expecting start >= 100, but found start=${start}`);
    if (end > 600) fail(at, `Invalid http status range: expecting end <= 600, but found end=${end}`);
  });
}

/** Envoy's runtime loader takes strings, numbers, booleans and nested mappings, nothing else. */
function checkStaticLayer(value: unknown, path: string, key: string): void {
  if (value === null || Array.isArray(value)) {
    fail(
      path,
      `Invalid runtime entry value for ${key}: ${value === null ? 'it is empty (null)' : 'lists are not allowed'}; ` +
        'runtime values are strings, numbers, booleans or nested mappings (is the next line meant to be indented under it?)',
    );
  }
  if (typeof value !== 'object') return;
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
    checkStaticLayer(v, `${path}.${k}`, key ? `${key}.${k}` : k);
  }
}

function checkRuntimeLayer({ value, path }: Visit): void {
  const layer = value as { static_layer?: Record<string, unknown> };
  if (layer.static_layer) checkStaticLayer(layer.static_layer, join(path, 'static_layer'), '');
}

/** xDS servers must be reachable before any xDS arrives: their cluster has to be static and not EDS. */
function checkApiConfigSource({ value, path }: Visit, scope: BootstrapScope): void {
  const source = value as ApiConfigSource;
  const names = [
    ...(source.cluster_names ?? []).map((name, i) => ({ name, at: `${path}.cluster_names[${i}]` })),
    ...(source.grpc_services ?? []).flatMap((service, i) =>
      service.envoy_grpc
        ? [
            {
              name: service.envoy_grpc.cluster_name,
              at: `${path}.grpc_services[${i}].envoy_grpc.cluster_name`,
            },
          ]
        : [],
    ),
  ];
  for (const { name, at } of names) {
    const cluster = scope.clusters.get(name);
    if (!cluster || cluster.type === 'EDS') {
      fail(
        at,
        `must name a statically defined non-EDS cluster: '${name}' does not exist, was added via api, or is an EDS cluster; ` +
          'define it under static_resources.clusters',
      );
    }
  }
}

interface SdsConfig {
  name?: string;
  sds_config?: unknown;
}

/** `..._sds_secret_config` without an sds_config names a static secret, which must exist and be of the right kind. */
function checkCommonTlsContext({ value, path }: Visit, scope: BootstrapScope): void {
  const context = value as {
    tls_certificate_sds_secret_configs?: SdsConfig[];
    validation_context_sds_secret_config?: SdsConfig;
    combined_validation_context?: { validation_context_sds_secret_config?: SdsConfig };
  };
  const expect = (config: SdsConfig | undefined, at: string, kind: StaticSecret['kind'], what: string) => {
    if (!config || config.sds_config || config.name === undefined) return;
    const secret = scope.secrets.get(config.name);
    if (!secret || secret.kind !== kind) {
      fail(
        join(at, 'name'),
        `Unknown static ${what}: ${config.name}` +
          (secret
            ? ` (${secret.path} is not a ${kind} secret)`
            : `; define it under static_resources.secrets with a ${kind}`),
      );
    }
  };
  context.tls_certificate_sds_secret_configs?.forEach((c, i) => {
    expect(c, `${path}.tls_certificate_sds_secret_configs[${i}]`, 'tls_certificate', 'secret');
  });
  expect(
    context.validation_context_sds_secret_config,
    join(path, 'validation_context_sds_secret_config'),
    'validation_context',
    'certificate validation context',
  );
  expect(
    context.combined_validation_context?.validation_context_sds_secret_config,
    join(path, 'combined_validation_context.validation_context_sds_secret_config'),
    'validation_context',
    'certificate validation context',
  );
}

type Check = (visit: Visit, scope?: BootstrapScope) => void;

/** Checks of a message wherever it appears (in a bootstrap or an xDS resource). */
const MESSAGE_CHECKS: Record<string, Check> = {
  'envoy.config.listener.v3.Listener': checkListener,
  'envoy.config.listener.v3.FilterChain': checkFilterChain,
  'envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager':
    checkHttpConnectionManager,
  'envoy.config.route.v3.RouteConfiguration': checkRouteConfiguration,
  'envoy.config.cluster.v3.Cluster': checkCluster,
  'envoy.config.endpoint.v3.ClusterLoadAssignment': checkClusterLoadAssignment,
  'envoy.config.core.v3.HealthCheck.HttpHealthCheck': checkHttpHealthCheck,
  'envoy.config.bootstrap.v3.RuntimeLayer': checkRuntimeLayer,
};

/** Checks that need the whole bootstrap's static clusters and secrets. */
const BOOTSTRAP_CHECKS: Record<string, (visit: Visit, scope: BootstrapScope) => void> = {
  'envoy.config.core.v3.ApiConfigSource': checkApiConfigSource,
  'envoy.extensions.transport_sockets.tls.v3.CommonTlsContext': checkCommonTlsContext,
};

function bootstrapScope(bootstrap: Bootstrap, path: string): BootstrapScope {
  const resources = join(path, 'static_resources');
  const statics = bootstrap.static_resources ?? {};
  uniqueNames(statics.listeners, `${resources}.listeners`, 'listener');
  const clusters = new Map<string, StaticCluster>();
  for (const [name, { item, path: at }] of uniqueNames(
    statics.clusters,
    `${resources}.clusters`,
    'cluster',
  )) {
    clusters.set(name, { type: item.type ?? 'STATIC', path: at });
  }
  const secrets = new Map<string, StaticSecret>();
  for (const [name, { item, path: at }] of uniqueNames<Secret>(
    statics.secrets,
    `${resources}.secrets`,
    'secret',
  )) {
    const kind = item.tls_certificate
      ? 'tls_certificate'
      : item.validation_context
        ? 'validation_context'
        : 'other';
    secrets.set(name, { kind, path: at });
  }
  return { clusters, secrets };
}

/**
 * Runs Envoy's semantic checks on a normalized `typeName` value (a Bootstrap, or an xDS resource
 * such as a Listener or Cluster). Throws ConfigError with the field path of the first problem.
 */
export function checkSemantics(typeName: string, value: Record<string, unknown>, path = ''): void {
  const scope =
    typeName === 'envoy.config.bootstrap.v3.Bootstrap' ? bootstrapScope(value as Bootstrap, path) : undefined;
  visitMessages(typeName, value, path, (visit) => {
    MESSAGE_CHECKS[visit.message.name]?.(visit, scope);
    if (scope) BOOTSTRAP_CHECKS[visit.message.name]?.(visit, scope);
  });
}
