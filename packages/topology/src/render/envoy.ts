/**
 * Rendering one proxy's structured config to an Envoy v3 bootstrap.
 *
 * Output is what real Envoy v1.29+ accepts without deprecation warnings (no meshcraft-only fields,
 * `typed_extension_protocol_options` for HTTP/2, `string_match` header matchers, typed router
 * config), with keys in a fixed order so the same lab and plan always give the same bytes.
 * Browser-safe.
 */
import { membershipDnsName } from '../layout.js';
import { deepMerge } from '../merge.js';
import {
  appHost,
  appPort,
  clusterName,
  DEFAULT_ADMIN_PORT,
  DEFAULT_XDS_PORT,
  type ForwardEdge,
  type LabIndex,
  type ListenerView,
  membershipPort,
  type ProxyView,
  replicasOf,
  routeAction,
} from '../model.js';
import { envoyDuration } from '../names.js';
import type {
  CircuitBreakerThresholdsSpec,
  ClusterNode,
  DataSourceSpec,
  DownstreamTlsSpec,
  HashPolicySpec,
  HeaderMatchSpec,
  HealthCheckSpec,
  LocalClusterSpec,
  OutlierDetectionSpec,
  QueryParameterMatchSpec,
  RedirectSpec,
  RouteSpec,
  ServiceNode,
  TlsCertificateSpec,
  UpstreamTlsSpec,
} from '../schema.js';

export type Json = Record<string, unknown>;

export const TYPES = {
  hcm: 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager',
  tcpProxy: 'type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy',
  udpProxy: 'type.googleapis.com/envoy.extensions.filters.udp.udp_proxy.v3.UdpProxyConfig',
  udpRoute: 'type.googleapis.com/envoy.extensions.filters.udp.udp_proxy.v3.Route',
  router: 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router',
  fileLog: 'type.googleapis.com/envoy.extensions.access_loggers.file.v3.FileAccessLog',
  downstreamTls: 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext',
  upstreamTls: 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext',
  httpOptions: 'type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions',
  listener: 'type.googleapis.com/envoy.config.listener.v3.Listener',
  cluster: 'type.googleapis.com/envoy.config.cluster.v3.Cluster',
  cla: 'type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment',
} as const;

export const HTTP_OPTIONS_KEY = 'envoy.extensions.upstreams.http.v3.HttpProtocolOptions';
export const XDS_CLUSTER = 'xds_cluster';
/** The static cluster a console-served proxy reaches the console's control plane through. */
export const CONSOLE_XDS_CLUSTER = 'meshcraft_console_xds';
export const LDS_PATH = '/etc/envoy/conf.d/lds.yaml';
export const CDS_PATH = '/etc/envoy/conf.d/cds.yaml';

/** What the renderer needs to know about where things are, for one proxy in one namespace. */
export interface ProxyContext {
  index: LabIndex;
  proxy: ProxyView;
  /** The namespace (`NamespaceLayout.id`) this copy of the proxy runs in. */
  namespace: string;
  /** Address a listener or local endpoint binds/uses, given the lab's address. */
  bindAddress(labAddress: string): string;
  /** The port actually used for a lab port. */
  port(labPort: number): number;
  /** Address of a member namespace, for STATIC/EDS endpoints and the control plane file. */
  namespaceAddress(nsId: string, why: string): string;
  /** Path the proxy uses for a file given at a container path. */
  filePath(containerPath: string): string;
  /** The same for a file the proxy writes (logs, profiles): locally its directory must exist first. */
  writablePath(containerPath: string): string;
  /** DNS name of the control plane this proxy talks to. */
  controlPlaneHost?: string;
  /** Set when the console's control plane serves this proxy (see `ConsoleDelivery`). */
  console?: ConsoleDelivery;
}

/**
 * Where a proxy the console serves reaches the console's control plane, and the node id it is
 * known by there. The bootstrap then holds the node, admin, runtime layers, secrets and the way to
 * the control plane; listeners, routes, clusters and endpoints come over ADS, so a lab edit
 * reaches the running proxy without a restart.
 */
export interface ConsoleDelivery {
  host: string;
  port: number;
  nodeId: string;
}

/** What a control plane serves one proxy: Envoy v3 resources of each xDS type. */
export interface XdsResources {
  listeners: Json[];
  routes: Json[];
  clusters: Json[];
  endpoints: Json[];
}

