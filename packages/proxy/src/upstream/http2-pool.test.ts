import http2 from 'node:http2';
import type net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { LogRegistry } from '../common/logger.js';
import type { CircuitBreakerThresholds } from '../config/types.js';
import { http2Config } from '../http/codec/http2-options.js';
import { HeaderMap } from '../http/headers.js';
import { Store } from '../stats/store.js';
import { RAW_BUFFER_TRANSPORT } from '../tls/context.js';
import { createClusterStats } from './cluster-stats.js';
import type { PoolClusterInfo, PoolFailureReason, RequestEncoder, ResponseDecoder } from './conn-pool.js';
import { Host } from './host.js';
import { Http2ConnectionPool } from './http2-pool.js';
import { ResourceManager } from './resource-manager.js';

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
});

interface Seen {
  sessions: number;
  /** The server side of every connection, oldest first. */
  sessionList: http2.Http2Session[];
  streams: {
    path: string;
    headers: http2.IncomingHttpHeaders;
    body: string;
    trailers?: http2.IncomingHttpHeaders;
  }[];
  /** Most streams open at once on one session. */
  maxConcurrent: number;
}

/** An h2c server; `handle` answers each stream (default: 200 with the path, and a trailer). */
async function h2cServer(
  handle: (stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders, seen: Seen) => void = (
    s,
    h,
  ) => {
    s.respond({ ':status': 200 }, { waitForTrailers: true });
    s.on('wantTrailers', () => s.sendTrailers({ 'x-done': 'yes' }));
    s.end(`you asked for ${h[':path']}`);
  },
): Promise<{ port: number; seen: Seen; server: http2.Http2Server }> {
  const seen: Seen = { sessions: 0, sessionList: [], streams: [], maxConcurrent: 0 };
  const server = http2.createServer();
  const open = new Map<http2.Http2Session, number>();
  server.on('session', (session) => {
    seen.sessions++;
    seen.sessionList.push(session);
    open.set(session, 0);
  });
  server.on('stream', (stream, headers) => {
    const session = stream.session!;
    const n = (open.get(session) ?? 0) + 1;
    open.set(session, n);
    seen.maxConcurrent = Math.max(seen.maxConcurrent, n);
    stream.on('close', () => open.set(session, (open.get(session) ?? 1) - 1));
    // A stream the test resets ends with an error on this side too.
    stream.on('error', () => {});
    const record: Seen['streams'][number] = { path: String(headers[':path']), headers, body: '' };
    seen.streams.push(record);
    stream.on('data', (d: Buffer) => {
      record.body += d.toString();
    });
    stream.on('trailers', (t) => {
      record.trailers = t;
    });
    stream.on('end', () => handle(stream, headers, seen));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const sockets = new Set<net.Socket>();
  server.on('connection', (s: net.Socket) => sockets.add(s));
  cleanups.push(() => {
    for (const s of sockets) s.destroy();
    server.close();
  });
  return { port: (server.address() as net.AddressInfo).port, seen, server };
}

function pool(
  port: number,
  o: {
    thresholds?: CircuitBreakerThresholds;
    maxRequestsPerConnection?: number;
    maxConcurrentStreams?: number;
  } = {},
) {
  const store = new Store();
  const scope = store.scope('cluster.c.');
  const info: PoolClusterInfo = {
    name: 'c',
    stats: createClusterStats(scope),
    resources: new ResourceManager(o.thresholds, scope, 'default'),
    connectTimeoutMs: 1000,
    maxRequestsPerConnection: o.maxRequestsPerConnection ?? 0,
    idleTimeoutMs: 60_000,
    transport: RAW_BUFFER_TRANSPORT,
    log: new LogRegistry('off').get('pool', 'test'),
  };
  const p = new Http2ConnectionPool(
    new Host({ address: '127.0.0.1', port }),
    info,
    http2Config({ max_concurrent_streams: o.maxConcurrentStreams }),
  );
  cleanups.push(() => p.destroy());
  return { pool: p, stats: info.stats, store };
}

interface Exchange {
  status?: number;
  headers?: HeaderMap;
  body: string;
  trailers?: HeaderMap;
  reset?: string;
  failure?: [PoolFailureReason, string];
}

/** Sends a request through the pool and collects what comes back. */
function exchange(
  p: Http2ConnectionPool,
  o: { path?: string; body?: string; trailers?: [string, string][] } = {},
): Promise<Exchange> {
  return new Promise((resolve) => {
    const out: Exchange = { body: '' };
    const decoder: ResponseDecoder = {
      onResponseHead: (head) => {
        out.status = head.status;
        out.headers = head.headers;
      },
      onResponseData: (chunk) => {
        out.body += chunk.toString();
      },
      onResponseComplete: (trailers) => {
        out.trailers = trailers;
        resolve(out);
      },
      onReset: (reason, details) => {
        out.reset = `${reason}: ${details}`;
        resolve(out);
      },
    };
    p.newStream(decoder, {
      onPoolReady: (encoder: RequestEncoder) => {
        const headers = HeaderMap.from([
          ['x-test', '1'],
          ['transfer-encoding', 'chunked'],
          ['connection', 'keep-alive'],
        ]);
        const head = { method: 'POST', path: o.path ?? '/', authority: 'svc', headers, chunked: true };
        const hasBody = o.body !== undefined || o.trailers !== undefined;
        encoder.encodeHeaders(head, !hasBody);
        if (o.body !== undefined) encoder.encodeData(Buffer.from(o.body), o.trailers === undefined);
        if (o.trailers) encoder.encodeTrailers(HeaderMap.from(o.trailers));
      },
      onPoolFailure: (reason, details) => {
        out.failure = [reason, details];
        resolve(out);
      },
    });
  });
}

describe('Http2ConnectionPool', () => {
  it('multiplexes concurrent requests on one h2c connection, with bodies, trailers both ways, and no HTTP/1 headers', async () => {
    const up = await h2cServer();
    const { pool: p, stats } = pool(up.port);
    const results = await Promise.all(
      [1, 2, 3, 4, 5].map((i) =>
        exchange(p, { path: `/r${i}`, body: `body ${i}`, trailers: [['x-sum', `${i}`]] }),
      ),
    );
    expect(results.map((r) => [r.status, r.body, r.trailers?.get('x-done')])).toEqual(
      [1, 2, 3, 4, 5].map((i) => [200, `you asked for /r${i}`, 'yes']),
    );
    expect(up.seen.sessions).toBe(1);
    const first = up.seen.streams.find((s) => s.path === '/r1')!;
    expect(first.body).toBe('body 1');
    expect(first.trailers?.['x-sum']).toBe('1');
    expect(first.headers[':authority']).toBe('svc');
    expect(first.headers[':scheme']).toBe('http');
    expect(first.headers['x-test']).toBe('1');
    expect(first.headers['transfer-encoding']).toBeUndefined();
    expect(first.headers.connection).toBeUndefined();
    expect(stats.upstream_cx_http2_total.value).toBe(1);
    expect(stats.upstream_cx_total.value).toBe(1);
    expect(p.activeConnections).toBe(1);
  });

  it('opens another connection only when max_concurrent_streams is reached', async () => {
    // Answers only once all five are in, so they are concurrent.
    const waiting: (() => void)[] = [];
    const up = await h2cServer((s) => {
      waiting.push(() => {
        s.respond({ ':status': 204 });
      });
      if (waiting.length === 5) for (const w of waiting) w();
    });
    const { pool: p, stats } = pool(up.port, { maxConcurrentStreams: 2 });
    const results = await Promise.all([1, 2, 3, 4, 5].map(() => exchange(p)));
    expect(results.every((r) => r.status === 204)).toBe(true);
    expect(up.seen.sessions).toBe(3);
    expect(up.seen.maxConcurrent).toBe(2);
    expect(stats.upstream_cx_http2_total.value).toBe(3);
  });

  it('fails waiting requests with Envoy’s connect error when the host refuses', async () => {
    const up = await h2cServer();
    up.server.close();
    for (const c of cleanups.splice(0)) c();
    const { pool: p, stats } = pool(up.port);
    const r = await exchange(p);
    expect(r.failure).toEqual([
      'connection_failure',
      'remote connection failure, transport failure reason: delayed connect error: 111',
    ]);
    expect(stats.upstream_cx_connect_fail.value).toBe(1);
    expect(p.activeConnections).toBe(0);
  });

  it('reports a stream the server resets, and keeps the connection for the next request', async () => {
    const up = await h2cServer((s, h) => {
      if (h[':path'] === '/reset') s.close(http2.constants.NGHTTP2_REFUSED_STREAM);
      else {
        s.respond({ ':status': 200 });
        s.end('ok');
      }
    });
    const { pool: p } = pool(up.port);
    expect((await exchange(p, { path: '/reset' })).reset).toBe('connection_termination: remote reset (7)');
    expect((await exchange(p)).body).toBe('ok');
    expect(up.seen.sessions).toBe(1);
  });

  it('moves to a new connection after GOAWAY and after max_requests_per_connection', async () => {
    const up = await h2cServer((s) => {
      s.respond({ ':status': 200 });
      s.end('ok');
    });
    const { pool: p, stats } = pool(up.port, { maxRequestsPerConnection: 2 });
    await exchange(p);
    await exchange(p);
    await exchange(p);
    expect(up.seen.sessions).toBe(2);
    expect(stats.upstream_cx_max_requests.value).toBe(1);
    // The server sends GOAWAY on its session: the pool stops using it.
    for (const session of up.seen.sessionList) if (!session.closed) session.goaway();
    await new Promise((r) => setTimeout(r, 100));
    expect((await exchange(p)).body).toBe('ok');
    expect(up.seen.sessions).toBe(3);
  });

  it('refuses requests beyond the pending-request breaker while a connection is set up', async () => {
    const up = await h2cServer();
    const { pool: p, stats } = pool(up.port, { thresholds: { max_pending_requests: 1 } });
    const [first, second] = await Promise.all([exchange(p), exchange(p)]);
    expect(first.status).toBe(200);
    expect(second.failure).toEqual(['overflow', 'pending requests overflow']);
    expect(stats.upstream_rq_pending_overflow.value).toBe(1);
  });
});
