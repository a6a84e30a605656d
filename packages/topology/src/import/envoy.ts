/**
 * Mapping an Envoy bootstrap (as the course wrote it) onto the lab's structured proxy fields.
 * Every field the mapping does not understand is recorded in `unmapped`; the importer then keeps
 * that proxy's config raw rather than silently dropping behaviour. Browser-safe.
 */
import {
  bool,
  clusterUsesHttp2,
  dataSource,
  enumName,
  filterKind,
  isObj,
  type J,
  labDuration,
  list,
  num,
  obj,
  objList,
  str,
  stringMatcher,
  typeUrl,
} from '../envoy-read.js';
import { ENVOY_NAME_PATTERN, ID_PATTERN } from '../names.js';
import type {
  AdminSpec,
  CircuitBreakerThresholdsSpec,
  DataSourceSpec,
  DownstreamTlsSpec,
  HashPolicySpec,
  HeaderMatchSpec,
  HealthCheckSpec,
  ListenerSpec,
  LocalClusterSpec,
  OutlierDetectionSpec,
  QueryParameterMatchSpec,
  RedirectSpec,
  RouteSpec,
  RuntimeLayerSpec,
  SecretSpec,
  TlsCertificateSpec,
  UpstreamTlsSpec,
} from '../schema.js';

export interface Target {
  /** Envoy cluster name. */
  cluster: string;
  weight?: number;
  metadataMatch?: Record<string, string | number | boolean>;
}

export interface MappedListener {
  spec: ListenerSpec;
  direction: 'ingress' | 'egress';
  /** Where each route (HTTP) or the listener itself (TCP/UDP) forwards. */
  targets: { route?: string; listener?: string; to: Target[] }[];
}

export class Unmapped {
  readonly paths: string[] = [];
  add(path: string): void {
    if (this.paths.length < 50) this.paths.push(path);
  }
  /** Records keys of `o` other than `known`. */
  rest(o: J, known: readonly string[], path: string): void {
    for (const k of Object.keys(o)) if (!known.includes(k)) this.add(`${path}.${k}`);
  }
}

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '::1']);

export function isLoopbackCluster(c: J): boolean {
  const eps = objList(obj(c.load_assignment).endpoints).flatMap((g) => objList(g.lb_endpoints));
  return (
    eps.length > 0 &&
    eps.every((e) => LOOPBACK.has(str(obj(obj(obj(e.endpoint).address).socket_address).address) ?? ''))
  );
}

export function endpointPort(c: J): number | undefined {
  const e = objList(obj(c.load_assignment).endpoints).flatMap((g) => objList(g.lb_endpoints))[0];
  return num(obj(obj(obj(e?.endpoint).address).socket_address).port_value);
}

function ms(v: unknown): string | undefined {
  return labDuration(v);
}

export function mapAdmin(a: J, u: Unmapped): AdminSpec {
  u.rest(a, ['address', 'access_log_path', 'access_log', 'profile_path'], 'admin');
  const sa = obj(obj(a.address).socket_address);
  const out: AdminSpec = { port: num(sa.port_value) ?? 9901 };
  const address = str(sa.address);
  if (address && address !== '0.0.0.0') out.address = address;
  const logPath = str(a.access_log_path) ?? str(obj(objList(a.access_log)[0]?.typed_config).path);
  if (logPath && logPath !== '/dev/null') out.accessLogPath = logPath;
  if (str(a.profile_path)) out.profilePath = str(a.profile_path);
  return out;
}

export function mapRuntime(rt: J, u: Unmapped): RuntimeLayerSpec[] {
  u.rest(rt, ['layers'], 'layered_runtime');
  return objList(rt.layers).flatMap((l, i): RuntimeLayerSpec[] => {
    const name = str(l.name) ?? `layer_${i}`;
    if (l.admin_layer !== undefined) return [{ name, admin: true }];
    if (isObj(l.static_layer)) return [{ name, static: l.static_layer }];
    u.add(`layered_runtime.layers[${i}]`);
    return [];
  });
}

function mapDataSource(v: unknown, path: string, u: Unmapped): DataSourceSpec | undefined {
  const d = dataSource(v);
  if (!d) u.add(path);
  return d;
}

function mapCertificate(c: J, path: string, u: Unmapped): TlsCertificateSpec | undefined {
  u.rest(c, ['certificate_chain', 'private_key'], path);
  const chain = mapDataSource(c.certificate_chain, `${path}.certificate_chain`, u);
  const key = mapDataSource(c.private_key, `${path}.private_key`, u);
  return chain && key ? { certificateChain: chain, privateKey: key } : undefined;
}

