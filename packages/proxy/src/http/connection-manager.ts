/**
 * The HTTP connection manager network filter (`envoy.filters.network.http_connection_manager`),
 * after Envoy's `source/common/http/conn_manager_impl`: it owns the downstream HTTP/1.1 codec,
 * turns each request into a stream that runs the HTTP filter chain (ending in the router),
 * applies Envoy's request/response header rules, answers malformed input with Envoy's local
 * replies, and keeps the `http.<stat_prefix>.*` stats.
 */
import { randomInt, randomUUID } from 'node:crypto';
import { STATUS_CODES } from 'node:http';
import type net from 'node:net';
import { unmapIpv4 } from '../common/address.js';
import { BatchedWriter } from '../common/batched-writer.js';
import { durationMs } from '../common/duration.js';
import type { Logger } from '../common/logger.js';
import type { HttpConnectionManager } from '../config/types.js';
import type { Runtime } from '../runtime/runtime.js';
import type { Counter, Gauge, Histogram, Scope, Store } from '../stats/store.js';
import type { ClusterManager } from '../upstream/cluster-manager.js';
import type { Host } from '../upstream/host.js';
import { type AccessLogger, createAccessLoggers } from './access-log.js';
import { Http1RequestParser, HttpParseError, type ParsedRequestHead } from './codec/http1-parser.js';
import { type Http2Config, type Http2ProtocolOptions, http2Config } from './codec/http2-options.js';
import type {
  DownstreamConnectionInfo,
  FilterCallbacks,
  HttpFilterFactory,
  LocalReplyOptions,
  StreamDecoderFilter,
  StreamEncoderFilter,
} from './filter.js';
import { createHttpFilterFactory, type LocalHealth } from './filters/index.js';
import { DEFAULT_ACCESS_LOG_FORMAT } from './formatter.js';
import { grpcMessage, httpToGrpcStatus, isGrpcRequest } from './grpc.js';
import { HeaderMap, type RequestHead, type ResponseHead } from './headers.js';
import {
  type RouteConfigProvider,
  type RouteConfigProviderManager,
  staticRouteConfigProvider,
} from './route/rds.js';
import { type RouteEntry, RouteTable, type WeightedClusterEntry } from './route/route-table.js';
import { StreamInfo } from './stream-info.js';

/** Stats under `http.<stat_prefix>.` (and the per-listener `listener.<addr>.http.<prefix>.` subset). */
interface HcmStats {
  downstream_cx_total: Counter;
  downstream_cx_active: Gauge;
  downstream_cx_http1_total: Counter;
  downstream_cx_http1_active: Gauge;
  downstream_cx_ssl_total: Counter;
  downstream_cx_ssl_active: Gauge;
  downstream_cx_http2_total: Counter;
  downstream_cx_http2_active: Gauge;
  downstream_cx_destroy: Counter;
  downstream_cx_destroy_remote: Counter;
  downstream_cx_destroy_local: Counter;
  downstream_cx_destroy_active_rq: Counter;
  downstream_cx_destroy_remote_active_rq: Counter;
  downstream_cx_destroy_local_active_rq: Counter;
  downstream_cx_protocol_error: Counter;
  downstream_cx_idle_timeout: Counter;
  downstream_cx_drain_close: Counter;
  downstream_cx_rx_bytes_total: Counter;
  downstream_cx_tx_bytes_total: Counter;
  downstream_cx_length_ms: Histogram;
  downstream_rq_total: Counter;
  downstream_rq_http1_total: Counter;
  downstream_rq_http2_total: Counter;
  downstream_rq_active: Gauge;
  downstream_rq_completed: Counter;
  downstream_rq_time: Histogram;
  downstream_rq_rx_reset: Counter;
  downstream_rq_tx_reset: Counter;
  downstream_rq_non_relative_path: Counter;
  downstream_rq_too_large: Counter;
  downstream_rq_idle_timeout: Counter;
  downstream_rq_timeout: Counter;
  downstream_rq_response_before_rq_complete: Counter;
  downstream_rq_xx: Counter[];
}

function createHcmStats(scope: Scope): HcmStats {
  const c = (n: string) => scope.counter(n);
  return {
    downstream_cx_total: c('downstream_cx_total'),
    downstream_cx_active: scope.gauge('downstream_cx_active'),
    downstream_cx_http1_total: c('downstream_cx_http1_total'),
    downstream_cx_http1_active: scope.gauge('downstream_cx_http1_active'),
    downstream_cx_ssl_total: c('downstream_cx_ssl_total'),
    downstream_cx_ssl_active: scope.gauge('downstream_cx_ssl_active'),
    downstream_cx_http2_total: c('downstream_cx_http2_total'),
    downstream_cx_http2_active: scope.gauge('downstream_cx_http2_active'),
    downstream_cx_destroy: c('downstream_cx_destroy'),
    downstream_cx_destroy_remote: c('downstream_cx_destroy_remote'),
    downstream_cx_destroy_local: c('downstream_cx_destroy_local'),
    downstream_cx_destroy_active_rq: c('downstream_cx_destroy_active_rq'),
    downstream_cx_destroy_remote_active_rq: c('downstream_cx_destroy_remote_active_rq'),
    downstream_cx_destroy_local_active_rq: c('downstream_cx_destroy_local_active_rq'),
    downstream_cx_protocol_error: c('downstream_cx_protocol_error'),
    downstream_cx_idle_timeout: c('downstream_cx_idle_timeout'),
    downstream_cx_drain_close: c('downstream_cx_drain_close'),
    downstream_cx_rx_bytes_total: c('downstream_cx_rx_bytes_total'),
    downstream_cx_tx_bytes_total: c('downstream_cx_tx_bytes_total'),
    downstream_cx_length_ms: scope.histogram('downstream_cx_length_ms'),
    downstream_rq_total: c('downstream_rq_total'),
    downstream_rq_http1_total: c('downstream_rq_http1_total'),
    downstream_rq_http2_total: c('downstream_rq_http2_total'),
    downstream_rq_active: scope.gauge('downstream_rq_active'),
    downstream_rq_completed: c('downstream_rq_completed'),
    downstream_rq_time: scope.histogram('downstream_rq_time'),
    downstream_rq_rx_reset: c('downstream_rq_rx_reset'),
    downstream_rq_tx_reset: c('downstream_rq_tx_reset'),
    downstream_rq_non_relative_path: c('downstream_rq_non_relative_path'),
    downstream_rq_too_large: c('downstream_rq_too_large'),
    downstream_rq_idle_timeout: c('downstream_rq_idle_timeout'),
    downstream_rq_timeout: c('downstream_rq_timeout'),
    downstream_rq_response_before_rq_complete: c('downstream_rq_response_before_rq_complete'),
    downstream_rq_xx: [1, 2, 3, 4, 5].map((k) => c(`downstream_rq_${k}xx`)),
  };
}

