/**
 * A compiled `RouteConfiguration` (Envoy's `source/common/router/config_impl`): virtual hosts
 * chosen by `Host`, routes tried in order with the first match winning, and each route's action —
 * forward to a cluster (named, from a header, or split by weight), redirect, or answer directly.
 */
import fs from 'node:fs';
import { durationMs } from '../../common/duration.js';
import { combineHashes, xxHash64 } from '../../common/hash.js';
import {
  compileHeaderMatcher,
  compileQueryParameterMatcher,
  compileRegex,
  type HeaderPredicate,
  parseQuery,
  type QueryPredicate,
  type Regex,
} from '../../common/matchers.js';
import type {
  Any,
  HashPolicy,
  Metadata,
  RedirectAction,
  Route,
  RouteAction,
  RouteConfiguration,
  RouteMatch,
  VirtualHost,
} from '../../config/types.js';
import type { Runtime } from '../../runtime/runtime.js';
import { CorsPolicy, type CorsPolicyConfig } from '../filters/cors.js';
import { compilePerFilterConfigs, type PerFilterConfigs } from '../filters/per-route.js';
import type { RequestHead } from '../headers.js';
import { HeaderMutation } from './header-mutation.js';
import { compileMirrorPolicies, type MirrorPolicy } from './mirror-policy.js';
import { NO_RETRY_POLICY, RetryPolicy } from './retry-policy.js';

/** Envoy's default route timeout. */
const DEFAULT_ROUTE_TIMEOUT_MS = 15_000;
/**
 * How much request body Envoy buffers for retries and mirroring without `per_request_buffer_limit_bytes`:
 * the listener's connection buffer limit, 1 MiB by default.
 */
const DEFAULT_RETRY_SHADOW_BUFFER_LIMIT = 1024 * 1024;

/** Per-request facts route matching may look at, besides the request head. */
export interface RouteContext {
  /** A random draw for this stream, shared by runtime_fraction and weighted clusters (as in Envoy). */
  random: number;
  downstreamAddress: string;
}

export interface WeightedClusterEntry {
  name: string;
  clusterHeader: string | undefined;
  weight: number;
  runtimeKey: string | undefined;
  metadataMatch: Metadata | undefined;
  requestHeaders: HeaderMutation;
  responseHeaders: HeaderMutation;
}

export class VirtualHostEntry {
  readonly name: string;
  readonly routes: RouteEntry[];
  readonly requestHeaders: HeaderMutation;
  readonly responseHeaders: HeaderMutation;
  /** The default for routes without their own `retry_policy`. */
  readonly retryPolicy: RetryPolicy;
  /** The default for routes without their own mirror policies (the route configuration's, if none). */
  readonly mirrorPolicies: MirrorPolicy[];
  readonly retryShadowBufferLimit: number;
  /** `include_request_attempt_count` / `include_attempt_count_in_response`: `x-envoy-attempt-count`. */
  readonly includeAttemptCountInRequest: boolean;
  readonly includeAttemptCountInResponse: boolean;
  /** Compiled `typed_per_filter_config`, by filter name. */
  readonly perFilterConfig: PerFilterConfigs;
  /** The older `cors` field, which the CORS filter reads when no typed_per_filter_config sets a policy. */
  readonly corsPolicy: CorsPolicy | undefined;

  constructor(config: VirtualHost, table: RouteTable) {
    this.name = config.name;
    this.perFilterConfig = compilePerFilterConfigs(config.typed_per_filter_config);
    this.corsPolicy = config.cors ? new CorsPolicy(config.cors as CorsPolicyConfig) : undefined;
    this.retryPolicy = config.retry_policy ? new RetryPolicy(config.retry_policy) : NO_RETRY_POLICY;
    const mirrors = compileMirrorPolicies(config.request_mirror_policies);
    this.mirrorPolicies = mirrors.length > 0 ? mirrors : table.mirrorPolicies;
    this.retryShadowBufferLimit = config.per_request_buffer_limit_bytes ?? DEFAULT_RETRY_SHADOW_BUFFER_LIMIT;
    this.includeAttemptCountInRequest = config.include_request_attempt_count === true;
    this.includeAttemptCountInResponse = config.include_attempt_count_in_response === true;
    this.requestHeaders = new HeaderMutation(config.request_headers_to_add, config.request_headers_to_remove);
    this.responseHeaders = new HeaderMutation(
      config.response_headers_to_add,
      config.response_headers_to_remove,
    );
    this.routes = (config.routes ?? []).map((r) => new RouteEntry(r, this, table));
  }
}

