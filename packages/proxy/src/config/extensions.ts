/**
 * Envoy's extension registry as far as configuration goes: which names exist in which slot
 * (network filter, HTTP filter, access logger, ...), which config message each one takes, and the
 * legacy names older Envoy configs (and the course notes) still use.
 *
 * Names and config messages come from the `[#extension: ...]` tags of the API protos; the tables
 * below add what the protos do not say: legacy names, direction-specific TLS contexts, protocol
 * option keys and which filters end a chain.
 *
 * How Envoy (≥ 1.20) picks the implementation, which this mirrors: a `typed_config` with an `@type`
 * decides by type, and the name is then only a label (`cr7_filters` is fine); without one (or with
 * `typed_config: {}`) the name decides, and an unknown name is an error.
 */

import { envoyApi } from './envoy-protos.js';
import { closest } from './suggest.js';
import type { Any } from './types.js';

export type ExtensionCategory =
  | 'network filter'
  | 'HTTP filter'
  | 'listener filter'
  | 'access logger'
  | 'upstream transport socket'
  | 'downstream transport socket'
  | 'retry host predicate'
  | 'retry priority'
  | 'tracer'
  | 'cluster'
  | 'health checker'
  | 'protocol options';

export interface Extension {
  /** The canonical name, e.g. `envoy.filters.http.router`. */
  name: string;
  category: ExtensionCategory;
  /** Full name of the config message, e.g. `envoy.extensions.filters.http.router.v3.Router`. */
  typeName: string;
}

export const TYPE_URL_PREFIX = 'type.googleapis.com/';

export function typeUrl(typeName: string): string {
  return TYPE_URL_PREFIX + typeName;
}

/** Name prefixes of each category (most categories are named this way in Envoy). */
const CATEGORY_PREFIXES: [string, ExtensionCategory[]][] = [
  ['envoy.filters.network.', ['network filter']],
  ['envoy.filters.http.', ['HTTP filter']],
  ['envoy.filters.listener.', ['listener filter']],
  ['envoy.filters.udp_listener.', ['listener filter']],
  ['envoy.access_loggers.', ['access logger']],
  ['envoy.transport_sockets.', ['upstream transport socket', 'downstream transport socket']],
  ['envoy.retry_host_predicates.', ['retry host predicate']],
  ['envoy.retry_priorities.', ['retry priority']],
  ['envoy.tracers.', ['tracer']],
  ['envoy.clusters.', ['cluster']],
  ['envoy.health_checkers.', ['health checker']],
];

/** Packages whose messages configure extensions of each category (for `@type`s whose tag we lack). */
const CATEGORY_PACKAGES: Record<ExtensionCategory, string[]> = {
  'network filter': ['envoy.extensions.filters.network.'],
  'HTTP filter': ['envoy.extensions.filters.http.'],
  'listener filter': ['envoy.extensions.filters.listener.', 'envoy.extensions.filters.udp.'],
  'access logger': ['envoy.extensions.access_loggers.'],
  'upstream transport socket': ['envoy.extensions.transport_sockets.'],
  'downstream transport socket': ['envoy.extensions.transport_sockets.'],
  'retry host predicate': ['envoy.extensions.retry.host.'],
  'retry priority': ['envoy.extensions.retry.priority.'],
  tracer: ['envoy.config.trace.v3.', 'envoy.extensions.tracers.'],
  cluster: ['envoy.extensions.clusters.'],
  'health checker': ['envoy.extensions.health_checkers.'],
  'protocol options': ['envoy.extensions.upstreams.'],
};

/** The TLS and STARTTLS sockets take a different message on each side; the tags name only one. */
const DIRECTIONAL: Extension[] = [
  {
    name: 'envoy.transport_sockets.tls',
    category: 'upstream transport socket',
    typeName: 'envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext',
  },
  {
    name: 'envoy.transport_sockets.tls',
    category: 'downstream transport socket',
    typeName: 'envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext',
  },
  {
    name: 'envoy.transport_sockets.starttls',
    category: 'upstream transport socket',
    typeName: 'envoy.extensions.transport_sockets.starttls.v3.UpstreamStartTlsConfig',
  },
  {
    name: 'envoy.transport_sockets.starttls',
    category: 'downstream transport socket',
    typeName: 'envoy.extensions.transport_sockets.starttls.v3.StartTlsConfig',
  },
];

/**
 * `Cluster.typed_extension_protocol_options` keys that are not filter names. Envoy registers the
 * upstream protocol options factories under their message names.
 */
const PROTOCOL_OPTIONS: Extension[] = [
  'envoy.extensions.upstreams.http.v3.HttpProtocolOptions',
  'envoy.extensions.upstreams.tcp.v3.TcpProtocolOptions',
].map((typeName) => ({ name: typeName, category: 'protocol options', typeName }));

