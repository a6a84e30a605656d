/**
 * The router filter (`envoy.filters.http.router`), after Envoy's `source/common/router/router.cc`:
 * the terminal HTTP filter that resolves the route, answers redirects and direct responses,
 * picks the cluster and host, sends the request upstream (one UpstreamRequest per attempt),
 * retries as the route's retry policy and the request's `x-envoy-*` headers allow, mirrors it to
 * shadow clusters, and streams the response back — with Envoy's headers, timeouts, local replies,
 * response flags and stats.
 *
 * Timeouts: the route timeout (or `x-envoy-upstream-rq-timeout-ms`) covers every attempt and
 * starts when the downstream request is complete; `per_try_timeout` (or
 * `x-envoy-upstream-rq-per-try-timeout-ms`) covers one attempt until its response starts.
 *
 * Retries resend the request body, so while a retry or mirror is possible the router keeps the
 * body it has sent, up to the route's buffer limit; past it, it gives up on both
 * (`retry_or_shadow_abandoned`).
 */
import type { Counter, Scope } from '../stats/store.js';
import type { Cluster } from '../upstream/cluster.js';
import type { ClusterManager } from '../upstream/cluster-manager.js';
import type { UpstreamResponseHead } from '../upstream/conn-pool.js';
import type { Host } from '../upstream/host.js';
import type { LoadBalancerContext } from '../upstream/load-balancer/types.js';
import type {
  FilterCallbacks,
  FilterDataStatus,
  FilterHeadersStatus,
  FilterTrailersStatus,
  StreamDecoderFilter,
} from './filter.js';
import { HeaderMap, HOP_BY_HOP, type RequestHead } from './headers.js';
import { RetryState, type RetryStatus, type UpstreamResetReason } from './retry-state.js';
import { applyAll } from './route/header-mutation.js';
import { type MirrorPolicy, shadowAuthority } from './route/mirror-policy.js';
import type { RouteEntry } from './route/route-table.js';
import type { ShadowWriter } from './shadow-writer.js';
import { type UpstreamHead, UpstreamRequest, type UpstreamRequestOwner } from './upstream-request.js';

export interface RouterConfig {
  /** `suppress_envoy_headers`: do not add `x-envoy-*` headers (upstream-service-time, expected-rq-timeout). */
  suppressEnvoyHeaders: boolean;
}

/** Router stats under `http.<stat_prefix>.` (Envoy: "Router statistics"). */
export interface RouterStats {
  no_route: Counter;
  no_cluster: Counter;
  rq_redirect: Counter;
  rq_direct_response: Counter;
  rq_total: Counter;
  rq_reset_after_downstream_response_started: Counter;
}

export function createRouterStats(scope: Scope): RouterStats {
  return {
    no_route: scope.counter('no_route'),
    no_cluster: scope.counter('no_cluster'),
    rq_redirect: scope.counter('rq_redirect'),
    rq_direct_response: scope.counter('rq_direct_response'),
    rq_total: scope.counter('rq_total'),
    rq_reset_after_downstream_response_started: scope.counter('rq_reset_after_downstream_response_started'),
  };
}

/** What a router shares with every stream: the cluster manager, its shadow writer, randomness. */
export interface RouterContext {
  clusterManager: ClusterManager;
  shadowWriter: ShadowWriter;
  stats: RouterStats;
  config: RouterConfig;
  random: () => number;
}

const UPSTREAM_RESET_PREFIX = 'upstream connect error or disconnect/reset before headers. reset reason: ';

/** Envoy's default for requests it forwards: a body-less request with these methods gets `content-length: 0`. */
const BODY_METHODS = new Set(['POST', 'PUT', 'PATCH']);

/** How an attempt that ended without a response is described in the 503 Envoy sends downstream. */
const RESET_TEXT: Record<UpstreamResetReason, string> = {
  overflow: 'overflow',
  local_connection_failure: 'local connection failure',
  remote_connection_failure: 'remote connection failure',
  connection_timeout: 'connection timeout',
  connection_termination: 'connection termination',
  protocol_error: 'protocol error',
  local_reset: 'local reset',
};

