/**
 * bench/xds: how long a lab edit takes to reach traffic. An in-process control plane (the
 * console's) serves a real meshcraft-proxy over ADS; two demoapps stand behind it. Each update is
 * timed from `setSnapshot()` to the first response through the proxy that shows the new config,
 * with requests sent back to back on one keep-alive connection (~1 ms apart). Two kinds of edit:
 *
 * - route: the route's target flips between two clusters (RDS);
 * - endpoints: the one endpoint of a cluster flips between the two apps (EDS).
 *
 *   pnpm -r --filter @meshcraft/bench... run build && node bench/dist/xds/run.js [--updates 100]
 *
 * Results go to bench/results/xds-<date>.json. Goal: p99 under 250 ms.
 */

import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ControlPlane, type Resources } from '@meshcraft/xds-server';
import { freePort, start, stop, waitForPort } from '../common/processes.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, '../../..');
const PROXY_BIN = path.join(repo, 'packages/proxy/bin/meshcraft-proxy.js');
const DEMOAPP_BIN = path.join(repo, 'packages/demoapp/bin/meshcraft-demoapp.js');

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}

const UPDATES = arg('updates', 100);
const HOST = '127.0.0.1';
const NODE = 'bench-front';
const ADS = { ads: {}, resource_api_version: 'V3' as const };

function endpoint(port: number) {
  return { endpoint: { address: { socket_address: { address: HOST, port_value: port } } } };
}

/** Listener → RDS route → one of two EDS clusters, all over ADS. */
function resources(
  listenerPort: number,
  route: 'blue' | 'green',
  endpoints: Record<string, number>,
): Resources {
  return {
    listeners: [
      {
        name: 'listener_http',
        address: { socket_address: { address: HOST, port_value: listenerPort } },
        filter_chains: [
          {
            filters: [
              {
                name: 'envoy.filters.network.http_connection_manager',
                typed_config: {
                  '@type':
                    'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager',
                  stat_prefix: 'http',
                  rds: { config_source: ADS, route_config_name: 'local_route' },
                  http_filters: [{ name: 'envoy.filters.http.router' }],
                },
              },
            ],
          },
        ],
      },
    ],
    routes: [
      {
        name: 'local_route',
        virtual_hosts: [
          { name: 'local', domains: ['*'], routes: [{ match: { prefix: '/' }, route: { cluster: route } }] },
        ],
      },
    ],
    clusters: ['blue', 'green'].map((name) => ({
      name,
      type: 'EDS' as const,
      eds_cluster_config: { eds_config: ADS },
    })),
    endpoints: Object.entries(endpoints).map(([name, port]) => ({
      cluster_name: name,
      endpoints: [{ lb_endpoints: [endpoint(port)] }],
    })),
  };
}

const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });

function servedBy(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: HOST, port, path: '/', agent }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => {
        body += c.toString();
      });
      res.on('end', () => resolve(/ServerName: (\w+)/.exec(body)?.[1] ?? `status ${res.statusCode}`));
    });
    req.on('error', reject);
  });
}

/** Milliseconds from the update to the first response from `expected`. */
async function timeUntil(port: number, expected: string, update: () => void): Promise<number> {
  const started = performance.now();
  update();
  for (;;) {
    if ((await servedBy(port).catch(() => '')) === expected) return performance.now() - started;
    if (performance.now() - started > 10_000) throw new Error(`no response from ${expected} within 10 s`);
  }
}

function summary(samples: number[]): { median: number; p99: number; max: number; min: number } {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]!;
  const round = (n: number) => Math.round(n * 10) / 10;
  return { median: round(at(0.5)), p99: round(at(0.99)), max: round(sorted.at(-1)!), min: round(sorted[0]!) };
}