/** The per-listener copy of the response-class counters Envoy keeps. */
interface ListenerHttpStats {
  downstream_rq_completed: Counter;
  downstream_rq_xx: Counter[];
}

export interface HcmDeps {
  store: Store;
  runtime: Runtime;
  clusterManager: ClusterManager;
  log: Logger;
  /** `listener.<address>.` scope of the listener this HCM belongs to. */
  listenerScope: Scope;
  /** Route configurations discovered over RDS (an HCM with `rds` needs it). */
  routes?: RouteConfigProviderManager;
  /** The server's `/healthcheck/fail|ok` state and local cluster, for the health_check filter. */
  localHealth: LocalHealth;
}

/** Formats and caches the `date` header value once per second, as Envoy's date provider does. */
class DateProvider {
  private second = -1;
  private value = '';
  get(): string {
    const now = Date.now();
    const s = Math.floor(now / 1000);
    if (s !== this.second) {
      this.second = s;
      this.value = new Date(now).toUTCString();
    }
    return this.value;
  }
}
const dateProvider = new DateProvider();

/** A compiled HttpConnectionManager config, shared by every connection of a filter chain. */
export class HttpConnectionManagerConfig {
  readonly stats: HcmStats;
  readonly listenerStats: ListenerHttpStats;
  private readonly routes: RouteConfigProvider;
  readonly filterFactories: HttpFilterFactory[];
  readonly accessLoggers: AccessLogger[];
  readonly serverName: string;
  readonly serverHeader: 'OVERWRITE' | 'APPEND_IF_ABSENT' | 'PASS_THROUGH';
  readonly useRemoteAddress: boolean;
  readonly skipXffAppend: boolean;
  readonly generateRequestId: boolean;
  readonly preserveExternalRequestId: boolean;
  readonly via: string | undefined;
  readonly idleTimeoutMs: number;
  readonly streamIdleTimeoutMs: number;
  readonly requestTimeoutMs: number;
  readonly maxRequestHeadersBytes: number;
  readonly acceptHttp10: boolean;
  readonly defaultHostForHttp10: string | undefined;
  readonly stripMatchingHostPort: boolean;
  readonly stripAnyHostPort: boolean;
  readonly normalizePath: boolean;
  readonly mergeSlashes: boolean;
  readonly log: Logger;
  readonly runtime: Runtime;
  /** Which codec a connection gets: HTTP/1, HTTP/2, or AUTO (ALPN, else the HTTP/2 preface). */
  readonly codecType: 'AUTO' | 'HTTP1' | 'HTTP2';
  readonly http2: Http2Config;

  constructor(
    config: HttpConnectionManager,
    readonly deps: HcmDeps,
  ) {
    const prefix = config.stat_prefix;
    this.stats = createHcmStats(deps.store.scope(`http.${prefix}.`));
    const ls = deps.listenerScope.scope(`http.${prefix}.`);
    this.listenerStats = {
      downstream_rq_completed: ls.counter('downstream_rq_completed'),
      downstream_rq_xx: [1, 2, 3, 4, 5].map((k) => ls.counter(`downstream_rq_${k}xx`)),
    };
    this.log = deps.log;
    this.runtime = deps.runtime;
    if (config.rds) {
      if (!deps.routes) throw new Error(`http_connection_manager '${prefix}': rds needs route discovery`);
      this.routes = deps.routes.provider(config.rds, prefix);
    } else {
      this.routes = staticRouteConfigProvider(new RouteTable(config.route_config ?? {}, deps.runtime));
    }
    const filterContext = {
      store: deps.store,
      runtime: deps.runtime,
      clusterManager: deps.clusterManager,
      httpScope: deps.store.scope(`http.${prefix}.`),
      localHealth: deps.localHealth,
    };
    this.filterFactories = (config.http_filters ?? []).map((f) => createHttpFilterFactory(f, filterContext));
    this.accessLoggers = createAccessLoggers(config.access_log, DEFAULT_ACCESS_LOG_FORMAT);
    this.serverName = config.server_name ?? 'envoy';
    this.serverHeader = config.server_header_transformation ?? 'OVERWRITE';
    this.useRemoteAddress = config.use_remote_address === true;
    this.skipXffAppend = config.skip_xff_append === true;
    this.generateRequestId = config.generate_request_id !== false;
    this.preserveExternalRequestId = config.preserve_external_request_id === true;
    this.via = config.via || undefined;
    this.idleTimeoutMs = durationMs(config.common_http_protocol_options?.idle_timeout, 3_600_000);
    this.streamIdleTimeoutMs = durationMs(config.stream_idle_timeout, 300_000);
    this.requestTimeoutMs = durationMs(config.request_timeout, 0);
    this.maxRequestHeadersBytes = (config.max_request_headers_kb ?? 60) * 1024;
    this.acceptHttp10 = config.http_protocol_options?.accept_http_10 === true;
    this.defaultHostForHttp10 = config.http_protocol_options?.default_host_for_http_10;
    this.stripMatchingHostPort = config.strip_matching_host_port === true;
    this.stripAnyHostPort = config.strip_any_host_port === true;
    this.normalizePath = config.normalize_path === true;
    this.codecType =
      config.codec_type === 'HTTP1' || config.codec_type === 'HTTP2' ? config.codec_type : 'AUTO';
    this.http2 = http2Config(config.http2_protocol_options as Http2ProtocolOptions | undefined);
    this.mergeSlashes = config.merge_slashes === true;
  }

