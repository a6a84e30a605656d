/**
 * TLS and HTTP/2 helpers for scenario tests: a lab's certificates made with the proxy's own
 * generator (as the runtime makes them) and written where the containers' mounts point, an
 * HTTPS client that reports what the handshake showed (like `curl -k -v`), an HTTP/2 client
 * (prior knowledge or ALPN), and `openssl s_client` for the handshake the notes print.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import http2 from 'node:http2';
import https from 'node:https';
import path from 'node:path';
import type tls from 'node:tls';
import { generateLabCertificates, type LabPki, type LabPkiRequest } from '../../src/index.js';
import type { Lab } from './harness.js';

/** Generates the lab's PKI into `<lab dir>/<request paths>` (`certs/CA/ca.crt`, ...). */
export async function labPki(
  lab: Lab,
  request: LabPkiRequest,
): Promise<{ pki: LabPki; file(rel: string): string; dir(rel: string): string }> {
  // A 2048-bit CA keeps the tests quick; everything else is what gencerts.sh makes.
  const pki = await generateLabCertificates(request, { caKeyBits: 2048 });
  for (const [rel, text] of Object.entries(pki.files)) {
    const target = path.join(lab.dir, rel);
    fs.mkdirSync(path.dirname(target), { recursive: true });
    fs.writeFileSync(target, text, { mode: rel.endsWith('.key') ? 0o600 : 0o644 });
  }
  return {
    pki,
    file: (rel) => path.join(lab.dir, rel),
    dir: (rel) => `${path.join(lab.dir, rel)}/`,
  };
}

export interface HttpsResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
  /** What the TLS handshake showed. */
  tls: {
    protocol: string | null;
    cipher: string;
    alpn: string | false;
    peerSubject: string;
    peerIssuer: string;
  };
}

/** One HTTPS request on a fresh connection; like `curl -k` unless `ca` is given. */
export function httpsRequest(
  url: string,
  o: {
    method?: string;
    headers?: Record<string, string>;
    body?: string;
    ca?: string;
    cert?: string;
    key?: string;
    servername?: string;
  } = {},
): Promise<HttpsResponse> {
  return new Promise((resolve, reject) => {
    const req = https.request(
      url,
      {
        method: o.method ?? 'GET',
        headers: o.headers,
        agent: false,
        ca: o.ca,
        cert: o.cert,
        key: o.key,
        servername: o.servername ?? '',
        rejectUnauthorized: o.ca !== undefined,
        // The lab's certificates name containers, not the loopback addresses they run on.
        checkServerIdentity: () => undefined,
      },
      (res) => {
        const socket = res.socket as tls.TLSSocket;
        const peer = socket.getPeerX509Certificate();
        const handshake = {
          protocol: socket.getProtocol(),
          cipher: socket.getCipher().name,
          alpn: socket.alpnProtocol ?? false,
          peerSubject: peer?.subject ?? '',
          peerIssuer: peer?.issuer ?? '',
        };
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks).toString('utf8'),
            tls: handshake,
          }),
        );
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.setTimeout(20_000, () => req.destroy(new Error(`request to ${url} timed out`)));
    req.end(o.body);
  });
}

export interface H2Response {
  status: number;
  headers: http2.IncomingHttpHeaders;
  body: string;
  trailers: http2.IncomingHttpHeaders | undefined;
  /** ALPN of a TLS connection, or `h2c`. */
  protocol: string;
}

/**
 * One HTTP/2 request on a fresh connection: `http://` speaks h2c with prior knowledge,
 * `https://` negotiates `h2` with ALPN (and trusts any certificate, like `curl -k`).
 */
export function h2Request(
  url: string,
  o: { method?: string; headers?: http2.OutgoingHttpHeaders; body?: string } = {},
): Promise<H2Response> {
  return new Promise((resolve, reject) => {
    const session = http2.connect(url, {
      rejectUnauthorized: false,
      servername: '',
    } as http2.SecureClientSessionOptions);
    session.on('error', reject);
    const u = new URL(url);
    const stream = session.request({
      ':method': o.method ?? 'GET',
      ':path': `${u.pathname}${u.search}`,
      ...o.headers,
    });
    let status = 0;
    let headers: http2.IncomingHttpHeaders = {};
    let trailers: http2.IncomingHttpHeaders | undefined;
    const chunks: Buffer[] = [];
    stream.on('response', (h) => {
      status = Number(h[':status']);
      headers = h;
    });
    stream.on('trailers', (t) => {
      trailers = t;
    });
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.on('end', () => {
      const protocol = session.encrypted ? String(session.alpnProtocol) : 'h2c';
      session.close();
      resolve({ status, headers, body: Buffer.concat(chunks).toString('utf8'), trailers, protocol });
    });
    stream.on('error', (err) => {
      session.destroy();
      reject(err);
    });
    stream.setTimeout(20_000, () => stream.close(http2.constants.NGHTTP2_CANCEL));
    stream.end(o.body);
  });
}

/** `openssl s_client -connect host:port` with no input, as the notes run it; stdout and stderr together. */
export function opensslClient(host: string, port: number, args: string[] = []): Promise<string> {
  return new Promise((resolve) => {
    const child = execFile(
      'openssl',
      ['s_client', '-connect', `${host}:${port}`, ...args],
      { timeout: 20_000 },
      (_err, stdout, stderr) => resolve(`${stdout}\n${stderr}`),
    );
    child.stdin?.end();
  });
}