async function main(): Promise<void> {
  const [app1, app2, listener, admin, xdsPort] = await Promise.all([1, 2, 3, 4, 5].map(() => freePort()));
  const apps = { webserver01: app1!, webserver02: app2! };
  const children = Object.entries(apps).map(([name, port]) =>
    start(process.execPath, [DEMOAPP_BIN], { env: { HOST, PORT: String(port), SERVER_NAME: name } }),
  );
  const cp = await ControlPlane.start({ host: HOST, grpcPort: xdsPort! });
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-xds-'));
  const bootstrap = path.join(dir, 'front.json');
  fs.writeFileSync(
    bootstrap,
    JSON.stringify({
      node: { id: NODE, cluster: 'bench' },
      admin: { address: { socket_address: { address: HOST, port_value: admin } } },
      dynamic_resources: {
        ads_config: {
          api_type: 'GRPC',
          transport_api_version: 'V3',
          grpc_services: [{ envoy_grpc: { cluster_name: 'xds_cluster' } }],
          set_node_on_first_message_only: true,
        },
        cds_config: ADS,
        lds_config: ADS,
      },
      static_resources: {
        clusters: [
          {
            name: 'xds_cluster',
            type: 'STATIC',
            typed_extension_protocol_options: {
              'envoy.extensions.upstreams.http.v3.HttpProtocolOptions': {
                '@type': 'type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions',
                explicit_http_config: { http2_protocol_options: {} },
              },
            },
            load_assignment: {
              cluster_name: 'xds_cluster',
              endpoints: [{ lb_endpoints: [endpoint(xdsPort!)] }],
            },
          },
        ],
      },
    }),
  );
  const proxy = start(process.execPath, [PROXY_BIN, '-c', bootstrap, '-l', 'warning']);
  try {
    for (const port of Object.values(apps)) await waitForPort(HOST, port);
    let route: 'blue' | 'green' = 'blue';
    let endpoints = { blue: apps.webserver01, green: apps.webserver02 };
    cp.setSnapshot(NODE, resources(listener!, route, endpoints));
    await waitForPort(HOST, listener!);
    const routeFlips: number[] = [];
    const endpointFlips: number[] = [];
    // Warm-up: JIT, connections, the first of everything.
    for (let i = 0; i < 10 + UPDATES; i++) {
      route = route === 'blue' ? 'green' : 'blue';
      const expected = endpoints[route] === apps.webserver01 ? 'webserver01' : 'webserver02';
      const t = await timeUntil(listener!, expected, () =>
        cp.setSnapshot(NODE, resources(listener!, route, endpoints)),
      );
      if (i >= 10) routeFlips.push(t);
    }
    for (let i = 0; i < 10 + UPDATES; i++) {
      endpoints = {
        ...endpoints,
        [route]: endpoints[route] === apps.webserver01 ? apps.webserver02 : apps.webserver01,
      };
      const expected = endpoints[route] === apps.webserver01 ? 'webserver01' : 'webserver02';
      const t = await timeUntil(listener!, expected, () =>
        cp.setSnapshot(NODE, resources(listener!, route, endpoints)),
      );
      if (i >= 10) endpointFlips.push(t);
    }
    const results = {
      updates: UPDATES,
      cpus: os.cpus().length,
      cpuModel: os.cpus()[0]?.model,
      node: process.version,
      route: summary(routeFlips),
      endpoints: summary(endpointFlips),
      samples: { route: routeFlips, endpoints: endpointFlips },
    };
    for (const kind of ['route', 'endpoints'] as const) {
      const s = results[kind];
      process.stdout.write(
        `${kind.padEnd(9)} update → traffic over ${UPDATES}: median ${s.median} ms, p99 ${s.p99} ms, min ${s.min} ms, max ${s.max} ms\n`,
      );
    }
    const outDir = path.join(repo, 'bench/results');
    fs.mkdirSync(outDir, { recursive: true });
    const file = path.join(outDir, `xds-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
    fs.writeFileSync(file, `${JSON.stringify(results, null, 2)}\n`);
    process.stdout.write(`results: ${path.relative(repo, file)}\n`);
  } finally {
    agent.destroy();
    await stop(proxy);
    await Promise.all(children.map(stop));
    await cp.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err: Error) => {
  process.stderr.write(`${err.stack ?? err.message}\n`);
  process.exitCode = 1;
});
