/**
 * The CORS filter (`envoy.filters.http.cors`), after Envoy's `source/extensions/filters/http/cors`:
 * with the CORS policy of the route and its virtual host, it answers preflight requests (`OPTIONS`
 * with `origin` and `access-control-request-method`) itself and adds `access-control-allow-origin`
 * (and credentials, expose headers) to the responses of other requests from an allowed origin.
 *
 * Policies come from `typed_per_filter_config` (route configuration, virtual host, route; the most
 * specific level that sets a field wins, field by field); only when none is configured there, from
 * the older `cors` fields of the route action and the virtual host. The first policy decides whether
 * the filter is enabled (`filter_enabled`, default on) or runs in shadow mode (`shadow_enabled`:
 * origins are checked and counted, nothing is enforced). Direct responses and redirects bypass it.
 *
 * Stats: `http.<stat_prefix>.cors.origin_valid` / `origin_invalid`, for requests with an `origin`.
 */
import { compileStringMatcher, type StringPredicate } from '../../common/matchers.js';
import type { RuntimeFractionalPercent, StringMatcher } from '../../config/types.js';
import type { Runtime } from '../../runtime/runtime.js';
import type { Counter, Scope } from '../../stats/store.js';
import { type FilterCallbacks, type FilterHeadersStatus, PassThroughFilter } from '../filter.js';
import { HeaderMap, type RequestHead, type ResponseHead } from '../headers.js';
import { runtimeDraw } from './request-match.js';

/** `envoy.config.route.v3.CorsPolicy` and `envoy.extensions.filters.http.cors.v3.CorsPolicy`, normalized. */
export interface CorsPolicyConfig {
  allow_origin_string_match?: StringMatcher[];
  allow_methods?: string;
  allow_headers?: string;
  expose_headers?: string;
  max_age?: string;
  allow_credentials?: boolean;
  allow_private_network_access?: boolean;
  forward_not_matching_preflights?: boolean;
  filter_enabled?: RuntimeFractionalPercent;
  shadow_enabled?: RuntimeFractionalPercent;
}

/** One level's policy; unset fields leave the decision to the next, less specific level. */
export class CorsPolicy {
  readonly allowOrigins: StringPredicate[];
  readonly allowMethods: string;
  readonly allowHeaders: string;
  readonly exposeHeaders: string;
  readonly maxAge: string;
  readonly allowCredentials: boolean | undefined;
  readonly allowPrivateNetworkAccess: boolean | undefined;
  readonly forwardNotMatchingPreflights: boolean | undefined;
  private readonly filterEnabled: RuntimeFractionalPercent | undefined;
  private readonly shadowEnabled: RuntimeFractionalPercent | undefined;

  constructor(c: CorsPolicyConfig) {
    this.allowOrigins = (c.allow_origin_string_match ?? []).map(compileStringMatcher);
    this.allowMethods = c.allow_methods ?? '';
    this.allowHeaders = c.allow_headers ?? '';
    this.exposeHeaders = c.expose_headers ?? '';
    this.maxAge = c.max_age ?? '';
    this.allowCredentials = c.allow_credentials;
    this.allowPrivateNetworkAccess = c.allow_private_network_access;
    this.forwardNotMatchingPreflights = c.forward_not_matching_preflights;
    this.filterEnabled = c.filter_enabled;
    this.shadowEnabled = c.shadow_enabled;
  }

  enabled(runtime: Runtime, draw: number): boolean {
    const f = this.filterEnabled;
    return f ? runtime.featureEnabled(f.runtime_key, f.default_value, draw) : true;
  }

  shadow(runtime: Runtime, draw: number): boolean {
    const f = this.shadowEnabled;
    return f ? runtime.featureEnabled(f.runtime_key, f.default_value, draw) : false;
  }
}

export class CorsFilterConfig {
  readonly stats: { origin_valid: Counter; origin_invalid: Counter };

  constructor(
    httpScope: Scope,
    readonly runtime: Runtime,
    readonly random: () => number,
    readonly filterName: string,
  ) {
    const s = httpScope.scope('cors.');
    this.stats = { origin_valid: s.counter('origin_valid'), origin_invalid: s.counter('origin_invalid') };
  }
}

