/**
 * The fault injection filter (`envoy.filters.http.fault`), after Envoy's
 * `source/extensions/filters/http/fault`: delays a request (`fixed_delay`, or the milliseconds a
 * request's `x-envoy-fault-delay-request` header asks for when `header_delay` is configured) and/or
 * aborts it (`http_status`, `grpc_status`, or `x-envoy-fault-abort-request` /
 * `x-envoy-fault-abort-grpc-request` with `header_abort`), each on its own percentage of requests.
 *
 * Faults apply only to requests that match `upstream_cluster`, `downstream_nodes`
 * (`x-envoy-downstream-service-node`) and `headers`. The percentages, the delay, the abort status
 * and `max_active_faults` can be overridden by runtime keys (`fault.http.delay.fixed_delay_percent`,
 * `fault.http.abort.abort_percent`, `fault.http.delay.fixed_duration_ms`, `fault.http.abort.http_status`,
 * `fault.http.abort.grpc_status`, `fault.http.max_active_faults`, or the `*_runtime` names the config
 * gives), and per downstream cluster (`fault.http.<x-envoy-downstream-service-cluster>.*`), which then
 * replaces the general percentage key. A route or virtual host may replace the whole fault
 * configuration through `typed_per_filter_config`.
 *
 * Stats: `http.<stat_prefix>.fault.{delays_injected,aborts_injected,faults_overflow}`, the
 * `active_faults` gauge (one per faulted request, however many faults it gets), and
 * `fault.<downstream cluster>.{delays_injected,aborts_injected}`. Response flags DI and FI.
 */
import { durationMs } from '../../common/duration.js';
import type { Duration, FractionalPercent, HeaderMatcher } from '../../config/types.js';
import type { Runtime } from '../../runtime/runtime.js';
import type { Counter, Gauge, Scope } from '../../stats/store.js';
import { type FilterCallbacks, type FilterHeadersStatus, PassThroughFilter } from '../filter.js';
import { HeaderMap, type RequestHead } from '../headers.js';
import {
  compileRequestHeaderMatchers,
  isGrpcRequest,
  type RequestPredicate,
  runtimeDraw,
} from './request-match.js';

/** `envoy.extensions.filters.http.fault.v3.HTTPFault`, normalized. */
export interface HttpFaultConfig {
  delay?: { fixed_delay?: Duration; header_delay?: Record<string, never>; percentage?: FractionalPercent };
  abort?: {
    http_status?: number;
    grpc_status?: number;
    header_abort?: Record<string, never>;
    percentage?: FractionalPercent;
  };
  upstream_cluster?: string;
  headers?: HeaderMatcher[];
  downstream_nodes?: string[];
  max_active_faults?: number;
  delay_percent_runtime?: string;
  abort_percent_runtime?: string;
  delay_duration_runtime?: string;
  abort_http_status_runtime?: string;
  abort_grpc_status_runtime?: string;
  max_active_faults_runtime?: string;
  disable_downstream_cluster_stats?: boolean;
}

const HEADER = {
  delay: 'x-envoy-fault-delay-request',
  delayPercentage: 'x-envoy-fault-delay-request-percentage',
  abort: 'x-envoy-fault-abort-request',
  abortGrpc: 'x-envoy-fault-abort-grpc-request',
  abortPercentage: 'x-envoy-fault-abort-request-percentage',
} as const;

/** The first value of an (untrusted) header as an unsigned integer, as Envoy's `SimpleAtoi` reads it. */
function headerInteger(request: RequestHead, name: string): number | undefined {
  const v = request.headers.get(name)?.trim();
  return v !== undefined && /^\+?\d+$/.test(v) ? Number(v) : undefined;
}

/**
 * A configured percentage; with header control, a request's `*-percentage` header may lower
 * (never raise) the numerator.
 */
function percentageProvider(
  configured: FractionalPercent | undefined,
  header: string | undefined,
): (request: RequestHead) => FractionalPercent {
  const base: FractionalPercent = {
    numerator: configured?.numerator ?? 0,
    denominator: configured?.denominator ?? 'HUNDRED',
  };
  if (!header) return () => base;
  return (request) => {
    const asked = headerInteger(request, header);
    return asked === undefined ? base : { ...base, numerator: Math.min(asked, base.numerator ?? 0) };
  };
}

