/**
 * bench/collector: what live stats cost the console server, and how late a health change shows.
 *
 * A real `meshcraft serve` process brings up (local driver) a lab of N front proxies — real
 * meshcraft-proxy processes on loopback, each health-checking the same two demoapps every second —
 * and then:
 * 1. CPU of the server process (utime+stime from /proc) over a window with nobody watching, then
 *    over the same window with one client subscribed to `stats.watch` at 1 Hz over the WebSocket:
 *    the collector reads every proxy's /stats?format=json and /clusters?format=json each second.
 *    Goal: under 10% of one core for 50 proxies.
 * 2. livez=FAIL → stream latency: the bench flips one app's livez, polls one proxy's admin itself
 *    every 20 ms to see when that proxy marks the endpoint failed_active_hc, and notes when the
 *    stream first says so. Goal: no later than one poll interval after the proxy marks it.
 *
 * It talks to the server as any client would: tRPC over HTTP (plain JSON) and tRPC's WebSocket
 * protocol, with Node's WebSocket (run with --experimental-websocket on Node 20).
 *
 *   pnpm -r --filter @meshcraft/server... run build && pnpm --filter @meshcraft/bench build
 *   node --experimental-websocket bench/dist/collector/run.js [--proxies 50] [--seconds 60] [--trials 5] [--interval 1000]
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, '../../..');
const MESHCRAFT = path.join(repo, 'apps/server/bin/meshcraft.js');

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}

const PROXIES = arg('proxies', 50);
const SECONDS = arg('seconds', 60);
const TRIALS = arg('trials', 5);
const INTERVAL_MS = arg('interval', 1000);
const LAB = 'bench-collector';

// --- the server process and its API -----------------------------------------------------------

interface Server {
  child: ChildProcess;
  port: number;
  home: string;
}

let server: Server | undefined;

async function startServer(): Promise<Server> {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'meshcraft-bench-collector-'));
  const child = spawn(
    process.execPath,
    [
      MESHCRAFT,
      'serve',
      '--port',
      '0',
      '--json',
      '--driver',
      'local',
      '--workspace',
      path.join(home, 'workspace'),
    ],
    {
      env: { ...process.env, XDG_STATE_HOME: path.join(home, 'state'), MESHCRAFT_HOME: home },
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  const line = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout! }).once('line', resolve);
    child.once('exit', (code) => reject(new Error(`meshcraft serve exited ${code}`)));
  });
  return { child, port: (JSON.parse(line) as { port: number }).port, home };
}

async function call<T>(kind: 'query' | 'mutation', procedure: string, input: unknown): Promise<T> {
  const base = `http://127.0.0.1:${server!.port}/trpc/${procedure}`;
  const res =
    kind === 'query'
      ? await fetch(`${base}?input=${encodeURIComponent(JSON.stringify(input))}`)
      : await fetch(base, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(input),
        });
  const body = (await res.json()) as { result?: { data: T }; error?: { message: string; data?: unknown } };
  if (body.error) throw new Error(`${procedure}: ${body.error.message} ${JSON.stringify(body.error.data)}`);
  return body.result!.data;
}

/** The parts of the stream this bench reads (the full shapes are the server's StatsMessage). */
interface Endpoint {
  namespace?: string;
  healthy: boolean;
  flags: string[];
}
interface Frame {
  at: number;
  proxies: { node: string; reachable: boolean; clusters: { name: string; endpoints: Endpoint[] }[] }[];
}
type StatsMessage =
  | { type: 'snapshot'; frames: Frame[] }
  | { type: 'frame'; frame: Frame }
  | { type: 'down'; message: string };

