/**
 * What a person can break: bad configs, ports in use, garbage on a listener, upstreams that
 * reset, refuse or hang — each answered the way Envoy answers, and the proxy keeps serving.
 */
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { freePort, PROXY_BIN, REFERENCE_FIXTURES, rawExchange, request, until } from './harness.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'meshcraft-robust-'));
const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
});

function runProxy(args: string[]) {
  return spawnSync(process.execPath, [PROXY_BIN, ...args], { encoding: 'utf8', timeout: 30_000 });
}

function config(listenPort: number, adminPort: number, upstreamPort: number, extraRoute = ''): string {
  return `admin: { address: { socket_address: { address: 127.0.0.1, port_value: ${adminPort} } } }
static_resources:
  listeners:
  - name: listener_0
    address: { socket_address: { address: 127.0.0.1, port_value: ${listenPort} } }
    filter_chains:
    - filters:
      - name: envoy.filters.network.http_connection_manager
        typed_config:
          "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
          stat_prefix: ingress_http
          access_log:
          - name: envoy.access_loggers.stdout
            typed_config:
              "@type": type.googleapis.com/envoy.extensions.access_loggers.stream.v3.StdoutAccessLog
          route_config:
            virtual_hosts:
            - name: all
              domains: ["*"]
              routes:
              - match: { prefix: "/" }
                route: { cluster: upstream${extraRoute} }
          http_filters: [{ name: envoy.filters.http.router }]
  clusters:
  - name: upstream
    connect_timeout: 0.5s
    type: STATIC
    load_assignment:
      cluster_name: upstream
      endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: 127.0.0.1, port_value: ${upstreamPort} } } } }] }]
`;
}

/** Starts the proxy on a config and waits for LIVE; returns what it printed so far on demand. */
async function startProxy(yaml: string) {
  const file = path.join(tmp, `c-${Math.random().toString(36).slice(2)}.yaml`);
  fs.writeFileSync(file, yaml);
  const child = spawn(process.execPath, [PROXY_BIN, '-c', file], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d) => {
    out += d;
  });
  child.stderr.on('data', (d) => {
    out += d;
  });
  cleanups.push(() => child.kill('SIGKILL'));
  const admin = /port_value: (\d+)/.exec(yaml)![1];
  await until('proxy LIVE', async () => (await request(`http://127.0.0.1:${admin}/ready`)).status === 200);
  return { child, output: () => out };
}

/** A TCP server that does something rude with every connection. */
async function rudeUpstream(behaviour: (socket: net.Socket) => void): Promise<number> {
  const server = net.createServer(behaviour);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  cleanups.push(() => server.close());
  return (server.address() as net.AddressInfo).port;
}

describe('invalid configuration', () => {
  it('exits 1 naming the field path and line, and suggests the right field', () => {
    const file = path.join(tmp, 'typo.yaml');
    fs.writeFileSync(file, 'static_resources:\n  clusters:\n  - name: web\n    conect_timeout: 0.25s\n');
    const r = runProxy(['-c', file]);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('typo.yaml:4:5: static_resources.clusters[0].conect_timeout: unknown field');
    expect(r.stderr).toContain("did you mean 'connect_timeout'");
  });

  it('--mode validate accepts the course config unchanged and rejects v2 with the v3 name', () => {
    const ok = runProxy([
      '-c',
      path.join(REFERENCE_FIXTURES, 'day13-lab11-tls-static.front-envoy.yaml'),
      '--mode',
      'validate',
    ]);
    expect(ok.status).toBe(0);
    expect(ok.stdout).toContain("day13-lab11-tls-static.front-envoy.yaml' OK");
    const v2 = path.join(tmp, 'v2.yaml');
    fs.writeFileSync(
      v2,
      `static_resources:
  listeners:
  - address: { socket_address: { address: 0.0.0.0, port_value: 80 } }
    filter_chains:
    - filters:
      - name: envoy.http_connection_manager
        typed_config:
          "@type": type.googleapis.com/envoy.config.filter.network.http_connection_manager.v2.HttpConnectionManager
          stat_prefix: x
`,
    );
    const bad = runProxy(['-c', v2, '--mode', 'validate']);
    expect(bad.status).toBe(1);
    expect(bad.stderr).toContain(
      'envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager',
    );
  });

  it('refuses at start, naming it, a feature it validates but does not implement', () => {
    const file = path.join(tmp, 'jaeger.yaml');
    fs.copyFileSync(path.join(REFERENCE_FIXTURES, 'articles-004-jaeger.front-envoy.yaml'), file);
    const r = runProxy(['-c', file]);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/not implemented by meshcraft-proxy yet/);
  });

  it('says the port is in use when it cannot bind, and exits 1', async () => {
    const holder = net.createServer().listen(0, '127.0.0.1');
    await new Promise((r) => holder.once('listening', r));
    cleanups.push(() => holder.close());
    const busy = (holder.address() as net.AddressInfo).port;
    const file = path.join(tmp, 'busy.yaml');
    fs.writeFileSync(file, config(busy, await freePort(), await freePort()));
    const r = runProxy(['-c', file]);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(`cannot bind '127.0.0.1:${busy}': Address already in use`);
  });
});

