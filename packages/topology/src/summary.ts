/**
 * The behaviour of an Envoy bootstrap, with its spelling normalised away: which listeners on
 * which ports, which routes match what and go where (clusters, weights, hash policies, subsets,
 * redirects, direct responses), which clusters with which discovery, LB policy, health checks,
 * outlier detection, circuit breakers, localities, priorities and endpoints.
 *
 * Two configs with equal summaries behave the same for the course's labs. Tests compare a
 * library lab's rendering with the course's own files this way; import uses it to check that a
 * structured mapping kept everything. Names that only label (listener and virtual host names,
 * stat prefixes) are left out. Browser-safe.
 */
import {
  bool,
  clusterUsesHttp2,
  dataSource,
  durationMs,
  enumName,
  filterKind,
  isObj,
  type J,
  list,
  num,
  obj,
  objList,
  str,
  stringMatcher,
  typeUrl,
} from './envoy-read.js';

export interface SummaryOptions {
  /** Contents of files the bootstrap points at (EDS/LDS/CDS paths), parsed. */
  readFile?: (path: string) => unknown;
}

export interface EnvoySummary {
  admin?: { port?: number };
  runtime: { name: string; kind: string; values?: unknown }[];
  delivery: string;
  listeners: J[];
  clusters: J[];
  secrets: J[];
}

export function summarizeBootstrap(bootstrap: unknown, opts: SummaryOptions = {}): EnvoySummary {
  return sortKeysDeep(summarize(bootstrap, opts)) as EnvoySummary;
}

/** Key order carries no meaning in Envoy config; sorting it lets summaries compare as JSON. */
function sortKeysDeep(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeysDeep);
  if (!isObj(v)) return v;
  const out: J = {};
  for (const k of Object.keys(v).sort()) if (v[k] !== undefined) out[k] = sortKeysDeep(v[k]);
  return out;
}

function summarize(bootstrap: unknown, opts: SummaryOptions): EnvoySummary {
  const b = obj(bootstrap);
  const sr = obj(b.static_resources);
  const dr = obj(b.dynamic_resources);
  let listeners = objList(sr.listeners);
  let clusters = objList(sr.clusters);
  let delivery = 'static';
  if (isObj(dr.lds_config) || isObj(dr.cds_config)) {
    const lds = obj(dr.lds_config);
    const cds = obj(dr.cds_config);
    const path = (c: J) => str(c.path) ?? str(obj(c.path_config_source).path);
    if (path(lds) || path(cds)) {
      delivery = 'filesystem';
      listeners = [...listeners, ...resources(opts, path(lds))];
      clusters = [...clusters, ...resources(opts, path(cds))];
    } else {
      delivery = isObj(dr.ads_config) ? 'ads' : 'grpc';
      // The control plane's own cluster is plumbing, not the lab's behaviour.
      const xds = new Set(
        objList(obj(lds.api_config_source).grpc_services)
          .concat(objList(obj(dr.ads_config).grpc_services))
          .map((g) => str(obj(g.envoy_grpc).cluster_name)),
      );
      clusters = clusters.filter((c) => !xds.has(str(c.name)));
    }
  }
  return {
    admin: isObj(b.admin)
      ? { port: num(obj(obj(obj(b.admin).address).socket_address).port_value) }
      : undefined,
    runtime: objList(obj(b.layered_runtime).layers).map((l) => {
      if (l.admin_layer !== undefined) return { name: str(l.name) ?? '', kind: 'admin' };
      if (l.static_layer !== undefined)
        return { name: str(l.name) ?? '', kind: 'static', values: flatten(l.static_layer) };
      return { name: str(l.name) ?? '', kind: 'other' };
    }),
    delivery,
    listeners: listeners
      .map(summarizeListener)
      .sort(
        (a, b) =>
          (a.port as number) - (b.port as number) || String(a.protocol).localeCompare(String(b.protocol)),
      ),
    clusters: clusters
      .map((c) => summarizeCluster(c, opts))
      .sort((a, b) => String(a.name).localeCompare(String(b.name))),
    secrets: objList(sr.secrets)
      .map((s) => ({
        name: str(s.name),
        certificate: isObj(s.tls_certificate),
        ca: isObj(s.validation_context),
      }))
      .sort((a, b) => String(a.name).localeCompare(String(b.name))),
  };
}