export function mapSecrets(secrets: unknown, u: Unmapped): SecretSpec[] {
  return objList(secrets).flatMap((s, i): SecretSpec[] => {
    const path = `static_resources.secrets[${i}]`;
    u.rest(s, ['name', 'tls_certificate', 'validation_context'], path);
    const name = str(s.name) ?? `secret_${i}`;
    if (isObj(s.tls_certificate)) {
      const c = mapCertificate(s.tls_certificate, `${path}.tls_certificate`, u);
      return c ? [{ name, certificate: c }] : [];
    }
    if (isObj(s.validation_context)) {
      u.rest(s.validation_context, ['trusted_ca'], `${path}.validation_context`);
      const ca = mapDataSource(s.validation_context.trusted_ca, `${path}.validation_context.trusted_ca`, u);
      return ca ? [{ name, trustedCa: ca }] : [];
    }
    return [];
  });
}

function mapCommonTls(ctx: J, path: string, u: Unmapped): UpstreamTlsSpec {
  u.rest(
    ctx,
    [
      'tls_certificates',
      'tls_certificate_sds_secret_configs',
      'validation_context',
      'validation_context_sds_secret_config',
      'alpn_protocols',
    ],
    path,
  );
  const out: UpstreamTlsSpec = {};
  const certs = objList(ctx.tls_certificates).flatMap(
    (c, i) => mapCertificate(c, `${path}.tls_certificates[${i}]`, u) ?? [],
  );
  if (certs.length) out.certificates = certs;
  const sds = objList(ctx.tls_certificate_sds_secret_configs)
    .map((s) => str(s.name))
    .filter((n): n is string => !!n);
  if (sds.length) out.certificateSecrets = sds;
  if (isObj(ctx.validation_context)) {
    u.rest(ctx.validation_context, ['trusted_ca'], `${path}.validation_context`);
    out.trustedCa = mapDataSource(
      ctx.validation_context.trusted_ca,
      `${path}.validation_context.trusted_ca`,
      u,
    );
  }
  const vs = str(obj(ctx.validation_context_sds_secret_config).name);
  if (vs) out.validationSecret = vs;
  const alpn = list(ctx.alpn_protocols).map(String);
  if (alpn.length) out.alpn = alpn;
  return out;
}

function mapDownstreamTls(ts: J, path: string, u: Unmapped): DownstreamTlsSpec {
  const tc = obj(ts.typed_config);
  if (!typeUrl(tc).endsWith('DownstreamTlsContext')) u.add(`${path}.typed_config`);
  u.rest(tc, ['@type', 'common_tls_context', 'require_client_certificate'], `${path}.typed_config`);
  const out: DownstreamTlsSpec = mapCommonTls(
    obj(tc.common_tls_context),
    `${path}.typed_config.common_tls_context`,
    u,
  );
  if (bool(tc.require_client_certificate)) out.requireClientCertificate = true;
  return out;
}

function mapUpstreamTls(ts: J, path: string, u: Unmapped): UpstreamTlsSpec {
  const tc = obj(ts.typed_config);
  if (!typeUrl(tc).endsWith('UpstreamTlsContext')) u.add(`${path}.typed_config`);
  u.rest(tc, ['@type', 'common_tls_context', 'sni'], `${path}.typed_config`);
  const out = mapCommonTls(obj(tc.common_tls_context), `${path}.typed_config.common_tls_context`, u);
  if (str(tc.sni)) out.sni = str(tc.sni);
  return out;
}

function safeId(s: string, fallback: string): string {
  const cleaned = s
    .replace(/[^A-Za-z0-9_.-]/g, '-')
    .replace(/^[^A-Za-z0-9]+/, '')
    .slice(0, 60);
  return ID_PATTERN.test(cleaned) ? cleaned : fallback;
}

export function envoyName(s: string | undefined, fallback: string): string {
  return s && ENVOY_NAME_PATTERN.test(s) ? s : fallback;
}

export interface ListenerContext {
  sidecar: boolean;
  /** Envoy name of the cluster that reaches the app beside a sidecar. */
  localCluster?: string;
  /** Route ids already used in this proxy. */
  routeIds: Set<string>;
}