/**
 * Names Envoy used before the `envoy.filters.*` naming (deprecated in 1.14), which the course
 * notes and many blog posts still use. They mean the same extension as the canonical name.
 */
export const LEGACY_NAMES: Record<string, string> = {
  'envoy.http_connection_manager': 'envoy.filters.network.http_connection_manager',
  'envoy.tcp_proxy': 'envoy.filters.network.tcp_proxy',
  'envoy.echo': 'envoy.filters.network.echo',
  'envoy.mongo_proxy': 'envoy.filters.network.mongo_proxy',
  'envoy.redis_proxy': 'envoy.filters.network.redis_proxy',
  'envoy.ratelimit': 'envoy.filters.network.ratelimit',
  'envoy.router': 'envoy.filters.http.router',
  'envoy.cors': 'envoy.filters.http.cors',
  'envoy.fault': 'envoy.filters.http.fault',
  'envoy.health_check': 'envoy.filters.http.health_check',
  'envoy.buffer': 'envoy.filters.http.buffer',
  'envoy.csrf': 'envoy.filters.http.csrf',
  'envoy.grpc_web': 'envoy.filters.http.grpc_web',
  'envoy.grpc_json_transcoder': 'envoy.filters.http.grpc_json_transcoder',
  'envoy.grpc_http1_bridge': 'envoy.filters.http.grpc_http1_bridge',
  'envoy.lua': 'envoy.filters.http.lua',
  'envoy.rate_limit': 'envoy.filters.http.ratelimit',
  'envoy.ip_tagging': 'envoy.filters.http.ip_tagging',
  'envoy.listener.tls_inspector': 'envoy.filters.listener.tls_inspector',
  'envoy.listener.http_inspector': 'envoy.filters.listener.http_inspector',
  'envoy.listener.original_dst': 'envoy.filters.listener.original_dst',
  'envoy.listener.original_src': 'envoy.filters.listener.original_src',
  'envoy.listener.proxy_protocol': 'envoy.filters.listener.proxy_protocol',
  'envoy.file_access_log': 'envoy.access_loggers.file',
  'envoy.http_grpc_access_log': 'envoy.access_loggers.http_grpc',
  'envoy.tcp_grpc_access_log': 'envoy.access_loggers.tcp_grpc',
  tls: 'envoy.transport_sockets.tls',
  raw_buffer: 'envoy.transport_sockets.raw_buffer',
  'envoy.zipkin': 'envoy.tracers.zipkin',
  'envoy.dynamic.ot': 'envoy.tracers.dynamic_ot',
  'envoy.lightstep': 'envoy.tracers.lightstep',
};

/** `envoy.ext_authz` was both a network and an HTTP filter. */
const LEGACY_NAMES_BY_CATEGORY: Partial<Record<ExtensionCategory, Record<string, string>>> = {
  'network filter': { 'envoy.ext_authz': 'envoy.filters.network.ext_authz' },
  'HTTP filter': { 'envoy.ext_authz': 'envoy.filters.http.ext_authz' },
};

/** Filters that must end their chain (Envoy's `isTerminalFilterByProto`); every other filter must not. */
const TERMINAL_FILTERS = new Set([
  'envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager',
  'envoy.extensions.filters.network.http_connection_manager.v3.EnvoyMobileHttpConnectionManager',
  'envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy',
  'envoy.extensions.filters.network.echo.v3.Echo',
  'envoy.extensions.filters.network.direct_response.v3.Config',
  'envoy.extensions.filters.network.redis_proxy.v3.RedisProxy',
  'envoy.extensions.filters.network.thrift_proxy.v3.ThriftProxy',
  'envoy.extensions.filters.network.dubbo_proxy.v3.DubboProxy',
  'envoy.extensions.filters.http.router.v3.Router',
  'envoy.extensions.filters.http.upstream_codec.v3.UpstreamCodec',
]);

export function isTerminalFilter(typeName: string): boolean {
  return TERMINAL_FILTERS.has(typeName);
}

let registry: Extension[] | undefined;

function allExtensions(): Extension[] {
  if (registry) return registry;
  const overridden = new Set(DIRECTIONAL.map((e) => e.name));
  const tagged: Extension[] = [];
  for (const [name, typeName] of envoyApi().schema.extensions) {
    if (overridden.has(name)) continue;
    for (const [prefix, categories] of CATEGORY_PREFIXES) {
      if (!name.startsWith(prefix)) continue;
      for (const category of categories) tagged.push({ name, category, typeName });
    }
  }
  registry = [...tagged, ...DIRECTIONAL, ...PROTOCOL_OPTIONS];
  return registry;
}

function canonicalName(category: ExtensionCategory, name: string): string {
  return LEGACY_NAMES_BY_CATEGORY[category]?.[name] ?? LEGACY_NAMES[name] ?? name;
}

/** The extension a name refers to in a category, legacy names included. */
export function findExtension(category: ExtensionCategory, name: string): Extension | undefined {
  const canonical = canonicalName(category, name);
  return allExtensions().find((e) => e.category === category && e.name === canonical);
}