function resources(opts: SummaryOptions, path: string | undefined): J[] {
  if (!path || !opts.readFile) return [];
  return objList(obj(opts.readFile(path)).resources);
}

/** `{health_check: {min_interval: 5}}` → `{"health_check.min_interval": "5"}`, as /runtime shows it. */
function flatten(v: unknown, prefix = '', out: Record<string, string> = {}): Record<string, string> {
  if (isObj(v)) for (const [k, x] of Object.entries(v)) flatten(x, prefix ? `${prefix}.${k}` : k, out);
  else out[prefix] = String(v);
  return out;
}

function summarizeListener(l: J): J {
  const sa = obj(obj(l.address).socket_address);
  const protocol = enumName(sa.protocol) === 'UDP' ? 'udp' : undefined;
  const base: J = { address: str(sa.address), port: num(sa.port_value) };
  if (protocol === 'udp') {
    const f = objList(l.listener_filters).find(
      (x) => filterKind(x) === 'envoy.filters.udp_listener.udp_proxy',
    );
    const tc = obj(f?.typed_config);
    const action = obj(obj(obj(tc.matcher).on_no_match).action);
    return { ...base, protocol: 'udp', cluster: str(obj(action.typed_config).cluster) ?? str(tc.cluster) };
  }
  const chains = objList(l.filter_chains);
  return {
    ...base,
    protocol: 'tcp',
    chains: chains.map((ch) => {
      const filters = objList(ch.filters);
      const tls = obj(obj(ch.transport_socket).typed_config);
      const out: J = { filters: filters.map(summarizeNetworkFilter) };
      if (isObj(ch.transport_socket)) out.tls = summarizeTls(tls);
      if (isObj(ch.filter_chain_match)) out.match = ch.filter_chain_match;
      return out;
    }),
  };
}

function summarizeNetworkFilter(f: J): J {
  const kind = filterKind(f);
  const tc = obj(f.typed_config);
  if (kind === 'envoy.filters.network.tcp_proxy') {
    const wc = objList(obj(tc.weighted_clusters).clusters);
    return wc.length
      ? { kind: 'tcp_proxy', weighted: wc.map((c) => ({ name: str(c.name), weight: num(c.weight) })) }
      : { kind: 'tcp_proxy', cluster: str(tc.cluster) };
  }
  if (kind === 'envoy.filters.network.http_connection_manager') {
    const rc = obj(tc.route_config);
    return {
      kind: 'http',
      codec: enumName(tc.codec_type) ?? 'AUTO',
      rds: isObj(tc.rds) ? str(tc.rds.route_config_name) : undefined,
      httpFilters: objList(tc.http_filters).map(filterKind),
      virtualHosts: objList(rc.virtual_hosts).map((vh) => ({
        domains: list(vh.domains)
          .map((d) => String(d).toLowerCase())
          .sort(),
        routes: objList(vh.routes).map(summarizeRoute),
      })),
    };
  }
  return { kind, config: tc };
}

function summarizeTls(t: J): J {
  const ctx = obj(t.common_tls_context);
  const certs = objList(ctx.tls_certificates).map((c) => ({
    chain: dataSource(c.certificate_chain),
    key: dataSource(c.private_key),
  }));
  const vc = obj(ctx.validation_context);
  return {
    type: typeUrl(t).split('.').pop(),
    certificates: certs,
    certificateSecrets: objList(ctx.tls_certificate_sds_secret_configs).map((s) => str(s.name)),
    trustedCa: dataSource(vc.trusted_ca),
    validationSecret: str(obj(ctx.validation_context_sds_secret_config).name),
    requireClientCertificate: bool(t.require_client_certificate) ?? false,
    sni: str(t.sni),
  };
}