export class CorsFilter extends PassThroughFilter {
  /** Most specific first. */
  private policies: CorsPolicy[] = [];
  private isCorsRequest = false;
  /** The request's origin, when it is allowed. */
  private latchedOrigin = '';

  constructor(
    private readonly callbacks: FilterCallbacks,
    private readonly config: CorsFilterConfig,
  ) {
    super();
  }

  override decodeHeaders(request: RequestHead): FilterHeadersStatus {
    const cb = this.callbacks;
    const route = cb.route();
    if (route?.kind !== 'cluster') return 'Continue';
    this.policies = cb.routeTable
      .perFilterConfigs(route, this.config.filterName)
      .filter((p): p is CorsPolicy => p instanceof CorsPolicy);
    if (this.policies.length === 0) {
      this.policies = [route.corsPolicy, route.virtualHost.corsPolicy].filter(
        (p): p is CorsPolicy => p !== undefined,
      );
    }
    const first = this.policies[0];
    const { runtime, random } = this.config;
    const enabled = first?.enabled(runtime, runtimeDraw(random)) ?? false;
    const shadow = first?.shadow(runtime, runtimeDraw(random)) ?? false;
    if (!enabled && !shadow) return 'Continue';

    const origin = request.headers.get('origin');
    if (!origin) return 'Continue';
    const allowed = this.isOriginAllowed(origin);
    if (allowed) {
      this.config.stats.origin_valid.inc();
      this.latchedOrigin = origin;
    } else {
      this.config.stats.origin_invalid.inc();
    }
    if (!enabled) return 'Continue';
    this.isCorsRequest = true;

    const requestMethod = request.headers.get('access-control-request-method');
    if (request.method !== 'OPTIONS' || !requestMethod) return 'Continue';
    if (!allowed && this.first((p) => p.forwardNotMatchingPreflights, true)) return 'Continue';

    // A preflight: answered here, never forwarded.
    const h = new HeaderMap();
    if (allowed) h.set('access-control-allow-origin', origin);
    if (this.allowCredentials()) h.set('access-control-allow-credentials', 'true');
    const methods = this.firstString((p) => p.allowMethods);
    if (methods) h.set('access-control-allow-methods', methods === '*' ? requestMethod : methods);
    const headers = this.firstString((p) => p.allowHeaders);
    if (headers) {
      h.set(
        'access-control-allow-headers',
        headers === '*' ? (request.headers.get('access-control-request-headers') ?? '') : headers,
      );
    }
    const maxAge = this.firstString((p) => p.maxAge);
    if (maxAge) h.set('access-control-max-age', maxAge);
    if (
      this.first((p) => p.allowPrivateNetworkAccess, false) &&
      request.headers.get('access-control-request-private-network') === 'true'
    ) {
      h.set('access-control-allow-private-network', 'true');
    }
    cb.streamInfo.responseCodeDetails = 'cors_response';
    cb.encodeHeaders({ status: 200, headers: h }, true);
    return 'StopIteration';
  }

  override encodeHeaders(response: ResponseHead): FilterHeadersStatus {
    if (!this.isCorsRequest || !this.latchedOrigin) return 'Continue';
    const h = response.headers;
    h.set('access-control-allow-origin', this.latchedOrigin);
    if (this.allowCredentials()) h.set('access-control-allow-credentials', 'true');
    const expose = this.firstString((p) => p.exposeHeaders);
    if (expose) h.set('access-control-expose-headers', expose);
    return 'Continue';
  }

  private isOriginAllowed(origin: string): boolean {
    const matchers = this.policies.find((p) => p.allowOrigins.length > 0)?.allowOrigins ?? [];
    return matchers.some((m) => m('*') || m(origin));
  }

  private allowCredentials(): boolean {
    return this.first((p) => p.allowCredentials, false);
  }

  /** The most specific policy's setting of a boolean field, or `fallback` when no level sets it. */
  private first(field: (p: CorsPolicy) => boolean | undefined, fallback: boolean): boolean {
    for (const p of this.policies) {
      const v = field(p);
      if (v !== undefined) return v;
    }
    return fallback;
  }

  /** The most specific non-empty setting of a string field, or ''. */
  private firstString(field: (p: CorsPolicy) => string): string {
    for (const p of this.policies) {
      const v = field(p);
      if (v) return v;
    }
    return '';
  }
}