export class RouterFilter implements StreamDecoderFilter, UpstreamRequestOwner {
  private route: RouteEntry | undefined;
  private cluster: Cluster | undefined;
  private request: RequestHead | undefined;
  private retryState: RetryState | undefined;
  private shadowPolicies: MirrorPolicy[] = [];
  private upstream: UpstreamRequest | undefined;
  private lbContext: LoadBalancerContext = {};
  /** Request body: not yet sent, or (while a retry or mirror may need it) everything so far. */
  private body: Buffer[] = [];
  private bodyBytes = 0;
  private requestEnded = false;
  /** Trailers of a chunked request, sent in its last chunk. */
  private requestTrailers: HeaderMap | undefined;
  private upstreamChunked = false;
  private responseStarted = false;
  private responseStatus = 0;
  private done = false;
  private globalTimeoutMs = 0;
  private perTryTimeoutMs = 0;
  private globalTimer: NodeJS.Timeout | undefined;
  private globalTimerStartedMs = 0;
  private internal = false;
  /** A hash-policy cookie to set on the response (`hash_policy.cookie` with a ttl). */
  private setCookie: string | undefined;

  constructor(
    private readonly callbacks: FilterCallbacks,
    private readonly ctx: RouterContext,
  ) {}

  decodeHeaders(request: RequestHead, endStream: boolean): FilterHeadersStatus {
    const cb = this.callbacks;
    const stats = this.ctx.stats;
    stats.rq_total.inc();
    const route = cb.route();
    if (!route) {
      stats.no_route.inc();
      cb.streamInfo.setFlag('NR');
      cb.sendLocalReply(404, '', { details: 'route_not_found' });
      return 'StopIteration';
    }
    this.route = route;
    cb.streamInfo.routeName = route.name;
    if (route.kind === 'direct_response') {
      stats.rq_direct_response.inc();
      const d = route.directResponse!;
      cb.sendLocalReply(d.status, d.body.toString('latin1'), { details: 'direct_response' });
      return 'StopIteration';
    }
    if (route.kind === 'redirect') {
      stats.rq_redirect.inc();
      cb.sendLocalReply(route.redirectStatus(), '', {
        details: 'direct_response',
        headers: [['location', route.redirectLocation(request)]],
      });
      return 'StopIteration';
    }

    const { name, weighted } = route.selectCluster(request, {
      random: cb.random,
      downstreamAddress: cb.connection.remoteAddress,
    });
    cb.weightedCluster = weighted;
    const cluster = this.ctx.clusterManager.get(name);
    if (!cluster) {
      stats.no_cluster.inc();
      cb.streamInfo.setFlag('NC');
      cb.sendLocalReply(route.clusterNotFoundCode, '', { details: 'cluster_not_found' });
      return 'StopIteration';
    }
    this.cluster = cluster;
    this.request = request;
    cb.streamInfo.upstreamCluster = cluster.name;
    this.internal = request.headers.get('x-envoy-internal') === 'true';
    if (route.hashPolicies.length > 0) {
      this.lbContext.hashKey = () =>
        route.hashKey(request, cb.connection.remoteAddress, (cookie, value, ttlMs, path) => {
          this.setCookie = `${cookie}="${value}"; Max-Age=${Math.round(ttlMs / 1000)}${path ? `; Path=${path}` : ''}; HttpOnly`;
        });
    }
    // The weighted cluster's metadata_match refines the route's, key by key.
    const routeMatch = route.action?.metadata_match?.filter_metadata?.['envoy.lb'];
    const clusterMatch = weighted?.metadataMatch?.filter_metadata?.['envoy.lb'];
    if (routeMatch || clusterMatch) this.lbContext.metadataMatch = { ...routeMatch, ...clusterMatch };

    this.readTimeouts(request, route);
    const runtime = cb.routeTable.runtime;
    this.retryState = RetryState.create(route.retryPolicy, request.headers, {
      retries: cluster.resourcesFor(route.action?.priority).retries,
      stats: cluster.stats,
      runtime,
      random: this.ctx.random,
    });
    this.shadowPolicies = route.mirrorPolicies.filter((p) =>
      runtime.featureEnabled(p.runtimeKey, p.fraction, Math.floor(this.ctx.random() * 0x1_0000_0000)),
    );
    this.upstreamChunked = !endStream && !request.headers.has('content-length');
    this.requestEnded = endStream;
    if (endStream) this.onRequestComplete();
    this.startAttempt();
    return 'StopIteration';
  }

