/**
 * Downstream HTTP/2 for the HTTP connection manager: the codec choice Envoy makes per connection
 * (`codec_type` HTTP1, HTTP2, or AUTO — HTTP/2 when TLS negotiated ALPN `h2` or the client opens
 * with the HTTP/2 connection preface, HTTP/1.1 otherwise) and the HTTP/2 server connection, whose
 * streams run as ActiveStreams exactly like HTTP/1 requests do.
 *
 * node:http2 does the framing, HPACK and flow control; each HTTP connection manager has a
 * node:http2 server (never listening) that accepted connections are handed to.
 */
import http2 from 'node:http2';
import type net from 'node:net';
import type { TLSSocket } from 'node:tls';
import { fromHttp2Headers, toHttp2Headers } from './codec/http2-options.js';
import {
  ActiveStream,
  chargeDownstreamClose,
  Http1ServerConnection,
  type HttpConnectionManagerConfig,
  openDownstream,
  type ResponseEncoder,
  type StreamConnection,
} from './connection-manager.js';
import type { DownstreamConnectionInfo } from './filter.js';
import { HeaderMap, type RequestHead, type ResponseHead } from './headers.js';

/** What the listener keeps of an HTTP connection: it can be asked to drain. */
export interface ServerConnection {
  /** Stop taking requests; close once the ones in flight are done. */
  drain(): void;
}

const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n');
const { NGHTTP2_INTERNAL_ERROR, NGHTTP2_FLAG_END_STREAM } = http2.constants;

/**
 * The codec for a new connection. Over TLS the choice is ALPN's (no `h2` → HTTP/1.1); in clear
 * text, AUTO waits for the first bytes to see whether they are the HTTP/2 preface.
 */
export function createServerConnection(
  socket: net.Socket,
  config: HttpConnectionManagerConfig,
  o: { secure: boolean; serverName: string },
): ServerConnection {
  const http2Alpn = o.secure && (socket as TLSSocket).alpnProtocol === 'h2';
  if (config.codecType === 'HTTP2' || http2Alpn) return new Http2ServerConnection(socket, config, o);
  if (config.codecType === 'HTTP1' || o.secure) {
    return new Http1ServerConnection(socket, config, o.secure, o.serverName);
  }
  return new CodecDetection(socket, config, o);
}

/** A clear-text AUTO connection until its first bytes say which codec it needs. */
class CodecDetection implements ServerConnection {
  private connection: ServerConnection | undefined;

  constructor(
    private readonly socket: net.Socket,
    config: HttpConnectionManagerConfig,
    o: { secure: boolean; serverName: string },
  ) {
    let buffered = Buffer.alloc(0);
    // A client that connects and says nothing is held no longer than an idle HTTP connection.
    const idle = setTimeout(() => socket.destroy(), config.idleTimeoutMs);
    idle.unref();
    const onData = (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      const n = Math.min(buffered.length, PREFACE.length);
      const isPreface = buffered.subarray(0, n).equals(PREFACE.subarray(0, n));
      if (isPreface && buffered.length < PREFACE.length) return;
      clearTimeout(idle);
      socket.off('data', onData);
      socket.pause();
      socket.unshift(buffered);
      if (isPreface) {
        // node:http2 takes the socket over, the bytes read so far included.
        this.connection = new Http2ServerConnection(socket, config, o);
      } else {
        this.connection = new Http1ServerConnection(socket, config, o.secure, o.serverName);
        socket.resume();
      }
    };
    socket.on('data', onData);
    socket.once('close', () => clearTimeout(idle));
    socket.on('error', () => {
      /* 'close' follows */
    });
  }

  drain(): void {
    if (this.connection) this.connection.drain();
    else this.socket.destroy();
  }
}

/** The node:http2 server of each connection manager, created on its first HTTP/2 connection. */
const http2Servers = new WeakMap<HttpConnectionManagerConfig, http2.Http2Server>();

function serverSession(socket: net.Socket, config: HttpConnectionManagerConfig): http2.ServerHttp2Session {
  let server = http2Servers.get(config);
  if (!server) {
    server = http2.createServer({
      settings: config.http2.settings,
      // Proxied bodies are buffered on both sides of a session; nghttp2's 10 MB default is too tight.
      maxSessionMemory: 256,
    });
    http2Servers.set(config, server);
  }
  let session: http2.ServerHttp2Session | undefined;
  const onSession = (s: http2.ServerHttp2Session) => {
    session = s;
  };
  // node:http2 makes the session synchronously while it handles the connection.
  server.once('session', onSession);
  server.emit('connection', socket);
  server.off('session', onSession);
  if (!session) throw new Error('node:http2 did not start a session on the connection');
  return session;
}

