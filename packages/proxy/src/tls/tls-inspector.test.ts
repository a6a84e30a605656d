import net from 'node:net';
import tls from 'node:tls';
import { afterEach, describe, expect, it } from 'vitest';
import { Store } from '../stats/store.js';
import {
  applicationProtocolScore,
  inspectTls,
  ListenerFilters,
  parseClientHello,
  serverNameScore,
  tlsInspectorStats,
} from './tls-inspector.js';

const servers: net.Server[] = [];
afterEach(() => {
  for (const s of servers.splice(0)) s.close();
});

/** A plain TCP server whose connections go to `onSocket`; resolves its port. */
async function listen(onSocket: (s: net.Socket) => void): Promise<number> {
  const server = net.createServer(onSocket);
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return (server.address() as net.AddressInfo).port;
}

/** The bytes a real TLS client sends first. */
async function clientHello(options: tls.ConnectionOptions): Promise<Buffer> {
  let resolve!: (b: Buffer) => void;
  const got = new Promise<Buffer>((r) => {
    resolve = r;
  });
  const port = await listen((s) => {
    s.once('data', (d: Buffer) => {
      resolve(d);
      s.destroy();
    });
  });
  const c = tls.connect({ host: '127.0.0.1', port, ...options });
  c.on('error', () => {});
  return got;
}