export function mapListener(l: J, i: number, ctx: ListenerContext, u: Unmapped): MappedListener {
  const path = `listeners[${i}]`;
  const sa = obj(obj(l.address).socket_address);
  const port = num(sa.port_value) ?? 0;
  const address = str(sa.address) ?? '0.0.0.0';
  const name = envoyName(str(l.name), `listener_${port}`);
  const direction = ctx.sidecar && LOOPBACK.has(address) ? 'egress' : 'ingress';
  const spec: ListenerSpec = { name, port };
  if (address !== (direction === 'egress' ? '127.0.0.1' : '0.0.0.0'))
    spec.address = address === 'localhost' ? '127.0.0.1' : address;
  const extra: J = {};
  for (const k of Object.keys(l)) {
    if (!['name', 'address', 'filter_chains', 'listener_filters'].includes(k)) extra[k] = l[k];
  }
  const targets: MappedListener['targets'] = [];
  if (enumName(sa.protocol) === 'UDP') {
    spec.protocol = 'udp';
    u.rest(sa, ['protocol', 'address', 'port_value'], `${path}.address.socket_address`);
    const filters = objList(l.listener_filters);
    const udp = filters.find((f) => filterKind(f) === 'envoy.filters.udp_listener.udp_proxy');
    if (!udp || filters.length !== 1) u.add(`${path}.listener_filters`);
    const tc = obj(udp?.typed_config);
    u.rest(tc, ['@type', 'stat_prefix', 'matcher', 'cluster'], `${path}.listener_filters[0].typed_config`);
    if (str(tc.stat_prefix) && str(tc.stat_prefix) !== name)
      spec.statPrefix = envoyName(str(tc.stat_prefix), name);
    const cluster =
      str(obj(obj(obj(obj(tc.matcher).on_no_match).action).typed_config).cluster) ?? str(tc.cluster);
    if (cluster === undefined) u.add(`${path}.listener_filters[0].typed_config.matcher`);
    else if (cluster === ctx.localCluster) spec.local = true;
    else targets.push({ listener: name, to: [{ cluster }] });
    if (Object.keys(extra).length) spec.extra = extra;
    return { spec, direction, targets };
  }
  u.rest(sa, ['address', 'port_value'], `${path}.address.socket_address`);
  if (l.listener_filters !== undefined) u.add(`${path}.listener_filters`);
  const chains = objList(l.filter_chains);
  if (chains.length !== 1) u.add(`${path}.filter_chains`);
  const chain = chains[0] ?? {};
  u.rest(chain, ['filters', 'transport_socket'], `${path}.filter_chains[0]`);
  const filters = objList(chain.filters);
  if (filters.length !== 1) u.add(`${path}.filter_chains[0].filters`);
  const f = filters[0] ?? {};
  const kind = filterKind(f);
  const tc = obj(f.typed_config);
  const fpath = `${path}.filter_chains[0].filters[0].typed_config`;
  if (isObj(chain.transport_socket))
    spec.tls = mapDownstreamTls(chain.transport_socket, `${path}.filter_chains[0].transport_socket`, u);
  if (kind === 'envoy.filters.network.tcp_proxy') {
    spec.protocol = 'tcp';
    u.rest(tc, ['@type', 'stat_prefix', 'cluster', 'weighted_clusters'], fpath);
    if (str(tc.stat_prefix) && str(tc.stat_prefix) !== name)
      spec.statPrefix = envoyName(str(tc.stat_prefix), name);
    const weighted = objList(obj(tc.weighted_clusters).clusters);
    if (weighted.length)
      targets.push({
        listener: name,
        to: weighted.map((c) => ({ cluster: str(c.name) ?? '', weight: num(c.weight) })),
      });
    else if (str(tc.cluster) === ctx.localCluster) spec.local = true;
    else if (str(tc.cluster)) targets.push({ listener: name, to: [{ cluster: str(tc.cluster)! }] });
    else u.add(`${fpath}.cluster`);
  } else if (kind === 'envoy.filters.network.http_connection_manager') {
    u.rest(
      tc,
      [
        '@type',
        'stat_prefix',
        'codec_type',
        'route_config',
        'http_filters',
        'access_log',
        'generate_request_id',
        'use_remote_address',
      ],
      fpath,
    );
    if (str(tc.stat_prefix) !== undefined && str(tc.stat_prefix) !== 'ingress_http')
      spec.statPrefix = envoyName(str(tc.stat_prefix), 'ingress_http');
    const codec = enumName(tc.codec_type);
    if (codec === 'HTTP1' || codec === 'HTTP2') spec.codec = codec === 'HTTP1' ? 'http1' : 'http2';
    else if (codec !== undefined && codec !== 'AUTO') u.add(`${fpath}.codec_type`);
    if (tc.generate_request_id !== undefined) spec.generateRequestId = bool(tc.generate_request_id);
    if (tc.use_remote_address !== undefined) spec.useRemoteAddress = bool(tc.use_remote_address);
    const logs = objList(tc.access_log);
    if (logs.length > 1) u.add(`${fpath}.access_log`);
    const logPath = str(obj(logs[0]?.typed_config).path);
    if (logs.length === 1)
      spec.accessLog = logPath === '/dev/stdout' || logPath === undefined ? true : logPath;
    const httpFilters = objList(tc.http_filters);
    if (httpFilters.length !== 1 || filterKind(httpFilters[0]!) !== 'envoy.filters.http.router')
      u.add(`${fpath}.http_filters`);
    const rc = obj(tc.route_config);
    u.rest(rc, ['name', 'virtual_hosts'], `${fpath}.route_config`);
    if (str(rc.name) && str(rc.name) !== 'local_route')
      spec.routeConfigName = envoyName(str(rc.name), 'local_route');
    spec.virtualHosts = objList(rc.virtual_hosts).map((vh, vi) => {
      const vpath = `${fpath}.route_config.virtual_hosts[${vi}]`;
      u.rest(vh, ['name', 'domains', 'routes'], vpath);
      const vname = envoyName(str(vh.name), `vhost_${vi}`);
      return {
        name: vname,
        domains: list(vh.domains).map(String),
        routes: objList(vh.routes).map((r, ri) => {
          const id = uniqueRouteId(safeId(vname, 'route'), ctx.routeIds);
          const { route, to } = mapRoute(r, id, ctx, `${vpath}.routes[${ri}]`, u);
          if (to.length) targets.push({ route: id, to });
          return route;
        }),
      };
    });
  } else {
    u.add(`${path}.filter_chains[0].filters[0] (${kind || 'unknown filter'})`);
  }
  if (Object.keys(extra).length) spec.extra = extra;
  return { spec, direction, targets };
}

