/**
 * One attempt at sending a request upstream (Envoy's UpstreamRequest): a stream from the host's
 * connection pool (HTTP/1.1 or HTTP/2), the request head and body encoded on it, the response handed to its
 * owner (the router, or the shadow writer for mirrored requests), a per-try timer, outlier
 * reports, and the attempt's share of the cluster's and host's stats.
 */
import type { Cluster } from '../upstream/cluster.js';
import type {
  PendingStream,
  PoolFailureReason,
  RequestEncoder,
  ResponseDecoder,
  StreamResetReason,
  UpstreamHead,
  UpstreamResponseHead,
} from '../upstream/conn-pool.js';
import type { Host } from '../upstream/host.js';
import type { HeaderMap } from './headers.js';
import type { UpstreamResetReason } from './retry-state.js';

export type { UpstreamHead };

export interface UpstreamRequestOwner {
  /** The request body received so far (all of it, for a retry) and whether the request is complete. */
  requestBody(): { chunks: readonly Buffer[]; ended: boolean; trailers: HeaderMap | undefined };
  /** The attempt got a connection and sent what there was of the request. */
  onUpstreamReady(request: UpstreamRequest): void;
  onUpstreamHeaders(request: UpstreamRequest, head: UpstreamResponseHead): void;
  onUpstreamData(request: UpstreamRequest, chunk: Buffer): void;
  onUpstreamComplete(request: UpstreamRequest, trailers: HeaderMap | undefined): void;
  /** The attempt ended without (the rest of) a response. */
  onUpstreamReset(request: UpstreamRequest, reason: UpstreamResetReason, details: string): void;
}

const POOL_FAILURE: Record<Exclude<PoolFailureReason, 'overflow'>, UpstreamResetReason> = {
  connection_failure: 'remote_connection_failure',
  timeout: 'connection_timeout',
  local_connection_failure: 'local_connection_failure',
};

/** How an attempt ended, for its stats: served, failed, or answered but retried. */
export type AttemptOutcome = 'success' | 'failure' | 'retried';