/** One downstream HTTP/2 connection: every stream is an ActiveStream. */
export class Http2ServerConnection implements StreamConnection, ServerConnection {
  private readonly session: http2.ServerHttp2Session;
  private readonly info: DownstreamConnectionInfo;
  private readonly streams = new Map<ActiveStream, http2.ServerHttp2Stream>();
  private readonly createdAt = performance.now();
  private draining = false;
  private closed = false;
  private closedBy: 'local' | 'remote' = 'remote';
  private idleTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly socket: net.Socket,
    private readonly config: HttpConnectionManagerConfig,
    o: { secure: boolean; serverName: string },
  ) {
    this.info = openDownstream(config, socket, 'http2', o.secure, o.serverName);
    this.session = serverSession(socket, config);
    this.session.setLocalWindowSize(config.http2.connectionWindowSize);
    this.session.on('stream', (stream: http2.ServerHttp2Stream, _h: unknown, flags: number, raw: string[]) =>
      this.onStream(stream, flags, raw),
    );
    this.session.on('error', () => {
      config.stats.downstream_cx_protocol_error.inc();
    });
    this.session.on('close', () => this.onClose());
    socket.on('error', () => {
      /* the session closes */
    });
    this.armIdleTimer();
  }

  private onStream(h2: http2.ServerHttp2Stream, flags: number, raw: string[]): void {
    clearTimeout(this.idleTimer);
    const headers = new HeaderMap();
    const pseudo = fromHttp2Headers(raw, headers);
    // Envoy takes a `host` field as the authority when `:authority` is missing.
    const authority = pseudo.get(':authority') ?? headers.get('host') ?? '';
    headers.remove('host');
    const request: RequestHead = {
      method: pseudo.get(':method') ?? '',
      path: pseudo.get(':path') ?? '',
      authority,
      scheme: this.info.secure ? 'https' : 'http',
      protocol: 'HTTP/2',
      headers,
    };
    const encoder = new Http2ResponseEncoder(h2, request.method === 'HEAD');
    const stream = new ActiveStream(this, encoder, this.config, this.info, request);
    this.streams.set(stream, h2);
    let trailers: HeaderMap | undefined;
    h2.on('data', (chunk: Buffer) => stream.onRequestData(chunk, false));
    h2.on('trailers', (_h: unknown, _f: number, rawTrailers: string[]) => {
      trailers = new HeaderMap();
      fromHttp2Headers(rawTrailers, trailers);
    });
    h2.on('end', () => stream.onRequestComplete(trailers));
    h2.on('error', () => {
      /* 'close' follows */
    });
    h2.on('close', () => {
      // Closed before its response was done: the client reset it, or the connection went away.
      if (this.streams.delete(stream)) {
        stream.onDownstreamReset();
        this.afterStream();
      }
    });
    stream.start((flags & NGHTTP2_FLAG_END_STREAM) !== 0);
  }

  streamDone(stream: ActiveStream): void {
    if (this.streams.delete(stream)) this.afterStream();
  }

  resetStream(stream: ActiveStream): void {
    const h2 = this.streams.get(stream);
    this.streams.delete(stream);
    h2?.close(NGHTTP2_INTERNAL_ERROR);
    this.afterStream();
  }

  private afterStream(): void {
    if (this.streams.size > 0 || this.closed) return;
    if (this.draining) this.close();
    else this.armIdleTimer();
  }

  /** GOAWAY now; the connection closes when its streams are done. */
  drain(): void {
    if (this.draining) return;
    this.draining = true;
    if (this.streams.size === 0) {
      this.config.stats.downstream_cx_drain_close.inc();
      this.close();
    } else {
      this.session.goaway();
    }
  }

  private close(): void {
    this.closedBy = 'local';
    this.session.close();
  }

  private armIdleTimer(): void {
    const ms = this.config.idleTimeoutMs;
    if (ms <= 0) return;
    clearTimeout(this.idleTimer);
    this.idleTimer = setTimeout(() => {
      this.config.stats.downstream_cx_idle_timeout.inc();
      this.close();
    }, ms);
    this.idleTimer.unref();
  }

  private onClose(): void {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.idleTimer);
    const s = this.config.stats;
    // node:http2 reads the socket itself, so bytes are counted from the socket's totals.
    s.downstream_cx_rx_bytes_total.inc(this.socket.bytesRead);
    s.downstream_cx_tx_bytes_total.inc(this.socket.bytesWritten);
    chargeDownstreamClose(s, 'http2', this.info, this.closedBy, this.streams.size > 0, this.createdAt);
    for (const stream of [...this.streams.keys()]) {
      this.streams.delete(stream);
      stream.onDownstreamReset();
    }
    this.socket.destroy();
  }
}

/** A stream's response as HTTP/2 frames; trailers, if any, end it, else an empty DATA frame does. */
class Http2ResponseEncoder implements ResponseEncoder {
  private trailers: HeaderMap | undefined;
  private ended = false;

  constructor(
    private readonly stream: http2.ServerHttp2Stream,
    private readonly headRequest: boolean,
  ) {
    stream.on('wantTrailers', () =>
      stream.sendTrailers(this.trailers ? toHttp2Headers(this.trailers, {}) : {}),
    );
  }

  encodeHeaders(response: ResponseHead, endStream: boolean): void {
    const stream = this.stream;
    if (stream.destroyed) return;
    // A response to HEAD has no body, whatever follows.
    this.ended = endStream || this.headRequest;
    try {
      stream.respond(toHttp2Headers(response.headers, { ':status': response.status }), {
        endStream: this.ended,
        waitForTrailers: !this.ended,
      });
    } catch {
      // A header node:http2 will not send (e.g. a value with a control character).
      this.ended = true;
      stream.close(NGHTTP2_INTERNAL_ERROR);
    }
  }

  encodeData(data: Buffer, endStream: boolean): void {
    if (this.ended || this.stream.destroyed) return;
    if (data.length > 0) this.stream.write(data);
    if (endStream) {
      this.ended = true;
      this.stream.end();
    }
  }

  encodeTrailers(trailers: HeaderMap): void {
    if (this.ended || this.stream.destroyed) return;
    this.ended = true;
    this.trailers = trailers;
    this.stream.end();
  }
}