function uniqueRouteId(base: string, used: Set<string>): string {
  let n = 1;
  let id = base.slice(0, 58);
  while (used.has(id)) id = `${base.slice(0, 58)}-${++n}`;
  used.add(id);
  return id;
}

function metadataOf(v: unknown): Record<string, string | number | boolean> | undefined {
  const m = obj(obj(obj(v).filter_metadata)['envoy.lb']);
  const out: Record<string, string | number | boolean> = {};
  for (const [k, x] of Object.entries(m))
    if (typeof x === 'string' || typeof x === 'number' || typeof x === 'boolean') out[k] = x;
  return Object.keys(out).length ? out : undefined;
}

function mapStringMatch<T extends HeaderMatchSpec | QueryParameterMatchSpec>(m: J, base: T): T {
  const sm = stringMatcher(m);
  const out = { ...base } as Record<string, unknown>;
  if (sm.kind === 'present') {
    if (sm.value === 'false') out.present = false;
  } else out[sm.kind] = sm.value;
  if (sm.ignoreCase) out.ignoreCase = true;
  return out as T;
}

function mapRoute(
  r: J,
  id: string,
  ctx: ListenerContext,
  path: string,
  u: Unmapped,
): { route: RouteSpec; to: Target[] } {
  u.rest(r, ['name', 'match', 'route', 'redirect', 'direct_response'], path);
  const m = obj(r.match);
  u.rest(
    m,
    ['prefix', 'path', 'safe_regex', 'case_sensitive', 'headers', 'query_parameters'],
    `${path}.match`,
  );
  const match: RouteSpec['match'] = {};
  if (m.prefix !== undefined) match.prefix = str(m.prefix);
  if (m.path !== undefined) match.path = str(m.path);
  if (m.safe_regex !== undefined) match.regex = str(obj(m.safe_regex).regex);
  if (m.case_sensitive !== undefined) match.caseSensitive = bool(m.case_sensitive);
  const headers = objList(m.headers).map((h) =>
    mapStringMatch<HeaderMatchSpec>(
      h,
      bool(h.invert_match) ? { name: String(h.name), invert: true } : { name: String(h.name) },
    ),
  );
  if (headers.length) match.headers = headers;
  const query = objList(m.query_parameters).map((q) =>
    mapStringMatch<QueryParameterMatchSpec>(q, { name: String(q.name) }),
  );
  if (query.length) match.queryParameters = query;
  const route: RouteSpec = { id, match };
  if (str(r.name)) route.name = envoyName(str(r.name), id);
  const to: Target[] = [];
  if (isObj(r.redirect)) {
    const rd = r.redirect;
    u.rest(
      rd,
      [
        'https_redirect',
        'scheme_redirect',
        'host_redirect',
        'port_redirect',
        'path_redirect',
        'prefix_rewrite',
        'response_code',
        'strip_query',
      ],
      `${path}.redirect`,
    );
    const out: RedirectSpec = {};
    if (bool(rd.https_redirect)) out.httpsRedirect = true;
    if (str(rd.scheme_redirect)) out.scheme = str(rd.scheme_redirect);
    if (rd.host_redirect !== undefined) out.host = str(rd.host_redirect);
    if (rd.port_redirect !== undefined) out.port = num(rd.port_redirect);
    if (rd.path_redirect !== undefined) out.path = str(rd.path_redirect);
    if (rd.prefix_rewrite !== undefined) out.prefix = str(rd.prefix_rewrite);
    const code = {
      MOVED_PERMANENTLY: 301,
      FOUND: 302,
      SEE_OTHER: 303,
      TEMPORARY_REDIRECT: 307,
      PERMANENT_REDIRECT: 308,
    }[enumName(rd.response_code) ?? 'MOVED_PERMANENTLY'];
    if (code === undefined) u.add(`${path}.redirect.response_code`);
    else if (code !== 301) out.code = code as RedirectSpec['code'];
    if (bool(rd.strip_query)) out.stripQuery = true;
    route.redirect = out;
  } else if (isObj(r.direct_response)) {
    const d = r.direct_response;
    u.rest(d, ['status', 'body'], `${path}.direct_response`);
    const body = obj(d.body);
    u.rest(body, ['inline_string'], `${path}.direct_response.body`);
    route.directResponse = { status: num(d.status) ?? 200 };
    if (str(body.inline_string) !== undefined) route.directResponse.body = str(body.inline_string);
  } else if (isObj(r.route)) {
    const a = r.route;
    u.rest(
      a,
      [
        'cluster',
        'weighted_clusters',
        'hash_policy',
        'metadata_match',
        'timeout',
        'prefix_rewrite',
        'host_rewrite_literal',
        'retry_policy',
      ],
      `${path}.route`,
    );
    if (isObj(a.weighted_clusters)) {
      u.rest(
        a.weighted_clusters,
        ['clusters', 'runtime_key_prefix', 'total_weight'],
        `${path}.route.weighted_clusters`,
      );
      for (const c of objList(a.weighted_clusters.clusters)) {
        u.rest(c, ['name', 'weight', 'metadata_match'], `${path}.route.weighted_clusters.clusters`);
        to.push({
          cluster: str(c.name) ?? '',
          weight: num(c.weight),
          metadataMatch: metadataOf(c.metadata_match),
        });
      }
      if (str(a.weighted_clusters.runtime_key_prefix))
        route.runtimeKeyPrefix = str(a.weighted_clusters.runtime_key_prefix);
      if (num(a.weighted_clusters.total_weight) !== undefined)
        route.totalWeight = num(a.weighted_clusters.total_weight);
    } else if (str(a.cluster) !== undefined && str(a.cluster) === ctx.localCluster) {
      route.local = true;
    } else if (str(a.cluster) !== undefined) {
      to.push({ cluster: str(a.cluster)! });
    } else u.add(`${path}.route`);
    const mm = metadataOf(a.metadata_match);
    if (mm) route.metadataMatch = mm;
    const hp = objList(a.hash_policy).map((h, hi): HashPolicySpec => {
      u.rest(
        h,
        ['header', 'connection_properties', 'cookie', 'query_parameter', 'terminal'],
        `${path}.route.hash_policy[${hi}]`,
      );
      const out: HashPolicySpec = {};
      if (isObj(h.header)) out.header = str(h.header.header_name);
      else if (isObj(h.connection_properties)) out.sourceIp = bool(h.connection_properties.source_ip) ?? true;
      else if (isObj(h.cookie))
        out.cookie = {
          name: str(h.cookie.name) ?? '',
          ...(ms(h.cookie.ttl) ? { ttl: ms(h.cookie.ttl) } : {}),
        };
      else if (isObj(h.query_parameter)) out.queryParameter = str(h.query_parameter.name);
      if (bool(h.terminal)) out.terminal = true;
      return out;
    });
    if (hp.length) route.hashPolicy = hp;
    if (a.timeout !== undefined) route.timeout = ms(a.timeout);
    if (a.prefix_rewrite !== undefined) route.prefixRewrite = str(a.prefix_rewrite);
    if (a.host_rewrite_literal !== undefined) route.hostRewrite = str(a.host_rewrite_literal);
    if (isObj(a.retry_policy)) {
      const rp = a.retry_policy;
      u.rest(
        rp,
        ['retry_on', 'num_retries', 'per_try_timeout', 'retriable_status_codes'],
        `${path}.route.retry_policy`,
      );
      route.retry = { retryOn: str(rp.retry_on) ?? '5xx' };
      if (num(rp.num_retries) !== undefined) route.retry.numRetries = num(rp.num_retries);
      if (rp.per_try_timeout !== undefined) route.retry.perTryTimeout = ms(rp.per_try_timeout);
      const codes = list(rp.retriable_status_codes)
        .map((c) => num(c))
        .filter((c): c is number => c !== undefined);
      if (codes.length) route.retry.retriableStatusCodes = codes;
    }
  } else u.add(`${path} (no action)`);
  return { route, to };
}