  decodeData(data: Buffer, endStream: boolean): FilterDataStatus {
    if (this.done) return 'StopIterationNoBuffer';
    const retaining = this.retainsBody();
    if (retaining && this.bodyBytes + data.length > this.route!.retryShadowBufferLimit) {
      // The request is larger than we may buffer: give up on retries and mirroring.
      this.cluster!.stats.retry_or_shadow_abandoned.inc();
      this.retryState?.destroy();
      this.retryState = undefined;
      this.shadowPolicies = [];
      if (!this.upstream) {
        // Waiting to retry, with a body that can no longer be resent.
        this.finishWithLocalReply(
          507,
          'exceeded request buffer limit while retrying upstream',
          'request_payload_exceeded_retry_buffer_limit',
        );
        return 'StopIterationNoBuffer';
      }
      if (this.upstream.active) this.dropBody();
    }
    if (this.upstream?.active) {
      this.upstream.sendData(data);
      if (this.retainsBody()) this.keep(data);
    } else {
      this.keep(data);
    }
    if (endStream) {
      this.requestEnded = true;
      this.upstream?.sendEnd(undefined);
      this.onRequestComplete();
    }
    return 'StopIterationNoBuffer';
  }

  decodeTrailers(trailers: HeaderMap): FilterTrailersStatus {
    if (this.done) return 'StopIteration';
    // HTTP/1 upstream: trailers go in the last chunk when the request is chunked, else are dropped.
    this.requestTrailers = trailers;
    this.requestEnded = true;
    this.upstream?.sendEnd(trailers);
    this.onRequestComplete();
    return 'StopIteration';
  }

  private keep(data: Buffer): void {
    this.body.push(data);
    this.bodyBytes += data.length;
  }

  private dropBody(): void {
    this.body = [];
    this.bodyBytes = 0;
  }

  private retainsBody(): boolean {
    return this.retryState !== undefined || this.shadowPolicies.length > 0;
  }

  /**
   * The route timeout, or `x-envoy-upstream-rq-timeout-ms`, and the per-try timeout, or
   * `x-envoy-upstream-rq-per-try-timeout-ms`; a per-try timeout not shorter than the route's is
   * ignored, as in Envoy.
   */
  private readTimeouts(request: RequestHead, route: RouteEntry): void {
    const h = request.headers;
    const numeric = (name: string) => {
      const v = h.get(name);
      return v !== undefined && /^\d+$/.test(v) ? Number(v) : undefined;
    };
    this.globalTimeoutMs = numeric('x-envoy-upstream-rq-timeout-ms') ?? route.timeoutMs;
    let perTry = numeric('x-envoy-upstream-rq-per-try-timeout-ms') ?? route.retryPolicy.perTryTimeoutMs;
    if (this.globalTimeoutMs > 0 && perTry >= this.globalTimeoutMs) perTry = 0;
    this.perTryTimeoutMs = perTry;
    h.remove('x-envoy-upstream-rq-timeout-ms');
  }

  /** `x-envoy-expected-rq-timeout-ms`: what is left of the route timeout, or the per-try timeout when shorter. */
  private expectedTimeoutMs(): number {
    const elapsed = this.globalTimer ? performance.now() - this.globalTimerStartedMs : 0;
    const global = this.globalTimeoutMs > 0 ? Math.max(1, Math.round(this.globalTimeoutMs - elapsed)) : 0;
    if (this.perTryTimeoutMs > 0 && (global === 0 || this.perTryTimeoutMs < global))
      return this.perTryTimeoutMs;
    return global;
  }

