/**
 * The router filter (`envoy.filters.http.router`), after Envoy's `source/common/router/router.cc`:
 * the terminal HTTP filter that resolves the route, answers redirects and direct responses,
 * picks the cluster and host, sends the request upstream over a pooled connection, and streams
 * the response back — with Envoy's headers, timeouts, local replies and stats.
 */
import type { Counter, Scope } from '../stats/store.js';
import type { Cluster } from '../upstream/cluster.js';
import type { ClusterManager } from '../upstream/cluster-manager.js';
import type { Host } from '../upstream/host.js';
import type {
  PendingStream,
  PoolFailureReason,
  ResponseDecoder,
  UpstreamConnection,
} from '../upstream/http1-pool.js';
import type { LoadBalancerContext } from '../upstream/load-balancer/types.js';
import type { ParsedResponseHead } from './codec/http1-parser.js';
import type {
  FilterCallbacks,
  FilterDataStatus,
  FilterHeadersStatus,
  FilterTrailersStatus,
  StreamDecoderFilter,
} from './filter.js';
import { HeaderMap, HOP_BY_HOP, type RequestHead } from './headers.js';
import { applyAll } from './route/header-mutation.js';
import type { RouteEntry } from './route/route-table.js';

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

const UPSTREAM_RESET_PREFIX = 'upstream connect error or disconnect/reset before headers. reset reason: ';

/** Envoy's default for requests it forwards: a body-less request with these methods gets `content-length: 0`. */
const BODY_METHODS = new Set(['POST', 'PUT', 'PATCH']);

export class RouterFilter implements StreamDecoderFilter, ResponseDecoder {
  private route: RouteEntry | undefined;
  private cluster: Cluster | undefined;
  private host: Host | undefined;
  private pending: PendingStream | undefined;
  private connection: UpstreamConnection | undefined;
  /** Request body that arrived before the upstream connection was ready. */
  private buffered: Buffer[] = [];
  private requestEnded = false;
  private upstreamChunked = false;
  private responseStarted = false;
  private done = false;
  private timeoutTimer: NodeJS.Timeout | undefined;
  private timeoutMs = 0;
  private upstreamStartMs = 0;
  private requestHead: RequestHead | undefined;
  private internal = false;
  private responseStatus = 0;
  /** Trailers of a chunked request, sent in its last chunk. */
  private requestTrailers: HeaderMap | undefined;
  /** A hash-policy cookie to set on the response (`hash_policy.cookie` with a ttl). */
  private setCookie: string | undefined;
  /** Whether this request is counted in the cluster's and host's active-request stats. */
  private countedActive = false;

  constructor(
    private readonly callbacks: FilterCallbacks,
    private readonly clusterManager: ClusterManager,
    private readonly stats: RouterStats,
    private readonly config: RouterConfig,
  ) {}