// ---------------------------------------------------------------------------------------------
// Clusters

const CLUSTER_KEYS = [
  'name',
  'type',
  'connect_timeout',
  'lb_policy',
  'load_assignment',
  'http2_protocol_options',
  'typed_extension_protocol_options',
  'health_checks',
  'outlier_detection',
  'circuit_breakers',
  'common_lb_config',
  'ring_hash_lb_config',
  'least_request_lb_config',
  'maglev_lb_config',
  'lb_subset_config',
  'transport_socket',
  'dns_lookup_family',
  'dns_refresh_rate',
  'eds_cluster_config',
];

/** The structured fields of a cluster node, without its endpoints (which become edges). */
export interface MappedCluster {
  fields: Record<string, unknown>;
  extra?: J;
}

export function mapCluster(c: J, path: string, u: Unmapped): MappedCluster {
  const fields: Record<string, unknown> = {};
  const type = enumName(c.type) ?? 'STATIC';
  if (!['STATIC', 'STRICT_DNS', 'LOGICAL_DNS', 'EDS'].includes(type)) u.add(`${path}.type (${type})`);
  fields.discovery = type;
  const policy = enumName(c.lb_policy);
  if (policy && !['ROUND_ROBIN', 'LEAST_REQUEST', 'RANDOM', 'RING_HASH', 'MAGLEV'].includes(policy))
    u.add(`${path}.lb_policy (${policy})`);
  if (policy) fields.lbPolicy = policy;
  if (c.connect_timeout !== undefined) fields.connectTimeout = ms(c.connect_timeout);
  if (clusterUsesHttp2(c)) fields.protocol = 'http2';
  const tepo = obj(c.typed_extension_protocol_options);
  for (const k of Object.keys(tepo)) {
    if (k !== 'envoy.extensions.upstreams.http.v3.HttpProtocolOptions')
      u.add(`${path}.typed_extension_protocol_options.${k}`);
    else {
      const hpo = obj(tepo[k]);
      u.rest(hpo, ['@type', 'explicit_http_config'], `${path}.typed_extension_protocol_options`);
      u.rest(
        obj(hpo.explicit_http_config),
        ['http2_protocol_options'],
        `${path}.typed_extension_protocol_options.explicit_http_config`,
      );
    }
  }
  if (c.dns_lookup_family !== undefined) fields.dnsLookupFamily = enumName(c.dns_lookup_family);
  if (c.dns_refresh_rate !== undefined) fields.dnsRefreshRate = ms(c.dns_refresh_rate);
  const policyObj = obj(obj(c.load_assignment).policy);
  u.rest(policyObj, ['overprovisioning_factor'], `${path}.load_assignment.policy`);
  if (num(policyObj.overprovisioning_factor) !== undefined)
    fields.overprovisioningFactor = num(policyObj.overprovisioning_factor);
  const hcs = objList(c.health_checks).map((h, i) => mapHealthCheck(h, `${path}.health_checks[${i}]`, u));
  if (hcs.length) fields.healthChecks = hcs;
  if (isObj(c.outlier_detection))
    fields.outlierDetection = mapOutlier(c.outlier_detection, `${path}.outlier_detection`, u);
  if (isObj(c.circuit_breakers)) {
    u.rest(c.circuit_breakers, ['thresholds'], `${path}.circuit_breakers`);
    fields.circuitBreakers = objList(c.circuit_breakers.thresholds).map((t, i) =>
      mapThresholds(t, `${path}.circuit_breakers.thresholds[${i}]`, u),
    );
  }
  const common = obj(c.common_lb_config);
  u.rest(common, ['healthy_panic_threshold', 'locality_weighted_lb_config'], `${path}.common_lb_config`);
  if (common.healthy_panic_threshold !== undefined)
    fields.healthyPanicThreshold = num(common.healthy_panic_threshold);
  if (common.locality_weighted_lb_config !== undefined) fields.localityWeighted = true;
  const rh = obj(c.ring_hash_lb_config);
  if (isObj(c.ring_hash_lb_config)) {
    u.rest(rh, ['minimum_ring_size', 'maximum_ring_size', 'hash_function'], `${path}.ring_hash_lb_config`);
    const o: Record<string, unknown> = {};
    if (num(rh.minimum_ring_size) !== undefined) o.minimumRingSize = num(rh.minimum_ring_size);
    if (num(rh.maximum_ring_size) !== undefined) o.maximumRingSize = num(rh.maximum_ring_size);
    if (rh.hash_function !== undefined) o.hashFunction = enumName(rh.hash_function);
    fields.ringHash = o;
  }
  if (isObj(c.least_request_lb_config)) {
    u.rest(c.least_request_lb_config, ['choice_count'], `${path}.least_request_lb_config`);
    fields.leastRequest =
      num(c.least_request_lb_config.choice_count) !== undefined
        ? { choiceCount: num(c.least_request_lb_config.choice_count) }
        : {};
  }
  if (isObj(c.maglev_lb_config)) {
    u.rest(c.maglev_lb_config, ['table_size'], `${path}.maglev_lb_config`);
    fields.maglev =
      num(c.maglev_lb_config.table_size) !== undefined
        ? { tableSize: num(c.maglev_lb_config.table_size) }
        : {};
  }
  if (isObj(c.lb_subset_config)) {
    const s = c.lb_subset_config;
    u.rest(
      s,
      ['fallback_policy', 'default_subset', 'subset_selectors', 'locality_weight_aware', 'panic_mode_any'],
      `${path}.lb_subset_config`,
    );
    const out: Record<string, unknown> = {
      selectors: objList(s.subset_selectors).map((x) => {
        u.rest(x, ['keys', 'fallback_policy'], `${path}.lb_subset_config.subset_selectors`);
        return x.fallback_policy !== undefined
          ? { keys: list(x.keys).map(String), fallbackPolicy: enumName(x.fallback_policy) }
          : { keys: list(x.keys).map(String) };
      }),
    };
    if (s.fallback_policy !== undefined) out.fallbackPolicy = enumName(s.fallback_policy);
    if (isObj(s.default_subset)) out.defaultSubset = s.default_subset;
    if (bool(s.locality_weight_aware)) out.localityWeightAware = true;
    if (bool(s.panic_mode_any)) out.panicModeAny = true;
    fields.subsets = out;
  }
  if (isObj(c.transport_socket))
    fields.tls = mapUpstreamTls(c.transport_socket, `${path}.transport_socket`, u);
  const extra: J = {};
  for (const k of Object.keys(c)) if (!CLUSTER_KEYS.includes(k)) extra[k] = c[k];
  return { fields, extra: Object.keys(extra).length ? extra : undefined };
}