function summarizeRoute(r: J): J {
  const m = obj(r.match);
  const match: J = {};
  if (m.prefix !== undefined) match.prefix = str(m.prefix);
  if (m.path !== undefined) match.path = str(m.path);
  if (m.safe_regex !== undefined) match.regex = str(obj(m.safe_regex).regex);
  if (m.case_sensitive !== undefined) match.caseSensitive = bool(m.case_sensitive);
  const headers = objList(m.headers).map((h) => ({
    name: String(h.name).toLowerCase(),
    ...stringMatcher(h),
    invert: bool(h.invert_match) ?? false,
  }));
  if (headers.length) match.headers = headers;
  const query = objList(m.query_parameters).map((q) => ({ name: str(q.name), ...stringMatcher(q) }));
  if (query.length) match.query = query;
  const out: J = { match };
  if (isObj(r.redirect)) {
    const rd = r.redirect;
    out.redirect = {
      https: bool(rd.https_redirect) ?? false,
      scheme: str(rd.scheme_redirect),
      host: str(rd.host_redirect),
      port: num(rd.port_redirect),
      path: str(rd.path_redirect),
      prefix: str(rd.prefix_rewrite),
      code: enumName(rd.response_code) ?? 'MOVED_PERMANENTLY',
    };
  } else if (isObj(r.direct_response)) {
    out.direct = {
      status: num(r.direct_response.status),
      body: str(obj(r.direct_response.body).inline_string),
    };
  } else if (isObj(r.route)) {
    const a = r.route;
    if (isObj(a.weighted_clusters)) {
      out.weighted = objList(a.weighted_clusters.clusters).map((c) => ({
        name: str(c.name),
        weight: num(c.weight),
        metadata: lbMeta(c.metadata_match),
      }));
      if (a.weighted_clusters.runtime_key_prefix !== undefined)
        out.runtimeKeyPrefix = str(a.weighted_clusters.runtime_key_prefix);
    } else out.cluster = str(a.cluster);
    const hp = objList(a.hash_policy).map((h) => {
      if (isObj(h.header)) return { header: String(h.header.header_name).toLowerCase() };
      if (isObj(h.connection_properties)) return { sourceIp: bool(h.connection_properties.source_ip) };
      if (isObj(h.cookie)) return { cookie: str(h.cookie.name) };
      if (isObj(h.query_parameter)) return { query: str(h.query_parameter.name) };
      return { other: h };
    });
    if (hp.length) out.hashPolicy = hp;
    const mm = lbMeta(a.metadata_match);
    if (mm) out.metadataMatch = mm;
    for (const [k, f] of [
      ['prefixRewrite', 'prefix_rewrite'],
      ['hostRewrite', 'host_rewrite_literal'],
    ] as const) {
      if (a[f] !== undefined) out[k] = str(a[f]);
    }
    if (a.timeout !== undefined) out.timeoutMs = durationMs(a.timeout);
    if (isObj(a.retry_policy))
      out.retry = { on: str(a.retry_policy.retry_on), num: num(a.retry_policy.num_retries) };
  }
  return out;
}

function lbMeta(v: unknown): J | undefined {
  const m = obj(obj(obj(v).filter_metadata)['envoy.lb']);
  if (Object.keys(m).length === 0) return undefined;
  return Object.fromEntries(
    Object.entries(m)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([k, x]) => [k, str(x)]),
  );
}