export interface RenderedEnvoy {
  bootstrap: Json;
  /** Extra files the proxy reads (EDS/LDS/CDS), container path → JSON content. */
  files: Map<string, Json>;
  /** Listeners and clusters as served dynamically (for a control plane), empty for static delivery. */
  dynamic?: { listeners: Json[]; clusters: Json[] };
  /** For a proxy the console serves: its resources. */
  xds?: XdsResources;
}

/** Where the renderer puts what does not stay inside a listener or cluster. */
interface Sink {
  /** Extra files the proxy reads (EDS/LDS/CDS), container path → JSON content. */
  files: Map<string, Json>;
  /** Route configurations served over RDS, and endpoint assignments over EDS (console delivery). */
  routes: Json[];
  endpoints: Json[];
}

const ADS_SOURCE = { resource_api_version: 'V3', ads: {} } as const;

export function renderEnvoy(ctx: ProxyContext): RenderedEnvoy {
  const p = ctx.proxy;
  const spec = p.spec;
  const sink: Sink = { files: new Map(), routes: [], endpoints: [] };
  // The console serves its proxies the way the course's ADS labs are served: everything over one stream.
  const delivery = ctx.console ? 'ads' : (spec.delivery?.mode ?? 'static');
  const routeNames = ctx.console ? routeConfigNames(p) : undefined;
  const listeners = p.listeners.map((l) => renderListener(ctx, l, sink, routeNames?.get(l)));
  const clusters = ctx.index.clustersOfProxy(p).map((c) => renderCluster(ctx, c, sink, delivery));
  if (p.sidecar && needsLocalCluster(p)) clusters.unshift(renderLocalCluster(ctx));

  const bootstrap: Json = {};
  const node = spec.envoyNode;
  if (ctx.console) {
    // One control plane serves every lab's proxies: the node id must name this one copy of it.
    bootstrap.node = { id: ctx.console.nodeId, cluster: node?.cluster ?? p.node.id };
  } else if (node || delivery !== 'static') {
    bootstrap.node = { id: node?.id ?? p.node.id, cluster: node?.cluster ?? p.node.id };
  }
  bootstrap.admin = renderAdmin(ctx);
  if (spec.runtime?.length) {
    bootstrap.layered_runtime = {
      layers: spec.runtime.map((l) =>
        'admin' in l ? { name: l.name, admin_layer: {} } : { name: l.name, static_layer: l.static },
      ),
    };
  }
  const staticResources: Json = {};
  let dynamic: RenderedEnvoy['dynamic'];
  let xds: XdsResources | undefined;
  if (delivery === 'static') {
    if (listeners.length) staticResources.listeners = listeners;
    if (clusters.length) staticResources.clusters = clusters;
  } else if (delivery === 'filesystem') {
    bootstrap.dynamic_resources = {
      lds_config: { path_config_source: { path: ctx.filePath(LDS_PATH) }, resource_api_version: 'V3' },
      cds_config: { path_config_source: { path: ctx.filePath(CDS_PATH) }, resource_api_version: 'V3' },
    };
    sink.files.set(LDS_PATH, {
      version_info: '1',
      resources: listeners.map((l) => ({ '@type': TYPES.listener, ...l })),
    });
    sink.files.set(CDS_PATH, {
      version_info: '1',
      resources: clusters.map((c) => ({ '@type': TYPES.cluster, ...c })),
    });
  } else {
    const xdsCluster = ctx.console ? CONSOLE_XDS_CLUSTER : XDS_CLUSTER;
    const grpc = {
      api_type: 'GRPC',
      transport_api_version: 'V3',
      grpc_services: [{ envoy_grpc: { cluster_name: xdsCluster } }],
      set_node_on_first_message_only: true,
    };
    bootstrap.dynamic_resources =
      delivery === 'ads'
        ? { ads_config: grpc, cds_config: ADS_SOURCE, lds_config: ADS_SOURCE }
        : {
            lds_config: { resource_api_version: 'V3', api_config_source: grpc },
            cds_config: { resource_api_version: 'V3', api_config_source: grpc },
          };
    if (ctx.console) {
      staticResources.clusters = [renderXdsCluster(xdsCluster, 'STATIC', ctx.console.host, ctx.console.port)];
      xds = { listeners, routes: sink.routes, clusters, endpoints: sink.endpoints };
    } else {
      const cpId = spec.delivery!.controlPlane!;
      const cp = ctx.index.nodes.get(cpId);
      const port = ctx.port(cp?.kind === 'controlPlane' ? (cp.port ?? DEFAULT_XDS_PORT) : DEFAULT_XDS_PORT);
      staticResources.clusters = [
        renderXdsCluster(xdsCluster, 'STRICT_DNS', ctx.controlPlaneHost ?? cpId, port),
      ];
      dynamic = { listeners, clusters };
    }
  }
  if (spec.secrets?.length) {
    staticResources.secrets = spec.secrets.map((s) =>
      s.certificate
        ? { name: s.name, tls_certificate: renderCertificate(ctx, s.certificate) }
        : { name: s.name, validation_context: { trusted_ca: dataSource(ctx, s.trustedCa!) } },
    );
  }
  if (Object.keys(staticResources).length) bootstrap.static_resources = staticResources;

  if (spec.raw?.mode === 'replace')
    return { bootstrap: spec.raw.bootstrap, files: new Map(), dynamic: undefined };
  return {
    bootstrap: spec.raw ? (deepMerge(bootstrap, spec.raw.bootstrap) as Json) : bootstrap,
    files: sink.files,
    dynamic,
    xds,
  };
}

