/**
 * `--concurrency 2`: a primary and two worker processes behave as one Envoy with two worker
 * threads. Which worker took a connection shows in Envoy's own per-worker listener stats
 * (`listener.<address>.worker_<n>.downstream_cx_total`); everything else is the aggregate the
 * admin shows for the whole proxy.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import type net from 'node:net';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import YAML from 'yaml';
import {
  AddressMap,
  binomialTolerance,
  fixture,
  frontProxyConfig,
  hostStat,
  Lab,
  PROXY_BIN,
  request,
  sidecarPod,
  speedUpHealthChecks,
  tally,
  until,
} from './harness.js';
import { mountPaths, mvTrick, writeResourceFile } from './xds-support.js';

let lab: Lab | undefined;
const servers: net.Server[] = [];
afterEach(async () => {
  await lab?.close();
  lab = undefined;
  for (const s of servers.splice(0)) s.close();
});

const CONCURRENCY = ['--concurrency', '2'];

/** The value of one stat, from `/stats` (the aggregate of all the processes). */
async function stat(admin: string, name: string): Promise<number> {
  const body = (await request(`${admin}/stats?filter=^${name.replace(/\./g, '\\.')}$`)).body;
  const m = /: (\d+)$/m.exec(body);
  if (!m) throw new Error(`no stat ${name} in ${JSON.stringify(body)}`);
  return Number(m[1]);
}

/** Connections each worker has taken so far, from the per-worker listener stats. */
async function connectionsPerWorker(admin: string): Promise<number[]> {
  const body = (await request(`${admin}/stats?filter=worker_\\d+\\.downstream_cx_total`)).body;
  const counts: number[] = [];
  for (const m of body.matchAll(/\.worker_(\d+)\.downstream_cx_total: (\d+)/g))
    counts[Number(m[1])] = Number(m[2]);
  return counts;
}

/** The worker processes of a primary (Linux: the children of any of its threads). */
function workerPids(primary: number): number[] {
  const dir = `/proc/${primary}/task`;
  return fs
    .readdirSync(dir)
    .flatMap((t) =>
      fs
        .readFileSync(path.join(dir, t, 'children'), 'utf8')
        .trim()
        .split(/\s+/),
    )
    .filter(Boolean)
    .map(Number);
}

/**
 * An upstream answering every request with `status` after `delayMs`, at a lab address and its
 * port 8080.
 */
async function upstream(map: AddressMap, labIp: string, status: number, delayMs = 0): Promise<void> {
  const server = http.createServer((_req, res) => {
    setTimeout(() => {
      res.writeHead(status, { 'content-type': 'text/plain' });
      res.end(`status ${status}\n`);
    }, delayMs);
  });
  await new Promise<void>((resolve) => server.listen(map.port(8080), map.ip(labIp), resolve));
  servers.push(server);
}

function staticCluster(name: string, endpoints: { ip: string; port: number }[], extra = ''): string {
  return `
  - name: ${name}
    connect_timeout: 0.25s
    type: STATIC${extra}
    load_assignment:
      cluster_name: ${name}
      endpoints:
      - lb_endpoints:${endpoints
        .map(
          (e) => `
        - endpoint: { address: { socket_address: { address: ${e.ip}, port_value: ${e.port} } } }`,
        )
        .join('')}`;
}

function proxyConfig(route: string, clusters: string, head = ''): string {
  return `${head}
static_resources:
  listeners:
  - name: listener_0
    address: { socket_address: { address: 0.0.0.0, port_value: 80 } }
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
              routes:
              - match: { prefix: "/" }
                route: ${route}
          http_filters: [{ name: envoy.filters.http.router }]
  clusters:${clusters}
`;
}