export class UpstreamRequest implements ResponseDecoder {
  readonly startMs = performance.now();
  /** Request bytes went on the wire (Envoy's "upstream request started", for `reset-before-request`). */
  started = false;
  private pending: PendingStream | undefined;
  private connection: RequestEncoder | undefined;
  /** Counted in the cluster's and host's active requests (from pool-ready until finish). */
  private counted = false;
  private over = false;
  private perTryTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly owner: UpstreamRequestOwner,
    readonly cluster: Cluster,
    readonly host: Host,
    private readonly priority: 'DEFAULT' | 'HIGH' | undefined,
    private readonly head: UpstreamHead,
    /** `x-envoy-internal: true` requests are charged to the `internal.` response-code stats. */
    private readonly internal: boolean,
  ) {}

  /** Asks the host's pool for a stream; the owner may hear back synchronously. */
  start(): void {
    const pending = this.cluster.httpPool(this.host, this.priority).newStream(this, {
      onPoolReady: (conn) => this.onPoolReady(conn),
      onPoolFailure: (reason, details) => this.onPoolFailure(reason, details),
    });
    if (!this.over && !this.connection) this.pending = pending;
  }

  /** Whether the attempt is counted in the active requests, i.e. reached its connection. */
  get active(): boolean {
    return this.counted;
  }

  startPerTryTimer(ms: number, onTimeout: (request: UpstreamRequest) => void): void {
    if (ms <= 0 || this.over || this.perTryTimer) return;
    this.perTryTimer = setTimeout(() => {
      this.perTryTimer = undefined;
      if (!this.over) onTimeout(this);
    }, ms);
  }

  private onPoolReady(conn: RequestEncoder): void {
    this.pending = undefined;
    if (this.over) {
      conn.resetStream();
      return;
    }
    const h = this.head;
    this.connection = conn;
    const s = this.cluster.stats;
    this.cluster.resourcesFor(this.priority).requests.inc();
    s.upstream_rq_total.inc();
    s.upstream_rq_active.inc();
    this.host.stats.rq_total++;
    this.host.stats.rq_active++;
    this.counted = true;
    this.host.outlier?.putResult('LOCAL_ORIGIN_CONNECT_SUCCESS');
    this.started = true;
    const { chunks, ended, trailers } = this.owner.requestBody();
    const body = chunks.filter((c) => c.length > 0);
    conn.encodeHeaders(h, ended && body.length === 0 && !trailers);
    for (const [i, chunk] of body.entries())
      conn.encodeData(chunk, ended && !trailers && i === body.length - 1);
    if (ended && trailers) conn.encodeTrailers(trailers);
    this.owner.onUpstreamReady(this);
  }

  private onPoolFailure(reason: PoolFailureReason, details: string): void {
    this.pending = undefined;
    if (this.over) return;
    if (reason === 'overflow') {
      this.owner.onUpstreamReset(this, 'overflow', details);
      return;
    }
    this.host.outlier?.putResult(
      reason === 'timeout' ? 'LOCAL_ORIGIN_TIMEOUT' : 'LOCAL_ORIGIN_CONNECT_FAILED',
    );
    this.owner.onUpstreamReset(this, POOL_FAILURE[reason], details);
  }

  /** Request body after the head; ignored until connected (the owner keeps it for onPoolReady). */
  sendData(data: Buffer): void {
    if (data.length > 0) this.connection?.encodeData(data, false);
  }

  /** The request is complete, with or without trailers. */
  sendEnd(trailers: HeaderMap | undefined): void {
    const conn = this.connection;
    if (!conn) return;
    if (trailers) conn.encodeTrailers(trailers);
    else conn.encodeData(Buffer.alloc(0), true);
  }

  // ---- ResponseDecoder ----

  onResponseHead(head: UpstreamResponseHead): void {
    if (this.over) return;
    this.host.outlier?.putHttpResponseCode(head.status);
    if (head.headers.has('x-envoy-immediate-health-check-fail'))
      this.cluster.immediateHealthCheckFail(this.host);
    // A response that ends with its headers leaves nothing to reset: the pool has the stream back.
    if (head.endStream) this.connection = undefined;
    this.owner.onUpstreamHeaders(this, head);
  }

  onResponseData(chunk: Buffer): void {
    if (!this.over) this.owner.onUpstreamData(this, chunk);
  }

  onResponseComplete(trailers: HeaderMap | undefined): void {
    if (this.over) return;
    // The connection goes back to the pool by itself.
    this.connection = undefined;
    this.owner.onUpstreamComplete(this, trailers);
  }

  onReset(reason: StreamResetReason, details: string): void {
    if (this.over) return;
    this.connection = undefined;
    this.cluster.stats.upstream_rq_rx_reset.inc();
    this.host.outlier?.putResult('LOCAL_ORIGIN_CONNECT_FAILED');
    this.owner.onUpstreamReset(this, reason, details);
  }

  /**
   * The attempt is over: releases its stream (a connection in the middle of an exchange is
   * closed) and charges its stats — `status` 0 when there was no response. A retried attempt's
   * status goes to `retry.upstream_rq_<code>`, as Envoy counts it, not to the response stats.
   */
  finish(status: number, outcome: AttemptOutcome): void {
    if (this.over) return;
    this.over = true;
    if (this.perTryTimer) clearTimeout(this.perTryTimer);
    this.pending?.cancel();
    this.pending = undefined;
    const conn = this.connection;
    this.connection = undefined;
    conn?.resetStream();
    if (!this.counted) return;
    this.counted = false;
    const s = this.cluster.stats;
    this.cluster.resourcesFor(this.priority).requests.dec();
    s.upstream_rq_active.dec();
    s.upstream_rq_completed.inc();
    this.host.stats.rq_active--;
    if (status > 0 && outcome === 'retried') {
      const scope = this.cluster.scope;
      scope.counter('retry.upstream_rq_completed').inc();
      scope.counter(`retry.upstream_rq_${Math.floor(status / 100)}xx`).inc();
      scope.counter(`retry.upstream_rq_${status}`).inc();
    } else if (status > 0) {
      this.cluster.responseCodes.charge(status, this.internal);
    }
    s.upstream_rq_time.record(performance.now() - this.startMs);
    if (outcome === 'success' && status < 500) this.host.stats.rq_success++;
    else this.host.stats.rq_error++;
  }
}