/**
 * The name each HTTP listener's route configuration has over RDS. Inline, every listener may call
 * its own `local_route`; served by name, they must differ, so a name a listener before took gets
 * the listener's name appended.
 */
function routeConfigNames(p: ProxyView): Map<ListenerView, string> {
  const out = new Map<ListenerView, string>();
  const taken = new Set<string>();
  for (const l of p.listeners) {
    if (l.protocol !== 'http') continue;
    const base = l.spec.routeConfigName ?? 'local_route';
    const name = taken.has(base) ? `${base}/${l.spec.name}` : base;
    taken.add(name);
    out.set(l, name);
  }
  return out;
}

function needsLocalCluster(p: ProxyView): boolean {
  return p.listeners.some(
    (l) => l.spec.local || (l.spec.virtualHosts ?? []).some((vh) => vh.routes.some((r) => r.local)),
  );
}

function renderAdmin(ctx: ProxyContext): Json {
  const a = ctx.proxy.spec.admin;
  const admin: Json = {};
  if (a?.accessLogPath) admin.access_log = [fileAccessLog(ctx.writablePath(a.accessLogPath))];
  if (a?.profilePath) admin.profile_path = ctx.writablePath(a.profilePath);
  admin.address = socketAddress(
    ctx.bindAddress(a?.address ?? '0.0.0.0'),
    ctx.port(a?.port ?? DEFAULT_ADMIN_PORT),
  );
  return admin;
}

function socketAddress(address: string, port: number, protocol?: 'UDP'): Json {
  return {
    socket_address: protocol ? { protocol, address, port_value: port } : { address, port_value: port },
  };
}

function fileAccessLog(path: string): Json {
  return { name: 'envoy.access_loggers.file', typed_config: { '@type': TYPES.fileLog, path } };
}

// ---------------------------------------------------------------------------------------------
// Listeners

function renderListener(ctx: ProxyContext, l: ListenerView, sink: Sink, rdsName?: string): Json {
  const s = l.spec;
  const address = ctx.bindAddress(l.address);
  const port = ctx.port(s.port);
  let listener: Json;
  if (l.protocol === 'udp') {
    const edge = ctx.index.edgesFrom(ctx.proxy.node.id, { listener: s.name })[0];
    const target = s.local
      ? localClusterName(ctx.proxy)
      : edge
        ? clusterName(ctx.index.cluster(edge.to)!)
        : '';
    listener = {
      name: s.name,
      address: socketAddress(address, port, 'UDP'),
      listener_filters: [
        {
          name: 'envoy.filters.udp_listener.udp_proxy',
          typed_config: {
            '@type': TYPES.udpProxy,
            stat_prefix: s.statPrefix ?? s.name,
            matcher: {
              on_no_match: {
                action: { name: 'route', typed_config: { '@type': TYPES.udpRoute, cluster: target } },
              },
            },
          },
        },
      ],
    };
  } else {
    const filter = l.protocol === 'tcp' ? renderTcpProxy(ctx, l) : renderHcm(ctx, l, sink, rdsName);
    const chain: Json = { filters: [filter] };
    if (s.tls) chain.transport_socket = downstreamTls(ctx, s.tls);
    listener = { name: s.name, address: socketAddress(address, port), filter_chains: [chain] };
  }
  return s.extra ? (deepMerge(listener, s.extra) as Json) : listener;
}

