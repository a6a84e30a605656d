/**
 * `/config_dump`: `envoy.admin.v3.ConfigDump` after source/server/admin/config_dump_handler.cc —
 * one message per config tracker in Envoy's order (bootstrap, clusters, endpoints with
 * `?include_eds`, listeners, scoped routes and routes when an HTTP connection manager exists,
 * secrets), with `?resource=`, `?mask=` and `?name_regex=`, and sensitive fields redacted.
 */
import { RE2 } from 're2-wasm';
import type { Listener } from '../config/types.js';
import type { Host } from '../upstream/host.js';
import type { ClusterStatus, ConfigSnapshot, DumpedResource } from './context.js';
import { protoTimestamp } from './handler.js';
import { nodeWithBuild } from './version.js';

type Json = Record<string, unknown>;

const TYPE_URL_PREFIX = 'type.googleapis.com/';

const RESOURCE_TYPE = {
  cluster: 'envoy.config.cluster.v3.Cluster',
  endpoint: 'envoy.config.endpoint.v3.ClusterLoadAssignment',
  listener: 'envoy.config.listener.v3.Listener',
  route: 'envoy.config.route.v3.RouteConfiguration',
  secret: 'envoy.extensions.transport_sockets.tls.v3.Secret',
} as const;

type FieldKind =
  | { kind: 'scalar' }
  | { kind: 'message'; type?: string }
  | { kind: 'repeated'; element: string };

const scalar: FieldKind = { kind: 'scalar' };
const message = (type?: string): FieldKind => (type ? { kind: 'message', type } : { kind: 'message' });
const repeated = (element: string): FieldKind => ({ kind: 'repeated', element });

const A = 'envoy.admin.v3.';

/** The fields of the admin dump messages (config_dump.proto, config_dump_shared.proto), for masks and `?resource=`. */
const DUMP_FIELDS: Record<string, Record<string, FieldKind>> = {
  [`${A}BootstrapConfigDump`]: { bootstrap: message(), last_updated: message() },
  [`${A}ClustersConfigDump`]: {
    version_info: scalar,
    static_clusters: repeated(`${A}ClustersConfigDump.StaticCluster`),
    dynamic_active_clusters: repeated(`${A}ClustersConfigDump.DynamicCluster`),
    dynamic_warming_clusters: repeated(`${A}ClustersConfigDump.DynamicCluster`),
  },
  [`${A}ClustersConfigDump.StaticCluster`]: { cluster: message(), last_updated: message() },
  [`${A}ClustersConfigDump.DynamicCluster`]: {
    version_info: scalar,
    cluster: message(),
    last_updated: message(),
    error_state: message(),
    client_status: scalar,
  },
  [`${A}EndpointsConfigDump`]: {
    static_endpoint_configs: repeated(`${A}EndpointsConfigDump.StaticEndpointConfig`),
    dynamic_endpoint_configs: repeated(`${A}EndpointsConfigDump.DynamicEndpointConfig`),
  },
  [`${A}EndpointsConfigDump.StaticEndpointConfig`]: { endpoint_config: message(), last_updated: message() },
  [`${A}EndpointsConfigDump.DynamicEndpointConfig`]: {
    version_info: scalar,
    endpoint_config: message(),
    last_updated: message(),
    error_state: message(),
    client_status: scalar,
  },
  [`${A}ListenersConfigDump`]: {
    version_info: scalar,
    static_listeners: repeated(`${A}ListenersConfigDump.StaticListener`),
    dynamic_listeners: repeated(`${A}ListenersConfigDump.DynamicListener`),
  },
  [`${A}ListenersConfigDump.StaticListener`]: { listener: message(), last_updated: message() },
  [`${A}ListenersConfigDump.DynamicListener`]: {
    name: scalar,
    active_state: message(`${A}ListenersConfigDump.DynamicListenerState`),
    warming_state: message(`${A}ListenersConfigDump.DynamicListenerState`),
    draining_state: message(`${A}ListenersConfigDump.DynamicListenerState`),
    error_state: message(),
    client_status: scalar,
  },
  [`${A}ListenersConfigDump.DynamicListenerState`]: {
    version_info: scalar,
    listener: message(),
    last_updated: message(),
  },
  [`${A}ScopedRoutesConfigDump`]: {
    inline_scoped_route_configs: repeated(`${A}ScopedRoutesConfigDump.InlineScopedRouteConfigs`),
    dynamic_scoped_route_configs: repeated(`${A}ScopedRoutesConfigDump.DynamicScopedRouteConfigs`),
  },
  [`${A}RoutesConfigDump`]: {
    static_route_configs: repeated(`${A}RoutesConfigDump.StaticRouteConfig`),
    dynamic_route_configs: repeated(`${A}RoutesConfigDump.DynamicRouteConfig`),
  },
  [`${A}RoutesConfigDump.StaticRouteConfig`]: { route_config: message(), last_updated: message() },
  [`${A}RoutesConfigDump.DynamicRouteConfig`]: {
    version_info: scalar,
    route_config: message(),
    last_updated: message(),
    error_state: message(),
    client_status: scalar,
  },
  [`${A}SecretsConfigDump`]: {
    static_secrets: repeated(`${A}SecretsConfigDump.StaticSecret`),
    dynamic_active_secrets: repeated(`${A}SecretsConfigDump.DynamicSecret`),
    dynamic_warming_secrets: repeated(`${A}SecretsConfigDump.DynamicSecret`),
  },
  [`${A}SecretsConfigDump.StaticSecret`]: { name: scalar, last_updated: message(), secret: message() },
};

