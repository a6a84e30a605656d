/**
 * The local rate limit filter (`envoy.filters.http.local_ratelimit`), after Envoy's
 * `source/extensions/filters/http/local_ratelimit`: a token bucket per configuration (the filter's,
 * or a route's or virtual host's own through `typed_per_filter_config`), shared by every request
 * that configuration applies to. A request takes a token; without one it is rate limited — answered
 * with 429 (or `status`) and body `local_rate_limited`, response flag RL — when `filter_enforced`
 * selects it, and otherwise forwarded with `request_headers_to_add_when_not_enforced`. Both
 * fractions default to 0 % when absent, so a configuration without `filter_enabled` does nothing.
 *
 * `enable_x_ratelimit_headers: DRAFT_VERSION_03` adds `x-ratelimit-limit`, `x-ratelimit-remaining`
 * and `x-ratelimit-reset` (seconds to the next fill) to every response the bucket was checked for.
 *
 * Stats: `<stat_prefix>.http_local_rate_limit.{enabled,enforced,rate_limited,ok}`, at the root of
 * the stats tree (not under `http.`), as in Envoy.
 */
import { durationMs } from '../../common/duration.js';
import { envoyApi } from '../../config/envoy-protos.js';
import type { Duration, HeaderValueOption, RuntimeFractionalPercent } from '../../config/types.js';
import type { Runtime } from '../../runtime/runtime.js';
import type { Counter, Scope } from '../../stats/store.js';
import { type FilterCallbacks, type FilterHeadersStatus, PassThroughFilter } from '../filter.js';
import { HeaderMap, type RequestHead, type ResponseHead } from '../headers.js';
import { HeaderMutation } from '../route/header-mutation.js';
import { runtimeDraw } from './request-match.js';

/** `envoy.extensions.filters.http.local_ratelimit.v3.LocalRateLimit`, normalized. */
export interface LocalRateLimitConfig {
  stat_prefix: string;
  /** `envoy.type.v3.HttpStatus`: its code is a `StatusCode` enum name once normalized. */
  status?: { code?: string };
  token_bucket?: { max_tokens: number; tokens_per_fill?: number; fill_interval?: Duration };
  filter_enabled?: RuntimeFractionalPercent;
  filter_enforced?: RuntimeFractionalPercent;
  request_headers_to_add_when_not_enforced?: HeaderValueOption[];
  response_headers_to_add?: HeaderValueOption[];
  enable_x_ratelimit_headers?: 'OFF' | 'DRAFT_VERSION_03';
}

/** Envoy's lower bound on `fill_interval`. */
const MIN_FILL_INTERVAL_MS = 50;

/**
 * Envoy's timer-driven bucket: it starts full, and every `fill_interval` after it was created
 * `tokens_per_fill` tokens are added, up to `max_tokens`. The fills are computed when the bucket
 * is used rather than by a timer; the outcome is the same.
 */
export class TokenBucket {
  private tokens: number;
  private lastFillMs: number;

  constructor(
    readonly maxTokens: number,
    readonly tokensPerFill: number,
    /** 0: never refilled. */
    readonly fillIntervalMs: number,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.tokens = maxTokens;
    this.lastFillMs = now();
  }

  private refill(): void {
    if (this.fillIntervalMs <= 0) return;
    const fills = Math.floor((this.now() - this.lastFillMs) / this.fillIntervalMs);
    if (fills <= 0) return;
    this.tokens = Math.min(this.maxTokens, this.tokens + fills * this.tokensPerFill);
    this.lastFillMs += fills * this.fillIntervalMs;
  }

  /** Takes a token if there is one. */
  consume(): boolean {
    this.refill();
    if (this.tokens === 0) return false;
    this.tokens--;
    return true;
  }

  remaining(): number {
    this.refill();
    return this.tokens;
  }

  /** Whole seconds until the next fill, as Envoy computes `x-ratelimit-reset`. */
  resetSeconds(): number {
    this.refill();
    const elapsedSeconds = Math.floor((this.now() - this.lastFillMs) / 1000);
    return Math.trunc((this.fillIntervalMs - elapsedSeconds * 1000) / 1000);
  }
}

export interface LocalRateLimitStats {
  enabled: Counter;
  enforced: Counter;
  rate_limited: Counter;
  ok: Counter;
}

/** One rate limit configuration with its bucket: the filter's, or a route's or virtual host's. */
export class LocalRateLimitSettings {
  readonly statPrefix: string;
  readonly status: number;
  readonly bucket: TokenBucket;
  readonly filterEnabled: RuntimeFractionalPercent | undefined;
  readonly filterEnforced: RuntimeFractionalPercent | undefined;
  readonly responseHeaders: HeaderMutation;
  readonly requestHeadersWhenNotEnforced: HeaderMutation;
  readonly xRateLimitHeaders: boolean;
  private stats: LocalRateLimitStats | undefined;

