/**
 * bench/proxy: meshcraft-proxy against nginx, haproxy and node http-proxy, in one run, with wrk
 * on loopback. Every proxy runs one worker, forwards to the same upstream (an nginx serving a
 * small body, one worker) over keep-alive connections, and gets the same load. Reported as
 * ratios, because absolute numbers depend on the machine.
 *
 * A second round terminates TLS: meshcraft-proxy, nginx and haproxy each serve HTTPS with the
 * same certificate (RSA 2048, made by meshcraft's lab certificate generator) to the same plain
 * HTTP upstream; wrk's keep-alive connections make it a measure of encrypted throughput, with
 * the handshakes in the warm-up. The negotiated protocol and cipher are recorded to show the
 * three are compared on equal terms.
 *
 * `--concurrency N` runs every contender with N workers: meshcraft-proxy `--concurrency N`, nginx
 * `worker_processes N`, haproxy `nbthread N` (node http-proxy has no workers and sits it out).
 *
 * `--passes K` runs each round K times, the contenders taking turns within every pass, and keeps
 * each contender's median: on a machine others are using too, their load then falls on all the
 * contenders alike instead of on whichever was measuring at the time.
 *
 *   pnpm --filter @meshcraft/bench build && node bench/dist/proxy/run.js [--seconds 10] [--connections 50] [--concurrency 1] [--passes 1] [--no-tls]
 */

import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { fileURLToPath } from 'node:url';
import { generateLabCertificates } from '@meshcraft/proxy';
import {
  freePort,
  requireTool,
  rssKiB,
  start,
  stop,
  type WrkResult,
  waitForPort,
  wrk,
} from '../common/processes.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, '../../..');
const PROXY_BIN = path.join(repo, 'packages/proxy/bin/meshcraft-proxy.js');
const HTTP_PROXY_SERVER = path.join(here, 'http-proxy-server.js');

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}

const SECONDS = arg('seconds', 10);
const CONNECTIONS = arg('connections', 50);
const TLS_ROUND = !process.argv.includes('--no-tls');
const CONCURRENCY = arg('concurrency', 1);
const PASSES = arg('passes', 1);
/**
 * With one worker each, wrk and the upstream share one core and the proxy under test has the
 * other to itself. With more workers nothing is pinned: a contender's workers, wrk and the upstream
 * share every core, as on a machine where the proxy gets all the cores — the same for each contender.
 */
const PINNED = CONCURRENCY === 1;
const TOOLS_CPU = PINNED ? 0 : undefined;
const CONTENDER_CPU = PINNED ? (os.cpus().length > 1 ? 1 : 0) : undefined;
const BODY = 'iKubernetes demoapp v1.0 !! ClientIP: 127.0.0.1, ServerName: bench, ServerIP: 127.0.0.1!\n';

/** The certificate the TLS round's contenders all serve. */
interface ServerCertificate {
  cert: string;
  key: string;
  /** Certificate and key in one file, as haproxy's `crt` takes them. */
  combined: string;
}

interface Contender {
  name: string;
  port: number;
  /** Takes part in the TLS round. */
  tls: boolean;
  start(upstreamPort: number, dir: string, certificate?: ServerCertificate): ChildProcess;
}

function nginxConf(
  dir: string,
  listen: number,
  body: string,
  upstreamPort?: number,
  certificate?: ServerCertificate,
): string {
  const location = upstreamPort
    ? `location / { proxy_pass http://up; proxy_http_version 1.1; proxy_set_header Connection ""; }`
    : `location / { default_type text/html; return 200 '${body.replace(/\n/g, '\\n')}'; }`;
  const ssl = certificate
    ? ` ssl; ssl_certificate ${certificate.cert}; ssl_certificate_key ${certificate.key}; ssl_protocols TLSv1.2 TLSv1.3;`
    : ';';
  // The pid file must be our own: nginx deletes it on exit (pointing it at /dev/null deletes that).
  // The proxying nginx has as many workers as the other contenders; the upstream has one.
  return `worker_processes ${upstreamPort ? CONCURRENCY : 1};
daemon off;
pid ${path.join(dir, `nginx-${listen}.pid`)};
error_log stderr error;
events { worker_connections 4096; }
http {
  access_log off;
  keepalive_requests 1000000;
  ${upstreamPort ? `upstream up { server 127.0.0.1:${upstreamPort}; keepalive 64; }` : ''}
  server { listen 127.0.0.1:${listen}${ssl} ${location} }
}
`;
}

function write(dir: string, name: string, text: string): string {
  const p = path.join(dir, name);
  fs.writeFileSync(p, text);
  return p;
}