describe('parseClientHello', () => {
  it('finds SNI (lower-cased) and ALPN in a real ClientHello', async () => {
    const hello = await clientHello({ servername: 'WWW.Example.COM', ALPNProtocols: ['h2', 'http/1.1'] });
    expect(parseClientHello(hello)).toEqual({
      kind: 'tls',
      serverName: 'www.example.com',
      alpn: ['h2', 'http/1.1'],
    });
  });

  it('reports no SNI and no ALPN when the client sends none', async () => {
    const hello = await clientHello({ servername: '' });
    expect(parseClientHello(hello)).toEqual({ kind: 'tls', serverName: '', alpn: [] });
  });

  it('asks for more until the record is complete, and reassembles a hello split over records', async () => {
    const hello = await clientHello({ servername: 'split.example' });
    expect(parseClientHello(hello.subarray(0, 3)).kind).toBe('need_more');
    expect(parseClientHello(hello.subarray(0, hello.length - 1)).kind).toBe('need_more');
    // The same handshake message cut into two records.
    const body = hello.subarray(5);
    const record = (b: Buffer) =>
      Buffer.concat([Buffer.from([0x16, 0x03, 0x01, b.length >> 8, b.length & 0xff]), b]);
    const split = Buffer.concat([record(body.subarray(0, 40)), record(body.subarray(40))]);
    expect(parseClientHello(split)).toMatchObject({ kind: 'tls', serverName: 'split.example' });
  });

  it('says not TLS for HTTP/1, the HTTP/2 preface and a non-hello handshake', () => {
    expect(parseClientHello(Buffer.from('GET / HTTP/1.1\r\n\r\n')).kind).toBe('not_tls');
    expect(parseClientHello(Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n')).kind).toBe('not_tls');
    expect(parseClientHello(Buffer.from([0x16, 0x03, 0x03, 0, 4, 0x02, 0, 0, 0])).kind).toBe('not_tls');
    // A ClientHello whose fields run past its end.
    expect(parseClientHello(Buffer.from([0x16, 0x03, 0x01, 0, 6, 0x01, 0, 0, 2, 3, 3])).kind).toBe('not_tls');
  });
});

describe('inspectTls', () => {
  it('puts every byte back for the next reader and counts what it found', async () => {
    const store = new Store();
    const stats = tlsInspectorStats(store);
    const seen = new Promise<{ detection: unknown; replay: Buffer }>((resolve) => {
      void listen(async (s) => {
        const detection = await inspectTls(s, stats, 5000);
        s.once('data', (d: Buffer) => resolve({ detection, replay: d }));
        s.resume();
      }).then((port) => {
        const c = tls.connect({ host: '127.0.0.1', port, servername: 'a.example', ALPNProtocols: ['h2'] });
        c.on('error', () => {});
      });
    });
    const { detection, replay } = await seen;
    expect(detection).toEqual({
      transportProtocol: 'tls',
      serverName: 'a.example',
      applicationProtocols: ['h2'],
    });
    expect(parseClientHello(replay).kind).toBe('tls');
    expect(stats.tls_found.value).toBe(1);
    expect(stats.sni_found.value).toBe(1);
    expect(stats.alpn_found.value).toBe(1);
  });

  it('lets plain text through as raw_buffer', async () => {
    const store = new Store();
    const result = new Promise<unknown>((resolve) => {
      void listen(async (s) => resolve(await inspectTls(s, tlsInspectorStats(store), 5000))).then((port) => {
        const c = net.connect(port, '127.0.0.1', () => c.write('GET / HTTP/1.1\r\n\r\n'));
        c.on('error', () => {});
      });
    });
    expect(await result).toEqual({
      transportProtocol: 'raw_buffer',
      serverName: '',
      applicationProtocols: [],
    });
    expect(store.counter('tls_inspector.tls_not_found').value).toBe(1);
  });

  it('times out on a silent client: closed, or plain with continue_on_listener_filters_timeout', async () => {
    const store = new Store();
    const run = (continueOnTimeout: boolean) =>
      new Promise<{ result: unknown; destroyed: boolean }>((resolve) => {
        const filters = ListenerFilters.create(
          {
            listener_filters: [{ name: 'envoy.filters.listener.tls_inspector' }],
            listener_filters_timeout: '0.1s',
            continue_on_listener_filters_timeout: continueOnTimeout,
          },
          store,
          store.scope('listener.test.'),
        )!;
        void listen(async (s) => {
          const result = await filters.run(s);
          resolve({ result, destroyed: s.destroyed });
        }).then((port) => {
          const c = net.connect(port, '127.0.0.1');
          c.on('error', () => {});
        });
      });
    expect(await run(false)).toEqual({ result: undefined, destroyed: true });
    expect(await run(true)).toEqual({
      result: { transportProtocol: 'raw_buffer', serverName: '', applicationProtocols: [] },
      destroyed: false,
    });
    expect(store.counter('listener.test.downstream_pre_cx_timeout').value).toBe(2);
    expect(store.gauge('listener.test.downstream_pre_cx_active').value).toBe(0);
  });

  it('refuses listener filters other than the TLS inspector', () => {
    const store = new Store();
    expect(() =>
      ListenerFilters.create(
        { listener_filters: [{ name: 'envoy.filters.listener.http_inspector' }] },
        store,
        store,
      ),
    ).toThrow(/http_inspector' is not implemented/);
    expect(ListenerFilters.create({}, store, store)).toBeUndefined();
  });
});

describe('filter chain scores', () => {
  it('prefers an exact server name, then the longest wildcard, then the catch-all', () => {
    const sni = 'www.example.com';
    const exact = serverNameScore(['www.example.com'], sni);
    const wildcard = serverNameScore(['*.example.com'], sni);
    const tld = serverNameScore(['*.com'], sni);
    expect(exact).toBeGreaterThan(wildcard);
    expect(wildcard).toBeGreaterThan(tld);
    expect(tld).toBeGreaterThan(serverNameScore(undefined, sni));
    expect(serverNameScore([], sni)).toBe(0);
    expect(serverNameScore(['other.example.com'], sni)).toBe(-1);
    expect(serverNameScore(['*.example.com'], 'example.com')).toBe(-1);
    expect(serverNameScore(['www.example.com'], '')).toBe(-1);
  });

  it('matches application protocols the client offered', () => {
    expect(applicationProtocolScore(['h2'], ['h2', 'http/1.1'])).toBe(1);
    expect(applicationProtocolScore(['h2'], ['http/1.1'])).toBe(-1);
    expect(applicationProtocolScore(undefined, [])).toBe(0);
  });
});