  /** The downstream request is complete: the timers start, and the mirrors go out. */
  private onRequestComplete(): void {
    if (this.globalTimeoutMs > 0 && !this.globalTimer && !this.done) {
      this.globalTimerStartedMs = performance.now();
      this.globalTimer = setTimeout(() => this.onGlobalTimeout(), this.globalTimeoutMs);
    }
    this.upstream?.startPerTryTimer(this.perTryTimeoutMs, (r) => this.onPerTryTimeout(r));
    for (const policy of this.shadowPolicies) {
      const shadowCluster = policy.clusterFor(this.request!.headers);
      if (!shadowCluster) continue;
      const head = this.upstreamHead(undefined);
      if (policy.hostSuffix) head.authority = shadowAuthority(head.authority);
      head.headers.set('x-envoy-internal', 'true');
      this.ctx.shadowWriter.shadow(
        shadowCluster,
        head,
        this.body,
        this.requestTrailers,
        this.globalTimeoutMs,
      );
    }
    this.shadowPolicies = [];
    if (!this.retryState && this.upstream?.active) this.dropBody();
  }

  /** Picks a host and sends the request to it: the first attempt, or a retry. */
  private startAttempt(): void {
    const cb = this.callbacks;
    const cluster = this.cluster!;
    const host = cluster.lb.chooseHost(this.lbContext);
    if (!host) {
      cluster.stats.upstream_cx_none_healthy.inc();
      cb.streamInfo.setFlag('UH');
      this.finishWithLocalReply(503, 'no healthy upstream', 'no_healthy_upstream');
      return;
    }
    this.retryState?.onHostAttempted(host);
    cb.setUpstreamHost(host, cluster.name);
    const priority = this.route!.action?.priority;
    if (!cluster.resourcesFor(priority).requests.canCreate()) {
      cluster.stats.upstream_rq_pending_overflow.inc();
      this.overflow();
      return;
    }
    cb.streamInfo.attemptCount++;
    const attempt = new UpstreamRequest(
      this,
      cluster,
      host,
      priority,
      this.upstreamHead(host),
      this.internal,
    );
    this.upstream = attempt;
    if (this.requestEnded) attempt.startPerTryTimer(this.perTryTimeoutMs, (r) => this.onPerTryTimeout(r));
    attempt.start();
  }

  /** The request as it goes upstream to `host` (`auto_host_rewrite`), or to a mirror (none). */
  private upstreamHead(host: Host | undefined): UpstreamHead {
    const cb = this.callbacks;
    const request = this.request!;
    const route = this.route!;
    const headers = new HeaderMap();
    request.headers.forEach((n, v) => {
      if (!HOP_BY_HOP.has(n) && n !== 'host' && n !== 'content-length') headers.add(n, v);
    });
    // TE is hop-by-hop, but gRPC needs `te: trailers`: Envoy keeps that value and drops the rest.
    if (/(^|,)\s*trailers\s*(,|$)/i.test(request.headers.getJoined('te') ?? ''))
      headers.add('te', 'trailers');
    let path = request.path;
    const rewritten = route.rewritePath(path);
    if (rewritten !== undefined) {
      headers.set('x-envoy-original-path', path);
      path = rewritten;
    }
    let authority = request.authority;
    const a = route.action;
    if (a?.host_rewrite_literal) authority = a.host_rewrite_literal;
    else if (a?.auto_host_rewrite && host?.hostname) authority = host.hostname;
    else if (a?.host_rewrite_header)
      authority = request.headers.get(a.host_rewrite_header.toLowerCase()) ?? authority;
    if (authority !== request.authority) headers.set('x-forwarded-host', request.authority);
    const expected = this.expectedTimeoutMs();
    if (!this.ctx.config.suppressEnvoyHeaders && expected > 0)
      headers.set('x-envoy-expected-rq-timeout-ms', String(expected));
    if (host && route.virtualHost.includeAttemptCountInRequest)
      headers.set('x-envoy-attempt-count', String(cb.streamInfo.attemptCount));
    const cl = request.headers.get('content-length');
    if (cl !== undefined) headers.add('content-length', cl);
    else if (this.upstreamChunked) headers.add('transfer-encoding', 'chunked');
    else if (BODY_METHODS.has(request.method)) headers.add('content-length', '0');
    applyAll(cb.routeTable.mutations(route, cb.weightedCluster, 'request'), headers, cb.streamInfo);
    return { method: request.method, path, authority, headers, chunked: this.upstreamChunked };
  }

