/**
 * HTTP/2 connection pool to one upstream host (Envoy's `source/common/http/http2/conn_pool` on
 * the multiplexed pool base): requests are streams on one shared connection — h2c with prior
 * knowledge, or h2 over the cluster's TLS context (ALPN `h2`) — and a new connection opens only
 * when the others are full (`max_concurrent_streams`, or the server's SETTINGS), draining
 * (GOAWAY, `max_requests_per_connection`) or gone. Requests wait for a connection being set up,
 * within the pending-request circuit breaker.
 */
import http2 from 'node:http2';
import type net from 'node:net';
import {
  fromHttp2Headers,
  type Http2Config,
  type Http2ProtocolOptions,
  toHttp2Headers,
} from '../http/codec/http2-options.js';
import { HeaderMap } from '../http/headers.js';
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

const { NGHTTP2_CANCEL, NGHTTP2_PROTOCOL_ERROR, NGHTTP2_NO_ERROR, NGHTTP2_FLAG_END_STREAM } = http2.constants;

/** One HTTP/2 connection of the pool (Envoy's ActiveClient). */
class Http2Client {
  session: http2.ClientHttp2Session | undefined;
  activeStreams = 0;
  totalStreams = 0;
  /** Takes no new streams: GOAWAY received, or its request budget is spent. */
  draining = false;
  closed = false;
  private readonly createdAt = performance.now();
  private idleTimer: NodeJS.Timeout | undefined;
  private closedBy: 'local' | 'remote' = 'remote';
  private countedRx = 0;
  private countedTx = 0;

  constructor(
    readonly socket: net.Socket,
    private readonly pool: Http2ConnectionPool,
    private readonly info: PoolClusterInfo,
  ) {}

  /** The transport is up: HTTP/2 starts on it. */
  start(config: Http2Config, authority: string): void {
    const session = http2.connect(authority, {
      createConnection: () => this.socket,
      settings: config.settings,
      // Proxied bodies are buffered on both sides of a session; nghttp2's 10 MB default is too tight.
      maxSessionMemory: 256,
    });
    this.session = session;
    session.setLocalWindowSize(config.connectionWindowSize);
    session.on('remoteSettings', () => this.pool.onCapacity(this));
    session.on('goaway', () => {
      this.draining = true;
      this.maybeCloseIdle();
    });
    session.on('error', () => {
      /* 'close' follows */
    });
    session.on('close', () => this.onClose());
    this.armIdleTimer();
  }

  /** How many more streams it takes (the peer's limit and ours). */
  capacity(maxConcurrentStreams: number): number {
    if (!this.session || this.draining || this.closed) return 0;
    const remote = this.session.remoteSettings.maxConcurrentStreams ?? Number.POSITIVE_INFINITY;
    return Math.min(remote, maxConcurrentStreams) - this.activeStreams;
  }

  onStreamStart(): void {
    clearTimeout(this.idleTimer);
    this.activeStreams++;
    this.totalStreams++;
    const max = this.info.maxRequestsPerConnection;
    if (max > 0 && this.totalStreams >= max) {
      this.info.stats.upstream_cx_max_requests.inc();
      this.draining = true;
    }
  }

  onStreamEnd(): void {
    this.activeStreams--;
    if (this.closed) return;
    this.countBytes();
    if (this.draining) this.maybeCloseIdle();
    else if (this.activeStreams === 0) this.armIdleTimer();
    this.pool.onCapacity(this);
  }

  /** node:http2 reads the socket itself, so bytes are counted from the socket's totals. */
  private countBytes(): void {
    const s = this.info.stats;
    const rx = this.socket.bytesRead;
    const tx = this.socket.bytesWritten;
    s.upstream_cx_rx_bytes_total.inc(rx - this.countedRx);
    s.upstream_cx_tx_bytes_total.inc(tx - this.countedTx);
    this.countedRx = rx;
    this.countedTx = tx;
  }

  private maybeCloseIdle(): void {
    if (this.activeStreams === 0) this.close('local');
  }

  private armIdleTimer(): void {
    clearTimeout(this.idleTimer);
    this.idleTimer = setTimeout(() => {
      this.info.stats.upstream_cx_idle_timeout.inc();
      this.close('local');
    }, this.info.idleTimeoutMs);
    this.idleTimer.unref();
  }

  close(by: 'local' | 'remote'): void {
    if (this.closed) return;
    this.closedBy = by;
    if (this.session) this.session.destroy();
    else this.socket.destroy();
    // A session closes asynchronously; the accounting must not wait for it.
    this.onClose();
  }

  private onClose(): void {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.idleTimer);
    this.countBytes();
    chargeConnectionClose(this.info.stats, this.closedBy, this.activeStreams > 0, this.createdAt);
    this.pool.onClientClosed(this);
  }
}

