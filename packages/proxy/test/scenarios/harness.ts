/**
 * Scenario-test harness: runs the real meshcraft-proxy and meshcraft-demoapp programs (the
 * built bins, as a user runs them) on loopback, one 127.x.y.z address per "container", so the
 * course's labs run with their own configs and only addresses and ports mapped.
 *
 * A lab on 172.31.N.0/24 maps to 127.31.N.0/24 (same last octet); every container port of the
 * lab (80, 8080, 9901, ...) maps to one free unprivileged port used lab-wide, so shared DNS
 * aliases (`myservice:80`) still fan out; `127.0.0.1` inside a sidecar's config means its own
 * network namespace, i.e. its own address.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import YAML from 'yaml';

const here = path.dirname(fileURLToPath(import.meta.url));
export const PROXY_BIN = path.resolve(here, '../../bin/meshcraft-proxy.js');
export const DEMOAPP_BIN = path.resolve(here, '../../../demoapp/bin/meshcraft-demoapp.js');
export const REFERENCE_FIXTURES = path.resolve(here, '../fixtures/reference');

/** A port that is free on 127.0.0.1 right now (and in practice on every loopback address). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

export interface Response {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** One request on a fresh connection, as `curl` makes it. */
export function request(
  url: string,
  options: { method?: string; headers?: Record<string, string>; body?: string; localAddress?: string } = {},
): Promise<Response> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      url,
      {
        method: options.method ?? 'GET',
        headers: options.headers,
        agent: false,
        localAddress: options.localAddress,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks).toString('utf8'),
          }),
        );
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.setTimeout(20_000, () => req.destroy(new Error(`request to ${url} timed out`)));
    req.end(options.body);
  });
}

/** Raw bytes in, raw bytes out (for malformed-input tests). */
export function rawExchange(host: string, port: number, data: string, waitMs = 2000): Promise<string> {
  return new Promise((resolve, reject) => {
    const sock = net.connect(port, host, () => sock.write(data));
    const chunks: Buffer[] = [];
    sock.on('data', (c) => chunks.push(c));
    const timer = setTimeout(() => {
      sock.destroy();
      resolve(Buffer.concat(chunks).toString('latin1'));
    }, waitMs);
    sock.on('close', () => {
      clearTimeout(timer);
      resolve(Buffer.concat(chunks).toString('latin1'));
    });
    sock.on('error', reject);
  });
}

/** Thrown from an `until` condition to stop waiting at once (e.g. the process being waited for exited). */
export class GiveUp extends Error {}

export async function until<T>(
  what: string,
  fn: () => Promise<T | undefined | false>,
  timeoutMs = 30_000,
  everyMs = 100,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const v = await fn();
      if (v !== undefined && v !== false) return v;
    } catch (err) {
      if (err instanceof GiveUp) throw err;
      last = err;
    }
    await new Promise((r) => setTimeout(r, everyMs));
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
}

/**
 * Tolerance for an observed count of a category with probability `p` in `n` independent draws:
 * 4.5 standard deviations of the binomial, so a correct implementation fails about once in
 * 150,000 runs while a wrong split (e.g. 1:1 instead of 1:3) is far outside.
 */
export function binomialTolerance(n: number, p: number): number {
  return 4.5 * Math.sqrt(n * p * (1 - p));
}

export interface ProxyHandle {
  /** `http://<ip>:<port>` of the admin interface. */
  admin: string;
  /** Everything the process wrote to stderr so far (logs). */
  logs(): string;
  process: ChildProcess;
  configFile: string;
}

/** Maps one lab's addresses and ports to loopback. */
export class AddressMap {
  readonly ports = new Map<number, number>();
  constructor(
    /** e.g. `172.31.18.` */
    readonly labPrefix: string,
    /** e.g. `127.31.18.` */
    readonly loopbackPrefix: string,
  ) {}