function renderTcpProxy(ctx: ProxyContext, l: ListenerView): Json {
  const s = l.spec;
  const config: Json = { '@type': TYPES.tcpProxy, stat_prefix: s.statPrefix ?? s.name };
  if (s.local) config.cluster = localClusterName(ctx.proxy);
  else {
    const edges = ctx.index.edgesFrom(ctx.proxy.node.id, { listener: s.name });
    if (edges.length === 1) config.cluster = clusterName(ctx.index.cluster(edges[0]!.to)!);
    else
      config.weighted_clusters = {
        clusters: edges.map((e) => ({ name: clusterName(ctx.index.cluster(e.to)!), weight: e.weight ?? 1 })),
      };
  }
  return { name: 'envoy.filters.network.tcp_proxy', typed_config: config };
}

/** With `rdsName`, the route configuration is served over RDS under that name instead of inline. */
function renderHcm(ctx: ProxyContext, l: ListenerView, sink: Sink, rdsName?: string): Json {
  const s = l.spec;
  const config: Json = {
    '@type': TYPES.hcm,
    stat_prefix: s.statPrefix ?? 'ingress_http',
    codec_type: (s.codec ?? 'auto').toUpperCase(),
  };
  if (s.generateRequestId !== undefined) config.generate_request_id = s.generateRequestId;
  if (s.useRemoteAddress !== undefined) config.use_remote_address = s.useRemoteAddress;
  if (s.accessLog)
    config.access_log = [fileAccessLog(s.accessLog === true ? '/dev/stdout' : ctx.writablePath(s.accessLog))];
  const virtualHosts = (s.virtualHosts ?? []).map((vh) => ({
    name: vh.name,
    domains: vh.domains,
    routes: vh.routes.map((r) => renderRoute(ctx, r)),
  }));
  if (rdsName) {
    config.rds = { config_source: ADS_SOURCE, route_config_name: rdsName };
    sink.routes.push({ name: rdsName, virtual_hosts: virtualHosts });
  } else {
    config.route_config = { name: s.routeConfigName ?? 'local_route', virtual_hosts: virtualHosts };
  }
  config.http_filters = [{ name: 'envoy.filters.http.router', typed_config: { '@type': TYPES.router } }];
  return { name: 'envoy.filters.network.http_connection_manager', typed_config: config };
}

function renderRoute(ctx: ProxyContext, r: RouteSpec): Json {
  const route: Json = {};
  if (r.name) route.name = r.name;
  route.match = renderMatch(r);
  const action = routeAction(r);
  if (action === 'redirect') route.redirect = renderRedirect(r.redirect!);
  else if (action === 'directResponse') {
    const d = r.directResponse!;
    route.direct_response =
      d.body !== undefined ? { status: d.status, body: { inline_string: d.body } } : { status: d.status };
  } else {
    const edges: ForwardEdge[] =
      action === 'local' ? [] : ctx.index.edgesFrom(ctx.proxy.node.id, { route: r.id });
    const target: Json = {};
    if (action === 'local') target.cluster = localClusterName(ctx.proxy);
    else if (edges.length === 1 && r.totalWeight === undefined)
      target.cluster = clusterName(ctx.index.cluster(edges[0]!.to)!);
    else {
      const wc: Json = {
        clusters: edges.map((e) => {
          const c: Json = { name: clusterName(ctx.index.cluster(e.to)!), weight: e.weight ?? 1 };
          if (e.metadataMatch) c.metadata_match = lbMetadata(e.metadataMatch);
          return c;
        }),
      };
      if (r.runtimeKeyPrefix) wc.runtime_key_prefix = r.runtimeKeyPrefix;
      target.weighted_clusters = wc;
    }
    const single = edges.length === 1 && target.cluster !== undefined ? edges[0]!.metadataMatch : undefined;
    if (r.metadataMatch || single) target.metadata_match = lbMetadata({ ...r.metadataMatch, ...single });
    if (r.hashPolicy?.length) target.hash_policy = r.hashPolicy.map(renderHashPolicy);
    if (r.timeout) target.timeout = envoyDuration(r.timeout);
    if (r.prefixRewrite !== undefined) target.prefix_rewrite = r.prefixRewrite;
    if (r.hostRewrite !== undefined) target.host_rewrite_literal = r.hostRewrite;
    if (r.retry) {
      const rp: Json = { retry_on: r.retry.retryOn };
      if (r.retry.numRetries !== undefined) rp.num_retries = r.retry.numRetries;
      if (r.retry.perTryTimeout) rp.per_try_timeout = envoyDuration(r.retry.perTryTimeout);
      if (r.retry.retriableStatusCodes) rp.retriable_status_codes = r.retry.retriableStatusCodes;
      target.retry_policy = rp;
    }
    route.route = target;
  }
  return route;
}