  /** The route table for a stream starting now (RDS may replace it between streams). */
  get routeTable(): RouteTable {
    return this.routes.current();
  }

  /** Resolves when the route configuration is there (at once unless it comes over RDS). */
  initialized(): Promise<void> {
    return this.routes.initialized();
  }

  close(): void {
    for (const l of this.accessLoggers) l.close();
    this.routes.release();
  }
}

/** The codec a downstream connection speaks, as its stats name it (`downstream_cx_http1_*`). */
export type DownstreamCodec = 'http1' | 'http2';

/**
 * Envoy's accounting for a downstream connection as it opens (`downstream_cx_*`, by codec and
 * TLS), and the connection's identity for its streams and the access log.
 */
export function openDownstream(
  config: HttpConnectionManagerConfig,
  socket: net.Socket,
  codec: DownstreamCodec,
  secure: boolean,
  requestedServerName: string,
): DownstreamConnectionInfo {
  const s = config.stats;
  s.downstream_cx_total.inc();
  s.downstream_cx_active.inc();
  s[`downstream_cx_${codec}_total`].inc();
  s[`downstream_cx_${codec}_active`].inc();
  if (secure) {
    s.downstream_cx_ssl_total.inc();
    s.downstream_cx_ssl_active.inc();
  }
  return {
    id: nextConnectionId(),
    remoteAddress: unmapIpv4(socket.remoteAddress ?? ''),
    remotePort: socket.remotePort ?? 0,
    localAddress: unmapIpv4(socket.localAddress ?? ''),
    localPort: socket.localPort ?? 0,
    secure,
    requestedServerName,
  };
}

/** The other half: `downstream_cx_destroy*` by who closed it and whether requests were active, and its lifetime. */
export function chargeDownstreamClose(
  s: HcmStats,
  codec: DownstreamCodec,
  info: DownstreamConnectionInfo,
  closedBy: 'local' | 'remote',
  withActiveRequests: boolean,
  createdAt: number,
): void {
  s.downstream_cx_active.dec();
  s[`downstream_cx_${codec}_active`].dec();
  if (info.secure) s.downstream_cx_ssl_active.dec();
  s.downstream_cx_destroy.inc();
  (closedBy === 'local' ? s.downstream_cx_destroy_local : s.downstream_cx_destroy_remote).inc();
  if (withActiveRequests) {
    s.downstream_cx_destroy_active_rq.inc();
    (closedBy === 'local'
      ? s.downstream_cx_destroy_local_active_rq
      : s.downstream_cx_destroy_remote_active_rq
    ).inc();
  }
  s.downstream_cx_length_ms.record(performance.now() - createdAt);
}

let connectionIds = 0;

/** Allocates Envoy-style connection ids (shared with the TCP proxy for `%CONNECTION_ID%`). */
export function nextConnectionId(): number {
  return ++connectionIds;
}

/** What an ActiveStream needs of the downstream connection it runs on (HTTP/1.x or HTTP/2). */
export interface StreamConnection {
  /** The stream's response is complete. */
  streamDone(stream: ActiveStream): void;
  /** Aborts the stream: HTTP/1 can only close the connection, HTTP/2 resets the stream. */
  resetStream(stream: ActiveStream): void;
}

/**
 * How a stream's response goes onto the wire (Envoy's ResponseEncoder): HTTP/1 framing or
 * HTTP/2 frames. The stream has applied the HCM's response rules by then; the encoder adds only
 * what its protocol needs.
 */
export interface ResponseEncoder {
  encodeHeaders(response: ResponseHead, endStream: boolean): void;
  encodeData(data: Buffer, endStream: boolean): void;
  encodeTrailers(trailers: HeaderMap): void;
}

/**
 * One downstream HTTP/1.x connection: parses requests in order (pipelined ones wait their
 * turn), runs each as an ActiveStream, and writes responses with Envoy's framing rules — it is
 * the response encoder of the stream it serves.
 */
export class Http1ServerConnection implements StreamConnection, ResponseEncoder {
  private readonly parser: Http1RequestParser;
  private stream: ActiveStream | undefined;
  private readonly info: DownstreamConnectionInfo;
  private readonly createdAt = performance.now();
  private closing = false;
  private closedBy: 'local' | 'remote' | undefined;
  private idleTimer: NodeJS.Timeout | undefined;
  private draining = false;
  private readonly writer: BatchedWriter;
  /** The current request's framing: keep-alive, HEAD, HTTP/1.0, and whether the response is chunked. */
  private keepAlive = true;
  private requestIsHead = false;
  private requestHttp10 = false;
  private chunked = false;

