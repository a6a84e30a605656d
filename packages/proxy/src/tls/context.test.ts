import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import tls, { type TLSSocket } from 'node:tls';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Secret, TransportSocket } from '../config/types.js';
import { Store } from '../stats/store.js';
import { generateLabCertificates, type LabPki } from './cert-gen.js';
import { type ServerTlsContext, tlsHandshakeFailure } from './context.js';
import { TlsContextManager } from './context-manager.js';
import { DOWNSTREAM_TLS_CONTEXT, UPSTREAM_TLS_CONTEXT } from './types.js';

let pki: LabPki;
/** A second CA nobody trusts, for certificates that must fail verification. */
let rogue: LabPki;
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'meshcraft-tls-'));
const file = (rel: string) => path.join(dir, rel);

beforeAll(async () => {
  const certificates = [
    { name: 'front-envoy', server: true, client: true },
    { name: 'service-purple', server: true },
  ];
  [pki, rogue] = await Promise.all([
    generateLabCertificates({ certificates }, { caKeyBits: 2048 }),
    generateLabCertificates(
      { caDir: 'rogue/CA/', certificates: [{ name: 'rogue', dir: 'rogue/', client: true, server: true }] },
      { caKeyBits: 2048 },
    ),
  ]);
  for (const [rel, text] of Object.entries({ ...pki.files, ...rogue.files })) {
    fs.mkdirSync(path.dirname(file(rel)), { recursive: true });
    fs.writeFileSync(file(rel), text);
  }
  fs.writeFileSync(file('not-a-cert.crt'), 'hello, I am not a certificate\n');
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const closers: (() => void)[] = [];
afterEach(() => {
  for (const c of closers.splice(0)) c();
});

const downstream = (typed: Record<string, unknown>): TransportSocket => ({
  name: 'envoy.transport_sockets.tls',
  typed_config: { '@type': `type.googleapis.com/${DOWNSTREAM_TLS_CONTEXT}`, ...typed },
});
const upstream = (typed: Record<string, unknown>): TransportSocket => ({
  name: 'envoy.transport_sockets.tls',
  typed_config: { '@type': `type.googleapis.com/${UPSTREAM_TLS_CONTEXT}`, ...typed },
});
const certFiles = (name: string, role: 'server' | 'client', root = 'certs') => ({
  certificate_chain: { filename: file(`${root}/${name}/${role}.crt`) },
  private_key: { filename: file(`${root}/${name}/${role}.key`) },
});
const caFile = () => ({ trusted_ca: { filename: file('certs/CA/ca.crt') } });
const serverCert = { tls_certificates: [certFiles('front-envoy', 'server')] };

/** The lab's static secrets (front-envoy.yaml of tls-static). */
const labSecrets = (): Secret[] => [
  { name: 'server_cert', tls_certificate: certFiles('front-envoy', 'server') },
  { name: 'client_cert', tls_certificate: certFiles('front-envoy', 'client') },
  { name: 'validation_context', validation_context: caFile() },
];

/** A TLS listener made of a server context: resolves its port and the sockets it handed over. */
async function tlsServer(
  manager: TlsContextManager,
  config: Record<string, unknown>,
  store = new Store(),
): Promise<{ port: number; secure: TLSSocket[]; store: Store; context: ServerTlsContext }> {
  const secure: TLSSocket[] = [];
  const context = manager.serverContext(downstream(config), {
    where: 'listener test',
    scope: store.scope('listener.test.'),
    onSecure: (s) => {
      secure.push(s);
      s.end(`hello ${s.alpnProtocol || 'none'}`);
    },
  })!;
  const server = net.createServer((s) => context.accept(s));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  closers.push(() => server.close());
  return { port: (server.address() as net.AddressInfo).port, secure, store, context };
}

/** Connects and reads everything: the body, or the error that ended it. */
function exchange(
  port: number,
  options: tls.ConnectionOptions = {},
): Promise<{ body: string; error?: string }> {
  return new Promise((resolve) => {
    let body = '';
    const c = tls.connect({ host: '127.0.0.1', port, rejectUnauthorized: false, ...options });
    c.on('data', (d: Buffer) => {
      body += d.toString();
    });
    c.on('error', (e: NodeJS.ErrnoException) => resolve({ body, error: e.code ?? e.message }));
    c.on('close', () => resolve({ body }));
  });
}

const counter = (store: Store, name: string) => store.counter(name).value;

describe('loading TLS material', () => {
  it('names a missing file, and a file that is not a certificate, key or CA', () => {
    const m = new TlsContextManager();
    const build = (config: Record<string, unknown>) =>
      m.serverContext(downstream(config), {
        where: "listener 'https'",
        scope: new Store(),
        onSecure: () => {},
      });
    expect(() =>
      build({
        common_tls_context: {
          tls_certificates: [
            { ...certFiles('front-envoy', 'server'), certificate_chain: { filename: file('missing.crt') } },
          ],
        },
      }),
    ).toThrow(`listener 'https': unable to read file: ${file('missing.crt')} (no such file)`);
    expect(() =>
      build({
        common_tls_context: {
          tls_certificates: [
            {
              ...certFiles('front-envoy', 'server'),
              certificate_chain: { filename: file('not-a-cert.crt') },
            },
          ],
        },
      }),
    ).toThrow(`Failed to load certificate chain from ${file('not-a-cert.crt')}`);
    expect(() =>
      build({
        common_tls_context: {
          tls_certificates: [
            { ...certFiles('front-envoy', 'server'), private_key: { filename: file('not-a-cert.crt') } },
          ],
        },
      }),
    ).toThrow(`Failed to load private key from ${file('not-a-cert.crt')}`);
    expect(() =>
      build({
        common_tls_context: {
          tls_certificates: [
            {
              ...certFiles('front-envoy', 'server'),
              private_key: { filename: file('certs/front-envoy/client.key') },
            },
          ],
        },
      }),
    ).toThrow(/does not match the certificate/);
    expect(() =>
      build({
        common_tls_context: {
          ...serverCert,
          validation_context: { trusted_ca: { filename: file('not-a-cert.crt') } },
        },
      }),
    ).toThrow(`Failed to load trusted CA certificates from ${file('not-a-cert.crt')}`);
    expect(() => build({ common_tls_context: {} })).toThrow(/needs a certificate/);
  });

  it('resolves static secrets by name and says which one is unknown or of the wrong kind', () => {
    const m = new TlsContextManager(labSecrets());
    const build = (common: Record<string, unknown>) =>
      m.upstreamTransport(upstream({ common_tls_context: common }), {
        where: "cluster 'c'",
        scope: new Store(),
      });
    expect(
      build({
        tls_certificate_sds_secret_configs: [{ name: 'client_cert' }],
        validation_context_sds_secret_config: { name: 'validation_context' },
      }).secure,
    ).toBe(true);
    expect(() => build({ tls_certificate_sds_secret_configs: [{ name: 'nope' }] })).toThrow(
      "cluster 'c': Unknown static secret: nope",
    );
    expect(() => build({ validation_context_sds_secret_config: { name: 'client_cert' } })).toThrow(
      /not a validation_context/,
    );
    expect(() => build({ tls_certificate_sds_secret_configs: [{ name: 'validation_context' }] })).toThrow(
      /not a tls_certificate/,
    );
  });

  it('refuses SAN matchers without a trusted CA, as Envoy does', () => {
    const m = new TlsContextManager();
    expect(() =>
      m.upstreamTransport(
        upstream({
          common_tls_context: {
            validation_context: {
              match_typed_subject_alt_names: [{ san_type: 'DNS', matcher: { exact: 'x' } }],
            },
          },
        }),
        { where: 'c', scope: new Store() },
      ),
    ).toThrow(/without trusted CA is insecure/);
  });

  it('treats raw_buffer and no transport socket as plain TCP', () => {
    const m = new TlsContextManager();
    expect(m.upstreamTransport(undefined, { where: 'c', scope: new Store() }).secure).toBe(false);
    expect(
      m.upstreamTransport(
        {
          name: 'raw',
          typed_config: {
            '@type': 'type.googleapis.com/envoy.extensions.transport_sockets.raw_buffer.v3.RawBuffer',
          },
        },
        { where: 'c', scope: new Store() },
      ).secure,
    ).toBe(false);
    expect(m.certs()).toEqual([]);
  });
});

describe('server contexts', () => {
  it('one-way TLS: any client, counted with its cipher and version; ALPN only when configured', async () => {
    const m = new TlsContextManager(labSecrets());
    const { port, store } = await tlsServer(m, {
      common_tls_context: { tls_certificate_sds_secret_configs: [{ name: 'server_cert' }] },
    });
    expect(await exchange(port, { ALPNProtocols: ['h2'] })).toEqual({ body: 'hello none' });
    expect(counter(store, 'listener.test.ssl.handshake')).toBe(1);
    expect(counter(store, 'listener.test.ssl.no_certificate')).toBe(1);
    expect(counter(store, 'listener.test.ssl.versions.TLSv1.3')).toBe(1);
    expect(store.counters().some((c) => c.name.startsWith('listener.test.ssl.ciphers.TLS_'))).toBe(true);

    const alpn = await tlsServer(m, {
      common_tls_context: { ...serverCert, alpn_protocols: ['h2', 'http/1.1'] },
    });
    expect(await exchange(alpn.port, { ALPNProtocols: ['h2', 'http/1.1'] })).toEqual({ body: 'hello h2' });
  });

  it('require_client_certificate with trusted_ca: no certificate is a handshake failure, a rogue one is refused', async () => {
    const m = new TlsContextManager();
    const { port, store, secure } = await tlsServer(m, {
      common_tls_context: { ...serverCert, validation_context: caFile() },
      require_client_certificate: true,
    });
    expect(await exchange(port)).toEqual({ body: '', error: 'ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED' });
    expect(await exchange(port, { maxVersion: 'TLSv1.2' })).toEqual({
      body: '',
      error: 'ERR_SSL_SSLV3_ALERT_HANDSHAKE_FAILURE',
    });
    expect(counter(store, 'listener.test.ssl.fail_verify_no_cert')).toBe(2);
    const rogueClient = { cert: rogue.files['rogue/client.crt'], key: rogue.files['rogue/client.key'] };
    expect((await exchange(port, rogueClient)).body).toBe('');
    expect(counter(store, 'listener.test.ssl.fail_verify_error')).toBe(1);
    const client = {
      cert: pki.files['certs/front-envoy/client.crt'],
      key: pki.files['certs/front-envoy/client.key'],
    };
    expect(await exchange(port, client)).toEqual({ body: 'hello none' });
    expect(secure).toHaveLength(1);
    expect(secure[0]!.getPeerX509Certificate()?.subject).toBe('CN=front-envoy');
    expect(counter(store, 'listener.test.ssl.handshake')).toBe(1);
    expect(counter(store, 'listener.test.ssl.connection_error')).toBe(0);
  });

  it('require_client_certificate without a trust anchor (service-purple) takes any certificate but none', async () => {
    const m = new TlsContextManager();
    const { port, store } = await tlsServer(m, {
      common_tls_context: { tls_certificates: [certFiles('service-purple', 'server')] },
      require_client_certificate: true,
    });
    expect((await exchange(port)).body).toBe('');
    expect(counter(store, 'listener.test.ssl.fail_verify_no_cert')).toBe(1);
    const rogueClient = { cert: rogue.files['rogue/client.crt'], key: rogue.files['rogue/client.key'] };
    expect(await exchange(port, rogueClient)).toEqual({ body: 'hello none' });
  });

  it('trusted_ca alone: a missing certificate is fine, a bad one fails, SAN matchers apply', async () => {
    const m = new TlsContextManager();
    const { port, store } = await tlsServer(m, {
      common_tls_context: { ...serverCert, validation_context: caFile() },
    });
    expect(await exchange(port)).toEqual({ body: 'hello none' });
    const rogueClient = { cert: rogue.files['rogue/client.crt'], key: rogue.files['rogue/client.key'] };
    expect((await exchange(port, rogueClient)).body).toBe('');
    expect(counter(store, 'listener.test.ssl.fail_verify_error')).toBe(1);

    const san = await tlsServer(m, {
      common_tls_context: {
        ...serverCert,
        validation_context: {
          ...caFile(),
          match_typed_subject_alt_names: [{ san_type: 'DNS', matcher: { exact: 'front-envoy' } }],
        },
      },
    });
    const client = {
      cert: pki.files['certs/front-envoy/client.crt'],
      key: pki.files['certs/front-envoy/client.key'],
    };
    // The lab's certificates carry no SAN at all.
    expect((await exchange(san.port, client)).body).toBe('');
    expect(counter(san.store, 'listener.test.ssl.fail_verify_san')).toBe(1);
  });
});

describe('client contexts', () => {
  /** A plain Node TLS server standing in for an upstream. */
  async function upstreamServer(options: tls.TlsOptions): Promise<{ port: number; seen: TLSSocket[] }> {
    const seen: TLSSocket[] = [];
    const server = tls.createServer(options, (s) => {
      seen.push(s);
      s.end('upstream');
    });
    server.on('tlsClientError', () => {});
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    closers.push(() => server.close());
    return { port: (server.address() as net.AddressInfo).port, seen };
  }

  function connect(
    transport: ReturnType<TlsContextManager['upstreamTransport']>,
    port: number,
    alpn = ['http/1.1'],
  ) {
    return new Promise<{ body: string; error?: string; reason?: string }>((resolve) => {
      const { socket, ready } = transport.connect({ address: '127.0.0.1', port }, alpn);
      let body = '';
      socket.once(ready, () => {});
      socket.on('data', (d: Buffer) => {
        body += d.toString();
      });
      socket.on('error', (e: NodeJS.ErrnoException) =>
        resolve({ body, error: e.code, reason: tlsHandshakeFailure(e, socket) }),
      );
      socket.on('close', () => resolve({ body }));
    });
  }

  const gray = () => ({
    key: pki.files['certs/front-envoy/server.key'],
    cert: pki.files['certs/front-envoy/server.crt'],
  });

  it('without a validation context trusts any server and sends no SNI; offers the pool ALPN', async () => {
    const up = await upstreamServer({ ...gray(), ALPNProtocols: ['h2', 'http/1.1'] });
    const store = new Store();
    const t = new TlsContextManager().upstreamTransport(upstream({}), {
      where: 'c',
      scope: store.scope('cluster.c.'),
    });
    expect(await connect(t, up.port, ['h2'])).toEqual({ body: 'upstream' });
    expect(up.seen[0]!.servername).toBe(false);
    expect(up.seen[0]!.alpnProtocol).toBe('h2');
    expect(counter(store, 'cluster.c.ssl.handshake')).toBe(1);
    expect(counter(store, 'cluster.c.ssl.versions.TLSv1.2')).toBe(1);
  });

  it('with trusted_ca verifies the chain but not the host name; sni and alpn_protocols are sent as configured', async () => {
    const up = await upstreamServer({ ...gray(), ALPNProtocols: ['http/1.1'] });
    const m = new TlsContextManager(labSecrets());
    const store = new Store();
    const t = m.upstreamTransport(
      upstream({
        sni: 'service-gray',
        common_tls_context: {
          alpn_protocols: ['http/1.1'],
          validation_context_sds_secret_config: { name: 'validation_context' },
        },
      }),
      { where: 'c', scope: store.scope('cluster.c.') },
    );
    expect(await connect(t, up.port, ['h2'])).toEqual({ body: 'upstream' });
    expect(up.seen[0]!.servername).toBe('service-gray');
    expect(up.seen[0]!.alpnProtocol).toBe('http/1.1');

    const rogueUp = await upstreamServer({
      key: rogue.files['rogue/server.key'],
      cert: rogue.files['rogue/server.crt'],
    });
    const failed = await connect(t, rogueUp.port);
    expect(failed.reason).toBe(
      'TLS error: 268435581:SSL routines:OPENSSL_internal:CERTIFICATE_VERIFY_FAILED',
    );
    expect(counter(store, 'cluster.c.ssl.fail_verify_error')).toBe(1);
  });

  it('presents the client certificate for mutual TLS and resumes the session on the next connection', async () => {
    const up = await upstreamServer({
      ...gray(),
      requestCert: true,
      rejectUnauthorized: true,
      ca: pki.files['certs/CA/ca.crt'],
      maxVersion: 'TLSv1.2',
    });
    const store = new Store();
    const t = new TlsContextManager(labSecrets()).upstreamTransport(
      upstream({
        common_tls_context: {
          tls_certificate_sds_secret_configs: [{ name: 'client_cert' }],
          validation_context_sds_secret_config: { name: 'validation_context' },
        },
      }),
      { where: 'c', scope: store.scope('cluster.c.') },
    );
    expect(await connect(t, up.port)).toEqual({ body: 'upstream' });
    expect(up.seen[0]!.getPeerX509Certificate()?.subject).toBe('CN=front-envoy');
    expect(await connect(t, up.port)).toEqual({ body: 'upstream' });
    expect(counter(store, 'cluster.c.ssl.session_reused')).toBe(1);
  });
});

describe('/certs', () => {
  it('reports each live context in creation order as Envoy prints it, and forgets released ones', () => {
    const m = new TlsContextManager(labSecrets());
    const now = Date.now();
    const gray = m.upstreamTransport(
      upstream({
        common_tls_context: { validation_context_sds_secret_config: { name: 'validation_context' } },
      }),
      { where: 'gray', scope: new Store() },
    );
    m.upstreamTransport(
      upstream({
        common_tls_context: {
          tls_certificate_sds_secret_configs: [{ name: 'client_cert' }],
          validation_context_sds_secret_config: { name: 'validation_context' },
        },
      }),
      { where: 'purple', scope: new Store() },
    );
    m.serverContext(
      downstream({ common_tls_context: { tls_certificate_sds_secret_configs: [{ name: 'server_cert' }] } }),
      {
        where: 'https',
        scope: new Store(),
        onSecure: () => {},
      },
    );
    const report = m.certs(now);
    expect(report.map((r) => [r.ca_cert.map((c) => c.path), r.cert_chain.map((c) => c.path)])).toEqual([
      [[file('certs/CA/ca.crt')], []],
      [[file('certs/CA/ca.crt')], [file('certs/front-envoy/client.crt')]],
      [[], [file('certs/front-envoy/server.crt')]],
    ]);
    const leaf = report[2]!.cert_chain[0]!;
    expect(leaf).toEqual({
      path: file('certs/front-envoy/server.crt'),
      serial_number: '1000',
      subject_alt_names: [],
      days_until_expiration: '3649',
      valid_from: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/),
      expiration_time: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/),
    });
    expect(report[1]!.cert_chain[0]!.serial_number).toBe('1001');
    expect(report[0]!.ca_cert[0]!.serial_number).toBe(pki.ca.serialNumber);
    m.release(gray);
    expect(m.certs(now)).toHaveLength(2);
  });

  it('says <inline> for inline certificates', () => {
    const m = new TlsContextManager();
    m.serverContext(
      downstream({
        common_tls_context: {
          tls_certificates: [
            {
              certificate_chain: { inline_string: pki.files['certs/front-envoy/server.crt'] },
              private_key: { inline_string: pki.files['certs/front-envoy/server.key'] },
            },
          ],
        },
      }),
      { where: 'l', scope: new Store(), onSecure: () => {} },
    );
    expect(m.certs()[0]!.cert_chain[0]!.path).toBe('<inline>');
  });
});