  ip(labIp: string): string {
    return labIp.startsWith(this.labPrefix)
      ? this.loopbackPrefix + labIp.slice(this.labPrefix.length)
      : labIp;
  }

  async allocate(...labPorts: number[]): Promise<void> {
    for (const p of labPorts) if (!this.ports.has(p)) this.ports.set(p, await freePort());
  }

  port(labPort: number): number {
    const p = this.ports.get(labPort);
    if (p === undefined) throw new Error(`lab port ${labPort} was not allocated`);
    return p;
  }

  /**
   * Rewrites an Envoy config for loopback: every socket_address's address and port; `self` is
   * the address of the container running this config (for 127.0.0.1 and 0.0.0.0).
   */
  remapConfig(yamlText: string, self: string): string {
    const doc = YAML.parse(yamlText) as unknown;
    const walk = (v: unknown): void => {
      if (Array.isArray(v)) v.forEach(walk);
      else if (v && typeof v === 'object') {
        const o = v as Record<string, unknown>;
        if ('socket_address' in o && o.socket_address && typeof o.socket_address === 'object') {
          const sa = o.socket_address as { address?: string; port_value?: number | string };
          if (sa.address === '127.0.0.1' || sa.address === '0.0.0.0') sa.address = self;
          else if (sa.address) sa.address = this.ip(sa.address);
          if (sa.port_value !== undefined) sa.port_value = this.port(Number(sa.port_value));
        }
        for (const child of Object.values(o)) walk(child);
      }
    };
    walk(doc);
    return YAML.stringify(doc);
  }
}

export class Lab {
  readonly dir = fs.mkdtempSync(path.join(os.tmpdir(), 'meshcraft-scenario-'));
  private readonly children: ChildProcess[] = [];
  private hostsLines: string[] = [];
  readonly hostsFile = path.join(this.dir, 'hosts');

  constructor(readonly map: AddressMap) {
    fs.writeFileSync(this.hostsFile, '');
  }

  /** A DNS name (compose service name or alias) for lab IPs, as Docker's DNS would answer. */
  alias(name: string, ...labIps: string[]): void {
    for (const ip of labIps) this.hostsLines.push(`${this.map.ip(ip)} ${name}`);
    fs.writeFileSync(this.hostsFile, `${this.hostsLines.join('\n')}\n`);
  }