function renderMatch(r: RouteSpec): Json {
  const m = r.match;
  const out: Json = {};
  if (m.prefix !== undefined) out.prefix = m.prefix;
  if (m.path !== undefined) out.path = m.path;
  if (m.regex !== undefined) out.safe_regex = { regex: m.regex };
  if (m.caseSensitive !== undefined) out.case_sensitive = m.caseSensitive;
  if (m.headers?.length) out.headers = m.headers.map(renderHeaderMatch);
  if (m.queryParameters?.length) out.query_parameters = m.queryParameters.map(renderQueryMatch);
  return out;
}

function stringMatch(m: HeaderMatchSpec | QueryParameterMatchSpec): Json | undefined {
  const sm: Json = {};
  if (m.exact !== undefined) sm.exact = m.exact;
  else if (m.prefix !== undefined) sm.prefix = m.prefix;
  else if (m.suffix !== undefined) sm.suffix = m.suffix;
  else if (m.contains !== undefined) sm.contains = m.contains;
  else if (m.regex !== undefined) sm.safe_regex = { regex: m.regex };
  else return undefined;
  if (m.ignoreCase) sm.ignore_case = true;
  return sm;
}

function renderHeaderMatch(h: HeaderMatchSpec): Json {
  const out: Json = { name: h.name };
  const sm = stringMatch(h);
  if (sm) out.string_match = sm;
  else out.present_match = h.present ?? true;
  if (h.invert) out.invert_match = true;
  return out;
}

function renderQueryMatch(q: QueryParameterMatchSpec): Json {
  const out: Json = { name: q.name };
  const sm = stringMatch(q);
  if (sm) out.string_match = sm;
  else out.present_match = q.present ?? true;
  return out;
}

const REDIRECT_CODES: Record<number, string> = {
  301: 'MOVED_PERMANENTLY',
  302: 'FOUND',
  303: 'SEE_OTHER',
  307: 'TEMPORARY_REDIRECT',
  308: 'PERMANENT_REDIRECT',
};

function renderRedirect(r: RedirectSpec): Json {
  const out: Json = {};
  if (r.httpsRedirect) out.https_redirect = true;
  if (r.scheme) out.scheme_redirect = r.scheme;
  if (r.host !== undefined) out.host_redirect = r.host;
  if (r.port !== undefined) out.port_redirect = r.port;
  if (r.path !== undefined) out.path_redirect = r.path;
  if (r.prefix !== undefined) out.prefix_rewrite = r.prefix;
  if (r.code !== undefined && r.code !== 301) out.response_code = REDIRECT_CODES[r.code];
  if (r.stripQuery) out.strip_query = true;
  return out;
}

function renderHashPolicy(h: HashPolicySpec): Json {
  const out: Json = {};
  if (h.header !== undefined) out.header = { header_name: h.header };
  else if (h.sourceIp) out.connection_properties = { source_ip: true };
  else if (h.cookie) {
    const c: Json = { name: h.cookie.name };
    if (h.cookie.ttl) c.ttl = envoyDuration(h.cookie.ttl);
    if (h.cookie.path) c.path = h.cookie.path;
    out.cookie = c;
  } else if (h.queryParameter !== undefined) out.query_parameter = { name: h.queryParameter };
  if (h.terminal) out.terminal = true;
  return out;
}

function lbMetadata(m: Record<string, unknown>): Json {
  return { filter_metadata: { 'envoy.lb': m } };
}

// ---------------------------------------------------------------------------------------------
// TLS

function dataSource(ctx: ProxyContext, d: DataSourceSpec): Json {
  return 'file' in d ? { filename: ctx.filePath(d.file) } : { inline_string: d.inline };
}

function renderCertificate(ctx: ProxyContext, c: TlsCertificateSpec): Json {
  return {
    certificate_chain: dataSource(ctx, c.certificateChain),
    private_key: dataSource(ctx, c.privateKey),
  };
}