describe('--concurrency 2', () => {
  it('serves on both workers, and /stats, /stats/prometheus and /clusters count every request once', async () => {
    const map = new AddressMap('172.31.61.', '127.61.1.');
    await map.allocate(80, 8080, 9901);
    lab = new Lab(map);
    await lab.demoapp({ ip: '172.31.61.11', port: 8080, serverName: 'red' });
    await lab.demoapp({ ip: '172.31.61.12', port: 8080, serverName: 'blue' });
    const config = proxyConfig(
      '{ cluster: web }',
      staticCluster('web', [
        { ip: '172.31.61.11', port: 8080 },
        { ip: '172.31.61.12', port: 8080 },
      ]),
    );
    const proxy = await lab.proxy(config, { self: '172.31.61.2', args: CONCURRENCY });
    const url = `http://${map.ip('172.31.61.2')}:${map.port(80)}/`;
    const n = 40;
    const served = await tally(url, n);
    expect((served.get('red') ?? 0) + (served.get('blue') ?? 0)).toBe(n);

    const perWorker = await connectionsPerWorker(proxy.admin);
    expect(perWorker).toHaveLength(2);
    expect(perWorker.every((c) => c > 0)).toBe(true);
    expect(perWorker[0]! + perWorker[1]!).toBe(n);
    expect(
      await stat(proxy.admin, `listener.${map.ip('172.31.61.2')}_${map.port(80)}.downstream_cx_total`),
    ).toBe(n);
    expect(await stat(proxy.admin, 'http.ingress_http.downstream_rq_total')).toBe(n);
    expect(await stat(proxy.admin, 'cluster.web.upstream_rq_total')).toBe(n);
    expect(await stat(proxy.admin, 'cluster.web.upstream_rq_200')).toBe(n);
    // Config events happen in every process, but count once, as in one Envoy.
    expect(await stat(proxy.admin, 'cluster_manager.cluster_added')).toBe(1);
    expect(await stat(proxy.admin, 'listener_manager.listener_added')).toBe(1);
    expect(await stat(proxy.admin, 'cluster.web.membership_healthy')).toBe(2);
    expect(await stat(proxy.admin, 'server.concurrency')).toBe(2);

    const prometheus = (await request(`${proxy.admin}/stats/prometheus`)).body;
    expect(prometheus).toContain(`envoy_cluster_upstream_rq_total{envoy_cluster_name="web"} ${n}`);
    expect(prometheus).toContain(
      `envoy_http_downstream_rq_total{envoy_http_conn_manager_prefix="ingress_http"} ${n}`,
    );

    const hostKey = (ip: string) => `${map.ip(ip)}:${map.port(8080)}`;
    const red = Number(await hostStat(proxy.admin, 'web', hostKey('172.31.61.11'), 'rq_total'));
    const blue = Number(await hostStat(proxy.admin, 'web', hostKey('172.31.61.12'), 'rq_total'));
    expect([red, blue]).toEqual([served.get('red'), served.get('blue')]);
    const json = JSON.parse((await request(`${proxy.admin}/clusters?format=json`)).body) as {
      cluster_statuses: { name: string; host_statuses: { stats: { name: string; value?: string }[] }[] }[];
    };
    const rqTotals = json.cluster_statuses[0]!.host_statuses.map((h) =>
      Number(h.stats.find((s) => s.name === 'rq_total')?.value ?? 0),
    );
    expect(rqTotals[0]! + rqTotals[1]!).toBe(n);

    const info = JSON.parse((await request(`${proxy.admin}/server_info`)).body);
    expect(info.command_line_options.concurrency).toBe(2);
    expect(info.state).toBe('LIVE');
  });

  it('a host failing its health check gets no traffic from either worker', async () => {
    const map = new AddressMap('172.31.18.', '127.61.2.');
    await map.allocate(80, 8080, 9901);
    lab = new Lab(map);
    await sidecarPod(lab, { ip: '172.31.18.11', hostname: 'red' });
    await sidecarPod(lab, { ip: '172.31.18.12', hostname: 'blue' });
    lab.alias('myservice', '172.31.18.11', '172.31.18.12');
    const front = await lab.proxy(
      speedUpHealthChecks(frontProxyConfig('day14a-lab06-health-check-http.clusters.yaml'), 10),
      { self: '172.31.18.2', name: 'front-envoy', args: CONCURRENCY },
    );
    const url = `http://${map.ip('172.31.18.2')}:${map.port(80)}/`;
    const redKey = `${map.ip('172.31.18.11')}:${map.port(80)}`;
    const served = await tally(url, 8);
    expect(served.get('red')).toBeGreaterThan(0);
    expect(served.get('blue')).toBeGreaterThan(0);

    await request(`http://${map.ip('172.31.18.11')}:${map.port(80)}/livez`, {
      method: 'POST',
      body: 'livez=FAIL',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    // The primary checks at the traffic interval once it learns the workers sent traffic; the
    // check already scheduled at the no-traffic interval (6 s here) may run first.
    await until(
      'red to fail its health check',
      async () =>
        (await hostStat(front.admin, 'web_cluster_01', redKey, 'health_flags')) === '/failed_active_hc',
      15_000,
    );
    const redBefore = Number(await hostStat(front.admin, 'web_cluster_01', redKey, 'rq_total'));
    const workersBefore = await connectionsPerWorker(front.admin);
    expect(await tally(url, 20)).toEqual(new Map([['blue', 20]]));
    const workersAfter = await connectionsPerWorker(front.admin);
    expect(workersAfter.map((c, i) => c - workersBefore[i]!).every((d) => d > 0)).toBe(true);
    expect(Number(await hostStat(front.admin, 'web_cluster_01', redKey, 'rq_total'))).toBe(redBefore);
    // The checks run once, in the primary: every worker's hosts carry its result.
    expect(await stat(front.admin, 'cluster.web_cluster_01.membership_healthy')).toBe(1);
    expect(await stat(front.admin, 'cluster.web_cluster_01.health_check.healthy')).toBe(1);
  });

  it('counts consecutive 5xx across workers: an outlier is ejected after the configured count', async () => {
    const map = new AddressMap('172.31.62.', '127.61.3.');
    await map.allocate(80, 8080, 9901);
    lab = new Lab(map);
    await upstream(map, '172.31.62.11', 503);
    const config = proxyConfig(
      '{ cluster: flaky }',
      staticCluster(
        'flaky',
        [{ ip: '172.31.62.11', port: 8080 }],
        `
    outlier_detection:
      consecutive_5xx: 3
      interval: 30s
      base_ejection_time: 30s
      max_ejection_percent: 100
    # No panic routing to the ejected host when it is the only one.
    common_lb_config: { healthy_panic_threshold: { value: 0 } }`,
      ),
    );
    const proxy = await lab.proxy(config, { self: '172.31.62.2', args: CONCURRENCY });
    const url = `http://${map.ip('172.31.62.2')}:${map.port(80)}/`;
    const host = `${map.ip('172.31.62.11')}:${map.port(8080)}`;
    for (let i = 0; i < 3; i++) expect((await request(url)).status).toBe(503);
    expect((await connectionsPerWorker(proxy.admin)).every((c) => c > 0)).toBe(true);
    await until(
      'the third 5xx to eject the host',
      async () => (await hostStat(proxy.admin, 'flaky', host, 'health_flags')) === '/failed_outlier_check',
      5000,
    );
    expect(
      await stat(proxy.admin, 'cluster.flaky.outlier_detection.ejections_enforced_consecutive_5xx'),
    ).toBe(1);
    expect(await stat(proxy.admin, 'cluster.flaky.outlier_detection.ejections_active')).toBe(1);
    for (let i = 0; i < 6; i++) {
      const r = await request(url);
      expect(r.status).toBe(503);
      expect(r.body).toBe('no healthy upstream');
    }
    expect(await hostStat(proxy.admin, 'flaky', host, 'rq_total')).toBe('3');
  });

  it('/runtime_modify moves a weighted split on both workers', async () => {
    const map = new AddressMap('172.31.63.', '127.61.4.');
    await map.allocate(80, 8080, 9901);
    lab = new Lab(map);
    await lab.demoapp({ ip: '172.31.63.11', port: 8080, serverName: 'v1' });
    await lab.demoapp({ ip: '172.31.63.12', port: 8080, serverName: 'v2' });
    const config = proxyConfig(
      `
                  weighted_clusters:
                    runtime_key_prefix: routing.traffic_split.demoapp
                    clusters:
                    - { name: demoapp_v1, weight: 100 }
                    - { name: demoapp_v2, weight: 0 }`,
      staticCluster('demoapp_v1', [{ ip: '172.31.63.11', port: 8080 }]) +
        staticCluster('demoapp_v2', [{ ip: '172.31.63.12', port: 8080 }]),
      `layered_runtime:
  layers:
  - name: admin_layer_0
    admin_layer: {}`,
    );
    const proxy = await lab.proxy(config, { self: '172.31.63.2', args: CONCURRENCY });
    const url = `http://${map.ip('172.31.63.2')}:${map.port(80)}/hostname`;
    expect(await tally(url, 10)).toEqual(new Map([['v1', 10]]));
    const modify = (v1: number, v2: number) =>
      request(
        `${proxy.admin}/runtime_modify?routing.traffic_split.demoapp.demoapp_v1=${v1}&routing.traffic_split.demoapp.demoapp_v2=${v2}`,
        { method: 'POST' },
      );
    expect((await modify(0, 100)).status).toBe(200);
    const before = await connectionsPerWorker(proxy.admin);
    expect(await tally(url, 20)).toEqual(new Map([['v2', 20]]));
    const after = await connectionsPerWorker(proxy.admin);
    expect(after.map((c, i) => c - before[i]!).every((d) => d > 0)).toBe(true);

    await modify(20, 80);
    const n = 300;
    const counts = await tally(url, n);
    const v1 = counts.get('v1') ?? 0;
    expect(Math.abs(v1 - n * 0.2)).toBeLessThan(binomialTolerance(n, 0.2));
    expect(v1 + (counts.get('v2') ?? 0)).toBe(n);
    const runtime = JSON.parse((await request(`${proxy.admin}/runtime`)).body);
    expect(runtime.entries['routing.traffic_split.demoapp.demoapp_v1'].final_value).toBe('20');

    // Empty values remove the overrides everywhere: the config's 100/0 again.
    await request(
      `${proxy.admin}/runtime_modify?routing.traffic_split.demoapp.demoapp_v1=&routing.traffic_split.demoapp.demoapp_v2=`,
      { method: 'POST' },
    );
    expect(await tally(url, 10)).toEqual(new Map([['v1', 10]]));
  });

  it('on SIGTERM both workers stop accepting and finish the requests in flight', async () => {
    const map = new AddressMap('172.31.64.', '127.61.5.');
    await map.allocate(80, 8080, 9901);
    lab = new Lab(map);
    // Slow enough that both requests are still in flight when the admin is asked, on a busy machine too.
    await upstream(map, '172.31.64.11', 200, 3000);
    const proxy = await lab.proxy(
      proxyConfig('{ cluster: slow }', staticCluster('slow', [{ ip: '172.31.64.11', port: 8080 }])),
      {
        self: '172.31.64.2',
        args: CONCURRENCY,
      },
    );
    const url = `http://${map.ip('172.31.64.2')}:${map.port(80)}/`;
    const listener = `listener.${map.ip('172.31.64.2')}_${map.port(80)}`;
    const inFlight = [request(url), request(url)];
    await until('a request in flight on each worker', async () => {
      const active = await Promise.all(
        [0, 1].map((w) => stat(proxy.admin, `${listener}.worker_${w}.downstream_cx_active`)),
      );
      return active.every((a) => a === 1);
    });
    const exited = new Promise<number | null>((resolve) => proxy.process.once('exit', resolve));
    proxy.process.kill('SIGTERM');
    for (const r of await Promise.all(inFlight)) {
      expect(r.status).toBe(200);
      expect(r.body).toBe('status 200\n');
    }
    expect(await exited).toBe(0);
    await expect(request(url)).rejects.toThrow(/ECONNREFUSED/);
    expect(proxy.logs()).toMatch(/shutting down: draining the workers/);
  });

  it('replaces a worker that dies, keeping what it counted', async () => {
    const map = new AddressMap('172.31.65.', '127.61.6.');
    await map.allocate(80, 8080, 9901);
    lab = new Lab(map);
    await lab.demoapp({ ip: '172.31.65.11', port: 8080, serverName: 'red' });
    const proxy = await lab.proxy(
      proxyConfig('{ cluster: web }', staticCluster('web', [{ ip: '172.31.65.11', port: 8080 }])),
      {
        self: '172.31.65.2',
        args: CONCURRENCY,
      },
    );
    const url = `http://${map.ip('172.31.65.2')}:${map.port(80)}/`;
    await tally(url, 10);
    const before = await connectionsPerWorker(proxy.admin);
    expect(before.every((c) => c > 0)).toBe(true);
    const pids = workerPids(proxy.process.pid!);
    expect(pids).toHaveLength(2);
    process.kill(pids[0]!, 'SIGKILL');
    await until('a new worker in its place', async () => {
      const now = workerPids(proxy.process.pid!);
      return (
        now.length === 2 &&
        !now.includes(pids[0]!) &&
        /worker \d \(pid \d+\) is serving[\s\S]*exited \(SIGKILL\); starting a new one[\s\S]*is serving/.test(
          proxy.logs(),
        )
      );
    });
    // The dead worker's counts stay in the aggregate (as far as the last look at it).
    expect(await stat(proxy.admin, 'http.ingress_http.downstream_rq_total')).toBe(10);
    expect(await connectionsPerWorker(proxy.admin)).toEqual(before);
    expect(await tally(url, 10)).toEqual(new Map([['red', 10]]));
    const after = await connectionsPerWorker(proxy.admin);
    expect(after.map((c, i) => c - before[i]!).every((d) => d > 0)).toBe(true);
    expect(await stat(proxy.admin, 'http.ingress_http.downstream_rq_total')).toBe(20);
  });

  it('xDS: one subscription in the primary; a listener and a cluster added over LDS and CDS serve on both workers', async () => {
    const map = new AddressMap('172.31.12.', '127.61.8.');
    await map.allocate(80, 8080, 9901);
    lab = new Lab(map);
    await sidecarPod(lab, { ip: '172.31.12.11', hostname: 'webserver01' });
    await sidecarPod(lab, { ip: '172.31.12.12', hostname: 'webserver02' });
    lab.alias('webserver01', '172.31.12.11');
    lab.alias('webserver02', '172.31.12.12');
    const confDir = path.join(lab.dir, 'conf.d');
    const lds = path.join(confDir, 'lds.yaml');
    const cds = path.join(confDir, 'cds.yaml');
    const self = '172.31.12.2';
    writeResourceFile(map, lds, fixture('day14a-lab02-lds-cds-filesystem.lds.yaml'), self);
    writeResourceFile(map, cds, fixture('day14a-lab02-lds-cds-filesystem.cds.yaml'), self);
    const proxy = await lab.proxy(
      mountPaths(fixture('day14a-lab02-lds-cds-filesystem.front-envoy.yaml'), {
        '/etc/envoy/conf.d': confDir,
      }),
      { self, name: 'front-envoy', args: CONCURRENCY },
    );
    const front = map.ip(self);
    const served = await tally(`http://${front}:${map.port(80)}/`, 8);
    expect([...served.keys()].sort()).toEqual(['webserver01', 'webserver02']);

    // A second listener on 8080 routed to a new cluster of webserver01 only.
    const ldsDoc = YAML.parse(fixture('day14a-lab02-lds-cds-filesystem.lds.yaml')) as {
      resources: unknown[];
    };
    const second = structuredClone(ldsDoc.resources[0]) as {
      name: string;
      address: { socket_address: { port_value: number } };
      filter_chains: {
        filters: {
          typed_config: { route_config: { virtual_hosts: { routes: { route: { cluster: string } }[] }[] } };
        };
      }[];
    };
    second.name = 'listener_http_1';
    second.address.socket_address.port_value = 8080;
    second.filter_chains[0]!.filters.typed_config.route_config.virtual_hosts[0]!.routes[0]!.route.cluster =
      'webcluster02';
    ldsDoc.resources.push(second);
    const cdsDoc = YAML.parse(fixture('day14a-lab02-lds-cds-filesystem.cds.yaml')) as {
      resources: unknown[];
    };
    cdsDoc.resources.push(
      ...(YAML.parse(fixture('day14a-lab02-lds-cds-filesystem.cds-appended-entry.yaml')) as unknown[]),
    );
    writeResourceFile(map, cds, YAML.stringify(cdsDoc), self);
    mvTrick(cds);
    await until('webcluster02', async () =>
      (await request(`${proxy.admin}/clusters`)).body.includes('webcluster02::'),
    );
    writeResourceFile(map, lds, YAML.stringify(ldsDoc), self);
    mvTrick(lds);
    await until('listener_http_1 on both workers', async () => {
      const listeners = (await request(`${proxy.admin}/listeners`)).body;
      return listeners.includes(`listener_http_1::${front}:${map.port(8080)}`);
    });
    const url8080 = `http://${front}:${map.port(8080)}/`;
    // Each worker takes over its listener in its own time: wait until both serve it.
    await until('both workers to serve 8080', async () => {
      await tally(url8080, 2);
      const body = (await request(`${proxy.admin}/stats?filter=_${map.port(8080)}\\.worker_`)).body;
      return [...body.matchAll(/downstream_cx_total: (\d+)/g)].filter((m) => Number(m[1]) > 0).length === 2;
    });
    expect(await tally(url8080, 10)).toEqual(new Map([['webserver01', 10]]));
    // One subscription per resource type in the primary: each update counted once.
    expect(await stat(proxy.admin, 'listener_manager.lds.update_success')).toBe(2);
    expect(await stat(proxy.admin, 'cluster_manager.cds.update_success')).toBe(2);
    expect(await stat(proxy.admin, 'cluster_manager.cluster_added')).toBe(2);
    expect(await stat(proxy.admin, 'listener_manager.total_listeners_active')).toBe(2);
  });

  it('a config error exits 1 before any worker starts; a port in use fails start-up as with one process', async () => {
    const dir = fs.mkdtempSync(path.join(fs.realpathSync('/tmp'), 'meshcraft-concurrency-'));
    const bad = path.join(dir, 'bad.yaml');
    fs.writeFileSync(bad, 'static_resources: { clusters: [{ name: x, connect_timeout: soon }] }\n');
    const r = spawnSync(process.execPath, [PROXY_BIN, '-c', bad, ...CONCURRENCY], { encoding: 'utf8' });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/error initializing configuration .*connect_timeout/);
    expect(r.stderr).not.toMatch(/worker/);

    const map = new AddressMap('172.31.66.', '127.61.7.');
    await map.allocate(80, 8080, 9901);
    // Something else holds the listener's port.
    await upstream(map, '172.31.66.2', 200);
    const config = path.join(dir, 'taken.yaml');
    fs.writeFileSync(
      config,
      map.remapConfig(
        `admin: { address: { socket_address: { address: 0.0.0.0, port_value: 9901 } } }
${proxyConfig('{ cluster: ok }', staticCluster('ok', [{ ip: '172.31.66.11', port: 8080 }])).replace('port_value: 80', 'port_value: 8080')}`,
        map.ip('172.31.66.2'),
      ),
    );
    const p = spawnSync(process.execPath, [PROXY_BIN, '-c', config, ...CONCURRENCY], {
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(p.status).toBe(1);
    expect(p.stderr).toMatch(/meshcraft-proxy: cannot bind '127\.61\.7\.2:\d+': Address already in use/);
    fs.rmSync(dir, { recursive: true, force: true });
  });
});