export function mapLocalCluster(c: J, path: string, u: Unmapped): LocalClusterSpec {
  const out: LocalClusterSpec = {};
  const name = str(c.name);
  if (name && name !== 'local_cluster') out.name = envoyName(name, 'local_cluster');
  const type = enumName(c.type);
  if (type === 'STRICT_DNS') out.discovery = 'STRICT_DNS';
  else if (type !== undefined && type !== 'STATIC') u.add(`${path}.type`);
  if (c.connect_timeout !== undefined) out.connectTimeout = ms(c.connect_timeout);
  const policy = enumName(c.lb_policy);
  if (policy === 'RANDOM') out.lbPolicy = 'RANDOM';
  if (isObj(c.circuit_breakers))
    out.circuitBreakers = objList(c.circuit_breakers.thresholds).map((t, i) =>
      mapThresholds(t, `${path}.circuit_breakers.thresholds[${i}]`, u),
    );
  const extra: J = {};
  for (const k of Object.keys(c))
    if (!['name', 'type', 'connect_timeout', 'lb_policy', 'load_assignment', 'circuit_breakers'].includes(k))
      extra[k] = c[k];
  if (Object.keys(extra).length) out.extra = extra;
  return out;
}

function mapHealthCheck(h: J, path: string, u: Unmapped): HealthCheckSpec {
  u.rest(
    h,
    [
      'timeout',
      'interval',
      'unhealthy_threshold',
      'healthy_threshold',
      'interval_jitter',
      'no_traffic_interval',
      'unhealthy_interval',
      'http_health_check',
      'tcp_health_check',
    ],
    path,
  );
  const out: HealthCheckSpec = {
    timeout: ms(h.timeout) ?? '1s',
    interval: ms(h.interval) ?? '10s',
    unhealthyThreshold: num(h.unhealthy_threshold) ?? 1,
    healthyThreshold: num(h.healthy_threshold) ?? 1,
  };
  if (h.interval_jitter !== undefined) out.intervalJitter = ms(h.interval_jitter);
  if (h.no_traffic_interval !== undefined) out.noTrafficInterval = ms(h.no_traffic_interval);
  if (h.unhealthy_interval !== undefined) out.unhealthyInterval = ms(h.unhealthy_interval);
  if (isObj(h.http_health_check)) {
    const hh = h.http_health_check;
    u.rest(hh, ['path', 'host', 'expected_statuses'], `${path}.http_health_check`);
    out.http = { path: str(hh.path) ?? '/' };
    if (str(hh.host) !== undefined) out.http.host = str(hh.host);
    const ranges = objList(hh.expected_statuses).map((r) => ({
      start: num(r.start) ?? 200,
      end: num(r.end) ?? 201,
    }));
    if (ranges.length) out.http.expectedStatuses = ranges;
  }
  if (isObj(h.tcp_health_check)) {
    const th = h.tcp_health_check;
    u.rest(th, ['send', 'receive'], `${path}.tcp_health_check`);
    out.tcp = {};
    if (str(obj(th.send).text)) out.tcp.send = str(obj(th.send).text);
    const recv = objList(th.receive)
      .map((r) => str(r.text))
      .filter((t): t is string => t !== undefined);
    if (recv.length) out.tcp.receive = recv;
  }
  return out;
}