/** One request on a pooled connection: Envoy's request encoder on an HTTP/2 stream. */
class Http2Stream implements RequestEncoder {
  private stream: http2.ClientHttp2Stream | undefined;
  private trailers: HeaderMap | undefined;
  private done = false;

  constructor(
    private readonly client: Http2Client,
    private readonly decoder: ResponseDecoder,
    private readonly scheme: 'http' | 'https',
  ) {
    client.onStreamStart();
  }

  encodeHeaders(head: UpstreamHead, endStream: boolean): void {
    const headers = toHttp2Headers(head.headers, {
      ':method': head.method,
      ':scheme': this.scheme,
      ':authority': head.authority,
      ':path': head.path,
    });
    let stream: http2.ClientHttp2Stream;
    try {
      stream = this.client.session!.request(headers, { endStream, waitForTrailers: !endStream });
    } catch (err) {
      // A header node:http2 will not send (e.g. a value with a control character).
      this.finish();
      this.decoder.onReset('protocol_error', (err as Error).message);
      return;
    }
    this.stream = stream;
    let trailers: HeaderMap | undefined;
    stream.on('response', (_headers: unknown, flags: number, raw: string[]) => {
      const map = new HeaderMap();
      const status = Number(fromHttp2Headers(raw, map).get(':status'));
      const endStream = (flags & NGHTTP2_FLAG_END_STREAM) !== 0;
      this.decoder.onResponseHead({ status, headers: map, chunked: false, endStream });
    });
    stream.on('data', (chunk: Buffer) => this.decoder.onResponseData(chunk));
    stream.on('trailers', (_headers: unknown, _flags: number, raw: string[]) => {
      trailers = new HeaderMap();
      fromHttp2Headers(raw, trailers);
    });
    stream.on('wantTrailers', () => {
      // An empty trailer block is sent as an empty DATA frame ending the stream.
      stream.sendTrailers(this.trailers ? toHttp2Headers(this.trailers, {}) : {});
    });
    stream.on('end', () => {
      if (this.finish()) this.decoder.onResponseComplete(trailers);
    });
    stream.on('error', () => {
      /* 'close' says how it ended */
    });
    stream.on('close', () => {
      if (!this.finish()) return;
      const code = stream.rstCode;
      this.decoder.onReset(
        code === NGHTTP2_PROTOCOL_ERROR ? 'protocol_error' : 'connection_termination',
        code === undefined || code === NGHTTP2_NO_ERROR ? 'connection termination' : `remote reset (${code})`,
      );
    });
  }

  encodeData(data: Buffer, endStream: boolean): void {
    const stream = this.stream;
    if (!stream || stream.destroyed) return;
    if (data.length > 0) stream.write(data);
    if (endStream) stream.end();
  }

  encodeTrailers(trailers: HeaderMap): void {
    const stream = this.stream;
    if (!stream || stream.destroyed) return;
    this.trailers = trailers;
    stream.end();
  }

  resetStream(): void {
    if (!this.finish()) return;
    this.stream?.close(NGHTTP2_CANCEL);
  }

  /** Marks the stream over once; false when it already was. */
  private finish(): boolean {
    if (this.done) return false;
    this.done = true;
    this.client.onStreamEnd();
    return true;
  }
}

interface Waiter {
  decoder: ResponseDecoder;
  callbacks: PoolCallbacks;
}

export class Http2ConnectionPool implements ConnectionPool {
  private readonly clients = new Set<Http2Client>();
  private readonly connecting = new Set<Http2Client>();
  private readonly pending: Waiter[] = [];
  private readonly authority: string;

  constructor(
    readonly host: Host,
    private readonly info: PoolClusterInfo,
    private readonly config: Http2Config,
  ) {
    const scheme = info.transport.secure ? 'https' : 'http';
    const address = host.address.includes(':') ? `[${host.address}]` : host.address;
    this.authority = `${scheme}://${address}:${host.port}`;
  }

  newStream(decoder: ResponseDecoder, callbacks: PoolCallbacks): PendingStream | undefined {
    const client = this.clientWithRoom();
    if (client) {
      callbacks.onPoolReady(this.stream(client, decoder));
      return undefined;
    }
    const res = this.info.resources;
    if (!res.pendingRequests.canCreate()) {
      this.info.stats.upstream_rq_pending_overflow.inc();
      callbacks.onPoolFailure('overflow', 'pending requests overflow');
      return undefined;
    }
    const waiter: Waiter = { decoder, callbacks };
    this.pending.push(waiter);
    res.pendingRequests.inc();
    this.info.stats.upstream_rq_pending_total.inc();
    this.info.stats.upstream_rq_pending_active.inc();
    // A connection being set up takes as many streams as it is allowed; open another only beyond that.
    if (this.connecting.size * this.config.maxConcurrentStreams < this.pending.length) this.tryConnect();
    return {
      cancel: () => {
        if (!this.removeWaiter(waiter)) return;
        this.info.stats.upstream_rq_cancelled.inc();
      },
    };
  }