export type RouteKind = 'cluster' | 'redirect' | 'direct_response';

/** One compiled route: its match and its action. */
export class RouteEntry {
  readonly name: string;
  readonly kind: RouteKind;
  readonly action: RouteAction | undefined;
  readonly redirect: RedirectAction | undefined;
  readonly directResponse: { status: number; body: Buffer } | undefined;
  readonly requestHeaders: HeaderMutation;
  readonly responseHeaders: HeaderMutation;
  readonly timeoutMs: number;
  readonly idleTimeoutMs: number | undefined;
  readonly weightedClusters: WeightedClusterEntry[] | undefined;
  readonly totalWeight: number;
  readonly hashPolicies: HashPolicy[];
  readonly clusterNotFoundCode: number;
  readonly retryPolicy: RetryPolicy;
  readonly mirrorPolicies: MirrorPolicy[];
  /** Request bytes the router may buffer for retries and mirroring before it gives up on both. */
  readonly retryShadowBufferLimit: number;
  /** Compiled `typed_per_filter_config`, by filter name. */
  readonly perFilterConfig: PerFilterConfigs;
  /** The route action's older `cors` field (see VirtualHostEntry.corsPolicy). */
  readonly corsPolicy: CorsPolicy | undefined;
  private readonly match: CompiledMatch;
  private readonly regexRewrite: { re: Regex; substitution: string } | undefined;
  private readonly redirectRegex: { re: Regex; substitution: string } | undefined;
  private readonly hashHeaderRewrites: (Regex | undefined)[];

  constructor(
    config: Route,
    readonly virtualHost: VirtualHostEntry,
    private readonly table: RouteTable,
  ) {
    this.name = config.name ?? '';
    this.match = compileMatch(config.match);
    this.perFilterConfig = compilePerFilterConfigs(config.typed_per_filter_config);
    this.corsPolicy = config.route?.cors ? new CorsPolicy(config.route.cors as CorsPolicyConfig) : undefined;
    this.requestHeaders = new HeaderMutation(config.request_headers_to_add, config.request_headers_to_remove);
    this.responseHeaders = new HeaderMutation(
      config.response_headers_to_add,
      config.response_headers_to_remove,
    );
    this.action = config.route;
    this.redirect = config.redirect;
    const a = config.route;
    this.kind = config.redirect ? 'redirect' : config.direct_response ? 'direct_response' : 'cluster';
    this.directResponse = config.direct_response
      ? { status: config.direct_response.status, body: dataSourceBytes(config.direct_response.body) }
      : undefined;
    this.timeoutMs = durationMs(a?.timeout, DEFAULT_ROUTE_TIMEOUT_MS);
    this.idleTimeoutMs = durationMs(a?.idle_timeout);
    this.regexRewrite = a?.regex_rewrite
      ? { re: compileRegex(a.regex_rewrite.pattern), substitution: a.regex_rewrite.substitution }
      : undefined;
    const rr = config.redirect?.regex_rewrite;
    this.redirectRegex = rr ? { re: compileRegex(rr.pattern), substitution: rr.substitution } : undefined;
    this.hashPolicies = a?.hash_policy ?? [];
    this.hashHeaderRewrites = this.hashPolicies.map((p) =>
      p.header?.regex_rewrite ? compileRegex(p.header.regex_rewrite.pattern) : undefined,
    );
    // The most specific level that sets them wins; levels are never merged.
    this.retryPolicy = a?.retry_policy ? new RetryPolicy(a.retry_policy) : virtualHost.retryPolicy;
    const mirrors = compileMirrorPolicies(a?.request_mirror_policies);
    this.mirrorPolicies = mirrors.length > 0 ? mirrors : virtualHost.mirrorPolicies;
    this.retryShadowBufferLimit = config.per_request_buffer_limit_bytes ?? virtualHost.retryShadowBufferLimit;
    const code = a?.cluster_not_found_response_code;
    this.clusterNotFoundCode = code === 'NOT_FOUND' ? 404 : code === 'INTERNAL_SERVER_ERROR' ? 500 : 503;
    const wc = a?.weighted_clusters;
    if (wc) {
      const prefix = wc.runtime_key_prefix;
      this.weightedClusters = wc.clusters.map((c) => ({
        name: c.name ?? '',
        clusterHeader: c.cluster_header?.toLowerCase(),
        weight: c.weight ?? 0,
        runtimeKey: prefix && c.name ? `${prefix}.${c.name}` : undefined,
        metadataMatch: c.metadata_match,
        requestHeaders: new HeaderMutation(c.request_headers_to_add, c.request_headers_to_remove),
        responseHeaders: new HeaderMutation(c.response_headers_to_add, c.response_headers_to_remove),
      }));
      this.totalWeight = wc.total_weight ?? this.weightedClusters.reduce((s, c) => s + c.weight, 0);
    } else {
      this.totalWeight = 0;
    }
  }