/** Subscribes to stats.watch over the WebSocket; calls `onMessage` with each message and its arrival time. */
function watchStats(
  onMessage: (m: StatsMessage, arrived: number, bytes: number) => void,
): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${server!.port}/trpc`);
    ws.onopen = () => {
      ws.send(
        JSON.stringify({
          id: 1,
          method: 'subscription',
          params: { path: 'stats.watch', input: { labId: LAB, intervalMs: INTERVAL_MS } },
        }),
      );
      resolve(ws);
    };
    ws.onerror = () => reject(new Error('WebSocket to the server failed'));
    ws.onmessage = (e) => {
      const text = String(e.data);
      // tRPC's keep-alive: the server pings every 30 s and drops clients that do not answer.
      if (text === 'PING') return ws.send('PONG');
      const msg = JSON.parse(text) as { result?: { type: string; data?: StatsMessage }; error?: unknown };
      if (msg.error) throw new Error(`stats.watch: ${JSON.stringify(msg.error)}`);
      if (msg.result?.type === 'data' && msg.result.data) onMessage(msg.result.data, Date.now(), text.length);
    };
  });
}

// --- the lab ----------------------------------------------------------------------------------

function benchLab(proxies: number): unknown {
  const nodes: unknown[] = [
    {
      kind: 'cluster',
      id: 'web',
      discovery: 'STRICT_DNS',
      lbPolicy: 'ROUND_ROBIN',
      connectTimeout: '0.25s',
      healthChecks: [
        {
          timeout: '0.5s',
          interval: '1s',
          noTrafficInterval: '1s',
          unhealthyThreshold: 2,
          healthyThreshold: 1,
          http: { path: '/livez' },
        },
      ],
    },
    { kind: 'service', id: 'app', replicas: 2, app: { role: 'demoapp' } },
  ];
  const edges: unknown[] = [{ kind: 'membership', id: 'web-app', from: 'web', to: 'app' }];
  for (let i = 0; i < proxies; i++) {
    nodes.push({
      kind: 'frontProxy',
      id: `p${i}`,
      admin: { port: 9901 },
      listeners: [
        {
          name: 'listener_0',
          port: 80,
          virtualHosts: [{ name: 'web', domains: ['*'], routes: [{ id: `r${i}`, match: { prefix: '/' } }] }],
        },
      ],
    });
    edges.push({ kind: 'route', id: `p${i}-web`, from: { node: `p${i}`, route: `r${i}` }, to: 'web' });
  }
  return {
    apiVersion: 'meshcraft.io/v1alpha1',
    kind: 'Lab',
    metadata: { name: LAB, title: `${proxies} front proxies health-checking two apps (collector benchmark)` },
    spec: { nodes, edges },
  };
}

interface ContainerStatus {
  name: string;
  node: string;
  namespace: string;
  role: string;
  ports: { purpose: string; host: string; hostPort: number }[];
}

// --- measurements -----------------------------------------------------------------------------

const CLK_TCK = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());

function cpuSeconds(pid: number): number {
  // Fields after the command name (which may hold spaces): utime and stime are the 12th and 13th.
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / CLK_TCK;
}

async function cpuPercent(pid: number, seconds: number): Promise<number> {
  const before = cpuSeconds(pid);
  const started = performance.now();
  await sleep(seconds * 1000);
  const wall = (performance.now() - started) / 1000;
  return ((cpuSeconds(pid) - before) / wall) * 100;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** When (epoch ms) the proxy's own /clusters first says the endpoint failed active health checking. */
async function proxyMarks(
  admin: { host: string; hostPort: number },
  address: string,
  deadline: number,
): Promise<number> {
  while (Date.now() < deadline) {
    const doc = (await (
      await fetch(`http://${admin.host}:${admin.hostPort}/clusters?format=json`)
    ).json()) as {
      cluster_statuses: {
        host_statuses: {
          address: { socket_address: { address: string } };
          health_status: { failed_active_health_check?: boolean };
        }[];
      }[];
    };
    const host = doc.cluster_statuses
      .flatMap((c) => c.host_statuses)
      .find((h) => h.address.socket_address.address === address);
    if (host?.health_status.failed_active_health_check) return Date.now();
    await sleep(20);
  }
  throw new Error(`the proxy did not mark ${address} unhealthy in time`);
}

function percentile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

