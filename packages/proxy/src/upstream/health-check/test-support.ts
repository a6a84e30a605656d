/**
 * Fixtures for the health-check tests: controllable upstream servers on 127.0.0.1 and a checker
 * wired to a priority set, a stats store and a captured `hc` log.
 */
import http from 'node:http';
import net from 'node:net';
import { LogRegistry } from '../../common/logger.js';
import type { HealthCheck } from '../../config/types.js';
import { Store } from '../../stats/store.js';
import { Host, PrioritySet } from '../host.js';
import type { HealthChecker } from './base.js';
import { createHealthChecker } from './index.js';

export interface RecordedRequest {
  method: string;
  url: string;
  rawHeaders: string[];
  body: string;
}

/** An HTTP upstream whose answer the test changes: status, headers, or no answer at all. */
export class TestHttpServer {
  status = 200;
  headers: Record<string, string> = {};
  body = 'OK';
  /** When false, requests are read but never answered (for timeouts). */
  respond = true;
  readonly requests: RecordedRequest[] = [];
  connections = 0;
  private readonly sockets = new Set<net.Socket>();
  private readonly server: http.Server;
  port = 0;

  constructor() {
    this.server = http.createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => {
        body += c.toString();
      });
      req.on('end', () => {
        this.requests.push({
          method: req.method ?? '',
          url: req.url ?? '',
          rawHeaders: req.rawHeaders,
          body,
        });
        if (!this.respond) return;
        res.writeHead(this.status, { 'content-type': 'text/plain', ...this.headers });
        res.end(this.body);
      });
    });
    this.server.on('connection', (s: net.Socket) => {
      this.connections++;
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
  }

  async listen(port = 0): Promise<this> {
    await new Promise<void>((resolve) => this.server.listen(port, '127.0.0.1', resolve));
    this.port = (this.server.address() as net.AddressInfo).port;
    return this;
  }

  /** Connections currently open from the checker. */
  get openConnections(): number {
    return this.sockets.size;
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

/** A TCP upstream: answers every chunk with `reply(chunk)` (nothing when it returns undefined). */
export class TestTcpServer {
  connections = 0;
  readonly received: Buffer[] = [];
  private readonly sockets = new Set<net.Socket>();
  private readonly server: net.Server;
  port = 0;

  constructor(reply: (data: Buffer) => Buffer | undefined = () => undefined) {
    this.server = net.createServer((s) => {
      this.connections++;
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
      s.on('error', () => {});
      s.on('data', (d: Buffer) => {
        this.received.push(d);
        const answer = reply(d);
        if (answer) s.write(answer);
      });
    });
  }

  async listen(): Promise<this> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.address() as net.AddressInfo).port;
    return this;
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

/** A port nothing listens on: bound, read, released. */
export async function closedPort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

export async function waitFor(condition: () => boolean, what: string, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface Transition {
  host: Host;
  flags: string;
  /** `health_check.failure` and `.success` when the change was reported. */
  failures: number;
  successes: number;
}

export interface CheckerFixture {
  checker: HealthChecker;
  ps: PrioritySet;
  hosts: Host[];
  store: Store;
  logs: string[];
  transitions: Transition[];
  traffic: { value: boolean };
  stat(name: string): number;
}

/**
 * A checker for `config` over hosts at 127.0.0.1:<port> (`{ port, healthCheckPort }` to
 * override the check port), in cluster `web_cluster_01`. Hosts start flagged as Envoy's
 * cluster flags them (`failed_active_hc`, plus `pending_active_hc` for a cluster with
 * `ignore_new_hosts_until_first_hc`), and health changes refresh the priority set as the
 * cluster does.
 */
export function makeChecker(
  config: Partial<HealthCheck>,
  ports: (number | { port: number; healthCheckPort: number })[],
  hasTraffic = true,
  ignoreNewHostsUntilFirstHc = false,
): CheckerFixture {
  const store = new Store();
  const logs: string[] = [];
  const registry = new LogRegistry('debug', (line) => logs.push(line));
  const ps = new PrioritySet();
  const hosts = ports.map((p) =>
    typeof p === 'number'
      ? new Host({ address: '127.0.0.1', port: p })
      : new Host({ address: '127.0.0.1', port: p.port, healthCheckPort: p.healthCheckPort }),
  );
  for (const h of hosts) {
    h.setFlag('failed_active_hc');
    if (ignoreNewHostsUntilFirstHc) h.setFlag('pending_active_hc');
  }
  ps.updateHosts(0, [{ hosts, weight: 1 }], hosts, []);
  const scope = store.scope('cluster.web_cluster_01.');
  const transitions: Transition[] = [];
  const stat = (name: string) => store.counter(`cluster.web_cluster_01.health_check.${name}`).value;
  const traffic = { value: hasTraffic };
  const checker = createHealthChecker({
    config: { timeout: '1s', interval: '0.050s', healthy_threshold: 1, unhealthy_threshold: 1, ...config },
    clusterName: 'web_cluster_01',
    prioritySet: ps,
    stats: scope,
    hasTraffic: () => traffic.value,
    onHostHealthChanged: (host) => {
      transitions.push({
        host,
        flags: host.healthFlagsString(),
        failures: stat('failure'),
        successes: stat('success'),
      });
      ps.refreshHealth();
    },
    log: registry.get('hc', 'upstream/health-check'),
    random: Math.random,
  });
  return { checker, ps, hosts, store, logs, transitions, traffic, stat };
}