const OUTLIER_FIELDS: Record<string, keyof OutlierDetectionSpec> = {
  consecutive_5xx: 'consecutive5xx',
  consecutive_gateway_failure: 'consecutiveGatewayFailure',
  consecutive_local_origin_failure: 'consecutiveLocalOriginFailure',
  interval: 'interval',
  base_ejection_time: 'baseEjectionTime',
  max_ejection_time: 'maxEjectionTime',
  max_ejection_percent: 'maxEjectionPercent',
  enforcing_consecutive_5xx: 'enforcingConsecutive5xx',
  enforcing_consecutive_gateway_failure: 'enforcingConsecutiveGatewayFailure',
  enforcing_consecutive_local_origin_failure: 'enforcingConsecutiveLocalOriginFailure',
  enforcing_success_rate: 'enforcingSuccessRate',
  success_rate_minimum_hosts: 'successRateMinimumHosts',
  success_rate_request_volume: 'successRateRequestVolume',
  success_rate_stdev_factor: 'successRateStdevFactor',
  failure_percentage_threshold: 'failurePercentageThreshold',
  enforcing_failure_percentage: 'enforcingFailurePercentage',
  failure_percentage_minimum_hosts: 'failurePercentageMinimumHosts',
  failure_percentage_request_volume: 'failurePercentageRequestVolume',
  split_external_local_origin_errors: 'splitExternalLocalOriginErrors',
};