interface DelayProvider {
  percentage(request: RequestHead): FractionalPercent;
  /** The delay in ms, or undefined when there is none (header control without a valid header). */
  duration(request: RequestHead): number | undefined;
}

interface AbortProvider {
  percentage(request: RequestHead): FractionalPercent;
  httpStatus(request: RequestHead): number | undefined;
  grpcStatus(request: RequestHead): number | undefined;
}

function delayProvider(d: NonNullable<HttpFaultConfig['delay']>): DelayProvider {
  if (d.header_delay) {
    return {
      percentage: percentageProvider(d.percentage, HEADER.delayPercentage),
      duration: (request) => headerInteger(request, HEADER.delay),
    };
  }
  const ms = durationMs(d.fixed_delay, 0);
  return { percentage: percentageProvider(d.percentage, undefined), duration: () => ms };
}

function abortProvider(a: NonNullable<HttpFaultConfig['abort']>): AbortProvider {
  if (a.header_abort) {
    return {
      percentage: percentageProvider(a.percentage, HEADER.abortPercentage),
      httpStatus: (request) => {
        const code = headerInteger(request, HEADER.abort);
        return code !== undefined && code >= 200 && code < 600 ? code : undefined;
      },
      grpcStatus: (request) => headerInteger(request, HEADER.abortGrpc),
    };
  }
  return {
    percentage: percentageProvider(a.percentage, undefined),
    httpStatus: () => a.http_status,
    grpcStatus: () => a.grpc_status,
  };
}

/** One fault configuration: the filter's own, or a route's or virtual host's replacement of it. */
export class FaultSettings {
  readonly delay: DelayProvider | undefined;
  readonly abort: AbortProvider | undefined;
  readonly upstreamCluster: string;
  readonly downstreamNodes: ReadonlySet<string>;
  readonly matchesHeaders: RequestPredicate;
  readonly maxActiveFaults: number | undefined;
  readonly delayPercentKey: string;
  readonly abortPercentKey: string;
  readonly delayDurationKey: string;
  readonly abortHttpStatusKey: string;
  readonly abortGrpcStatusKey: string;
  readonly maxActiveFaultsKey: string;
  readonly downstreamClusterStats: boolean;

  constructor(c: HttpFaultConfig) {
    this.delay = c.delay ? delayProvider(c.delay) : undefined;
    this.abort = c.abort ? abortProvider(c.abort) : undefined;
    this.upstreamCluster = c.upstream_cluster ?? '';
    this.downstreamNodes = new Set(c.downstream_nodes ?? []);
    this.matchesHeaders = compileRequestHeaderMatchers(c.headers);
    this.maxActiveFaults = c.max_active_faults;
    this.delayPercentKey = c.delay_percent_runtime || 'fault.http.delay.fixed_delay_percent';
    this.abortPercentKey = c.abort_percent_runtime || 'fault.http.abort.abort_percent';
    this.delayDurationKey = c.delay_duration_runtime || 'fault.http.delay.fixed_duration_ms';
    this.abortHttpStatusKey = c.abort_http_status_runtime || 'fault.http.abort.http_status';
    this.abortGrpcStatusKey = c.abort_grpc_status_runtime || 'fault.http.abort.grpc_status';
    this.maxActiveFaultsKey = c.max_active_faults_runtime || 'fault.http.max_active_faults';
    this.downstreamClusterStats = c.disable_downstream_cluster_stats !== true;
  }
}

interface FaultStats {
  delays_injected: Counter;
  aborts_injected: Counter;
  faults_overflow: Counter;
  active_faults: Gauge;
}

/** What every stream of one `http_filters` entry shares. */
export class FaultFilterConfig {
  readonly settings: FaultSettings;
  readonly stats: FaultStats;
  private readonly scope: Scope;