  matches(req: RequestHead, ctx: RouteContext): boolean {
    return this.match(req, ctx, this.table.runtime);
  }

  /**
   * The cluster this request goes to: the named one, the one a header names, or a weighted pick.
   * Weights come from runtime (`<runtime_key_prefix>.<cluster>`) when a key is set there, which
   * is how `/runtime_modify` shifts traffic.
   */
  selectCluster(
    req: RequestHead,
    ctx: RouteContext,
  ): { name: string; weighted: WeightedClusterEntry | undefined } {
    const a = this.action;
    if (a?.cluster) return { name: a.cluster, weighted: undefined };
    if (a?.cluster_header)
      return { name: req.headers.get(a.cluster_header.toLowerCase()) ?? '', weighted: undefined };
    const clusters = this.weightedClusters ?? [];
    const runtime = this.table.runtime;
    const weights = clusters.map((c) =>
      c.runtimeKey ? runtime.getInteger(c.runtimeKey, c.weight) : c.weight,
    );
    const total = this.action?.weighted_clusters?.total_weight ?? weights.reduce((s, w) => s + w, 0);
    if (total <= 0) return { name: '', weighted: undefined };
    const pick = ctx.random % total;
    let acc = 0;
    for (let i = 0; i < clusters.length; i++) {
      acc += weights[i]!;
      if (pick < acc) {
        const c = clusters[i]!;
        return { name: c.clusterHeader ? (req.headers.get(c.clusterHeader) ?? '') : c.name, weighted: c };
      }
    }
    const last = clusters[clusters.length - 1]!;
    return { name: last.name, weighted: last };
  }

  /** The path to send upstream after `prefix_rewrite` / `regex_rewrite`, or undefined if unchanged. */
  rewritePath(path: string): string | undefined {
    const a = this.action;
    if (!a) return undefined;
    const q = path.indexOf('?');
    const bare = q < 0 ? path : path.slice(0, q);
    const query = q < 0 ? '' : path.slice(q);
    if (a.prefix_rewrite !== undefined) {
      const matched = this.match.matchedPrefix?.(bare);
      if (matched === undefined) return undefined;
      return a.prefix_rewrite + bare.slice(matched.length) + query;
    }
    if (this.regexRewrite)
      return this.regexRewrite.re.replaceAll(bare, this.regexRewrite.substitution) + query;
    return undefined;
  }