function mapOutlier(o: J, path: string, u: Unmapped): OutlierDetectionSpec {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(o)) {
    const field = OUTLIER_FIELDS[k];
    if (!field) u.add(`${path}.${k}`);
    else if (k === 'interval' || k.endsWith('_time')) out[field] = ms(v);
    else if (k === 'split_external_local_origin_errors') out[field] = bool(v);
    else out[field] = num(v);
  }
  return out as OutlierDetectionSpec;
}

function mapThresholds(t: J, path: string, u: Unmapped): CircuitBreakerThresholdsSpec {
  u.rest(
    t,
    ['priority', 'max_connections', 'max_pending_requests', 'max_requests', 'max_retries', 'track_remaining'],
    path,
  );
  const out: CircuitBreakerThresholdsSpec = {};
  if (t.priority !== undefined) out.priority = enumName(t.priority) as 'DEFAULT' | 'HIGH';
  if (num(t.max_connections) !== undefined) out.maxConnections = num(t.max_connections);
  if (num(t.max_pending_requests) !== undefined) out.maxPendingRequests = num(t.max_pending_requests);
  if (num(t.max_requests) !== undefined) out.maxRequests = num(t.max_requests);
  if (num(t.max_retries) !== undefined) out.maxRetries = num(t.max_retries);
  if (bool(t.track_remaining)) out.trackRemaining = true;
  return out;
}

export interface EndpointRef {
  address: string;
  port: number;
  weight?: number;
  priority: number;
  locality?: { region?: string; zone?: string; subZone?: string };
  localityWeight?: number;
  metadata?: Record<string, string | number | boolean>;
}

/** Every endpoint of a load assignment, with its group's priority, locality and weight. */
export function endpointsOf(la: J, path: string, u: Unmapped): EndpointRef[] {
  u.rest(la, ['@type', 'cluster_name', 'endpoints', 'policy'], path);
  return objList(la.endpoints).flatMap((g, gi) => {
    u.rest(g, ['locality', 'lb_endpoints', 'load_balancing_weight', 'priority'], `${path}.endpoints[${gi}]`);
    const loc = obj(g.locality);
    const locality = isObj(g.locality)
      ? {
          ...(str(loc.region) !== undefined ? { region: str(loc.region) } : {}),
          ...(str(loc.zone) !== undefined ? { zone: str(loc.zone) } : {}),
          ...(str(loc.sub_zone) !== undefined ? { subZone: str(loc.sub_zone) } : {}),
        }
      : undefined;
    return objList(g.lb_endpoints).map((e, ei): EndpointRef => {
      u.rest(
        e,
        ['endpoint', 'load_balancing_weight', 'metadata'],
        `${path}.endpoints[${gi}].lb_endpoints[${ei}]`,
      );
      const sa = obj(obj(obj(e.endpoint).address).socket_address);
      return {
        address: str(sa.address) ?? '',
        port: num(sa.port_value) ?? 0,
        weight: num(e.load_balancing_weight),
        priority: num(g.priority) ?? 0,
        locality,
        localityWeight: num(g.load_balancing_weight),
        metadata: metadataOf(e.metadata),
      };
    });
  });
}