  decodeHeaders(request: RequestHead, endStream: boolean): FilterHeadersStatus {
    const cb = this.callbacks;
    this.stats.rq_total.inc();
    const route = cb.route();
    if (!route) {
      this.stats.no_route.inc();
      cb.streamInfo.setFlag('NR');
      cb.sendLocalReply(404, '', { details: 'route_not_found' });
      return 'StopIteration';
    }
    this.route = route;
    cb.streamInfo.routeName = route.name;
    if (route.kind === 'direct_response') {
      this.stats.rq_direct_response.inc();
      const d = route.directResponse!;
      cb.sendLocalReply(d.status, d.body.toString('latin1'), { details: 'direct_response' });
      return 'StopIteration';
    }
    if (route.kind === 'redirect') {
      this.stats.rq_redirect.inc();
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
    const cluster = this.clusterManager.get(name);
    if (!cluster) {
      this.stats.no_cluster.inc();
      cb.streamInfo.setFlag('NC');
      cb.sendLocalReply(route.clusterNotFoundCode, '', { details: 'cluster_not_found' });
      return 'StopIteration';
    }
    this.cluster = cluster;
    cb.streamInfo.upstreamCluster = cluster.name;
    this.internal = request.headers.get('x-envoy-internal') === 'true';

    const lbContext: LoadBalancerContext = {};
    if (route.hashPolicies.length > 0) {
      lbContext.hashKey = () =>
        route.hashKey(request, cb.connection.remoteAddress, (cookie, value, ttlMs, path) => {
          this.setCookie = `${cookie}="${value}"; Max-Age=${Math.round(ttlMs / 1000)}${path ? `; Path=${path}` : ''}; HttpOnly`;
        });
    }
    const metadata = weighted?.metadataMatch ?? route.action?.metadata_match;
    if (metadata?.filter_metadata?.['envoy.lb'])
      lbContext.metadataMatch = metadata.filter_metadata['envoy.lb'];
    const host = cluster.lb.chooseHost(lbContext);
    if (!host) {
      cluster.stats.upstream_cx_none_healthy.inc();
      cb.streamInfo.setFlag('UH');
      cb.sendLocalReply(503, 'no healthy upstream', { details: 'no_healthy_upstream' });
      return 'StopIteration';
    }
    this.host = host;
    cb.setUpstreamHost(host, cluster.name);

    const resources = cluster.resourcesFor(route.action?.priority);
    if (!resources.requests.canCreate()) {
      cluster.stats.upstream_rq_pending_overflow.inc();
      this.overflow();
      return 'StopIteration';
    }

    this.timeoutMs = this.requestTimeout(request, route);
    this.requestHead = this.upstreamRequestHead(request, route, host, endStream);
    this.requestEnded = endStream;
    this.upstreamStartMs = performance.now();
    if (endStream) this.startTimeout();
    const pool = cluster.httpPool(host, route.action?.priority);
    this.pending = pool.newStream({
      onPoolReady: (conn) => this.onPoolReady(conn),
      onPoolFailure: (reason, details) => this.onPoolFailure(reason, details),
    });
    return 'StopIteration';
  }

  decodeData(data: Buffer, endStream: boolean): FilterDataStatus {
    if (this.done) return 'StopIterationNoBuffer';
    if (this.connection) this.writeBody(data, endStream);
    else this.buffered.push(data);
    if (endStream) {
      this.requestEnded = true;
      if (!this.timeoutTimer) this.startTimeout();
    }
    return 'StopIterationNoBuffer';
  }

  decodeTrailers(trailers: HeaderMap): FilterTrailersStatus {
    // HTTP/1 upstream: trailers go in the last chunk when the request is chunked, else are dropped.
    this.requestTrailers = trailers;
    this.requestEnded = true;
    if (this.connection) this.writeBody(Buffer.alloc(0), true);
    if (!this.timeoutTimer) this.startTimeout();
    return 'StopIteration';
  }

  /** Route timeout, or `x-envoy-upstream-rq-timeout-ms` when the client sets it (Envoy honours it). */
  private requestTimeout(request: RequestHead, route: RouteEntry): number {
    const header = request.headers.get('x-envoy-upstream-rq-timeout-ms');
    if (header !== undefined && /^\d+$/.test(header)) return Number(header);
    return route.timeoutMs;
  }

  private upstreamRequestHead(
    request: RequestHead,
    route: RouteEntry,
    host: Host,
    endStream: boolean,
  ): RequestHead {
    const cb = this.callbacks;
    const headers = new HeaderMap();
    request.headers.forEach((n, v) => {
      if (!HOP_BY_HOP.has(n) && n !== 'host' && n !== 'content-length') headers.add(n, v);
    });
    let path = request.path;
    const rewritten = route.rewritePath(path);
    if (rewritten !== undefined) {
      headers.set('x-envoy-original-path', path);
      path = rewritten;
    }
    let authority = request.authority;
    const a = route.action;
    if (a?.host_rewrite_literal) authority = a.host_rewrite_literal;
    else if (a?.auto_host_rewrite && host.hostname) authority = host.hostname;
    else if (a?.host_rewrite_header)
      authority = request.headers.get(a.host_rewrite_header.toLowerCase()) ?? authority;
    if (authority !== request.authority) headers.set('x-forwarded-host', request.authority);
    if (!this.config.suppressEnvoyHeaders && this.timeoutMs > 0) {
      headers.set('x-envoy-expected-rq-timeout-ms', String(this.timeoutMs));
    }
    headers.remove('x-envoy-upstream-rq-timeout-ms');
    const cl = request.headers.get('content-length');
    if (cl !== undefined) headers.add('content-length', cl);
    else if (!endStream) {
      this.upstreamChunked = true;
      headers.add('transfer-encoding', 'chunked');
    } else if (BODY_METHODS.has(request.method)) headers.add('content-length', '0');
    applyAll(cb.routeTable.mutations(route, cb.weightedCluster, 'request'), headers, cb.streamInfo);
    return { ...request, path, authority, headers };
  }

  private onPoolReady(conn: UpstreamConnection): void {
    this.pending = undefined;
    if (this.done) {
      conn.attach(this, false);
      conn.resetStream();
      return;
    }
    const cluster = this.cluster!;
    const host = this.host!;
    const head = this.requestHead!;
    this.connection = conn;
    conn.attach(this, head.method === 'HEAD');
    this.callbacks.streamInfo.attemptCount++;
    cluster.resourcesFor(this.route?.action?.priority).requests.inc();
    cluster.stats.upstream_rq_total.inc();
    cluster.stats.upstream_rq_active.inc();
    host.stats.rq_total++;
    host.stats.rq_active++;
    this.countedActive = true;
    const lines = `${head.method} ${head.path} HTTP/1.1\r\nhost: ${head.authority}\r\n${head.headers.toHttp1()}\r\n`;
    const body = this.buffered;
    this.buffered = [];
    if (body.length === 0) {
      conn.write(lines);
      if (this.requestEnded && !this.upstreamChunked) conn.endRequest();
      else if (this.requestEnded) this.writeBody(Buffer.alloc(0), true);
    } else {
      conn.write(lines);
      for (let i = 0; i < body.length; i++)
        this.writeBody(body[i]!, this.requestEnded && i === body.length - 1);
    }
  }

  private writeBody(data: Buffer, end: boolean): void {
    const conn = this.connection!;
    if (this.upstreamChunked) {
      if (data.length > 0)
        conn.write(
          Buffer.concat([Buffer.from(`${data.length.toString(16)}\r\n`), data, Buffer.from('\r\n')]),
        );
      if (end) {
        const trailers = this.requestTrailers ? this.requestTrailers.toHttp1() : '';
        conn.write(`0\r\n${trailers}\r\n`);
      }
    } else if (data.length > 0) {
      conn.write(data);
    }
    if (end) conn.endRequest();
  }

  private onPoolFailure(reason: PoolFailureReason, details: string): void {
    this.pending = undefined;
    if (this.done) return;
    const cb = this.callbacks;
    if (reason === 'overflow') {
      this.overflow();
      return;
    }
    this.host!.outlier?.putResult(
      reason === 'timeout' ? 'LOCAL_ORIGIN_TIMEOUT' : 'LOCAL_ORIGIN_CONNECT_FAILED',
    );
    cb.streamInfo.setFlag('UF');
    cb.streamInfo.upstreamTransportFailureReason = details;
    const why = reason === 'timeout' ? 'connection timeout' : details;
    this.finishWithLocalReply(
      503,
      `${UPSTREAM_RESET_PREFIX}${why}`,
      'upstream_reset_before_response_started{connection_failure}',
    );
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

  private startTimeout(): void {
    if (this.timeoutMs <= 0 || this.done) return;
    this.timeoutTimer = setTimeout(() => this.onTimeout(), this.timeoutMs);
  }

  private onTimeout(): void {
    this.timeoutTimer = undefined;
    if (this.done) return;
    const cluster = this.cluster!;
    cluster.stats.upstream_rq_timeout.inc();
    if (this.host) {
      this.host.stats.rq_timeout++;
      this.host.outlier?.putResult('LOCAL_ORIGIN_TIMEOUT');
    }
    this.callbacks.streamInfo.setFlag('UT');
    this.abandonUpstream();
    if (this.responseStarted) {
      this.done = true;
      this.callbacks.resetStream();
      return;
    }
    this.finishWithLocalReply(504, 'upstream request timeout', 'upstream_response_timeout');
  }

  // ---- upstream response (ResponseDecoder) ----

  onResponseHead(head: ParsedResponseHead): void {
    if (this.done) return;
    const cb = this.callbacks;
    this.responseStarted = true;
    this.responseStatus = head.status;
    const headers = new HeaderMap();
    head.headers.forEach((n, v) => {
      if (!HOP_BY_HOP.has(n)) headers.add(n, v);
    });
    if (head.chunked && head.status !== 204 && head.status !== 304)
      headers.add('transfer-encoding', 'chunked');
    if (!this.config.suppressEnvoyHeaders) {
      headers.set(
        'x-envoy-upstream-service-time',
        String(Math.round(performance.now() - this.upstreamStartMs)),
      );
    }
    if (this.setCookie) headers.add('set-cookie', this.setCookie);
    applyAll(cb.routeTable.mutations(this.route!, cb.weightedCluster, 'response'), headers, cb.streamInfo);
    this.host!.outlier?.putHttpResponseCode(head.status);
    cb.encodeHeaders({ status: head.status, headers }, false);
  }

  onResponseData(chunk: Buffer): void {
    if (this.done) return;
    this.callbacks.encodeData(chunk, false);
  }

  onResponseComplete(trailers: HeaderMap | undefined): void {
    if (this.done) return;
    this.done = true;
    this.clearTimeout();
    this.connection = undefined;
    this.chargeCompletion(this.responseStatus);
    if (trailers) this.callbacks.encodeTrailers(trailers);
    else this.callbacks.encodeData(Buffer.alloc(0), true);
  }

  onReset(reason: 'connection_termination' | 'protocol_error' | 'local_reset', details: string): void {
    if (this.done) return;
    this.connection = undefined;
    const cluster = this.cluster!;
    cluster.stats.upstream_rq_rx_reset.inc();
    this.host!.outlier?.putResult('LOCAL_ORIGIN_CONNECT_FAILED');
    if (this.responseStarted) {
      this.done = true;
      this.clearTimeout();
      this.chargeCompletion(this.responseStatus, true);
      this.stats.rq_reset_after_downstream_response_started.inc();
      this.callbacks.streamInfo.setFlag('UR');
      this.callbacks.resetStream();
      return;
    }
    const flag = reason === 'protocol_error' ? 'UPE' : 'UC';
    this.callbacks.streamInfo.setFlag(flag);
    const text = reason === 'protocol_error' ? `protocol error: ${details}` : 'connection termination';
    this.finishWithLocalReply(
      503,
      `${UPSTREAM_RESET_PREFIX}${text}`,
      `upstream_reset_before_response_started{${reason}}`,
    );
  }

  /** Local reply for a request that was (or was about to be) sent upstream: stats, then the reply. */
  private finishWithLocalReply(
    status: number,
    body: string,
    details: string,
    headers?: [string, string][],
  ): void {
    this.done = true;
    this.clearTimeout();
    if (this.countedActive) this.chargeCompletion(status, true);
    this.callbacks.sendLocalReply(status, body, { details, headers });
  }

  /** Per-request upstream accounting when the request ends one way or another. */
  private chargeCompletion(status: number, failed = false): void {
    const cluster = this.cluster;
    const host = this.host;
    if (!cluster || !host || !this.countedActive) return;
    this.countedActive = false;
    cluster.resourcesFor(this.route?.action?.priority).requests.dec();
    cluster.stats.upstream_rq_active.dec();
    cluster.stats.upstream_rq_completed.inc();
    host.stats.rq_active--;
    if (status > 0) cluster.responseCodes.charge(status, this.internal);
    cluster.stats.upstream_rq_time.record(performance.now() - this.upstreamStartMs);
    if (failed || status >= 500) host.stats.rq_error++;
    else host.stats.rq_success++;
  }

  private clearTimeout(): void {
    if (this.timeoutTimer) {
      clearTimeout(this.timeoutTimer);
      this.timeoutTimer = undefined;
    }
  }

  private abandonUpstream(): void {
    this.pending?.cancel();
    this.pending = undefined;
    const conn = this.connection;
    this.connection = undefined;
    conn?.resetStream();
  }

  /** The downstream stream ended (completed or reset): release the upstream side. */
  onDestroy(): void {
    this.clearTimeout();
    if (!this.done) {
      this.done = true;
      this.abandonUpstream();
      if (this.countedActive) {
        this.cluster?.stats.upstream_rq_tx_reset.inc();
        this.chargeCompletion(0, true);
      }
    }
  }
}