describe('bad traffic', () => {
  it('answers garbage with 400 and keeps serving', async () => {
    const upstreamPort = await rudeUpstream((s) => s.end('HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok'));
    const listen = await freePort();
    await startProxy(config(listen, await freePort(), upstreamPort));
    const reply = await rawExchange('127.0.0.1', listen, '\x16\x03\x01 this is not http\r\n\r\n');
    expect(reply).toMatch(/^HTTP\/1\.1 400 Bad Request\r\n/);
    expect(reply).toContain('connection: close');
    const tooOld = await rawExchange('127.0.0.1', listen, 'GET / HTTP/1.0\r\n\r\n');
    expect(tooOld).toMatch(/^HTTP\/1\.1 426 Upgrade Required\r\n/);
    const ok = await request(`http://127.0.0.1:${listen}/`);
    expect(ok.status).toBe(200);
    expect(ok.body).toBe('ok');
  });

  it("gives Envoy's 503 when the upstream resets or refuses, and 504 when it hangs", async () => {
    const reset = await rudeUpstream((s) => s.once('data', () => s.resetAndDestroy()));
    const listen1 = await freePort();
    const p1 = await startProxy(config(listen1, await freePort(), reset));
    const r1 = await request(`http://127.0.0.1:${listen1}/`);
    expect(r1.status).toBe(503);
    expect(r1.body).toBe(
      'upstream connect error or disconnect/reset before headers. reset reason: connection termination',
    );

    const refused = await freePort();
    const listen2 = await freePort();
    await startProxy(config(listen2, await freePort(), refused));
    const r2 = await request(`http://127.0.0.1:${listen2}/`);
    expect(r2.status).toBe(503);
    expect(r2.body).toBe(
      'upstream connect error or disconnect/reset before headers. reset reason: remote connection failure, transport failure reason: delayed connect error: 111',
    );

    const hang = await rudeUpstream(() => {});
    const listen3 = await freePort();
    await startProxy(config(listen3, await freePort(), hang, ', timeout: 0.3s'));
    const started = Date.now();
    const r3 = await request(`http://127.0.0.1:${listen3}/`);
    expect(r3.status).toBe(504);
    expect(r3.body).toBe('upstream request timeout');
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);

    // The access log line (Envoy's default format) carries the response flag.
    await until('the access log line', async () =>
      /"GET \/ HTTP\/1\.1" 503 UC 0 95 \d+ - "-" "-" "[0-9a-f-]{36}" "127\.0\.0\.1:\d+" "127\.0\.0\.1:\d+"/.test(
        p1.output(),
      ),
    );
  });
});

describe('shutdown', () => {
  it('on SIGTERM stops accepting but lets the request in flight finish', async () => {
    const slow = await rudeUpstream((s) =>
      s.once('data', () => setTimeout(() => s.end('HTTP/1.1 200 OK\r\ncontent-length: 4\r\n\r\nslow'), 700)),
    );
    const listen = await freePort();
    const { child } = await startProxy(config(listen, await freePort(), slow));
    const inFlight = request(`http://127.0.0.1:${listen}/`);
    await new Promise((r) => setTimeout(r, 200));
    child.kill('SIGTERM');
    const r = await inFlight;
    expect(r.status).toBe(200);
    expect(r.body).toBe('slow');
    const code = await new Promise((resolve) => child.on('exit', resolve));
    expect(code).toBe(0);
    await expect(request(`http://127.0.0.1:${listen}/`)).rejects.toThrow(/ECONNREFUSED/);
  });
});