/**
 * Why a config message cannot configure an extension of this category, or undefined if it can:
 * the message is registered for the category, or lives in the category's package and is not
 * registered elsewhere (an UpstreamTlsContext on a listener is refused).
 */
export function typeMismatch(category: ExtensionCategory, typeName: string): string | undefined {
  const entries = allExtensions().filter((e) => e.typeName === typeName);
  if (entries.some((e) => e.category === category)) return undefined;
  const other = entries[0];
  if (other) return `${typeName} configures the ${other.category} '${other.name}', not a ${category}`;
  if (CATEGORY_PACKAGES[category].some((p) => typeName.startsWith(p))) return undefined;
  return `${typeName} does not configure any ${category}`;
}

/** The closest known name of the category, to suggest for a typo. */
export function suggestExtension(category: ExtensionCategory, name: string): string | undefined {
  const names = allExtensions()
    .filter((e) => e.category === category)
    .map((e) => e.name);
  const legacy = Object.keys(LEGACY_NAMES).filter((n) => names.includes(LEGACY_NAMES[n] ?? ''));
  return closest(name, [...names, ...legacy]);
}

/** Whether a `typed_extension_protocol_options` key names something Envoy would look up. */
export function isProtocolOptionsKey(name: string): boolean {
  return (
    findExtension('protocol options', name) !== undefined ||
    findExtension('network filter', name) !== undefined ||
    findExtension('HTTP filter', name) !== undefined
  );
}

/**
 * The canonical config type URL of a filter (or other extension) in a normalized config: its
 * `@type`, or for a filter given only by name (the router without `typed_config`), the type its
 * name stands for. Pass the category where a name means different things (`envoy.transport_sockets.tls`
 * is an UpstreamTlsContext on clusters and a DownstreamTlsContext on listeners).
 */
export function filterTypeUrl(
  filter: { name?: string; typed_config?: Any },
  category?: ExtensionCategory,
): string {
  const declared = filter.typed_config?.['@type'];
  if (declared) return declared;
  const name = filter.name ?? '';
  const candidates = category
    ? [findExtension(category, name)].filter((e): e is Extension => e !== undefined)
    : allExtensions().filter((e) => e.name === LEGACY_NAMES[name] || e.name === name);
  const types = [...new Set(candidates.map((e) => e.typeName))];
  if (types.length === 1) return typeUrl(types[0] as string);
  if (types.length === 0) throw new Error(`Didn't find a registered implementation for name: '${name}'`);
  throw new Error(`'${name}' names several extensions (${types.join(', ')}); pass the category`);
}

/**
 * The config message of an extension in a slot of `category`, or undefined for a name this
 * registry does not know (an optional HTTP filter may name one).
 */
export function configTypeName(
  extension: { name?: string; typed_config?: Any },
  category: ExtensionCategory,
): string | undefined {
  const declared = extension.typed_config?.['@type'];
  if (declared) return declared.slice(TYPE_URL_PREFIX.length);
  return findExtension(category, extension.name ?? '')?.typeName;
}

/** Messages that name an extension (`name` + `typed_config`) and the category they pick from. */
const SLOTS: Record<string, ExtensionCategory> = {
  'envoy.config.listener.v3.Filter': 'network filter',
  'envoy.config.listener.v3.ListenerFilter': 'listener filter',
  'envoy.extensions.filters.network.http_connection_manager.v3.HttpFilter': 'HTTP filter',
  'envoy.config.accesslog.v3.AccessLog': 'access logger',
  'envoy.config.route.v3.RetryPolicy.RetryHostPredicate': 'retry host predicate',
  'envoy.config.route.v3.RetryPolicy.RetryPriority': 'retry priority',
  'envoy.config.trace.v3.Tracing.Http': 'tracer',
  'envoy.config.cluster.v3.Cluster.CustomClusterType': 'cluster',
  'envoy.config.core.v3.HealthCheck.CustomHealthCheck': 'health checker',
};

/** A TransportSocket is upstream or downstream depending on the field that holds it. */
const TRANSPORT_SOCKET_FIELDS: Record<string, ExtensionCategory> = {
  'envoy.config.cluster.v3.Cluster.transport_socket': 'upstream transport socket',
  'envoy.config.cluster.v3.Cluster.TransportSocketMatch.transport_socket': 'upstream transport socket',
  'envoy.config.listener.v3.FilterChain.transport_socket': 'downstream transport socket',
};

/** The extension category a message picks from, given the field it sits in; undefined if it is no extension slot. */
export function slotCategory(messageName: string, viaField?: string): ExtensionCategory | undefined {
  if (messageName === 'envoy.config.core.v3.TransportSocket') {
    return viaField ? TRANSPORT_SOCKET_FIELDS[viaField] : undefined;
  }
  return SLOTS[messageName];
}