  constructor(
    readonly socket: net.Socket,
    private readonly config: HttpConnectionManagerConfig,
    secure = false,
    requestedServerName = '',
  ) {
    this.info = openDownstream(config, socket, 'http1', secure, requestedServerName);
    socket.setNoDelay(true);
    this.writer = new BatchedWriter(socket);
    this.parser = new Http1RequestParser(
      {
        onHead: (head) => this.onRequestHead(head),
        onBody: (chunk) => this.stream?.onRequestData(chunk, false),
        onComplete: (trailers) => {
          const stream = this.stream;
          // A filter answered from the request headers alone (a direct response, a local reply):
          // the exchange is over, so the next request on the connection may be read.
          if (!stream) return;
          // Keep pipelined requests queued until this one's response is done.
          this.parser.pause();
          stream.onRequestComplete(trailers);
        },
      },
      config.maxRequestHeadersBytes,
    );
    socket.on('data', (data: Buffer) => this.onData(data));
    socket.on('end', () => {
      // Half-close from the client: finish what is in flight, then close.
      if (!this.stream) this.close('remote');
    });
    socket.on('close', () => this.onClose());
    socket.on('error', () => {
      /* 'close' follows */
    });
    this.armIdleTimer();
  }

  private onData(data: Buffer): void {
    this.config.stats.downstream_cx_rx_bytes_total.inc(data.length);
    this.clearIdleTimer();
    try {
      this.parser.execute(data);
    } catch (err) {
      this.onParseError(err);
    }
  }

  private onParseError(err: unknown): void {
    const e = err instanceof HttpParseError ? err : new HttpParseError('bad_request_line', String(err));
    this.config.stats.downstream_cx_protocol_error.inc();
    this.config.log.debug(`[C${this.info.id}] dispatch error: ${e.message}`);
    if (this.stream?.responseStarted) {
      this.close('local');
      return;
    }
    this.stream?.destroy();
    this.stream = undefined;
    const status = e.code === 'headers_too_large' ? 431 : e.code === 'http_version_not_supported' ? 505 : 400;
    if (e.code === 'headers_too_large') this.config.stats.downstream_rq_too_large.inc();
    const reason = STATUS_CODES[status] ?? 'Bad Request';
    // Envoy's codec-error reply: the reason phrase as the body, and the connection closed.
    this.writeRaw(
      `HTTP/1.1 ${status} ${reason}\r\ncontent-length: ${reason.length}\r\ncontent-type: text/plain\r\ndate: ${dateProvider.get()}\r\nserver: ${this.config.serverName}\r\nconnection: close\r\n\r\n${reason}`,
    );
    this.closing = true;
    this.writer.flush();
    this.socket.end();
    this.closedBy = 'local';
  }

  private onRequestHead(head: ParsedRequestHead): void {
    const cfg = this.config;
    if (head.versionMinor === 0 && !cfg.acceptHttp10) {
      // Envoy answers HTTP/1.0 with 426 unless accept_http_10 is set.
      this.parser.pause();
      this.rejectHead(426, 'Upgrade Required');
      return;
    }
    let authority = head.headers.get('host') ?? '';
    let path = head.target;
    if (/^https?:\/\//i.test(path)) {
      // Absolute-form target (a client talking to us as a forward proxy): split it as Envoy does.
      try {
        const u = new URL(path);
        authority = u.host;
        path = `${u.pathname}${u.search}`;
      } catch {
        this.parser.pause();
        this.rejectHead(400, 'Bad Request');
        return;
      }
    }
    if (!authority && head.versionMinor === 0 && cfg.defaultHostForHttp10)
      authority = cfg.defaultHostForHttp10;
    if (!authority && head.versionMinor === 1) {
      this.parser.pause();
      this.rejectHead(400, 'Bad Request');
      return;
    }
    head.headers.remove('host');
    const request: RequestHead = {
      method: head.method,
      path,
      authority,
      scheme: this.info.secure ? 'https' : 'http',
      protocol: head.versionMinor === 0 ? 'HTTP/1.0' : 'HTTP/1.1',
      headers: head.headers,
    };
    if (head.expectContinue && !head.chunked && (head.contentLength ?? 0) > 0) {
      this.writeRaw('HTTP/1.1 100 Continue\r\n\r\n');
    }
    const endStream = !head.chunked && (head.contentLength ?? 0) === 0;
    this.keepAlive = head.keepAlive && !this.draining;
    this.requestIsHead = head.method === 'HEAD';
    this.requestHttp10 = head.versionMinor === 0;
    this.stream = new ActiveStream(this, this, cfg, this.info, request);
    this.stream.start(endStream);
  }

  /** A request we refuse before it becomes a stream (426, 400): answer and close. */
  private rejectHead(status: number, reason: string): void {
    this.config.stats.downstream_cx_protocol_error.inc();
    this.writeRaw(
      `HTTP/1.1 ${status} ${reason}\r\ncontent-length: 0\r\ndate: ${dateProvider.get()}\r\nserver: ${this.config.serverName}\r\nconnection: close\r\n\r\n`,
    );
    this.closing = true;
    this.closedBy = 'local';
    this.writer.flush();
    this.socket.end();
  }

  writeRaw(data: string | Buffer): void {
    if (this.socket.destroyed) return;
    const len = typeof data === 'string' ? Buffer.byteLength(data, 'latin1') : data.length;
    this.config.stats.downstream_cx_tx_bytes_total.inc(len);
    this.writer.write(data);
  }

  // ---- ResponseEncoder: the current stream's response with Envoy's HTTP/1 framing ----

  encodeHeaders(response: ResponseHead, endStream: boolean): void {
    const h = response.headers;
    // A response before the request finished: Envoy closes the connection afterwards.
    if (!this.stream?.requestCompleted || this.draining) this.keepAlive = false;
    const status = response.status;
    this.chunked = false;
    if (h.has('content-length') || status < 200 || status === 204 || status === 304) {
      h.remove('transfer-encoding');
    } else if (endStream && !this.requestIsHead) {
      h.add('content-length', '0');
      h.remove('transfer-encoding');
    } else if (this.requestHttp10) {
      h.remove('transfer-encoding');
      this.keepAlive = false;
    } else {
      // Envoy's codec announces chunked even on a HEAD reply (it just sends no body).
      h.set('transfer-encoding', 'chunked');
      this.chunked = !this.requestIsHead;
    }
    if (!this.keepAlive) h.set('connection', 'close');
    else if (this.requestHttp10) h.set('connection', 'keep-alive');
    const reason = STATUS_CODES[status] ?? 'Unknown';
    this.writeRaw(`HTTP/1.1 ${status} ${reason}\r\n${h.toHttp1()}\r\n`);
  }

