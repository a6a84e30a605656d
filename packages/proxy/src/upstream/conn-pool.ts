/**
 * The connection-pool interface the router sends requests through, after Envoy's
 * `Http::ConnectionPool::Instance`: a pool to one host hands out streams — on an HTTP/1.1
 * connection of its own, or multiplexed on an HTTP/2 connection — and the request goes out
 * through a protocol-neutral encoder while the response comes back through a decoder. The
 * cluster picks the pool per its protocol options; the router does not know which it got.
 */
import type net from 'node:net';
import type { Logger } from '../common/logger.js';
import type { HeaderMap } from '../http/headers.js';
import type { Counter } from '../stats/store.js';
import { tlsHandshakeFailure, type UpstreamTransport } from '../tls/context.js';
import type { ClusterStats } from './cluster-stats.js';
import type { Host } from './host.js';
import type { ResourceManager } from './resource-manager.js';

/** The request as it goes upstream. */
export interface UpstreamHead {
  method: string;
  path: string;
  authority: string;
  headers: HeaderMap;
  /** The body is sent with chunked framing on HTTP/1 (the downstream request had no content-length). */
  chunked: boolean;
}

/** The response head, whatever the protocol. */
export interface UpstreamResponseHead {
  status: number;
  headers: HeaderMap;
  /** An HTTP/1 response framed with chunked encoding. */
  chunked: boolean;
  /** The response ends with its headers (HTTP/2 HEADERS with END_STREAM): no body, no trailers. */
  endStream?: boolean;
}

/** The request side of a stream (Envoy's RequestEncoder). */
export interface RequestEncoder {
  encodeHeaders(head: UpstreamHead, endStream: boolean): void;
  encodeData(data: Buffer, endStream: boolean): void;
  encodeTrailers(trailers: HeaderMap): void;
  /** Abandons the stream: an HTTP/1 connection closes, an HTTP/2 stream is reset. */
  resetStream(): void;
}

export type StreamResetReason = 'connection_termination' | 'protocol_error' | 'local_reset';

/** How the stream hears about the response (Envoy's ResponseDecoder plus stream callbacks). */
export interface ResponseDecoder {
  onResponseHead(head: UpstreamResponseHead): void;
  onResponseData(chunk: Buffer): void;
  onResponseComplete(trailers: HeaderMap | undefined): void;
  /** The stream failed or its connection closed before the response completed. */
  onReset(reason: StreamResetReason, details: string): void;
}

export type PoolFailureReason = 'overflow' | 'connection_failure' | 'timeout' | 'local_connection_failure';

export interface PoolCallbacks {
  /** A stream exists: send the request through `encoder`; the response goes to the decoder given to newStream. */
  onPoolReady(encoder: RequestEncoder): void;
  onPoolFailure(reason: PoolFailureReason, details: string): void;
}

/** Handle to a request waiting for a connection. */
export interface PendingStream {
  cancel(): void;
}

export interface ConnectionPool {
  /**
   * Asks for a stream. `onPoolReady` may be called synchronously (a connection had room);
   * otherwise the request waits and the returned handle can cancel it.
   */
  newStream(decoder: ResponseDecoder, callbacks: PoolCallbacks): PendingStream | undefined;
  /** Closes every connection and fails the waiting requests (host or cluster removed, shutdown). */
  destroy(): void;
  readonly activeConnections: number;
}

/** What a pool needs to know about the cluster that owns it. */
export interface PoolClusterInfo {
  name: string;
  stats: ClusterStats;
  resources: ResourceManager;
  connectTimeoutMs: number;
  /** 0 = unlimited. */
  maxRequestsPerConnection: number;
  /** Idle upstream connections are closed after this long (HttpProtocolOptions.idle_timeout, default 1 h). */
  idleTimeoutMs: number;
  /** Plain TCP, or the cluster's TLS context. */
  transport: UpstreamTransport;
  log: Logger;
}

const ERRNO: Record<string, number> = {
  ECONNREFUSED: 111,
  ECONNRESET: 104,
  EHOSTUNREACH: 113,
  ENETUNREACH: 101,
  ETIMEDOUT: 110,
};

/**
 * Envoy's text for a connection that failed before it was ready: `remote connection failure,
 * transport failure reason: delayed connect error: 111`, or for a failed TLS handshake
 * `connection failure, transport failure reason: TLS error: ...`.
 */
export function connectFailureDetails(err: NodeJS.ErrnoException, socket: net.Socket): string {
  const tls = tlsHandshakeFailure(err, socket);
  if (tls) return `connection failure, transport failure reason: ${tls}`;
  const n = err.code ? ERRNO[err.code] : undefined;
  return `remote connection failure, transport failure reason: delayed connect error: ${n ?? err.code ?? err.message}`;
}

/**
 * Envoy's accounting for a pooled connection that is gone: `upstream_cx_destroy` by who closed it,
 * the `_with_active_rq` variants when requests were still on it, and its lifetime.
 */
export function chargeConnectionClose(
  stats: ClusterStats,
  closedBy: 'local' | 'remote',
  withActiveRequests: boolean,
  createdAt: number,
): void {
  stats.upstream_cx_destroy.inc();
  (closedBy === 'local' ? stats.upstream_cx_destroy_local : stats.upstream_cx_destroy_remote).inc();
  if (withActiveRequests) {
    stats.upstream_cx_destroy_with_active_rq.inc();
    (closedBy === 'local'
      ? stats.upstream_cx_destroy_local_with_active_rq
      : stats.upstream_cx_destroy_remote_with_active_rq
    ).inc();
  }
  stats.upstream_cx_length_ms.record(performance.now() - createdAt);
}

/**
 * Envoy's accounting for a connection a pool opens to a host: the cluster's connection breaker,
 * `upstream_cx_*` and the host's `cx_*` counters, and the connect timeout. Exactly one of
 * `connected` / `failed` runs; a failure is counted (`upstream_cx_connect_fail`) before `failed`.
 */
export function trackConnect(
  info: PoolClusterInfo,
  host: Host,
  socket: net.Socket,
  readyEvent: string,
  protocolTotal: Counter,
  handlers: { connected(): void; failed(reason: PoolFailureReason, details: string): void },
): void {
  const s = info.stats;
  info.resources.connections.inc();
  s.upstream_cx_total.inc();
  protocolTotal.inc();
  s.upstream_cx_active.inc();
  host.stats.cx_total++;
  host.stats.cx_active++;
  const started = performance.now();
  let settled = false;
  const fail = (reason: PoolFailureReason, details: string) => {
    if (settled) return;
    settled = true;
    clearTimeout(timer);
    s.upstream_cx_connect_fail.inc();
    host.stats.cx_connect_fail++;
    info.log.debug(`connect to ${host.key} failed: ${details}`);
    handlers.failed(reason, details);
  };
  const timer = setTimeout(() => {
    s.upstream_cx_connect_timeout.inc();
    fail('timeout', 'connection timeout');
  }, info.connectTimeoutMs);
  socket.once(readyEvent, () => {
    if (settled) return;
    settled = true;
    clearTimeout(timer);
    s.upstream_cx_connect_ms.record(performance.now() - started);
    handlers.connected();
  });
  socket.once('error', (err: NodeJS.ErrnoException) =>
    fail('connection_failure', connectFailureDetails(err, socket)),
  );
}