  constructor(
    config: HttpFaultConfig,
    /** `http.<stat_prefix>.` */
    httpScope: Scope,
    readonly runtime: Runtime,
    readonly random: () => number,
    /** The name this filter has in `http_filters`, which `typed_per_filter_config` keys by. */
    readonly filterName: string,
  ) {
    this.settings = new FaultSettings(config);
    this.scope = httpScope.scope('fault.');
    this.stats = {
      delays_injected: this.scope.counter('delays_injected'),
      aborts_injected: this.scope.counter('aborts_injected'),
      faults_overflow: this.scope.counter('faults_overflow'),
      active_faults: this.scope.gauge('active_faults'),
    };
  }

  /** `fault.<downstream cluster>.<name>`, created on first use as Envoy does for dynamic names. */
  downstreamCounter(cluster: string, name: 'delays_injected' | 'aborts_injected'): Counter {
    return this.scope.counter(`${cluster}.${name}`);
  }
}

/** The runtime keys a request from a named downstream cluster is governed by. */
interface DownstreamKeys {
  cluster: string;
  delayPercent: string;
  abortPercent: string;
  delayDuration: string;
  abortHttpStatus: string;
  abortGrpcStatus: string;
}

function downstreamKeys(cluster: string): DownstreamKeys {
  const k = (suffix: string) => `fault.http.${cluster}.${suffix}`;
  return {
    cluster,
    delayPercent: k('delay.fixed_delay_percent'),
    abortPercent: k('abort.abort_percent'),
    delayDuration: k('delay.fixed_duration_ms'),
    abortHttpStatus: k('abort.http_status'),
    abortGrpcStatus: k('abort.grpc_status'),
  };
}

interface AbortStatus {
  http: number;
  grpc: number | undefined;
}

// Body and trailers pass straight through: while a delay holds the request, the connection
// manager keeps them for the filters after this one.
export class FaultFilter extends PassThroughFilter {
  private settings: FaultSettings;
  private request: RequestHead | undefined;
  private downstream: DownstreamKeys | undefined;
  private delayTimer: NodeJS.Timeout | undefined;
  /** Counted in `active_faults` (at most once per request). */
  private faultActive = false;

  constructor(
    private readonly callbacks: FilterCallbacks,
    private readonly config: FaultFilterConfig,
  ) {
    super();
    this.settings = config.settings;
  }

  override decodeHeaders(request: RequestHead): FilterHeadersStatus {
    const cb = this.callbacks;
    const route = cb.route();
    const perRoute = route && cb.routeTable.perFilterConfigs(route, this.config.filterName)[0];
    if (perRoute instanceof FaultSettings) this.settings = perRoute;
    const s = this.settings;
    if (!this.matchesUpstreamCluster(request)) return 'Continue';
    if (s.downstreamNodes.size > 0) {
      const node = request.headers.get('x-envoy-downstream-service-node');
      if (node === undefined || !s.downstreamNodes.has(node)) return 'Continue';
    }
    if (!s.matchesHeaders(request)) return 'Continue';
    this.request = request;
    const cluster = request.headers.get('x-envoy-downstream-service-cluster');
    if (cluster !== undefined) this.downstream = downstreamKeys(cluster);

    const delay = this.delayMs();
    if (delay !== undefined && this.tryIncActiveFaults()) {
      this.delayTimer = setTimeout(() => this.afterDelay(), delay);
      this.recordInjected('delays_injected');
      cb.streamInfo.setFlag('DI');
      return 'StopIteration';
    }
    const abort = this.abortStatus();
    if (abort && this.tryIncActiveFaults()) {
      this.abortWith(abort);
      return 'StopIteration';
    }
    return 'Continue';
  }

  onDestroy(): void {
    if (this.delayTimer) clearTimeout(this.delayTimer);
    this.delayTimer = undefined;
    if (this.faultActive) this.config.stats.active_faults.dec();
    this.faultActive = false;
  }

  private matchesUpstreamCluster(request: RequestHead): boolean {
    const wanted = this.settings.upstreamCluster;
    if (!wanted) return true;
    const route = this.callbacks.route();
    if (route?.kind !== 'cluster') return false;
    // The pick is fixed by the stream's random draw, so the router will make the same one.
    const { name } = route.selectCluster(request, {
      random: this.callbacks.random,
      downstreamAddress: this.callbacks.connection.remoteAddress,
    });
    return name === wanted;
  }