  encodeData(data: Buffer, endStream: boolean): void {
    if (data.length > 0)
      this.writeRaw(
        this.chunked ? Buffer.concat([Buffer.from(`${data.length.toString(16)}\r\n`), data, CRLF]) : data,
      );
    if (endStream && this.chunked) this.writeRaw('0\r\n\r\n');
  }

  /** Trailers go in the last chunk; a response framed otherwise has nowhere to carry them. */
  encodeTrailers(trailers: HeaderMap): void {
    if (this.chunked) this.writeRaw(`0\r\n${trailers.toHttp1()}\r\n`);
  }

  /** The current stream finished its response. */
  streamDone(stream: ActiveStream): void {
    if (this.stream !== stream) return;
    this.stream = undefined;
    // A response that finished before the request body was read: HTTP/1 must close.
    if (!this.keepAlive || !stream.requestCompleted || this.closing) {
      this.closedBy = 'local';
      this.closing = true;
      this.writer.flush();
      this.socket.end();
      return;
    }
    if (this.socket.readableEnded) {
      this.close('remote');
      return;
    }
    this.armIdleTimer();
    this.parser.resume();
  }

  /** The stream must be aborted (upstream reset mid-response): HTTP/1 can only close. */
  resetStream(stream: ActiveStream): void {
    if (this.stream === stream) this.stream = undefined;
    this.close('local');
  }

  /** Stop reusing this connection: the next response carries `connection: close`. */
  drain(): void {
    this.draining = true;
    if (!this.stream) {
      this.config.stats.downstream_cx_drain_close.inc();
      this.close('local');
    }
  }

  close(by: 'local' | 'remote'): void {
    this.closedBy ??= by;
    this.socket.destroy();
  }

  private armIdleTimer(): void {
    const ms = this.config.idleTimeoutMs;
    if (ms <= 0) return;
    this.idleTimer = setTimeout(() => {
      this.config.stats.downstream_cx_idle_timeout.inc();
      this.close('local');
    }, ms);
    this.idleTimer.unref();
  }

  private clearIdleTimer(): void {
    if (this.idleTimer) {
      clearTimeout(this.idleTimer);
      this.idleTimer = undefined;
    }
  }

  private onClose(): void {
    this.clearIdleTimer();
    const stream = this.stream;
    chargeDownstreamClose(
      this.config.stats,
      'http1',
      this.info,
      this.closedBy ?? 'remote',
      !!stream,
      this.createdAt,
    );
    if (stream) {
      this.stream = undefined;
      stream.onDownstreamReset();
    }
  }
}

/**
 * One request/response exchange running the HTTP filter chain (Envoy's ActiveStream and
 * FilterManager): decoder filters in order, encoder filters in reverse, iteration that a filter
 * can stop and resume, local replies, and the HCM's own header rules.
 */
export class ActiveStream implements FilterCallbacks {
  readonly streamInfo: StreamInfo;
  readonly random = randomInt(0, 2 ** 48 - 1);
  weightedCluster: WeightedClusterEntry | undefined;
  responseStarted = false;
  private readonly decoders: StreamDecoderFilter[] = [];
  private readonly encoders: StreamEncoderFilter[] = [];
  private cachedRoute: RouteEntry | undefined | null = null;
  /** How many decoder filters have seen the request headers. */
  private headersPassed = 0;
  /** The decoder filter that stopped iteration, or -1 while the request flows. */
  private stoppedAt = -1;
  private encodeIndex = 0;
  private encodingStopped = false;
  private pending: { data: Buffer[]; end: boolean; trailers: HeaderMap | undefined } = {
    data: [],
    end: false,
    trailers: undefined,
  };
  private pendingResponse:
    | { head: ResponseHead | undefined; data: Buffer[]; end: boolean; trailers: HeaderMap | undefined }
    | undefined;
  private requestComplete = false;
  private responseComplete = false;
  private destroyed = false;
  private readonly isHead: boolean;
  private streamIdleTimer: NodeJS.Timeout | undefined;
  private requestTimer: NodeJS.Timeout | undefined;
  /** Whether this stream is still counted in `downstream_rq_active`. */
  private activeCounted = true;
  /** The HCM's stream_idle_timeout, or the route's idle_timeout once the route is known (0: none). */
  private streamIdleTimeoutMs: number;
  /** Envoy snaps the route configuration when a stream starts; an RDS update applies to the next one. */
  private readonly snappedRouteTable: RouteTable;

  constructor(
    private readonly connection_: StreamConnection,
    private readonly responseEncoder: ResponseEncoder,
    private readonly config: HttpConnectionManagerConfig,
    readonly connection: DownstreamConnectionInfo,
    private readonly request: RequestHead,
  ) {
    this.streamInfo = new StreamInfo(
      request.protocol,
      { address: connection.remoteAddress, port: connection.remotePort },
      { address: connection.localAddress, port: connection.localPort },
      connection.id,
    );
    this.streamInfo.request = request;
    this.streamInfo.requestedServerName = connection.requestedServerName;
    this.isHead = request.method === 'HEAD';
    this.streamIdleTimeoutMs = config.streamIdleTimeoutMs;
    this.snappedRouteTable = config.routeTable;
    const s = config.stats;
    s.downstream_rq_total.inc();
    (request.protocol === 'HTTP/2' ? s.downstream_rq_http2_total : s.downstream_rq_http1_total).inc();
    s.downstream_rq_active.inc();
    for (const factory of config.filterFactories) {
      const pair = factory(this);
      if (pair.decoder) this.decoders.push(pair.decoder);
      if (pair.encoder) this.encoders.unshift(pair.encoder);
    }
  }