function summarizeCluster(c: J, opts: SummaryOptions): J {
  const type = enumName(c.type) ?? 'STATIC';
  let la = obj(c.load_assignment);
  if (type === 'EDS') {
    const ec = obj(obj(c.eds_cluster_config).eds_config);
    const path = str(ec.path) ?? str(obj(ec.path_config_source).path);
    const cla = path ? objList(obj(opts.readFile?.(path)).resources)[0] : undefined;
    la = cla ?? {};
  }
  const groups = objList(la.endpoints)
    .map((g) => ({
      priority: num(g.priority) ?? 0,
      locality: localityKey(g.locality),
      localityWeight: num(g.load_balancing_weight),
      endpoints: objList(g.lb_endpoints)
        .map((e) => {
          const sa = obj(obj(obj(e.endpoint).address).socket_address);
          return {
            address: str(sa.address),
            port: num(sa.port_value),
            weight: num(e.load_balancing_weight) ?? 1,
            metadata: lbMeta(e.metadata),
          };
        })
        .sort((a, b) => `${a.address}:${a.port}`.localeCompare(`${b.address}:${b.port}`)),
    }))
    .sort((a, b) => a.priority - b.priority || a.locality.localeCompare(b.locality));
  const out: J = {
    name: str(c.name),
    type,
    lbPolicy: enumName(c.lb_policy) ?? 'ROUND_ROBIN',
    connectTimeoutMs: durationMs(c.connect_timeout) ?? 5000,
    http2: clusterUsesHttp2(c),
    endpoints: groups,
    overprovisioningFactor: num(obj(la.policy).overprovisioning_factor),
    healthChecks: objList(c.health_checks).map((h) => ({
      timeoutMs: durationMs(h.timeout),
      intervalMs: durationMs(h.interval),
      unhealthyThreshold: num(h.unhealthy_threshold),
      healthyThreshold: num(h.healthy_threshold),
      http: isObj(h.http_health_check)
        ? {
            path: str(h.http_health_check.path),
            expected: objList(h.http_health_check.expected_statuses).map((r) => [num(r.start), num(r.end)]),
          }
        : undefined,
      tcp: isObj(h.tcp_health_check)
        ? {
            send: str(obj(h.tcp_health_check.send).text),
            receive: objList(h.tcp_health_check.receive).map((r) => str(r.text)),
          }
        : undefined,
    })),
  };
  if (isObj(c.outlier_detection)) {
    const od: J = {};
    for (const [k, v] of Object.entries(c.outlier_detection)) {
      od[k] = k === 'interval' || k.endsWith('_time') ? durationMs(v) : (num(v) ?? bool(v));
    }
    out.outlierDetection = od;
  }
  if (isObj(c.circuit_breakers)) {
    out.circuitBreakers = objList(c.circuit_breakers.thresholds).map((t) => {
      const o: J = {};
      for (const [k, v] of Object.entries(t)) o[k] = k === 'priority' ? enumName(v) : (num(v) ?? bool(v));
      return o;
    });
  }
  const common = obj(c.common_lb_config);
  if (common.healthy_panic_threshold !== undefined)
    out.healthyPanicThreshold = num(common.healthy_panic_threshold);
  if (common.locality_weighted_lb_config !== undefined) out.localityWeighted = true;
  for (const [k, f] of [
    ['ringHash', 'ring_hash_lb_config'],
    ['leastRequest', 'least_request_lb_config'],
    ['maglev', 'maglev_lb_config'],
  ] as const) {
    if (isObj(c[f]))
      out[k] = Object.fromEntries(Object.entries(c[f] as J).map(([key, v]) => [key, num(v) ?? enumName(v)]));
  }
  if (isObj(c.lb_subset_config)) {
    const s = c.lb_subset_config;
    out.subsets = {
      fallback: enumName(s.fallback_policy) ?? 'NO_FALLBACK',
      default: isObj(s.default_subset)
        ? Object.fromEntries(
            Object.entries(s.default_subset)
              .map(([k, v]) => [k, str(v)])
              .sort(),
          )
        : undefined,
      selectors: objList(s.subset_selectors).map((x) => ({
        keys: list(x.keys).map(String),
        fallback: enumName(x.fallback_policy),
      })),
    };
  }
  if (isObj(c.transport_socket)) out.tls = summarizeTls(obj(c.transport_socket.typed_config));
  if (c.dns_lookup_family !== undefined) out.dnsLookupFamily = enumName(c.dns_lookup_family);
  return out;
}

function localityKey(v: unknown): string {
  const l = obj(v);
  return [str(l.region) ?? '', str(l.zone) ?? '', str(l.sub_zone) ?? ''].join('/');
}