  // ---- UpstreamRequestOwner ----

  requestBody() {
    return { chunks: this.body, ended: this.requestEnded, trailers: this.requestTrailers };
  }

  onUpstreamReady(): void {
    // Sent; only a possible retry or mirror needs it again.
    if (!this.retainsBody()) this.dropBody();
  }

  onUpstreamHeaders(attempt: UpstreamRequest, head: UpstreamResponseHead): void {
    if (this.done || attempt !== this.upstream) return;
    const cb = this.callbacks;
    const upstreamHeaders = new HeaderMap();
    head.headers.forEach((n, v) => {
      if (!HOP_BY_HOP.has(n)) upstreamHeaders.add(n, v);
    });
    if (this.retryState) {
      const status = this.retryState.shouldRetryHeaders(head.status, upstreamHeaders, () => this.doRetry());
      if (status === 'yes') {
        this.upstream = undefined;
        attempt.finish(head.status, 'retried');
        return;
      }
      this.flagRetryStatus(status);
    }
    this.responseStarted = true;
    if (head.chunked && head.status !== 204 && head.status !== 304)
      upstreamHeaders.add('transfer-encoding', 'chunked');
    if (!this.ctx.config.suppressEnvoyHeaders) {
      upstreamHeaders.set(
        'x-envoy-upstream-service-time',
        String(Math.round(performance.now() - attempt.startMs)),
      );
    }
    if (this.route!.virtualHost.includeAttemptCountInResponse)
      upstreamHeaders.set('x-envoy-attempt-count', String(cb.streamInfo.attemptCount));
    if (this.setCookie) upstreamHeaders.add('set-cookie', this.setCookie);
    applyAll(
      cb.routeTable.mutations(this.route!, cb.weightedCluster, 'response'),
      upstreamHeaders,
      cb.streamInfo,
    );
    this.responseStatus = head.status;
    if (head.endStream) {
      // A response that ends with its headers (e.g. gRPC's trailers-only error) is complete here.
      this.done = true;
      this.cleanup();
      attempt.finish(head.status, 'success');
    }
    cb.encodeHeaders({ status: head.status, headers: upstreamHeaders }, head.endStream === true);
  }

  onUpstreamData(attempt: UpstreamRequest, chunk: Buffer): void {
    if (this.done || attempt !== this.upstream) return;
    this.callbacks.encodeData(chunk, false);
  }

  onUpstreamComplete(attempt: UpstreamRequest, trailers: HeaderMap | undefined): void {
    if (this.done || attempt !== this.upstream) return;
    this.done = true;
    this.cleanup();
    attempt.finish(this.responseStatus, 'success');
    if (trailers) this.callbacks.encodeTrailers(trailers);
    else this.callbacks.encodeData(Buffer.alloc(0), true);
  }

  onUpstreamReset(attempt: UpstreamRequest, reason: UpstreamResetReason, details: string): void {
    if (this.done || attempt !== this.upstream) return;
    const cb = this.callbacks;
    if (reason === 'overflow') {
      this.overflow();
      return;
    }
    if (this.responseStarted) {
      this.done = true;
      this.cleanup();
      attempt.finish(this.responseStatus, 'failure');
      this.ctx.stats.rq_reset_after_downstream_response_started.inc();
      cb.streamInfo.setFlag('UR');
      cb.resetStream();
      return;
    }
    if (this.retryState) {
      const status = this.retryState.shouldRetryReset(reason, attempt.started, () => this.doRetry());
      if (status === 'yes') {
        this.upstream = undefined;
        attempt.finish(0, 'retried');
        return;
      }
      this.flagRetryStatus(status);
    }
    const poolFailure = !attempt.active;
    if (poolFailure) {
      cb.streamInfo.setFlag('UF');
      cb.streamInfo.upstreamTransportFailureReason = details;
    } else {
      cb.streamInfo.setFlag(reason === 'protocol_error' ? 'UPE' : 'UC');
    }
    const text =
      poolFailure && reason !== 'connection_timeout'
        ? details
        : reason === 'protocol_error'
          ? `protocol error: ${details}`
          : RESET_TEXT[reason];
    const detailsReason = poolFailure ? 'connection_failure' : reason;
    this.finishWithLocalReply(
      503,
      `${UPSTREAM_RESET_PREFIX}${text}`,
      `upstream_reset_before_response_started{${detailsReason}}`,
    );
  }