  private stream(client: Http2Client, decoder: ResponseDecoder): Http2Stream {
    return new Http2Stream(client, decoder, this.info.transport.secure ? 'https' : 'http');
  }

  private clientWithRoom(): Http2Client | undefined {
    for (const c of this.clients) if (c.capacity(this.config.maxConcurrentStreams) > 0) return c;
    return undefined;
  }

  private removeWaiter(waiter: Waiter): boolean {
    const i = this.pending.indexOf(waiter);
    if (i < 0) return false;
    this.pending.splice(i, 1);
    this.info.resources.pendingRequests.dec();
    this.info.stats.upstream_rq_pending_active.dec();
    return true;
  }

  /** As in the HTTP/1 pool: a pool without a connection opens one even over the cluster's limit. */
  private tryConnect(): void {
    const allowed = this.info.resources.connections.canCreate();
    if (!allowed) this.info.stats.upstream_cx_overflow.inc();
    if (allowed || this.clients.size === 0) this.connect();
  }

  private connect(): void {
    const { socket, ready } = this.info.transport.connect(this.host, ['h2']);
    socket.setNoDelay(true);
    const client = new Http2Client(socket, this, this.info);
    this.clients.add(client);
    this.connecting.add(client);
    trackConnect(this.info, this.host, socket, ready, this.info.stats.upstream_cx_http2_total, {
      connected: () => {
        this.connecting.delete(client);
        client.start(this.config, this.authority);
        this.onCapacity(client);
      },
      failed: (reason, details) => this.connectFailed(client, reason, details),
    });
  }

  private connectFailed(client: Http2Client, reason: PoolFailureReason, details: string): void {
    this.connecting.delete(client);
    // Every waiter beyond what the remaining connection attempts can carry fails with it (first,
    // so that closing the client does not open a replacement for them).
    const excess = this.pending.length - this.connecting.size * this.config.maxConcurrentStreams;
    for (const w of this.pending.slice(0, Math.max(excess, 0))) {
      this.removeWaiter(w);
      this.info.stats.upstream_rq_pending_failure_eject.inc();
      w.callbacks.onPoolFailure(reason, details);
    }
    client.close('local');
  }

  /** A connection has room (connected, SETTINGS arrived, a stream ended): waiting requests take it. */
  onCapacity(client: Http2Client): void {
    while (this.pending.length > 0 && client.capacity(this.config.maxConcurrentStreams) > 0) {
      const w = this.pending[0]!;
      this.removeWaiter(w);
      w.callbacks.onPoolReady(this.stream(client, w.decoder));
    }
  }

  onClientClosed(client: Http2Client): void {
    if (!this.clients.delete(client)) return;
    this.connecting.delete(client);
    this.info.resources.connections.dec();
    this.info.stats.upstream_cx_active.dec();
    this.host.stats.cx_active--;
    if (this.pending.length > 0 && !this.clientWithRoom() && this.connecting.size === 0) this.tryConnect();
  }

  destroy(): void {
    for (const w of [...this.pending]) {
      this.removeWaiter(w);
      w.callbacks.onPoolFailure('local_connection_failure', 'connection pool destroyed');
    }
    for (const c of [...this.clients]) c.close('local');
  }

  get activeConnections(): number {
    return this.clients.size;
  }
}

const HTTP_PROTOCOL_OPTIONS_KEYS = [
  'envoy.extensions.upstreams.http.v3.HttpProtocolOptions',
  'envoy.upstreams.http.http_protocol_options',
];

/**
 * The HTTP/2 options of a cluster that speaks HTTP/2 to its hosts, or undefined for HTTP/1.1:
 * `typed_extension_protocol_options` HttpProtocolOptions with
 * `explicit_http_config.http2_protocol_options`, or the older cluster-level `http2_protocol_options`.
 */
export function clusterHttp2Options(cluster: {
  http2_protocol_options?: Http2ProtocolOptions;
  typed_extension_protocol_options?: Record<string, unknown>;
}): Http2ProtocolOptions | undefined {
  for (const key of HTTP_PROTOCOL_OPTIONS_KEYS) {
    const typed = cluster.typed_extension_protocol_options?.[key] as
      | { explicit_http_config?: { http2_protocol_options?: Http2ProtocolOptions } }
      | undefined;
    if (typed?.explicit_http_config) return typed.explicit_http_config.http2_protocol_options;
  }
  return cluster.http2_protocol_options;
}
