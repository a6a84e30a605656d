/**
 * HTTP/1.1 connection pool to one upstream host (Envoy's `source/common/http/http1/conn_pool`):
 * keep-alive connections, one request at a time each, a FIFO of pending requests, connect
 * timeouts, and the cluster's circuit breakers (max connections, max pending requests). Each
 * connection encodes the request of the stream it serves itself.
 */
import type net from 'node:net';
import { BatchedWriter } from '../common/batched-writer.js';
import { Http1ResponseParser, HttpParseError } from '../http/codec/http1-parser.js';
import type { HeaderMap } from '../http/headers.js';
import {
  type ConnectionPool,
  chargeConnectionClose,
  type PendingStream,
  type PoolCallbacks,
  type PoolClusterInfo,
  type PoolFailureReason,
  type RequestEncoder,
  type ResponseDecoder,
  trackConnect,
  type UpstreamHead,
} from './conn-pool.js';
import type { Host } from './host.js';

/** One HTTP/1.1 connection; while a stream uses it, it is that stream's request encoder. */
export class UpstreamConnection implements RequestEncoder {
  readonly socket: net.Socket;
  /** The event after which the connection carries HTTP (`connect`, or `secureConnect` over TLS). */
  readonly readyEvent: string;
  /** The request body goes out with chunked framing. */
  private chunked = false;
  private parser: Http1ResponseParser;
  private decoder: ResponseDecoder | undefined;
  private requestsServed = 0;
  private readonly createdAt = performance.now();
  private closed = false;
  /** True while a request is using it; idle connections wait in the pool. */
  busy = false;
  private responseComplete = false;
  private requestComplete = false;
  private responseKeepAlive = true;
  private idleTimer: NodeJS.Timeout | undefined;
  private readonly writer: BatchedWriter;

  constructor(
    readonly host: Host,
    private readonly pool: Http1ConnectionPool,
    private readonly info: PoolClusterInfo,
  ) {
    const { socket, ready } = info.transport.connect(host, ['http/1.1']);
    this.socket = socket;
    this.readyEvent = ready;
    this.socket.setNoDelay(true);
    this.writer = new BatchedWriter(this.socket);
    this.parser = new Http1ResponseParser({
      onHead: (head) => {
        if (head.status >= 100 && head.status < 200) return; // interim responses are not forwarded
        this.responseKeepAlive = head.keepAlive;
        this.decoder?.onResponseHead(head);
      },
      onBody: (chunk) => this.decoder?.onResponseData(chunk),
      onComplete: (trailers) => {
        this.responseComplete = true;
        const d = this.decoder;
        this.maybeRelease();
        d?.onResponseComplete(trailers);
      },
    });
    this.socket.on('data', (data: Buffer) => {
      this.info.stats.upstream_cx_rx_bytes_total.inc(data.length);
      if (!this.decoder) {
        // Bytes on an idle connection: the server is confused; do not reuse it.
        this.close('remote');
        return;
      }
      try {
        this.parser.execute(data);
      } catch (err) {
        this.info.stats.upstream_cx_protocol_error.inc();
        const d = this.decoder;
        this.decoder = undefined;
        this.close('local');
        d?.onReset('protocol_error', err instanceof HttpParseError ? err.message : String(err));
      }
    });
    this.socket.on('end', () => {
      // A response framed by connection close ends here.
      if (this.decoder && this.parser.finishOnClose() && this.responseComplete) return;
      this.close('remote');
    });
    this.socket.on('close', () => this.onClose());
    this.socket.on('error', () => {
      /* 'close' follows and does the accounting */
    });
  }

  /** Starts a stream on this connection; `decoder` hears the response. */
  attach(decoder: ResponseDecoder): void {
    this.clearIdleTimer();
    this.decoder = decoder;
    this.busy = true;
    this.responseComplete = false;
    this.requestComplete = false;
    this.responseKeepAlive = true;
    this.requestsServed++;
  }