function commonTls(ctx: ProxyContext, t: DownstreamTlsSpec | UpstreamTlsSpec): Json {
  const common: Json = {};
  if (t.certificates?.length) common.tls_certificates = t.certificates.map((c) => renderCertificate(ctx, c));
  if (t.certificateSecrets?.length)
    common.tls_certificate_sds_secret_configs = t.certificateSecrets.map((name) => ({ name }));
  if (t.trustedCa) common.validation_context = { trusted_ca: dataSource(ctx, t.trustedCa) };
  if (t.validationSecret) common.validation_context_sds_secret_config = { name: t.validationSecret };
  if (t.alpn?.length) common.alpn_protocols = t.alpn;
  return common;
}

function downstreamTls(ctx: ProxyContext, t: DownstreamTlsSpec): Json {
  const config: Json = { '@type': TYPES.downstreamTls, common_tls_context: commonTls(ctx, t) };
  if (t.requireClientCertificate) config.require_client_certificate = true;
  return { name: 'envoy.transport_sockets.tls', typed_config: config };
}

function upstreamTls(ctx: ProxyContext, t: UpstreamTlsSpec): Json {
  const config: Json = { '@type': TYPES.upstreamTls };
  if (t.sni) config.sni = t.sni;
  config.common_tls_context = commonTls(ctx, t);
  return { name: 'envoy.transport_sockets.tls', typed_config: config };
}

// ---------------------------------------------------------------------------------------------
// Clusters

export function localClusterName(p: ProxyView): string {
  return (p.spec as { localCluster?: LocalClusterSpec }).localCluster?.name ?? 'local_cluster';
}

function renderLocalCluster(ctx: ProxyContext): Json {
  const p = ctx.proxy;
  const lc = (p.spec as { localCluster?: LocalClusterSpec }).localCluster;
  const name = localClusterName(p);
  const service = p.node.kind === 'service' ? p.node : undefined;
  const labHost = service ? appHost(service) : '127.0.0.1';
  const address = ctx.bindAddress(labHost === '0.0.0.0' ? '127.0.0.1' : labHost);
  const port = ctx.port(service ? appPort(service) : 80);
  const cluster: Json = { name, type: lc?.discovery ?? 'STATIC' };
  if (lc?.connectTimeout) cluster.connect_timeout = envoyDuration(lc.connectTimeout);
  cluster.lb_policy = lc?.lbPolicy ?? 'ROUND_ROBIN';
  cluster.load_assignment = {
    cluster_name: name,
    endpoints: [{ lb_endpoints: [{ endpoint: { address: socketAddress(address, port) } }] }],
  };
  if (lc?.circuitBreakers) cluster.circuit_breakers = renderCircuitBreakers(lc.circuitBreakers);
  return lc?.extra ? (deepMerge(cluster, lc.extra) as Json) : cluster;
}

function renderXdsCluster(name: string, type: 'STATIC' | 'STRICT_DNS', host: string, port: number): Json {
  return {
    name,
    type,
    connect_timeout: '1s',
    lb_policy: 'ROUND_ROBIN',
    typed_extension_protocol_options: {
      [HTTP_OPTIONS_KEY]: {
        '@type': TYPES.httpOptions,
        explicit_http_config: { http2_protocol_options: {} },
      },
    },
    load_assignment: {
      cluster_name: name,
      endpoints: [{ lb_endpoints: [{ endpoint: { address: socketAddress(host, port) } }] }],
    },
  };
}

/** One `LocalityLbEndpoints` group in the making. */
interface Group {
  priority: number;
  locality?: Json;
  weight?: number;
  endpoints: Json[];
  keys: Set<string>;
}