async function main(): Promise<void> {
  requireTool('wrk', 'install it with: apt-get install -y wrk');
  requireTool('nginx', 'install it with: apt-get install -y nginx');
  requireTool('haproxy', 'install it with: apt-get install -y haproxy');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'meshcraft-bench-proxy-'));
  const upstreamPort = await freePort();
  const upstream = start(
    'nginx',
    ['-c', write(dir, 'upstream.conf', nginxConf(dir, upstreamPort, BODY)), '-p', dir],
    { cpu: TOOLS_CPU },
  );
  await waitForPort('127.0.0.1', upstreamPort);

  const meshcraftAdmin = await freePort();
  const contenders: Contender[] = [
    {
      name: 'meshcraft-proxy',
      port: await freePort(),
      tls: true,
      start(up, d, certificate) {
        const admin = meshcraftAdmin;
        const transportSocket = certificate
          ? `
      transport_socket:
        name: envoy.transport_sockets.tls
        typed_config:
          "@type": type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext
          common_tls_context:
            tls_certificates: [{ certificate_chain: { filename: ${certificate.cert} }, private_key: { filename: ${certificate.key} } }]`
          : '';
        const config = `admin: { address: { socket_address: { address: 127.0.0.1, port_value: ${admin} } } }
static_resources:
  listeners:
  - name: listener_0
    address: { socket_address: { address: 127.0.0.1, port_value: ${this.port} } }
    filter_chains:
    - filters:
      - name: envoy.filters.network.http_connection_manager
        typed_config:
          "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
          stat_prefix: ingress_http
          route_config:
            virtual_hosts:
            - name: all
              domains: ["*"]
              routes: [{ match: { prefix: "/" }, route: { cluster: upstream } }]
          http_filters: [{ name: envoy.filters.http.router }]${transportSocket}
  clusters:
  - name: upstream
    connect_timeout: 1s
    type: STATIC
    load_assignment:
      cluster_name: upstream
      endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: 127.0.0.1, port_value: ${up} } } } }] }]
`;
        return start(
          process.execPath,
          [
            PROXY_BIN,
            '-c',
            write(d, 'meshcraft.yaml', config),
            '--log-level',
            'warning',
            '--concurrency',
            String(CONCURRENCY),
          ],
          { cpu: CONTENDER_CPU },
        );
      },
    },
    {
      name: 'nginx',
      port: await freePort(),
      tls: true,
      start(up, d, certificate) {
        return start(
          'nginx',
          ['-c', write(d, 'proxy-nginx.conf', nginxConf(d, this.port, '', up, certificate)), '-p', d],
          { cpu: CONTENDER_CPU },
        );
      },
    },
    {
      name: 'haproxy',
      port: await freePort(),
      tls: true,
      start(up, d, certificate) {
        const cfg = `global
  nbthread ${CONCURRENCY}
  maxconn 4096
defaults
  mode http
  timeout connect 5s
  timeout client 30s
  timeout server 30s
  http-reuse always
frontend fe
  bind 127.0.0.1:${this.port}${certificate ? ` ssl crt ${certificate.combined}` : ''}
  default_backend be
backend be
  server up 127.0.0.1:${up}
`;
        return start('haproxy', ['-f', write(d, 'haproxy.cfg', cfg), '-db'], { cpu: CONTENDER_CPU });
      },
    },
    {
      name: 'node http-proxy',
      port: await freePort(),
      tls: false,
      start(up) {
        return start(process.execPath, [HTTP_PROXY_SERVER, String(this.port), String(up)], {
          cpu: CONTENDER_CPU,
        });
      },
    },
  ];

  let plain: RoundResult[];
  let secure: RoundResult[] = [];
  try {
    process.stdout.write(`plain HTTP, ${CONCURRENCY} worker(s) each\n`);
    plain = await passes(
      contenders.filter((c) => CONCURRENCY === 1 || c.name !== 'node http-proxy'),
      upstreamPort,
      dir,
    );
    if (TLS_ROUND) {
      const certificate = await serverCertificate(dir);
      process.stdout.write('\nTLS termination (HTTPS in, HTTP to the upstream)\n');
      secure = await passes(
        contenders.filter((c) => c.tls),
        upstreamPort,
        dir,
        certificate,
      );
    }
  } finally {
    await stop(upstream);
  }

  const summary = (results: RoundResult[], label: string, peers: string[]) => {
    const by = (n: string) => results.find((r) => r.name === n)!;
    const ours = by('meshcraft-proxy');
    const ratio = (n: string) => ours.wrk.requestsPerSec / by(n).wrk.requestsPerSec;
    const parts = peers.map((n) =>
      n === 'node http-proxy' ? `${ratio(n).toFixed(2)}x ${n}` : `${(ratio(n) * 100).toFixed(0)}% of ${n}`,
    );
    const placement = PINNED
      ? '1 worker each, pinned to its own core'
      : `${CONCURRENCY} workers each, sharing all ${os.cpus().length} cores with wrk and the upstream`;
    process.stdout.write(
      `meshcraft-proxy ${label} throughput: ${parts.join(', ')} (${CONNECTIONS} connections, ${SECONDS}s${PASSES > 1 ? `, median of ${PASSES} passes` : ''}, ${placement})\n`,
    );
  };
  process.stdout.write('\n');
  summary(
    plain,
    'plain HTTP',
    CONCURRENCY === 1 ? ['node http-proxy', 'nginx', 'haproxy'] : ['nginx', 'haproxy'],
  );
  if (TLS_ROUND) summary(secure, 'TLS', ['nginx', 'haproxy']);
  const outDir = path.join(repo, 'bench/results');
  fs.mkdirSync(outDir, { recursive: true });
  const file = path.join(outDir, `proxy-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  fs.writeFileSync(
    file,
    `${JSON.stringify(
      {
        seconds: SECONDS,
        connections: CONNECTIONS,
        concurrency: CONCURRENCY,
        passes: PASSES,
        cpus: os.cpus().length,
        results: plain,
        tls: secure,
      },
      null,
      2,
    )}\n`,
  );
  process.stdout.write(`results: ${path.relative(repo, file)}\n`);
  fs.rmSync(dir, { recursive: true, force: true });
}

interface RoundResult {
  name: string;
  wrk: WrkResult;
  idleRssKiB: number;
  /** What the TLS handshake negotiated, in the TLS round. */
  tls?: { protocol: string | null; cipher: string };
}

/** The round `--passes` times over; each contender's median pass (by requests per second). */
async function passes(...args: Parameters<typeof round>): Promise<RoundResult[]> {
  const runs: RoundResult[][] = [];
  for (let i = 0; i < PASSES; i++) {
    if (PASSES > 1) process.stdout.write(`pass ${i + 1} of ${PASSES}\n`);
    runs.push(await round(...args));
  }
  return runs[0]!.map(({ name }) => {
    const own = runs
      .map((run) => run.find((r) => r.name === name)!)
      .sort((a, b) => a.wrk.requestsPerSec - b.wrk.requestsPerSec);
    return own[Math.floor(own.length / 2)]!;
  });
}

/** Measures each contender in turn with the same wrk load; HTTPS when given a certificate. */
async function round(
  contenders: Contender[],
  upstreamPort: number,
  dir: string,
  certificate?: ServerCertificate,
): Promise<RoundResult[]> {
  const results: RoundResult[] = [];
  for (const c of contenders) {
    const child = c.start(upstreamPort, dir, certificate);
    await waitForPort('127.0.0.1', c.port);
    await new Promise((r) => setTimeout(r, 500));
    const idleRssKiB = rssKiB(child.pid!);
    const url = `${certificate ? 'https' : 'http'}://127.0.0.1:${c.port}/`;
    const handshake = certificate ? await negotiated(c.port) : undefined;
    // Warm up connections (and their handshakes), JIT and pools before measuring.
    wrk(url, { threads: 1, connections: CONNECTIONS, seconds: 2, cpu: TOOLS_CPU });
    const r = wrk(url, { threads: 1, connections: CONNECTIONS, seconds: SECONDS, cpu: TOOLS_CPU });
    results.push({ name: c.name, wrk: r, idleRssKiB, tls: handshake });
    const how = handshake ? `  ${handshake.protocol} ${handshake.cipher}` : '';
    process.stdout.write(
      `${c.name.padEnd(16)} ${r.requestsPerSec.toFixed(0).padStart(8)} req/s  p50 ${r.latencyMs.p50.toFixed(2)} ms  p99 ${r.latencyMs.p99.toFixed(2)} ms  idle RSS ${(idleRssKiB / 1024).toFixed(1)} MiB  errors ${r.non2xx + r.socketErrors}${how}\n`,
    );
    await stop(child);
  }
  return results;
}

/** The TLS version and cipher a contender agrees on with an OpenSSL client like wrk's. */
function negotiated(port: number): Promise<{ protocol: string | null; cipher: string }> {
  return new Promise((resolve, reject) => {
    const s = tls.connect({ host: '127.0.0.1', port, rejectUnauthorized: false }, () => {
      resolve({ protocol: s.getProtocol(), cipher: s.getCipher().name });
      s.destroy();
    });
    s.on('error', reject);
  });
}

/** An RSA 2048 server certificate from meshcraft's lab generator (what the labs use). */
async function serverCertificate(dir: string): Promise<ServerCertificate> {
  const pki = await generateLabCertificates(
    { certificates: [{ name: 'bench', server: true }] },
    { caKeyBits: 2048 },
  );
  const cert = pki.files['certs/bench/server.crt']!;
  const key = pki.files['certs/bench/server.key']!;
  return {
    cert: write(dir, 'server.crt', cert),
    key: write(dir, 'server.key', key),
    combined: write(dir, 'server.pem', `${cert}${key}`),
  };
}

main().catch((err: Error) => {
  process.stderr.write(`bench/proxy: ${err.message}\n`);
  process.exit(1);
});