  /**
   * The `location` of a redirect route (Envoy's RedirectAction): scheme, host, port and path
   * replaced as configured, query kept unless stripped or replaced by `path_redirect`.
   */
  redirectLocation(req: RequestHead): string {
    const r = this.redirect!;
    const scheme = r.https_redirect ? 'https' : (r.scheme_redirect ?? req.scheme);
    let host = r.host_redirect ?? req.authority;
    const schemeChanged = scheme !== req.scheme;
    if (r.port_redirect !== undefined && r.port_redirect !== 0) {
      host = `${stripPort(host)}:${r.port_redirect}`;
    } else if (schemeChanged) {
      // The request's port belonged to the old scheme; a default port is dropped, as Envoy does.
      const port = portOf(host);
      if (port === '80' || port === '443') host = stripPort(host);
    }
    const q = req.path.indexOf('?');
    const bare = q < 0 ? req.path : req.path.slice(0, q);
    const query = r.strip_query || q < 0 ? '' : req.path.slice(q);
    let path: string;
    if (r.path_redirect !== undefined) {
      path = r.path_redirect.includes('?') ? r.path_redirect : r.path_redirect + query;
    } else if (r.prefix_rewrite !== undefined) {
      const matched = this.match.matchedPrefix?.(bare) ?? '';
      path = r.prefix_rewrite + bare.slice(matched.length) + query;
    } else if (this.redirectRegex) {
      path = this.redirectRegex.re.replaceAll(bare, this.redirectRegex.substitution) + query;
    } else {
      path = bare + query;
    }
    return `${scheme}://${host}${path}`;
  }

  redirectStatus(): number {
    switch (this.redirect?.response_code) {
      case 'FOUND':
        return 302;
      case 'SEE_OTHER':
        return 303;
      case 'TEMPORARY_REDIRECT':
        return 307;
      case 'PERMANENT_REDIRECT':
        return 308;
      default:
        return 301;
    }
  }

  /**
   * The request's hash for consistent-hashing load balancers, from `hash_policy`: each policy
   * that finds its input contributes xxHash64 of it, combined as Envoy combines them
   * (rotate left by one, xor); a `terminal` policy that produced a hash stops the list.
   * Returns undefined when no policy produced a hash (the LB then picks at random).
   */
  hashKey(
    req: RequestHead,
    downstreamAddress: string,
    cookieToSet?: (name: string, value: string, ttlMs: number, path: string | undefined) => void,
  ): bigint | undefined {
    let hash: bigint | undefined;
    for (let i = 0; i < this.hashPolicies.length; i++) {
      const p = this.hashPolicies[i]!;
      let input: string | undefined;
      if (p.header) {
        const v = req.headers.getJoined(p.header.header_name.toLowerCase());
        const re = this.hashHeaderRewrites[i];
        input =
          v !== undefined && re && p.header.regex_rewrite
            ? re.replaceAll(v, p.header.regex_rewrite.substitution)
            : v;
      } else if (p.connection_properties?.source_ip) {
        input = downstreamAddress;
      } else if (p.query_parameter) {
        const q = req.path.indexOf('?');
        input = q < 0 ? undefined : parseQuery(req.path.slice(q + 1)).get(p.query_parameter.name);
      } else if (p.cookie) {
        input = cookieValue(req.headers.getJoined('cookie'), p.cookie.name);
        if (input === undefined && p.cookie.ttl !== undefined && cookieToSet) {
          // Envoy generates the cookie from the downstream address so the next request sticks.
          input = xxHash64(downstreamAddress).toString(16);
          cookieToSet(p.cookie.name, input, durationMs(p.cookie.ttl, 0), p.cookie.path);
        }
      }
      if (input === undefined) continue;
      hash = combineHashes(hash, xxHash64(input));
      if (p.terminal) break;
    }
    return hash;
  }
}

export class RouteTable {
  readonly name: string;
  readonly virtualHosts: VirtualHostEntry[];
  readonly requestHeaders: HeaderMutation;
  readonly responseHeaders: HeaderMutation;
  readonly mostSpecificWins: boolean;
  readonly mirrorPolicies: MirrorPolicy[];
  /** Compiled `typed_per_filter_config` of the route configuration, by filter name. */
  readonly perFilterConfig: PerFilterConfigs;
  private readonly exact = new Map<string, VirtualHostEntry>();
  private readonly suffixWildcards: [string, VirtualHostEntry][] = [];
  private readonly prefixWildcards: [string, VirtualHostEntry][] = [];
  private defaultVirtualHost: VirtualHostEntry | undefined;