interface Section {
  type: string;
  message: Json;
}

/** Packs a resource as a proto3 JSON `Any`: `@type` first, then the message's own fields. */
function packAny(type: string, resource: object): Json {
  const { '@type': _ignored, ...fields } = resource as Json;
  return { '@type': TYPE_URL_PREFIX + type, ...fields };
}

/** Drops empty repeated fields and empty strings, as proto3 JSON does. */
function compact(fields: [string, unknown][]): Json {
  const out: Json = {};
  for (const [k, v] of fields) {
    if (v === undefined || v === '' || (Array.isArray(v) && v.length === 0)) continue;
    out[k] = v;
  }
  return out;
}

type NameMatcher = (name: string | undefined) => boolean;

function bootstrapSection(config: ConfigSnapshot): Section {
  const { node, ...rest } = config.bootstrap;
  return {
    type: `${A}BootstrapConfigDump`,
    message: {
      bootstrap: { node: nodeWithBuild(node), ...rest },
      last_updated: protoTimestamp(config.loadedAt),
    },
  };
}

function clustersSection(config: ConfigSnapshot, matches: NameMatcher): Section {
  const updated = (r: DumpedResource<unknown>) => protoTimestamp(r.lastUpdated ?? config.loadedAt);
  return {
    type: `${A}ClustersConfigDump`,
    message: compact([
      ['version_info', config.clustersVersionInfo],
      [
        'static_clusters',
        config.staticClusters
          .filter((r) => matches(r.resource.name))
          .map((r) => ({ cluster: packAny(RESOURCE_TYPE.cluster, r.resource), last_updated: updated(r) })),
      ],
      [
        'dynamic_active_clusters',
        config.dynamicClusters
          .filter((r) => matches(r.resource.name))
          .map((r) =>
            compact([
              ['version_info', r.versionInfo],
              ['cluster', packAny(RESOURCE_TYPE.cluster, r.resource)],
              ['last_updated', updated(r)],
            ]),
          ),
      ],
    ]),
  };
}

function lbEndpoint(host: Host): Json {
  const health = host.coarseHealth();
  return compact([
    [
      'endpoint',
      compact([
        ['address', { socket_address: { address: host.address, port_value: host.port } }],
        ['health_check_config', host.healthCheckPort ? { port_value: host.healthCheckPort } : {}],
        ['hostname', host.hostname],
      ]),
    ],
    ['health_status', health === 'healthy' ? 'HEALTHY' : health === 'degraded' ? 'DEGRADED' : 'UNHEALTHY'],
    ['metadata', host.metadata],
    ['load_balancing_weight', host.weight],
  ]);
}