  get routeTable(): RouteTable {
    return this.snappedRouteTable;
  }

  get requestCompleted(): boolean {
    return this.requestComplete;
  }

  start(endStream: boolean): void {
    this.mutateRequestHeaders();
    if (!this.request.authority) {
      // HTTP/1.1 has refused a request without Host already; HTTP/1.0 and HTTP/2 ones end here.
      this.sendLocalReply(400, '', { details: 'missing_host_header' });
      return;
    }
    if (
      !this.request.path.startsWith('/') &&
      this.request.method !== 'CONNECT' &&
      this.request.path !== '*'
    ) {
      this.config.stats.downstream_rq_non_relative_path.inc();
      this.sendLocalReply(404, '', { details: 'absolute_path_rejected' });
      return;
    }
    this.armStreamIdleTimer();
    if (this.config.requestTimeoutMs > 0) {
      this.requestTimer = setTimeout(() => {
        if (this.requestComplete || this.destroyed) return;
        this.config.stats.downstream_rq_timeout.inc();
        this.sendLocalReply(408, 'request timeout', { details: 'request_overall_timeout' });
      }, this.config.requestTimeoutMs);
    }
    if (endStream) this.markRequestComplete();
    this.decodeHeadersFrom(0, endStream);
  }

  /** HCM request-header rules (Envoy's ConnectionManagerUtility::mutateRequestHeaders). */
  private mutateRequestHeaders(): void {
    const cfg = this.config;
    const h = this.request.headers;
    for (const name of ['connection', 'keep-alive', 'proxy-connection', 'upgrade']) h.remove(name);
    if (cfg.useRemoteAddress) {
      if (!cfg.skipXffAppend) {
        const xff = h.getJoined('x-forwarded-for');
        h.set(
          'x-forwarded-for',
          xff ? `${xff},${this.connection.remoteAddress}` : this.connection.remoteAddress,
        );
      }
      if (isInternalAddress(this.connection.remoteAddress)) h.set('x-envoy-internal', 'true');
      else h.remove('x-envoy-internal');
    }
    h.setIfAbsent('x-forwarded-proto', this.request.scheme);
    if (
      cfg.generateRequestId &&
      (!h.has('x-request-id') ||
        (cfg.useRemoteAddress &&
          !cfg.preserveExternalRequestId &&
          !isInternalAddress(this.connection.remoteAddress)))
    ) {
      h.set('x-request-id', randomUUID());
    }
    if (cfg.via) {
      const via = h.getJoined('via');
      h.set('via', via ? `${via}, ${cfg.via}` : cfg.via);
    }
    let authority = this.request.authority;
    if (cfg.stripAnyHostPort || cfg.stripMatchingHostPort) {
      const m = /^(.*):(\d+)$/.exec(authority);
      if (m && (cfg.stripAnyHostPort || Number(m[2]) === this.connection.localPort)) authority = m[1]!;
    }
    this.request.authority = authority;
    if (cfg.normalizePath || cfg.mergeSlashes)
      this.request.path = normalizePath(this.request.path, cfg.normalizePath, cfg.mergeSlashes);
  }

  // ---- request path ----
  //
  // As in Envoy's FilterManager: a filter that stops the headers keeps receiving the body (the
  // router stops and streams it upstream); filters after it see nothing until it continues.
  // Data a filter asks to buffer, or that cannot pass a stopped filter yet, waits in `pending`
  // and is replayed from the next filter on continueDecoding().

  onRequestData(chunk: Buffer, end: boolean): void {
    if (this.destroyed) return;
    this.streamInfo.bytesReceived += chunk.length;
    this.armStreamIdleTimer();
    this.decodeDataFrom(0, chunk, end);
  }

  onRequestComplete(trailers: HeaderMap | undefined): void {
    if (this.destroyed || this.requestComplete) return;
    this.markRequestComplete();
    if (trailers) this.decodeTrailersFrom(0, trailers);
    else this.decodeDataFrom(0, Buffer.alloc(0), true);
  }

  private markRequestComplete(): void {
    this.requestComplete = true;
    this.streamInfo.requestCompleteMs = this.streamInfo.elapsedMs();
    if (this.requestTimer) clearTimeout(this.requestTimer);
  }

  private decodeHeadersFrom(index: number, endStream: boolean): void {
    for (let i = index; i < this.decoders.length; i++) {
      if (this.destroyed || this.responseComplete) return;
      this.headersPassed = i + 1;
      if (this.decoders[i]!.decodeHeaders(this.request, endStream) === 'StopIteration') {
        this.stoppedAt = i;
        return;
      }
    }
  }

  private decodeDataFrom(index: number, chunk: Buffer, end: boolean): void {
    for (let i = index; i < this.decoders.length; i++) {
      if (this.destroyed || this.responseComplete) return;
      if (i >= this.headersPassed || (this.stoppedAt >= 0 && i > this.stoppedAt)) {
        this.pending.data.push(chunk);
        this.pending.end ||= end;
        return;
      }
      const status = this.decoders[i]!.decodeData(chunk, end);
      if (status === 'StopIterationAndBuffer') {
        this.stoppedAt = Math.max(this.stoppedAt, i);
        this.pending.data.push(chunk);
        this.pending.end ||= end;
        return;
      }
      if (status === 'StopIterationNoBuffer') return;
    }
  }

  private decodeTrailersFrom(index: number, trailers: HeaderMap): void {
    for (let i = index; i < this.decoders.length; i++) {
      if (this.destroyed || this.responseComplete) return;
      if (i >= this.headersPassed || (this.stoppedAt >= 0 && i > this.stoppedAt)) {
        this.pending.trailers = trailers;
        this.pending.end = true;
        return;
      }
      if (this.decoders[i]!.decodeTrailers(trailers) === 'StopIteration') return;
    }
  }