/** The `endpoints` of a cluster's load assignment, from its membership edges and external endpoints. */
export function clusterEndpoints(ctx: ProxyContext, c: ClusterNode): Json[] {
  const groups: Group[] = [];
  const groupFor = (priority: number, locality: Json | undefined, weight: number | undefined): Group => {
    const key = JSON.stringify([priority, locality ?? null]);
    let g = groups.find((x) => JSON.stringify([x.priority, x.locality ?? null]) === key);
    if (!g) {
      g = { priority, locality, weight, endpoints: [], keys: new Set() };
      groups.push(g);
    }
    return g;
  };
  const dns = c.discovery === 'STRICT_DNS' || c.discovery === 'LOGICAL_DNS';
  for (const edge of ctx.index.membersOf(c.id)) {
    const service = ctx.index.service(edge.to);
    if (!service) continue;
    const locality = edge.locality ? renderLocality(edge.locality) : undefined;
    const g = groupFor(edge.priority ?? 0, locality, edge.localityWeight);
    const port = ctx.port(membershipPort(edge, service));
    const addresses = dns
      ? [membershipDnsName(edge)]
      : namespacesOf(service).map((ns) => ctx.namespaceAddress(ns, `cluster '${c.id}' is ${c.discovery}`));
    for (const address of addresses) {
      const lb: Json = { endpoint: { address: socketAddress(address, port) } };
      if (edge.weight !== undefined) lb.load_balancing_weight = edge.weight;
      if (edge.metadata) lb.metadata = lbMetadata(edge.metadata);
      const key = JSON.stringify(lb);
      if (g.keys.has(key)) continue;
      g.keys.add(key);
      g.endpoints.push(lb);
    }
  }
  for (const e of c.endpoints ?? []) {
    const g = groupFor(e.priority ?? 0, undefined, undefined);
    const lb: Json = { endpoint: { address: socketAddress(e.address, ctx.port(e.port)) } };
    if (e.weight !== undefined) lb.load_balancing_weight = e.weight;
    g.endpoints.push(lb);
  }
  return groups.map((g) => {
    const out: Json = {};
    if (g.locality) out.locality = g.locality;
    out.lb_endpoints = g.endpoints;
    if (g.weight !== undefined) out.load_balancing_weight = g.weight;
    if (g.priority !== 0) out.priority = g.priority;
    return out;
  });
}

function namespacesOf(s: ServiceNode): string[] {
  const n = replicasOf(s);
  return n > 1 ? Array.from({ length: n }, (_, i) => `${s.id}-${i + 1}`) : [s.id];
}

function renderLocality(l: { region?: string; zone?: string; subZone?: string }): Json {
  const out: Json = {};
  if (l.region !== undefined) out.region = l.region;
  if (l.zone !== undefined) out.zone = l.zone;
  if (l.subZone !== undefined) out.sub_zone = l.subZone;
  return out;
}

export function loadAssignment(ctx: ProxyContext, c: ClusterNode): Json {
  const la: Json = { cluster_name: clusterName(c), endpoints: clusterEndpoints(ctx, c) };
  if (c.overprovisioningFactor !== undefined)
    la.policy = { overprovisioning_factor: c.overprovisioningFactor };
  return la;
}

export function edsPath(c: ClusterNode): string {
  return c.edsPath ?? `/etc/envoy/eds.conf.d/${clusterName(c)}.yaml`;
}