/** A cluster's current hosts as Envoy rebuilds its ClusterLoadAssignment: one group per priority and locality. */
function loadAssignment(cluster: ClusterStatus): Json {
  const groups: { priority: number; locality: Host['locality']; hosts: Host[] }[] = [];
  for (const host of cluster.hosts) {
    const last = groups.at(-1);
    const sameGroup =
      last &&
      last.priority === host.priority &&
      last.locality.region === host.locality.region &&
      last.locality.zone === host.locality.zone &&
      last.locality.sub_zone === host.locality.sub_zone;
    if (sameGroup) last.hosts.push(host);
    else groups.push({ priority: host.priority, locality: host.locality, hosts: [host] });
  }
  return compact([
    ['cluster_name', cluster.edsServiceName || cluster.name],
    [
      'endpoints',
      groups.map((g) =>
        compact([
          ['locality', compact(Object.entries(g.locality))],
          ['lb_endpoints', g.hosts.map(lbEndpoint)],
          ['priority', g.priority === 0 ? undefined : g.priority],
        ]),
      ),
    ],
    // Envoy reports its default overprovisioning factor (140) when the config sets none.
    ['policy', { overprovisioning_factor: 140 }],
  ]);
}

function endpointsSection(clusters: ClusterStatus[], matches: NameMatcher): Section {
  const assignments = clusters
    .map((c) => ({ dynamic: c.addedViaApi, assignment: loadAssignment(c) }))
    .filter((a) => matches(a.assignment.cluster_name as string));
  const entries = (dynamic: boolean) =>
    assignments
      .filter((a) => a.dynamic === dynamic)
      .map((a) => ({ endpoint_config: packAny(RESOURCE_TYPE.endpoint, a.assignment) }));
  return {
    type: `${A}EndpointsConfigDump`,
    message: compact([
      ['static_endpoint_configs', entries(false)],
      ['dynamic_endpoint_configs', entries(true)],
    ]),
  };
}

function listenersSection(config: ConfigSnapshot, matches: NameMatcher): Section {
  const updated = (r: DumpedResource<unknown>) => protoTimestamp(r.lastUpdated ?? config.loadedAt);
  return {
    type: `${A}ListenersConfigDump`,
    message: compact([
      ['version_info', config.listenersVersionInfo],
      [
        'static_listeners',
        config.staticListeners
          .filter((r) => matches(r.resource.name))
          .map((r) => ({ listener: packAny(RESOURCE_TYPE.listener, r.resource), last_updated: updated(r) })),
      ],
      [
        'dynamic_listeners',
        config.dynamicListeners
          .filter((r) => matches(r.resource.name))
          .map((r) =>
            compact([
              ['name', r.resource.name],
              [
                'active_state',
                compact([
                  ['version_info', r.versionInfo],
                  ['listener', packAny(RESOURCE_TYPE.listener, r.resource)],
                  ['last_updated', updated(r)],
                ]),
              ],
            ]),
          ),
      ],
    ]),
  };
}

const HCM_FILTER_NAMES = new Set([
  'envoy.filters.network.http_connection_manager',
  'envoy.http_connection_manager',
]);

/** The HTTP connection managers' typed configs in a listener's filter chains. */
function httpConnectionManagers(listener: Listener): Json[] {
  const chains = [
    ...(listener.filter_chains ?? []),
    ...(listener.default_filter_chain ? [listener.default_filter_chain] : []),
  ];
  return chains
    .flatMap((chain) => chain.filters ?? [])
    .filter(
      (f) => HCM_FILTER_NAMES.has(f.name) || f.typed_config?.['@type']?.endsWith('.HttpConnectionManager'),
    )
    .map((f) => (f.typed_config ?? {}) as Json);
}

/**
 * Envoy registers the scoped-routes and routes trackers when the first HTTP connection manager is
 * built, so both appear exactly when some listener has one.
 */
