import http2 from 'node:http2';
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { LogRegistry } from '../common/logger.js';
import type { HttpConnectionManager } from '../config/types.js';
import { Runtime } from '../runtime/runtime.js';
import { Store } from '../stats/store.js';
import { ClusterManager } from '../upstream/cluster-manager.js';
import { DnsResolver } from '../upstream/dns.js';
import { HttpConnectionManagerConfig } from './connection-manager.js';
import { createServerConnection, type ServerConnection } from './http2-server-connection.js';

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
});

/** A connection manager answering `/echo-cookie` with the cookie it got and everything else with `hello`. */
async function listen(extra: Partial<HttpConnectionManager> = {}) {
  const store = new Store();
  const logs = new LogRegistry('off');
  const runtime = new Runtime(undefined);
  const config = new HttpConnectionManagerConfig(
    {
      stat_prefix: 'test',
      route_config: {
        virtual_hosts: [
          {
            name: 'all',
            domains: ['*'],
            routes: [
              {
                match: { prefix: '/' },
                direct_response: { status: 200, body: { inline_string: 'hello' } },
                response_headers_to_add: [{ header: { key: 'x-cookie', value: '%REQ(cookie)%' } }],
              },
            ],
          },
        ],
      },
      http_filters: [{ name: 'envoy.filters.http.router' }],
      ...extra,
    } as HttpConnectionManager,
    {
      store,
      runtime,
      clusterManager: new ClusterManager({
        store,
        runtime,
        logs,
        dns: new DnsResolver(),
        random: Math.random,
      }),
      log: logs.get('http', 'test'),
      listenerScope: store.scope('listener.test.'),
      localHealth: { healthCheckFailed: () => false, localClusterName: '' },
    },
  );
  const connections: ServerConnection[] = [];
  const server = net.createServer((socket) =>
    connections.push(createServerConnection(socket, config, { secure: false, serverName: '' })),
  );
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  cleanups.push(() => {
    server.close();
    config.close();
  });
  const port = (server.address() as net.AddressInfo).port;
  return { port, store, connections, stat: (name: string) => store.counter(`http.test.${name}`).value };
}

function h2(port: number): http2.ClientHttp2Session {
  const session = http2.connect(`http://127.0.0.1:${port}`);
  session.on('error', () => {});
  cleanups.push(() => session.destroy());
  return session;
}

function get(
  session: http2.ClientHttp2Session,
  headers: http2.OutgoingHttpHeaders,
): Promise<{ headers: http2.IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const s = session.request(headers);
    let got: http2.IncomingHttpHeaders = {};
    let body = '';
    s.on('response', (h) => {
      got = h;
    });
    s.on('data', (d: Buffer) => {
      body += d.toString();
    });
    s.on('end', () => resolve({ headers: got, body }));
    s.on('error', reject);
    s.end();
  });
}

describe('codec_type AUTO', () => {
  it('serves HTTP/1.1 and HTTP/2 prior knowledge on one listener, telling them apart by the preface', async () => {
    const l = await listen();
    const h1 = await new Promise<string>((resolve) => {
      const c = net.connect(l.port, '127.0.0.1', () =>
        c.write('GET / HTTP/1.1\r\nhost: a\r\nconnection: close\r\n\r\n'),
      );
      let out = '';
      c.on('data', (d: Buffer) => {
        out += d.toString();
      });
      c.on('close', () => resolve(out));
    });
    expect(h1).toMatch(/^HTTP\/1\.1 200 OK\r\n[\s\S]*\r\n\r\nhello$/);
    const r = await get(h2(l.port), { ':path': '/' });
    expect(r.headers[':status']).toBe(200);
    expect(r.headers.server).toBe('envoy');
    expect(r.body).toBe('hello');
    expect(l.stat('downstream_cx_http1_total')).toBe(1);
    expect(l.stat('downstream_cx_http2_total')).toBe(1);
    expect(l.stat('downstream_rq_http2_total')).toBe(1);
    expect(l.store.gauge('http.test.downstream_cx_http2_active').value).toBe(1);
  });

  it('joins HTTP/2 cookie fields with "; " and sends HEAD responses without a body', async () => {
    const l = await listen();
    const session = h2(l.port);
    const r = await get(session, { ':path': '/', cookie: ['a=1', 'b=2'] });
    expect(r.headers['x-cookie']).toBe('a=1; b=2');
    const head = await get(session, { ':method': 'HEAD', ':path': '/' });
    expect(head.headers[':status']).toBe(200);
    expect(head.headers['content-length']).toBe('5');
    expect(head.body).toBe('');
    expect(l.stat('downstream_rq_http2_total')).toBe(2);
  });

  it('a drained HTTP/2 connection says GOAWAY and closes; an idle one closes after idle_timeout', async () => {
    const l = await listen({ common_http_protocol_options: { idle_timeout: '0.2s' } });
    const session = h2(l.port);
    await get(session, { ':path': '/' });
    const goaway = new Promise<void>((resolve) => session.once('goaway', () => resolve()));
    for (const c of l.connections) c.drain();
    await goaway;
    await new Promise<void>((resolve) => session.once('close', () => resolve()));
    expect(l.stat('downstream_cx_drain_close')).toBe(1);

    const idle = h2(l.port);
    await get(idle, { ':path': '/' });
    await new Promise<void>((resolve) => idle.once('close', () => resolve()));
    expect(l.stat('downstream_cx_idle_timeout')).toBe(1);
    expect(l.store.gauge('http.test.downstream_cx_http2_active').value).toBe(0);
  });

  it('codec_type HTTP1 does not look for the preface', async () => {
    const l = await listen({ codec_type: 'HTTP1' });
    const reply = await new Promise<string>((resolve) => {
      const c = net.connect(l.port, '127.0.0.1', () => c.write('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'));
      let out = '';
      c.on('data', (d: Buffer) => {
        out += d.toString();
      });
      c.on('close', () => resolve(out));
    });
    expect(reply).toMatch(/^HTTP\/1\.1 (400|505) /);
    expect(l.stat('downstream_cx_http2_total')).toBe(0);
  });
});