  private enabled(key: string, percentage: FractionalPercent): boolean {
    return this.config.runtime.featureEnabled(key, percentage, runtimeDraw(this.config.random));
  }

  private delayMs(): number | undefined {
    const delay = this.settings.delay;
    const request = this.request!;
    if (!delay) return undefined;
    const key = this.downstream?.delayPercent ?? this.settings.delayPercentKey;
    if (!this.enabled(key, delay.percentage(request))) return undefined;
    const configured = delay.duration(request);
    if (configured === undefined) return undefined;
    const runtime = this.config.runtime;
    let ms = runtime.getInteger(this.settings.delayDurationKey, configured);
    if (this.downstream) ms = runtime.getInteger(this.downstream.delayDuration, ms);
    return ms > 0 ? ms : undefined;
  }

  /** The abort to inject, if the abort percentage selects this request: an HTTP status, or a gRPC one (HTTP 200). */
  private abortStatus(): AbortStatus | undefined {
    const abort = this.settings.abort;
    const request = this.request!;
    if (!abort) return undefined;
    const key = this.downstream?.abortPercent ?? this.settings.abortPercentKey;
    if (!this.enabled(key, abort.percentage(request))) return undefined;
    const runtime = this.config.runtime;
    const http = abort.httpStatus(request);
    if (http !== undefined) {
      const status = this.downstream
        ? runtime.getInteger(this.downstream.abortHttpStatus, http)
        : runtime.getInteger(this.settings.abortHttpStatusKey, http);
      return { http: status, grpc: undefined };
    }
    const grpc = abort.grpcStatus(request);
    if (grpc === undefined) return undefined;
    const status = this.downstream
      ? runtime.getInteger(this.downstream.abortGrpcStatus, grpc)
      : runtime.getInteger(this.settings.abortGrpcStatusKey, grpc);
    return { http: 200, grpc: status };
  }

  /** Counts the request as an active fault unless `max_active_faults` is reached (faults_overflow). */
  private tryIncActiveFaults(): boolean {
    if (this.faultActive) return true;
    const limit = this.config.runtime.getInteger(
      this.settings.maxActiveFaultsKey,
      this.settings.maxActiveFaults ?? Number.POSITIVE_INFINITY,
    );
    const stats = this.config.stats;
    if (stats.active_faults.value >= limit) {
      stats.faults_overflow.inc();
      return false;
    }
    stats.active_faults.inc();
    this.faultActive = true;
    return true;
  }

  private recordInjected(name: 'delays_injected' | 'aborts_injected'): void {
    const cluster = this.downstream?.cluster;
    if (cluster && this.settings.downstreamClusterStats) this.config.downstreamCounter(cluster, name).inc();
    this.config.stats[name].inc();
  }

  /** A delay may be followed by an abort; otherwise the request goes on and is no longer a fault. */
  private afterDelay(): void {
    this.delayTimer = undefined;
    const abort = this.abortStatus();
    if (abort) {
      this.abortWith(abort);
      return;
    }
    this.config.stats.active_faults.dec();
    this.faultActive = false;
    this.callbacks.continueDecoding();
  }

  private abortWith(abort: AbortStatus): void {
    const cb = this.callbacks;
    this.recordInjected('aborts_injected');
    cb.streamInfo.setFlag('FI');
    if (abort.grpc !== undefined && isGrpcRequest(this.request!)) {
      // Envoy's local reply to a gRPC request: a trailers-only response carrying the status.
      cb.streamInfo.responseCodeDetails = 'fault_filter_abort';
      const headers = HeaderMap.from([
        ['content-type', 'application/grpc'],
        ['grpc-status', String(abort.grpc)],
        ['grpc-message', 'fault filter abort'],
      ]);
      cb.encodeHeaders({ status: 200, headers }, true);
      return;
    }
    cb.sendLocalReply(abort.http, 'fault filter abort', { details: 'fault_filter_abort' });
  }
}