async function main(): Promise<void> {
  if (typeof WebSocket === 'undefined') {
    throw new Error(
      'this Node has no WebSocket; run with: node --experimental-websocket bench/dist/collector/run.js',
    );
  }
  server = await startServer();
  const pid = server.child.pid!;
  console.log(
    `meshcraft serve (pid ${pid}) on port ${server.port}; bringing up ${PROXIES} proxies and 2 apps…`,
  );
  await call('mutation', 'labs.save', { lab: benchLab(PROXIES) });
  const upStarted = performance.now();
  const status = await call<{ containers: ContainerStatus[] }>('mutation', 'lifecycle.up', {
    name: LAB,
    driver: 'local',
  });
  const proxies = status.containers.filter((c) => c.role === 'proxy').length;
  console.log(
    `up in ${Math.round(performance.now() - upStarted)} ms: ${proxies} proxies, ${status.containers.length} processes`,
  );
  await sleep(3000);

  const idle = await cpuPercent(pid, SECONDS);
  console.log(`server CPU, nobody watching: ${idle.toFixed(2)}% of one core over ${SECONDS} s`);

  let frames = 0;
  let frameBytes = 0;
  let latest: Frame | undefined;
  const waiters: { test: (f: Frame) => boolean; resolve: (at: number) => void }[] = [];
  const ws = await watchStats((m, arrived, bytes) => {
    if (m.type !== 'frame') return;
    frames++;
    frameBytes += bytes;
    latest = m.frame;
    for (const w of waiters.splice(0)) {
      if (w.test(m.frame)) w.resolve(arrived);
      else waiters.push(w);
    }
  });
  await sleep(3000);
  const framesBefore = frames;
  const watched = await cpuPercent(pid, SECONDS);
  const framesDuring = frames - framesBefore;
  const unreachable = latest?.proxies.filter((p) => !p.reachable).length ?? -1;
  console.log(
    `server CPU, one client watching at ${INTERVAL_MS} ms: ${watched.toFixed(2)}% of one core over ${SECONDS} s ` +
      `(${framesDuring} frames, ${Math.round(frameBytes / frames / 1024)} KiB each on the wire, ${latest?.proxies.length} proxies read, ${unreachable} unreachable)`,
  );

  // livez=FAIL → stream, measured against the proxy's own marking.
  const victim = status.containers.find((c) => c.role === 'demoapp' && c.namespace === 'app-1')!;
  const p0 = status.containers.find((c) => c.node === 'p0')!;
  const admin = p0.ports.find((p) => p.purpose === 'admin')!;
  const address = (
    await call<{ status: { containers: { namespace: string; address?: string }[] } }>(
      'query',
      'lifecycle.status',
      { labId: LAB },
    )
  ).status.containers.find((c) => c.namespace === victim.namespace)!.address!;
  const endpointIn = (f: Frame) =>
    f.proxies
      .find((p) => p.node === 'p0')
      ?.clusters[0]?.endpoints.find((e) => e.namespace === victim.namespace);
  const delays: number[] = [];
  for (let t = 0; t < TRIALS; t++) {
    const inStream = new Promise<number>((resolve) =>
      waiters.push({ test: (f) => endpointIn(f)?.flags.includes('failed_active_hc') === true, resolve }),
    );
    const flipped = Date.now();
    await call('mutation', 'actions.setProbe', {
      labId: LAB,
      target: victim.namespace,
      probe: 'livez',
      value: 'FAIL',
    });
    const marked = await proxyMarks(admin, address, flipped + 15_000);
    const shown = await inStream;
    delays.push(shown - marked);
    console.log(
      `  trial ${t + 1}: proxy marked it ${marked - flipped} ms after livez=FAIL; the stream showed it ${shown - marked} ms after that`,
    );
    const healthyAgain = new Promise<number>((resolve) =>
      waiters.push({ test: (f) => endpointIn(f)?.healthy === true, resolve }),
    );
    await call('mutation', 'actions.setProbe', {
      labId: LAB,
      target: victim.namespace,
      probe: 'livez',
      value: 'OK',
    });
    await healthyAgain;
    await sleep(Math.random() * INTERVAL_MS);
  }
  ws.close();
  const sorted = [...delays].sort((a, b) => a - b);
  const result = {
    date: new Date().toISOString(),
    machine: { cpus: os.cpus().length, model: os.cpus()[0]?.model, node: process.version },
    proxies,
    intervalMs: INTERVAL_MS,
    seconds: SECONDS,
    serverCpuPercentOfOneCore: {
      idle: round(idle),
      watching: round(watched),
      collector: round(watched - idle),
    },
    framesPerSecond: round(framesDuring / SECONDS),
    frameKiB: round(frameBytes / frames / 1024),
    livezToStreamAfterProxyMarksMs: { trials: delays, median: percentile(sorted, 0.5), max: sorted.at(-1) },
    goals: {
      cpuUnder10Percent: watched < 10,
      withinOnePoll: sorted.at(-1)! <= INTERVAL_MS,
    },
  };
  const out = path.join(repo, 'bench/results', `collector-${result.date.replace(/[:.]/g, '-')}.json`);
  fs.mkdirSync(path.dirname(out), { recursive: true });
  fs.writeFileSync(out, `${JSON.stringify(result, null, 2)}\n`);
  console.log(JSON.stringify(result, null, 2));
  console.log(`written to ${out}`);
}

function round(v: number): number {
  return Math.round(v * 100) / 100;
}

async function cleanup(): Promise<void> {
  if (!server) return;
  await call('mutation', 'lifecycle.down', { labId: LAB }).catch((err: Error) => {
    console.error(`bench: down failed: ${err.message}`);
  });
  const { child, home } = server;
  server = undefined;
  await new Promise<void>((resolve) => {
    if (child.exitCode !== null) return resolve();
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
    setTimeout(() => child.kill('SIGKILL'), 5000).unref();
  });
  fs.rmSync(home, { recursive: true, force: true });
}

process.on('SIGINT', () => {
  void cleanup().then(() => process.exit(130));
});
process.on('uncaughtException', (err) => {
  console.error(`bench/collector: ${err.stack}`);
  void cleanup().then(() => process.exit(1));
});

main()
  .catch((err: Error) => {
    console.error(`bench/collector: ${err.stack}`);
    process.exitCode = 1;
  })
  .finally(() => cleanup());