  continueDecoding(): void {
    if (this.stoppedAt < 0 || this.destroyed) return;
    const next = this.stoppedAt + 1;
    this.stoppedAt = -1;
    const { data, end, trailers } = this.pending;
    this.pending = { data: [], end: false, trailers: undefined };
    if (this.headersPassed === next) {
      this.decodeHeadersFrom(next, this.requestComplete && data.length === 0 && !trailers);
    }
    for (let i = 0; i < data.length; i++)
      this.decodeDataFrom(next, data[i]!, end && !trailers && i === data.length - 1);
    if (trailers) this.decodeTrailersFrom(next, trailers);
  }

  // ---- routing ----

  route(): RouteEntry | undefined {
    if (this.cachedRoute === null) {
      this.cachedRoute = this.snappedRouteTable.route(this.request, {
        random: this.random,
        downstreamAddress: this.connection.remoteAddress,
      });
      this.streamInfo.virtualHostName = this.cachedRoute?.virtualHost.name ?? '';
      const routeIdle = this.cachedRoute?.idleTimeoutMs;
      if (routeIdle !== undefined && routeIdle !== this.streamIdleTimeoutMs) {
        // A route's idle_timeout replaces the connection manager's for this stream.
        this.streamIdleTimeoutMs = routeIdle;
        if (this.streamIdleTimer) clearTimeout(this.streamIdleTimer);
        this.streamIdleTimer = undefined;
        this.armStreamIdleTimer();
      }
    }
    return this.cachedRoute;
  }

  clearRouteCache(): void {
    this.cachedRoute = null;
  }

  setUpstreamHost(host: Host, cluster: string): void {
    this.streamInfo.upstreamHost = host;
    this.streamInfo.upstreamCluster = cluster;
  }

  // ---- response path ----

  sendLocalReply(status: number, body: string, options: LocalReplyOptions): void {
    if (this.destroyed) return;
    if (this.responseStarted) {
      this.resetStream();
      return;
    }
    this.streamInfo.responseCodeDetails = options.details;
    const headers = new HeaderMap();
    for (const [k, v] of options.headers ?? []) headers.add(k, v);
    if (isGrpcRequest(this.request.headers)) {
      // Envoy answers a gRPC request in gRPC: a trailers-only 200 with grpc-status and grpc-message.
      headers.set('content-type', 'application/grpc');
      headers.set('grpc-status', String(httpToGrpcStatus(status)));
      if (body) headers.set('grpc-message', grpcMessage(body));
      this.encodeHeaders({ status: 200, headers }, true);
      return;
    }
    const bytes = Buffer.from(body, 'latin1');
    if (bytes.length > 0) {
      headers.set('content-length', String(bytes.length));
      headers.set('content-type', 'text/plain');
    }
    // Direct responses and redirects get the route's response header mutations, as in Envoy.
    const route = this.cachedRoute ?? undefined;
    if (route && options.details === 'direct_response') {
      for (const m of this.snappedRouteTable.mutations(route, undefined, 'response'))
        if (!m.empty) m.apply(headers, this.streamInfo);
    }
    this.encodeHeaders({ status, headers }, bytes.length === 0);
    if (bytes.length > 0) this.encodeData(bytes, true);
  }

  encodeHeaders(response: ResponseHead, endStream: boolean): void {
    if (this.destroyed) return;
    // Activity in either direction keeps the stream from idling out.
    this.armStreamIdleTimer();
    this.encodeHeadersFrom(0, response, endStream);
  }

  private encodeHeadersFrom(index: number, response: ResponseHead, endStream: boolean): void {
    for (let i = index; i < this.encoders.length; i++) {
      if (this.encoders[i]!.encodeHeaders(response, endStream) === 'StopIteration') {
        this.encodeIndex = i;
        this.encodingStopped = true;
        this.pendingResponse = { head: response, data: [], end: endStream, trailers: undefined };
        return;
      }
    }
    this.writeResponseHead(response, endStream);
  }

  encodeData(data: Buffer, endStream: boolean): void {
    if (this.destroyed) return;
    this.armStreamIdleTimer();
    if (this.encodingStopped) {
      this.pendingResponse!.data.push(data);
      this.pendingResponse!.end = endStream;
      return;
    }
    for (const e of this.encoders) {
      const status = e.encodeData(data, endStream);
      if (status !== 'Continue') return;
    }
    this.writeResponseData(data, endStream);
  }

  encodeTrailers(trailers: HeaderMap): void {
    if (this.destroyed) return;
    if (this.encodingStopped) {
      this.pendingResponse!.trailers = trailers;
      this.pendingResponse!.end = true;
      return;
    }
    for (const e of this.encoders) if (e.encodeTrailers(trailers) === 'StopIteration') return;
    this.writeResponseTrailers(trailers);
  }

  continueEncoding(): void {
    if (!this.encodingStopped || !this.pendingResponse) return;
    this.encodingStopped = false;
    const p = this.pendingResponse;
    this.pendingResponse = undefined;
    if (p.head)
      this.encodeHeadersFrom(this.encodeIndex + 1, p.head, p.end && p.data.length === 0 && !p.trailers);
    for (let i = 0; i < p.data.length; i++)
      this.encodeData(p.data[i]!, p.end && !p.trailers && i === p.data.length - 1);
    if (p.trailers) this.encodeTrailers(p.trailers);
  }