function routeSections(config: ConfigSnapshot, matches: NameMatcher): Section[] {
  const listeners = [...config.staticListeners, ...config.dynamicListeners];
  const withHcm = listeners
    .map((l) => ({ l, hcms: httpConnectionManagers(l.resource) }))
    .filter((x) => x.hcms.length);
  const dynamicRoutes = config.dynamicRouteConfigs ?? [];
  if (withHcm.length === 0 && dynamicRoutes.length === 0) return [];
  const staticRoutes = withHcm.flatMap(({ l, hcms }) =>
    hcms
      .map((hcm) => hcm.route_config as Json | undefined)
      .filter((rc): rc is Json => rc !== undefined && matches(rc.name as string | undefined))
      .map((rc) => ({
        route_config: packAny(RESOURCE_TYPE.route, rc),
        last_updated: protoTimestamp(l.lastUpdated ?? config.loadedAt),
      })),
  );
  return [
    { type: `${A}ScopedRoutesConfigDump`, message: {} },
    {
      type: `${A}RoutesConfigDump`,
      message: compact([
        ['static_route_configs', staticRoutes],
        [
          'dynamic_route_configs',
          dynamicRoutes
            .filter((r) => matches(r.resource.name))
            .map((r) =>
              compact([
                ['version_info', r.versionInfo],
                ['route_config', packAny(RESOURCE_TYPE.route, r.resource)],
                ['last_updated', protoTimestamp(r.lastUpdated ?? config.loadedAt)],
              ]),
            ),
        ],
      ]),
    },
  ];
}

function secretsSection(config: ConfigSnapshot, matches: NameMatcher): Section {
  return {
    type: `${A}SecretsConfigDump`,
    message: compact([
      [
        'static_secrets',
        config.staticSecrets
          .filter((r) => matches(r.resource.name))
          .map((r) => ({
            name: r.resource.name,
            last_updated: protoTimestamp(r.lastUpdated ?? config.loadedAt),
            secret: packAny(RESOURCE_TYPE.secret, r.resource),
          })),
      ],
    ]),
  };
}

// ---------------------------------------------------------------------------------------------
// Field masks

class InvalidMask extends Error {}

/** Whether a mask path names fields of `type`; paths may only go on through singular messages. */
function validPath(type: string, path: string[]): boolean {
  const field = DUMP_FIELDS[type]?.[path[0] ?? ''];
  if (!field) return false;
  if (path.length === 1) return true;
  if (field.kind !== 'message') return false;
  return field.type === undefined || validPath(field.type, path.slice(1));
}

/**
 * protobuf's TrimMessage on JSON: keeps only the masked fields (an `Any` keeps its `@type`).
 * Fields inside resources are not checked against their protos; a path through a list is refused.
 */
function trim(value: Json, paths: string[][]): Json {
  const out: Json = {};
  if ('@type' in value) out['@type'] = value['@type'];
  for (const [key, v] of Object.entries(value)) {
    const sub = paths.filter((p) => p[0] === key);
    if (key === '@type' || sub.length === 0) continue;
    if (sub.some((p) => p.length === 1)) out[key] = v;
    else if (v !== null && typeof v === 'object' && !Array.isArray(v)) {
      out[key] = trim(
        v as Json,
        sub.map((p) => p.slice(1)),
      );
    } else throw new InvalidMask();
  }
  return out;
}

function maskPaths(mask: string): string[][] {
  return mask
    .split(',')
    .filter((p) => p !== '')
    .map((p) => p.split('.'));
}

// ---------------------------------------------------------------------------------------------
// Redaction

const REDACTED = '[redacted]';
/** Fields Envoy's protos mark `(udpa.annotations.sensitive)` that meshcraft-proxy configs can carry. */
const SENSITIVE_FIELDS = new Set(['private_key', 'password']);

function redactAll(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(redactAll);
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value).map(([k, v]) => [
        k,
        // bytes fields hold base64, so the marker is base64 too, as Envoy prints it.
        k === 'inline_bytes' ? Buffer.from(REDACTED).toString('base64') : redactAll(v),
      ]),
    );
  }
  return typeof value === 'string' ? REDACTED : value;
}