  constructor(
    config: RouteConfiguration,
    readonly runtime: Runtime,
  ) {
    this.name = config.name ?? '';
    this.requestHeaders = new HeaderMutation(config.request_headers_to_add, config.request_headers_to_remove);
    this.responseHeaders = new HeaderMutation(
      config.response_headers_to_add,
      config.response_headers_to_remove,
    );
    this.mostSpecificWins = config.most_specific_header_mutations_wins === true;
    this.mirrorPolicies = compileMirrorPolicies(config.request_mirror_policies);
    this.perFilterConfig = compilePerFilterConfigs(config.typed_per_filter_config as Record<string, Any>);
    this.virtualHosts = (config.virtual_hosts ?? []).map((v) => new VirtualHostEntry(v, this));
    for (const vh of this.virtualHosts) {
      const cfg = (config.virtual_hosts ?? []).find((v) => v.name === vh.name)!;
      for (const raw of cfg.domains) {
        const d = raw.toLowerCase();
        if (d === '*') this.defaultVirtualHost ??= vh;
        else if (d.startsWith('*')) this.suffixWildcards.push([d.slice(1), vh]);
        else if (d.endsWith('*')) this.prefixWildcards.push([d.slice(0, -1), vh]);
        else if (!this.exact.has(d)) this.exact.set(d, vh);
      }
    }
    // Longest wildcard first, as Envoy searches them.
    this.suffixWildcards.sort((a, b) => b[0].length - a[0].length);
    this.prefixWildcards.sort((a, b) => b[0].length - a[0].length);
  }

  /**
   * Envoy's domain search order: exact, then suffix wildcards (`*.foo.com`), then prefix
   * wildcards (`foo.*`), longest first, then `*`. A wildcard never matches an empty remainder.
   */
  findVirtualHost(authority: string): VirtualHostEntry | undefined {
    const host = authority.toLowerCase();
    const exact = this.exact.get(host);
    if (exact) return exact;
    for (const [suffix, vh] of this.suffixWildcards) {
      if (host.length > suffix.length && host.endsWith(suffix)) return vh;
    }
    for (const [prefix, vh] of this.prefixWildcards) {
      if (host.length > prefix.length && host.startsWith(prefix)) return vh;
    }
    return this.defaultVirtualHost;
  }

  /** The first route of the matching virtual host that matches the request, or undefined (404). */
  route(req: RequestHead, ctx: RouteContext): RouteEntry | undefined {
    const vh = this.findVirtualHost(req.authority);
    if (!vh) return undefined;
    for (const r of vh.routes) if (r.matches(req, ctx)) return r;
    return undefined;
  }

  /**
   * The route-specific configs of the filter named `filterName` for a request on `route`, most
   * specific first (route, virtual host, route configuration). Envoy's filters take the first
   * (`resolveMostSpecificPerFilterConfig`), or merge them field by field (CORS).
   */
  perFilterConfigs(route: RouteEntry, filterName: string): unknown[] {
    return [route, route.virtualHost, this]
      .map((level) => level.perFilterConfig.get(filterName))
      .filter((c) => c !== undefined);
  }

  /** Header mutation levels for a request on `route`, in the order they apply. */
  mutations(
    route: RouteEntry,
    weighted: WeightedClusterEntry | undefined,
    which: 'request' | 'response',
  ): HeaderMutation[] {
    const pick = (x: { requestHeaders: HeaderMutation; responseHeaders: HeaderMutation }) =>
      which === 'request' ? x.requestHeaders : x.responseHeaders;
    const levels = [
      weighted ? pick(weighted) : undefined,
      pick(route),
      pick(route.virtualHost),
      pick(this),
    ].filter((m): m is HeaderMutation => m !== undefined);
    // By default the more general level applies last (and so wins on overwrite); Envoy's
    // most_specific_header_mutations_wins reverses that.
    return this.mostSpecificWins ? levels.reverse() : levels;
  }
}

type CompiledMatch = ((req: RequestHead, ctx: RouteContext, runtime: Runtime) => boolean) & {
  /** For prefix-style matches: the part of `path` the route's prefix matched (for prefix_rewrite). */
  matchedPrefix?: (path: string) => string | undefined;
};