  encodeHeaders(head: UpstreamHead, endStream: boolean): void {
    if (head.method === 'HEAD') this.parser.expectHeadResponse();
    this.chunked = head.chunked;
    this.write(
      `${head.method} ${head.path} HTTP/1.1\r\nhost: ${head.authority}\r\n${head.headers.toHttp1()}\r\n`,
    );
    if (endStream) this.endRequest();
  }

  encodeData(data: Buffer, endStream: boolean): void {
    if (data.length > 0) {
      if (this.chunked)
        this.write(Buffer.concat([Buffer.from(`${data.length.toString(16)}\r\n`), data, CRLF]));
      else this.write(data);
    }
    if (!endStream) return;
    if (this.chunked) this.write('0\r\n\r\n');
    this.endRequest();
  }

  /** HTTP/1 carries trailers only in a chunked body's last chunk; otherwise they are dropped. */
  encodeTrailers(trailers: HeaderMap): void {
    if (this.chunked) this.write(`0\r\n${trailers.toHttp1()}\r\n`);
    this.endRequest();
  }

  private write(data: Buffer | string): void {
    const len = typeof data === 'string' ? Buffer.byteLength(data, 'latin1') : data.length;
    this.info.stats.upstream_cx_tx_bytes_total.inc(len);
    this.writer.write(data);
  }

  /** The request (head and body) has been written completely. */
  private endRequest(): void {
    this.requestComplete = true;
    this.maybeRelease();
  }

  /** The stream gives up (downstream reset, timeout): the connection cannot be reused. */
  resetStream(): void {
    this.decoder = undefined;
    this.close('local');
  }

  private maybeRelease(): void {
    if (!this.responseComplete || !this.requestComplete || !this.busy) return;
    this.decoder = undefined;
    this.busy = false;
    const max = this.info.maxRequestsPerConnection;
    if (!this.responseKeepAlive || this.closed) {
      this.close('local');
    } else if (max > 0 && this.requestsServed >= max) {
      this.info.stats.upstream_cx_max_requests.inc();
      this.close('local');
    } else {
      this.idleTimer = setTimeout(() => {
        this.info.stats.upstream_cx_idle_timeout.inc();
        this.close('local');
      }, this.info.idleTimeoutMs);
      this.idleTimer.unref();
      this.pool.onConnectionIdle(this);
    }
  }

  private clearIdleTimer(): void {
    if (this.idleTimer) {
      clearTimeout(this.idleTimer);
      this.idleTimer = undefined;
    }
  }

  private closedBy: 'local' | 'remote' = 'remote';

  close(by: 'local' | 'remote'): void {
    if (this.closed) return;
    this.closedBy = by;
    this.socket.destroy();
  }

  private onClose(): void {
    if (this.closed) return;
    this.closed = true;
    this.clearIdleTimer();
    const d = this.decoder;
    chargeConnectionClose(this.info.stats, this.closedBy, d !== undefined, this.createdAt);
    this.decoder = undefined;
    this.pool.onConnectionClosed(this);
    d?.onReset('connection_termination', 'connection termination');
  }

  get isClosed(): boolean {
    return this.closed;
  }
}

const CRLF = Buffer.from('\r\n');

interface Waiter {
  decoder: ResponseDecoder;
  callbacks: PoolCallbacks;
  cancelled: boolean;
}

export class Http1ConnectionPool implements ConnectionPool {
  private readonly idle: UpstreamConnection[] = [];
  private readonly connecting = new Set<UpstreamConnection>();
  private readonly all = new Set<UpstreamConnection>();
  private readonly pending: Waiter[] = [];

  constructor(
    readonly host: Host,
    private readonly info: PoolClusterInfo,
  ) {}