/** MessageUtil::redact: every string under a sensitive field becomes `[redacted]`. */
function redact(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(redact);
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value).map(([k, v]) => [k, SENSITIVE_FIELDS.has(k) ? redactAll(v) : redact(v)]),
    );
  }
  return value;
}

// ---------------------------------------------------------------------------------------------

export interface ConfigDumpQuery {
  resource?: string;
  mask?: string;
  nameRegex?: string;
  includeEds: boolean;
}

export type ConfigDumpResult = { ok: true; dump: Json } | { ok: false; status: number; message: string };

function nameMatcher(nameRegex: string | undefined): NameMatcher {
  if (!nameRegex) return () => true;
  // Envoy matches names with RE2 FullMatch.
  const re = new RE2(`^(?:${nameRegex})$`, 'u');
  return (name) => re.test(name ?? '');
}

function fieldMaskDebugString(paths: string[][]): string {
  return paths.map((p) => `paths: "${p.join('.')}"\n`).join('');
}

export function configDump(
  config: ConfigSnapshot,
  clusters: ClusterStatus[],
  query: ConfigDumpQuery,
): ConfigDumpResult {
  let matches: NameMatcher;
  try {
    matches = nameMatcher(query.nameRegex);
  } catch (e) {
    const reason = (e as Error).message;
    return {
      ok: false,
      status: 400,
      message: `INVALID_ARGUMENT: Error while parsing name_regex from ${query.nameRegex}: ${reason}`,
    };
  }
  const sections: Section[] = [
    bootstrapSection(config),
    clustersSection(config, matches),
    ...(query.includeEds && clusters.length > 0 ? [endpointsSection(clusters, matches)] : []),
    listenersSection(config, matches),
    ...routeSections(config, matches),
    secretsSection(config, matches),
  ];
  const paths = query.mask === undefined ? undefined : maskPaths(query.mask);
  const configs =
    query.resource === undefined
      ? allConfigs(sections, paths)
      : resourceConfigs(sections, query.resource, paths);
  if (!Array.isArray(configs)) return configs;
  if (configs.length === 0 && query.resource === undefined && query.mask !== undefined) {
    return {
      ok: false,
      status: 400,
      message: `FieldMask ${query.mask} could not be successfully applied to any configs.`,
    };
  }
  return { ok: true, dump: redact(configs.length > 0 ? { configs } : {}) as Json };
}

function allConfigs(sections: Section[], paths: string[][] | undefined): Json[] {
  const configs: Json[] = [];
  for (const s of sections) {
    let message = s.message;
    if (paths) {
      // As in Envoy, a mask that does not fit a message leaves that message out.
      if (!paths.every((p) => validPath(s.type, p))) continue;
      try {
        message = trim(message, paths);
      } catch {
        continue;
      }
    }
    configs.push(packAny(s.type, message));
  }
  return configs;
}

function resourceConfigs(
  sections: Section[],
  resource: string,
  paths: string[][] | undefined,
): Json[] | { ok: false; status: number; message: string } {
  for (const s of sections) {
    const field = DUMP_FIELDS[s.type]?.[resource];
    if (!field) continue;
    if (field.kind !== 'repeated') {
      return {
        ok: false,
        status: 400,
        message: `${resource} is not a repeated field. Use ?mask=${resource} to get only this field`,
      };
    }
    const invalid = {
      ok: false as const,
      status: 400,
      message: `FieldMask ${fieldMaskDebugString(paths ?? [])} could not be successfully used.`,
    };
    const elements = (s.message[resource] as Json[] | undefined) ?? [];
    const configs: Json[] = [];
    for (const element of elements) {
      let trimmed = element;
      if (paths) {
        if (!paths.every((p) => validPath(field.element, p))) return invalid;
        try {
          trimmed = trim(element, paths);
        } catch {
          return invalid;
        }
      }
      configs.push(packAny(field.element, trimmed));
    }
    return configs;
  }
  return { ok: false, status: 404, message: `${resource} not found in config dump` };
}