function renderCluster(ctx: ProxyContext, c: ClusterNode, sink: Sink, delivery: string): Json {
  const name = clusterName(c);
  // Served by the console, a STATIC cluster's endpoints come over EDS too: an endpoint edit then
  // replaces the assignment alone, and the cluster (its hosts' health, its connections) stays.
  const eds = c.discovery === 'EDS' || (ctx.console !== undefined && c.discovery === 'STATIC');
  const out: Json = { name, type: eds ? 'EDS' : c.discovery };
  if (c.connectTimeout) out.connect_timeout = envoyDuration(c.connectTimeout);
  out.lb_policy = c.lbPolicy ?? 'ROUND_ROBIN';
  if (c.dnsLookupFamily) out.dns_lookup_family = c.dnsLookupFamily;
  if (c.dnsRefreshRate) out.dns_refresh_rate = envoyDuration(c.dnsRefreshRate);
  if (c.protocol === 'http2') {
    out.typed_extension_protocol_options = {
      [HTTP_OPTIONS_KEY]: {
        '@type': TYPES.httpOptions,
        explicit_http_config: { http2_protocol_options: {} },
      },
    };
  }
  if (eds) {
    if (delivery === 'grpc' || delivery === 'ads') {
      out.eds_cluster_config = {
        service_name: name,
        eds_config:
          delivery === 'ads'
            ? ADS_SOURCE
            : {
                resource_api_version: 'V3',
                api_config_source: {
                  api_type: 'GRPC',
                  transport_api_version: 'V3',
                  grpc_services: [{ envoy_grpc: { cluster_name: XDS_CLUSTER } }],
                },
              },
      };
      if (ctx.console) sink.endpoints.push(loadAssignment(ctx, c));
    } else {
      const path = edsPath(c);
      out.eds_cluster_config = {
        service_name: name,
        eds_config: { path_config_source: { path: ctx.filePath(path) }, resource_api_version: 'V3' },
      };
      sink.files.set(path, {
        version_info: '1',
        resources: [{ '@type': TYPES.cla, ...loadAssignment(ctx, c) }],
      });
    }
  } else {
    out.load_assignment = loadAssignment(ctx, c);
  }
  if (c.healthChecks?.length) out.health_checks = c.healthChecks.map(renderHealthCheck);
  if (c.outlierDetection) out.outlier_detection = renderOutlier(c.outlierDetection);
  if (c.circuitBreakers) out.circuit_breakers = renderCircuitBreakers(c.circuitBreakers);
  const common: Json = {};
  if (c.healthyPanicThreshold !== undefined)
    common.healthy_panic_threshold = { value: c.healthyPanicThreshold };
  if (c.localityWeighted) common.locality_weighted_lb_config = {};
  if (Object.keys(common).length) out.common_lb_config = common;
  if (c.ringHash) out.ring_hash_lb_config = snakeKeys(c.ringHash);
  if (c.leastRequest) out.least_request_lb_config = snakeKeys(c.leastRequest);
  if (c.maglev) out.maglev_lb_config = snakeKeys(c.maglev);
  if (c.subsets) {
    const s = c.subsets;
    const subset: Json = {};
    if (s.fallbackPolicy) subset.fallback_policy = s.fallbackPolicy;
    if (s.defaultSubset) subset.default_subset = s.defaultSubset;
    subset.subset_selectors = s.selectors.map((sel) =>
      sel.fallbackPolicy ? { keys: sel.keys, fallback_policy: sel.fallbackPolicy } : { keys: sel.keys },
    );
    if (s.localityWeightAware) subset.locality_weight_aware = true;
    if (s.panicModeAny) subset.panic_mode_any = true;
    out.lb_subset_config = subset;
  }
  if (c.tls) out.transport_socket = upstreamTls(ctx, c.tls);
  return c.extra ? (deepMerge(out, c.extra) as Json) : out;
}

function renderHealthCheck(hc: HealthCheckSpec): Json {
  const out: Json = {
    timeout: envoyDuration(hc.timeout),
    interval: envoyDuration(hc.interval),
    unhealthy_threshold: hc.unhealthyThreshold,
    healthy_threshold: hc.healthyThreshold,
  };
  if (hc.intervalJitter) out.interval_jitter = envoyDuration(hc.intervalJitter);
  if (hc.noTrafficInterval) out.no_traffic_interval = envoyDuration(hc.noTrafficInterval);
  if (hc.unhealthyInterval) out.unhealthy_interval = envoyDuration(hc.unhealthyInterval);
  if (hc.http) {
    const http: Json = { path: hc.http.path };
    if (hc.http.host !== undefined) http.host = hc.http.host;
    if (hc.http.expectedStatuses)
      http.expected_statuses = hc.http.expectedStatuses.map((r) => ({ start: r.start, end: r.end }));
    out.http_health_check = http;
  }
  if (hc.tcp) {
    const tcp: Json = {};
    if (hc.tcp.send) tcp.send = { text: hc.tcp.send };
    if (hc.tcp.receive) tcp.receive = hc.tcp.receive.map((text) => ({ text }));
    out.tcp_health_check = tcp;
  }
  return out;
}

const DURATION_FIELDS = new Set(['interval', 'baseEjectionTime', 'maxEjectionTime']);

function renderOutlier(o: OutlierDetectionSpec): Json {
  const out: Json = {};
  for (const [k, v] of Object.entries(o)) {
    if (v === undefined) continue;
    out[snake(k)] = DURATION_FIELDS.has(k) ? envoyDuration(v as string) : v;
  }
  return out;
}

function renderCircuitBreakers(list: CircuitBreakerThresholdsSpec[]): Json {
  return { thresholds: list.map((t) => snakeKeys(t)) };
}

/** `consecutive5xx` → `consecutive_5xx`, `maxEjectionPercent` → `max_ejection_percent`. */
export function snake(key: string): string {
  return key
    .replace(/([A-Z])/g, '_$1')
    .replace(/([a-z])(\d)/g, '$1_$2')
    .toLowerCase();
}

function snakeKeys(o: Record<string, unknown>): Json {
  const out: Json = {};
  for (const [k, v] of Object.entries(o)) if (v !== undefined) out[snake(k)] = v;
  return out;
}