  /**
   * Asks for a connection. `onPoolReady` may be called synchronously (an idle connection was
   * free); otherwise the request waits and the returned handle can cancel it.
   */
  newStream(decoder: ResponseDecoder, callbacks: PoolCallbacks): PendingStream | undefined {
    while (this.idle.length > 0) {
      const conn = this.idle.pop()!;
      if (conn.isClosed) continue;
      conn.attach(decoder);
      callbacks.onPoolReady(conn);
      return undefined;
    }
    const res = this.info.resources;
    if (!res.pendingRequests.canCreate()) {
      this.info.stats.upstream_rq_pending_overflow.inc();
      callbacks.onPoolFailure('overflow', 'pending requests overflow');
      return undefined;
    }
    const waiter: Waiter = { decoder, callbacks, cancelled: false };
    this.pending.push(waiter);
    res.pendingRequests.inc();
    this.info.stats.upstream_rq_pending_total.inc();
    this.info.stats.upstream_rq_pending_active.inc();
    // Open a connection for it unless enough are already on their way.
    if (this.connecting.size < this.pending.length) this.tryConnect();
    return {
      cancel: () => {
        if (waiter.cancelled) return;
        waiter.cancelled = true;
        this.removeWaiter(waiter);
        this.info.stats.upstream_rq_cancelled.inc();
      },
    };
  }

  private removeWaiter(waiter: Waiter): void {
    const i = this.pending.indexOf(waiter);
    if (i >= 0) {
      this.pending.splice(i, 1);
      this.info.resources.pendingRequests.dec();
      this.info.stats.upstream_rq_pending_active.dec();
    }
  }

  private connect(): void {
    const conn = new UpstreamConnection(this.host, this, this.info);
    this.connecting.add(conn);
    this.all.add(conn);
    trackConnect(
      this.info,
      this.host,
      conn.socket,
      conn.readyEvent,
      this.info.stats.upstream_cx_http1_total,
      {
        connected: () => {
          this.connecting.delete(conn);
          this.onConnectionIdle(conn);
        },
        failed: (reason, details) => this.connectFailed(conn, reason, details),
      },
    );
  }

  private connectFailed(conn: UpstreamConnection, reason: PoolFailureReason, details: string): void {
    this.connecting.delete(conn);
    conn.close('local');
    // Envoy fails the requests that were waiting for this connection; with several connections
    // in flight only as many waiters as there are no other attempts for.
    const excess = this.pending.length - this.connecting.size;
    for (let i = 0; i < excess; i++) {
      const w = this.pending.shift();
      if (!w) break;
      this.info.resources.pendingRequests.dec();
      this.info.stats.upstream_rq_pending_active.dec();
      this.info.stats.upstream_rq_pending_failure_eject.inc();
      w.callbacks.onPoolFailure(reason, details);
    }
  }

  /** A connection became free (just connected, or finished a request with keep-alive). */
  onConnectionIdle(conn: UpstreamConnection): void {
    const w = this.pending.shift();
    if (w) {
      this.info.resources.pendingRequests.dec();
      this.info.stats.upstream_rq_pending_active.dec();
      conn.attach(w.decoder);
      w.callbacks.onPoolReady(conn);
      return;
    }
    this.idle.push(conn);
  }

  onConnectionClosed(conn: UpstreamConnection): void {
    if (!this.all.delete(conn)) return;
    this.connecting.delete(conn);
    const i = this.idle.indexOf(conn);
    if (i >= 0) this.idle.splice(i, 1);
    this.info.resources.connections.dec();
    this.info.stats.upstream_cx_active.dec();
    this.host.stats.cx_active--;
    // Someone may be waiting for a connection slot this one freed.
    if (this.pending.length > this.connecting.size) this.tryConnect();
  }

  /**
   * Opens a connection if the cluster's connection breaker allows it (else counts an overflow).
   * As in Envoy, a pool without any connection opens one even over the limit: other hosts'
   * connections must not leave this host's queue with nobody to serve it.
   */
  private tryConnect(): void {
    const allowed = this.info.resources.connections.canCreate();
    if (!allowed) this.info.stats.upstream_cx_overflow.inc();
    if (allowed || this.all.size === 0) this.connect();
  }

  /** Closes every connection (host removed, cluster removed, shutdown). */
  destroy(): void {
    for (const w of this.pending.splice(0)) {
      this.info.resources.pendingRequests.dec();
      this.info.stats.upstream_rq_pending_active.dec();
      w.callbacks.onPoolFailure('local_connection_failure', 'connection pool destroyed');
    }
    for (const c of [...this.all]) c.close('local');
  }

  get activeConnections(): number {
    return this.all.size;
  }
}