  /** HCM response rules, then the connection's encoder. */
  private writeResponseHead(response: ResponseHead, endStream: boolean): void {
    const cfg = this.config;
    const h = response.headers;
    this.responseStarted = true;
    this.streamInfo.responseCode = response.status;
    this.streamInfo.responseHeaders = h;
    this.streamInfo.firstResponseByteMs = this.streamInfo.elapsedMs();
    h.set('date', dateProvider.get());
    if (cfg.serverHeader === 'OVERWRITE') h.set('server', cfg.serverName);
    else if (cfg.serverHeader === 'APPEND_IF_ABSENT') h.setIfAbsent('server', cfg.serverName);
    if (cfg.via) {
      const via = h.getJoined('via');
      h.set('via', via ? `${via}, ${cfg.via}` : cfg.via);
    }
    if (!this.requestComplete) this.config.stats.downstream_rq_response_before_rq_complete.inc();
    this.responseEncoder.encodeHeaders(response, endStream);
    if (endStream) this.finishResponse();
  }

  private writeResponseData(data: Buffer, endStream: boolean): void {
    if (!this.responseStarted) return;
    const bodyAllowed =
      !this.isHead && this.streamInfo.responseCode !== 204 && this.streamInfo.responseCode !== 304;
    const body = bodyAllowed ? data : EMPTY;
    this.streamInfo.bytesSent += body.length;
    if (body.length > 0 || endStream) this.responseEncoder.encodeData(body, endStream);
    if (endStream) this.finishResponse();
  }

  private writeResponseTrailers(trailers: HeaderMap): void {
    this.streamInfo.responseTrailers = trailers;
    this.responseEncoder.encodeTrailers(trailers);
    this.finishResponse();
  }

  private finishResponse(): void {
    if (this.responseComplete) return;
    this.responseComplete = true;
    this.streamInfo.lastResponseByteMs = this.streamInfo.elapsedMs();
    this.chargeStats();
    this.writeAccessLog();
    this.destroy();
    this.connection_.streamDone(this);
  }

  private chargeStats(): void {
    const code = this.streamInfo.responseCode ?? 0;
    const klass = Math.floor(code / 100);
    const s = this.config.stats;
    s.downstream_rq_completed.inc();
    s.downstream_rq_active.dec();
    this.activeCounted = false;
    if (klass >= 1 && klass <= 5) {
      s.downstream_rq_xx[klass - 1]!.inc();
      this.config.listenerStats.downstream_rq_xx[klass - 1]!.inc();
    }
    this.config.listenerStats.downstream_rq_completed.inc();
    s.downstream_rq_time.record(this.streamInfo.elapsedMs());
  }

  private writeAccessLog(): void {
    for (const l of this.config.accessLoggers) l.log(this.streamInfo);
  }

  resetStream(): void {
    if (this.destroyed) return;
    this.config.stats.downstream_rq_tx_reset.inc();
    this.streamInfo.setFlag('UR');
    this.endWithoutResponse();
    this.connection_.resetStream(this);
  }

  /** The client went away mid-stream. */
  onDownstreamReset(): void {
    if (this.destroyed) return;
    this.config.stats.downstream_rq_rx_reset.inc();
    this.streamInfo.setFlag('DC');
    this.endWithoutResponse();
  }

  private endWithoutResponse(): void {
    if (this.activeCounted) {
      this.config.stats.downstream_rq_active.dec();
      this.activeCounted = false;
    }
    this.streamInfo.lastResponseByteMs = this.streamInfo.elapsedMs();
    this.writeAccessLog();
    this.destroy();
  }

  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    if (this.streamIdleTimer) clearTimeout(this.streamIdleTimer);
    if (this.requestTimer) clearTimeout(this.requestTimer);
    for (const d of this.decoders) d.onDestroy?.();
    for (const e of this.encoders) e.onDestroy?.();
  }

  private armStreamIdleTimer(): void {
    const ms = this.streamIdleTimeoutMs;
    if (ms <= 0 || this.destroyed) return;
    if (this.streamIdleTimer) {
      this.streamIdleTimer.refresh();
      return;
    }
    this.streamIdleTimer = setTimeout(() => {
      if (this.destroyed || this.responseComplete) return;
      this.config.stats.downstream_rq_idle_timeout.inc();
      this.streamInfo.setFlag('SI');
      if (this.responseStarted) this.resetStream();
      // Envoy's maybeRequestTimeoutCode: 408 while the request is still coming in, 504 after.
      else
        this.sendLocalReply(this.requestComplete ? 504 : 408, 'stream timeout', {
          details: 'stream_idle_timeout',
        });
    }, ms);
    this.streamIdleTimer.unref();
  }
}

const CRLF = Buffer.from('\r\n');
const EMPTY = Buffer.alloc(0);

/** RFC 1918, loopback and link-local addresses count as internal (Envoy's default). */
export function isInternalAddress(addr: string): boolean {
  return (
    /^10\./.test(addr) ||
    /^192\.168\./.test(addr) ||
    /^172\.(1[6-9]|2\d|3[01])\./.test(addr) ||
    /^127\./.test(addr) ||
    addr === '::1' ||
    /^f[cd]/i.test(addr)
  );
}

/** RFC 3986 dot-segment removal and optional slash merging, on the path part only. */
export function normalizePath(path: string, dots: boolean, mergeSlashes: boolean): string {
  const q = path.indexOf('?');
  let p = q < 0 ? path : path.slice(0, q);
  const query = q < 0 ? '' : path.slice(q);
  if (mergeSlashes) p = p.replace(/\/{2,}/g, '/');
  if (dots) {
    const out: string[] = [];
    const segments = p.split('/');
    for (let i = 1; i < segments.length; i++) {
      const s = segments[i]!;
      if (s === '.') {
        if (i === segments.length - 1) out.push('');
        continue;
      }
      if (s === '..') {
        out.pop();
        if (i === segments.length - 1) out.push('');
        continue;
      }
      out.push(s);
    }
    p = `/${out.join('/')}`;
  }
  return p + query;
}