  constructor(c: LocalRateLimitConfig, perRoute: boolean) {
    if (perRoute && !c.token_bucket)
      throw new Error('local rate limit token bucket must be set for per filter configs');
    this.statPrefix = c.stat_prefix;
    const code = envoyApi().enum('envoy.type.v3.StatusCode')?.values[c.status?.code ?? ''] ?? 0;
    this.status = code >= 400 ? code : 429;
    const fillMs = durationMs(c.token_bucket?.fill_interval, 0);
    if (fillMs > 0 && fillMs < MIN_FILL_INTERVAL_MS)
      throw new Error('local rate limit token bucket fill timer must be >= 50ms');
    this.bucket = new TokenBucket(
      c.token_bucket?.max_tokens ?? 0,
      c.token_bucket?.tokens_per_fill ?? 1,
      fillMs,
    );
    this.filterEnabled = c.filter_enabled;
    this.filterEnforced = c.filter_enforced;
    this.responseHeaders = new HeaderMutation(c.response_headers_to_add, undefined);
    this.requestHeadersWhenNotEnforced = new HeaderMutation(
      c.request_headers_to_add_when_not_enforced,
      undefined,
    );
    this.xRateLimitHeaders = c.enable_x_ratelimit_headers === 'DRAFT_VERSION_03';
  }

  /**
   * The stats under this configuration's `stat_prefix`. A route's configuration is compiled with
   * its route table, which has no stats store, so it resolves them on first use.
   */
  statsIn(root: Scope): LocalRateLimitStats {
    if (!this.stats) {
      const s = root.scope(`${this.statPrefix}.http_local_rate_limit.`);
      this.stats = {
        enabled: s.counter('enabled'),
        enforced: s.counter('enforced'),
        rate_limited: s.counter('rate_limited'),
        ok: s.counter('ok'),
      };
    }
    return this.stats;
  }
}

export class LocalRateLimitFilterConfig {
  readonly settings: LocalRateLimitSettings;

  constructor(
    config: LocalRateLimitConfig,
    /** The root of the stats tree. */
    readonly store: Scope,
    readonly runtime: Runtime,
    readonly random: () => number,
    readonly filterName: string,
  ) {
    this.settings = new LocalRateLimitSettings(config, false);
    this.settings.statsIn(store);
  }
}

export class LocalRateLimitFilter extends PassThroughFilter {
  /** The bucket this request was checked against, for the x-ratelimit headers. */
  private checked: LocalRateLimitSettings | undefined;

  constructor(
    private readonly callbacks: FilterCallbacks,
    private readonly config: LocalRateLimitFilterConfig,
  ) {
    super();
  }

  override decodeHeaders(request: RequestHead): FilterHeadersStatus {
    const cb = this.callbacks;
    const route = cb.route();
    const perRoute = route && cb.routeTable.perFilterConfigs(route, this.config.filterName)[0];
    const used = perRoute instanceof LocalRateLimitSettings ? perRoute : this.config.settings;
    if (!this.fraction(used.filterEnabled)) return 'Continue';
    const stats = used.statsIn(this.config.store);
    stats.enabled.inc();
    this.checked = used;
    if (used.bucket.consume()) {
      stats.ok.inc();
      return 'Continue';
    }
    stats.rate_limited.inc();
    if (!this.fraction(used.filterEnforced)) {
      used.requestHeadersWhenNotEnforced.apply(request.headers, cb.streamInfo);
      return 'Continue';
    }
    stats.enforced.inc();
    cb.streamInfo.setFlag('RL');
    const headers = new HeaderMap();
    used.responseHeaders.apply(headers, cb.streamInfo);
    cb.sendLocalReply(used.status, 'local_rate_limited', {
      details: 'local_rate_limited',
      headers: headers.entries(),
    });
    return 'StopIteration';
  }

  override encodeHeaders(response: ResponseHead): FilterHeadersStatus {
    const used = this.checked;
    if (used?.xRateLimitHeaders) {
      const h = response.headers;
      h.add('x-ratelimit-limit', String(used.bucket.maxTokens));
      h.add('x-ratelimit-remaining', String(used.bucket.remaining()));
      h.add('x-ratelimit-reset', String(used.bucket.resetSeconds()));
    }
    return 'Continue';
  }

  /** `filter_enabled` / `filter_enforced`: absent means never. */
  private fraction(f: RuntimeFractionalPercent | undefined): boolean {
    return (
      f !== undefined &&
      this.config.runtime.featureEnabled(f.runtime_key, f.default_value, runtimeDraw(this.config.random))
    );
  }
}