  private flagRetryStatus(status: RetryStatus): void {
    if (status === 'no_overflow') this.callbacks.streamInfo.setFlag('UO');
    else if (status === 'no_retry_limit_exceeded') this.callbacks.streamInfo.setFlag('URX');
  }

  /** The back-off after a failed attempt ran out. */
  private doRetry(): void {
    if (this.done) return;
    this.lbContext.hostSelectionRetryCount = this.retryState?.hostSelectionMaxAttempts;
    this.lbContext.shouldSelectAnotherHost = (h) => this.retryState?.shouldSelectAnotherHost(h) ?? false;
    this.startAttempt();
  }

  private overflow(): void {
    this.callbacks.streamInfo.setFlag('UO');
    this.finishWithLocalReply(
      503,
      `${UPSTREAM_RESET_PREFIX}overflow`,
      'upstream_reset_before_response_started{overflow}',
      [['x-envoy-overloaded', 'true']],
    );
  }

  private onPerTryTimeout(attempt: UpstreamRequest): void {
    // Once the response is on its way downstream only the route timeout applies.
    if (this.done || this.responseStarted || attempt !== this.upstream) return;
    const cb = this.callbacks;
    this.cluster!.stats.upstream_rq_per_try_timeout.inc();
    attempt.host.stats.rq_timeout++;
    attempt.host.outlier?.putResult('LOCAL_ORIGIN_TIMEOUT');
    if (this.retryState) {
      const status = this.retryState.shouldRetryReset('local_reset', attempt.started, () => this.doRetry());
      if (status === 'yes') {
        this.upstream = undefined;
        attempt.finish(0, 'retried');
        return;
      }
      this.flagRetryStatus(status);
    }
    cb.streamInfo.setFlag('UT');
    this.finishWithLocalReply(504, 'upstream request timeout', 'upstream_per_try_timeout');
  }

  private onGlobalTimeout(): void {
    this.globalTimer = undefined;
    if (this.done) return;
    const cb = this.callbacks;
    this.cluster!.stats.upstream_rq_timeout.inc();
    const attempt = this.upstream;
    if (attempt) {
      attempt.host.stats.rq_timeout++;
      if (!this.responseStarted) attempt.host.outlier?.putResult('LOCAL_ORIGIN_TIMEOUT');
    }
    cb.streamInfo.setFlag('UT');
    if (this.responseStarted) {
      this.done = true;
      this.cleanup();
      attempt?.finish(this.responseStatus, 'failure');
      cb.resetStream();
      return;
    }
    this.finishWithLocalReply(504, 'upstream request timeout', 'upstream_response_timeout');
  }

  /** Local reply for a request that was (or was about to be) sent upstream: stats, then the reply. */
  private finishWithLocalReply(
    status: number,
    body: string,
    details: string,
    headers?: [string, string][],
  ): void {
    this.done = true;
    this.cleanup();
    this.upstream?.finish(status, 'failure');
    this.callbacks.sendLocalReply(status, body, { details, headers });
  }

  /** Stops the timers and the retry machinery, and drops the buffered body. */
  private cleanup(): void {
    if (this.globalTimer) clearTimeout(this.globalTimer);
    this.globalTimer = undefined;
    this.retryState?.destroy();
    this.retryState = undefined;
    this.shadowPolicies = [];
    this.dropBody();
  }

  /** The downstream stream ended (completed or reset): release the upstream side. */
  onDestroy(): void {
    if (this.done) return;
    this.done = true;
    this.cleanup();
    const attempt = this.upstream;
    if (attempt?.active) this.cluster?.stats.upstream_rq_tx_reset.inc();
    attempt?.finish(0, 'failure');
  }
}