function compileMatch(m: RouteMatch): CompiledMatch {
  const caseSensitive = m.case_sensitive !== false;
  const norm = (s: string) => (caseSensitive ? s : s.toLowerCase());
  let pathMatch: (fullPath: string, bare: string) => boolean;
  let matchedPrefix: ((path: string) => string | undefined) | undefined;
  if (m.prefix !== undefined) {
    const prefix = norm(m.prefix);
    // Envoy's prefix match runs on :path including the query string.
    pathMatch = (full) => norm(full).startsWith(prefix);
    matchedPrefix = (path) => (norm(path).startsWith(prefix) ? path.slice(0, prefix.length) : undefined);
  } else if (m.path !== undefined) {
    const want = norm(m.path);
    pathMatch = (_full, bare) => norm(bare) === want;
    matchedPrefix = (path) => (norm(path) === want ? path : undefined);
  } else if (m.safe_regex) {
    const re = compileRegex(m.safe_regex);
    pathMatch = (_full, bare) => re.fullMatch(bare);
  } else if (m.path_separated_prefix !== undefined) {
    const prefix = norm(m.path_separated_prefix);
    pathMatch = (_full, bare) => {
      const b = norm(bare);
      return b === prefix || b.startsWith(`${prefix}/`);
    };
    matchedPrefix = (path) => path.slice(0, prefix.length);
  } else {
    // connect_matcher: only CONNECT requests.
    pathMatch = () => false;
  }
  const isConnect = m.connect_matcher !== undefined;
  const headers: HeaderPredicate[] = (m.headers ?? []).map(compileHeaderMatcher);
  const queries: QueryPredicate[] = (m.query_parameters ?? []).map(compileQueryParameterMatcher);
  const grpc = m.grpc !== undefined;
  const fraction = m.runtime_fraction;
  const fn: CompiledMatch = (req, ctx, runtime) => {
    if (isConnect) {
      if (req.method !== 'CONNECT') return false;
    } else {
      const q = req.path.indexOf('?');
      const bare = q < 0 ? req.path : req.path.slice(0, q);
      if (!pathMatch(req.path, bare)) return false;
    }
    if (grpc && !(req.headers.get('content-type') ?? '').startsWith('application/grpc')) return false;
    for (const h of headers) if (!h(req.headers)) return false;
    if (queries.length > 0) {
      const q = req.path.indexOf('?');
      const params = parseQuery(q < 0 ? '' : req.path.slice(q + 1));
      for (const p of queries) if (!p(params)) return false;
    }
    if (fraction && !runtime.featureEnabled(fraction.runtime_key, fraction.default_value, ctx.random))
      return false;
    return true;
  };
  if (matchedPrefix) fn.matchedPrefix = matchedPrefix;
  return fn;
}

function stripPort(host: string): string {
  if (host.startsWith('[')) {
    const end = host.indexOf(']');
    return end < 0 ? host : host.slice(0, end + 1);
  }
  const colon = host.lastIndexOf(':');
  return colon < 0 ? host : host.slice(0, colon);
}

function portOf(host: string): string | undefined {
  const stripped = stripPort(host);
  return stripped.length < host.length ? host.slice(stripped.length + 1) : undefined;
}

function cookieValue(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(/;\s*/)) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).replace(/^"(.*)"$/, '$1');
  }
  return undefined;
}

function dataSourceBytes(
  ds:
    | { filename?: string; inline_bytes?: string; inline_string?: string; environment_variable?: string }
    | undefined,
): Buffer {
  if (!ds) return Buffer.alloc(0);
  if (ds.inline_string !== undefined) return Buffer.from(ds.inline_string, 'utf8');
  if (ds.inline_bytes !== undefined) return Buffer.from(ds.inline_bytes, 'base64');
  if (ds.filename !== undefined) return fs.readFileSync(ds.filename);
  if (ds.environment_variable !== undefined)
    return Buffer.from(process.env[ds.environment_variable] ?? '', 'utf8');
  return Buffer.alloc(0);
}