  /**
   * Starts meshcraft-demoapp at a lab address (its container port mapped) and waits for it; with
   * `udpPort` (a lab port, mapped too) it also listens for UDP datagrams.
   */
  async demoapp(o: {
    ip: string;
    port: number;
    serverName: string;
    version?: string;
    serviceName?: string;
    udpPort?: number;
  }): Promise<{ process: ChildProcess; stdout(): string }> {
    const host = this.map.ip(o.ip);
    const port = this.map.port(o.port);
    const child = spawn(process.execPath, [DEMOAPP_BIN], {
      env: {
        ...process.env,
        HOST: host,
        PORT: String(port),
        SERVER_NAME: o.serverName,
        SERVER_IP: o.ip,
        VERSION: o.version ?? 'v1.0',
        ...(o.serviceName ? { SERVICE_NAME: o.serviceName } : {}),
        ...(o.udpPort !== undefined ? { UDP_PORT: String(this.map.port(o.udpPort)) } : {}),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.children.push(child);
    let stdout = '';
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
    });
    await until(
      `demoapp ${o.serverName} on ${host}:${port}`,
      async () => (await request(`http://${host}:${port}/livez`)).status === 200,
    );
    return { process: child, stdout: () => stdout };
  }

  /** Starts meshcraft-proxy with a (remapped) config, waits for `/ready` to say LIVE. */
  async proxy(
    configYaml: string,
    o: {
      self: string;
      args?: string[];
      name?: string;
      /** Volume mounts: a container directory (e.g. `/etc/envoy/certs/`) → the host directory standing in for it. */
      mounts?: Record<string, string>;
    },
  ): Promise<ProxyHandle> {
    const self = this.map.ip(o.self);
    const configFile = path.join(this.dir, `${o.name ?? o.self}.yaml`);
    const parsed = YAML.parse(configYaml) as { admin?: unknown };
    // Labs without an admin block still get one: the harness reads /ready to know the proxy is up.
    const withAdmin = parsed.admin
      ? configYaml
      : `${configYaml}\nadmin:\n  address:\n    socket_address: { address: 0.0.0.0, port_value: 9901 }\n`;
    if (!parsed.admin) await this.map.allocate(9901);
    fs.writeFileSync(configFile, mountFiles(this.map.remapConfig(withAdmin, self), o.mounts ?? {}));
    let stderr = '';
    const child = spawn(
      process.execPath,
      [PROXY_BIN, '-c', configFile, '--dns-hosts', this.hostsFile, ...(o.args ?? [])],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    this.children.push(child);
    child.stdout.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    const doc = YAML.parse(fs.readFileSync(configFile, 'utf8')) as {
      admin?: { address?: { socket_address?: { address: string; port_value: number } } };
    };
    const sa = doc.admin!.address!.socket_address!;
    const admin = `http://${sa.address}:${sa.port_value}`;
    let exited: number | null = null;
    child.on('exit', (code) => {
      exited = code ?? -1;
    });
    await until(
      `proxy ${o.name ?? o.self} to be LIVE`,
      async () => {
        if (exited !== null) throw new GiveUp(`proxy exited with ${exited}:\n${stderr}`);
        return (await request(`${admin}/ready`)).body.trim() === 'LIVE';
      },
      30_000,
    ).catch((err: Error) => {
      throw new Error(`${err.message}\n--- proxy output ---\n${stderr}`);
    });
    return { admin, logs: () => stderr, process: child, configFile };
  }

  async close(): Promise<void> {
    await Promise.all(
      this.children.map(
        (c) =>
          new Promise<void>((resolve) => {
            if (c.exitCode !== null || c.signalCode !== null) return resolve();
            c.once('exit', () => resolve());
            c.kill('SIGKILL');
          }),
      ),
    );
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Rewrites every DataSource `filename` under a mounted container directory to its host directory. */
function mountFiles(yamlText: string, mounts: Record<string, string>): string {
  const doc = YAML.parse(yamlText) as unknown;
  const walk = (v: unknown): void => {
    if (Array.isArray(v)) v.forEach(walk);
    else if (v && typeof v === 'object') {
      const o = v as Record<string, unknown>;
      const file = o.filename;
      const mount =
        typeof file === 'string' ? Object.keys(mounts).find((dir) => file.startsWith(dir)) : undefined;
      if (mount) o.filename = path.join(mounts[mount]!, (file as string).slice(mount.length));
      for (const child of Object.values(o)) walk(child);
    }
  };
  walk(doc);
  return YAML.stringify(doc);
}

/** Reads a reference-lab fixture (the course's config, verbatim). */
export function fixture(name: string): string {
  return fs.readFileSync(path.join(REFERENCE_FIXTURES, name), 'utf8');
}

/** Counts which `ServerName` answered each of `n` requests (one request per iteration, unlike the course's script). */
export async function tally(
  url: string,
  n: number,
  options: Parameters<typeof request>[1] = {},
): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  for (let i = 0; i < n; i++) {
    const r = await request(url, options);
    const m = /ServerName: ([^,\n]+)/.exec(r.body) ?? /\(service ([^)]+)\)/.exec(r.body);
    const key = m ? m[1]! : `status ${r.status}`;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return counts;
}

/**
 * The front proxy of the course's day-14 labs: the admin block they share, the static listener
 * they describe (labs-day14a §1.5: `listener_0` on :80, one virtual host `webservice` for every
 * domain, `/` → `web_cluster_01`, with the route options a lab quotes such as a hash policy), and
 * the lab's quoted clusters.
 */
export function frontProxyConfig(clustersFixture: string): string {
  const admin = YAML.parse(fixture('day14a-common-front-proxy.admin.yaml')) as Record<string, unknown>;
  // Some labs are quoted as excerpts separated by "..." (YAML document ends): the route of the
  // virtual host (e.g. its hash_policy) in one, the clusters in another.
  const docs = YAML.parseAllDocuments(fixture(clustersFixture)).map(
    (d) => d.toJS() as Record<string, unknown>,
  );
  const clusters = docs.find((d) => 'clusters' in d) as { clusters: unknown[] };
  const routes = docs.find((d) => 'routes' in d) as
    | { routes: { route: Record<string, unknown> }[] }
    | undefined;
  const { cluster: _quotedCluster, ...routeExtra } = routes?.routes[0]?.route ?? {};
  return YAML.stringify({
    ...admin,
    static_resources: {
      listeners: [
        {
          name: 'listener_0',
          address: { socket_address: { address: '0.0.0.0', port_value: 80 } },
          filter_chains: [
            {
              filters: [
                {
                  name: 'envoy.filters.network.http_connection_manager',
                  typed_config: {
                    '@type':
                      'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager',
                    stat_prefix: 'ingress_http',
                    codec_type: 'AUTO',
                    route_config: {
                      name: 'local_route',
                      virtual_hosts: [
                        {
                          name: 'webservice',
                          domains: ['*'],
                          routes: [
                            { match: { prefix: '/' }, route: { cluster: 'web_cluster_01', ...routeExtra } },
                          ],
                        },
                      ],
                    },
                    http_filters: [{ name: 'envoy.filters.http.router' }],
                  },
                },
              ],
            },
          ],
        },
      ],
      clusters: clusters.clusters,
    },
  });
}

/**
 * Divides every health-check duration by `factor` so a lab's 10 s cadence runs in a test in
 * 1/factor of the time; thresholds and everything else stay the course's.
 */
export function speedUpHealthChecks(yamlText: string, factor: number): string {
  const doc = YAML.parse(yamlText) as {
    static_resources?: { clusters?: { health_checks?: Record<string, unknown>[] }[] };
  };
  for (const c of doc.static_resources?.clusters ?? []) {
    for (const hc of c.health_checks ?? []) {
      for (const key of [
        'timeout',
        'interval',
        'no_traffic_interval',
        'unhealthy_interval',
        'healthy_edge_interval',
        'unhealthy_edge_interval',
      ]) {
        const v = hc[key];
        if (typeof v === 'string' && v.endsWith('s')) hc[key] = `${Number(v.slice(0, -1)) / factor}s`;
      }
      // Envoy's default no-traffic interval (60 s) scaled the same way.
      hc.no_traffic_interval ??= `${60 / factor}s`;
    }
  }
  return YAML.stringify(doc);
}

/**
 * A "pod" of the day-14 labs (pattern A): the sidecar proxy owns the network namespace at
 * `ip` with the hostname the app reports, the app listens on 127.0.0.1:8080 inside it.
 */
export async function sidecarPod(
  lab: Lab,
  o: { ip: string; hostname: string; version?: string },
): Promise<ProxyHandle> {
  await lab.demoapp({ ip: o.ip, port: 8080, serverName: o.hostname, version: o.version });
  return lab.proxy(fixture('day14a-common-sidecar.envoy.yaml'), {
    self: o.ip,
    name: `${o.hostname}-sidecar`,
  });
}

/** One of `/clusters`' lines for a host: `cluster::ip:port::key::value` → value. */
export async function hostStat(
  admin: string,
  cluster: string,
  hostKey: string,
  stat: string,
): Promise<string | undefined> {
  const text = (await request(`${admin}/clusters`)).body;
  const line = text.split('\n').find((l) => l.startsWith(`${cluster}::${hostKey}::${stat}::`));
  return line?.split('::')[3];
}
