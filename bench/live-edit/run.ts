/**
 * bench/live-edit: from saving a running lab in the console to the new behaviour in its traffic.
 * A real `meshcraft serve` brings the library's traffic-split lab up (local driver by default),
 * requests flow through its front proxy one after another on a keep-alive connection, and each
 * edit is timed from the `labs.save` call to the first answer of the run that shows it. Edits
 * cycle through two kinds, each a real lab edit the console turns into xDS:
 *
 * - weight: the split sends everything to v1.0, then back to v1.1 (a route configuration, RDS);
 *   shown by 10 answers in a row from the other version;
 * - endpoint: v1.0's apps join the v1.1 cluster, then leave it (a STRICT_DNS cluster, CDS);
 *   shown by the first answer from a v1.0 app, then by 10 in a row from v1.1 again.
 *
 *   pnpm -r --filter @meshcraft/server... run build && pnpm --filter @meshcraft/bench build
 *   node bench/dist/live-edit/run.js [--edits 24] [--driver local|docker]
 *
 * Results go to bench/results/live-edit-<date>.json. Goal: under 1 s.
 */
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { freePort, start, stop, waitForPort } from '../common/processes.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, '../../..');
const BIN = path.join(repo, 'apps/server/bin/meshcraft.js');

type TopologyModule = typeof import('../../packages/topology/dist/index.js');
type Lab = import('../../packages/topology/dist/index.js').Lab;
const topology = (await import(
  pathToFileURL(path.join(repo, 'packages/topology/dist/index.js')).href
)) as TopologyModule;

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1]! : fallback;
}

const EDITS = Number(arg('edits', '24'));
const DRIVER = arg('driver', 'local');
const LAB = 'bench-live-edit';
const RUN = 10;
/** Edits not counted: two cycles that warm up the JIT, connections and the first of everything. */
const WARM_UP = 8;

interface ContainerStatus {
  name: string;
  namespace: string;
  role: string;
  id: string;
  ports: { purpose: string; host: string; hostPort: number }[];
}

/** The console's tRPC API over plain HTTP (no transformer: JSON in, JSON out). */
function api(base: string) {
  return async <T>(proc: string, input: unknown, kind: 'query' | 'mutation' = 'mutation'): Promise<T> => {
    const url = `${base}/trpc/${proc}`;
    const res =
      kind === 'query'
        ? await fetch(`${url}?input=${encodeURIComponent(JSON.stringify(input))}`)
        : await fetch(url, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify(input),
          });
    const body = (await res.json()) as { result?: { data: T }; error?: { message: string } };
    if (body.error) throw new Error(`${proc}: ${body.error.message}`);
    return body.result!.data;
  };
}

/** Answers from the front proxy, one request after another, each with the lab namespace that sent it. */
class Traffic {
  readonly answers: { at: number; server: string }[] = [];
  private running = true;
  private readonly agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  private readonly done: Promise<void>;

  constructor(host: string, port: number, serverOf: (name: string) => string) {
    this.done = (async () => {
      while (this.running) {
        const body = await new Promise<string>((resolve, reject) => {
          http
            .get({ host, port, path: '/hostname', agent: this.agent }, (res) => {
              let text = '';
              res.on('data', (d: Buffer) => {
                text += d.toString();
              });
              res.on('end', () => resolve(text));
            })
            .on('error', reject);
        });
        this.answers.push({
          at: performance.now(),
          server: serverOf(/ServerName: (\S+)/.exec(body)?.[1] ?? ''),
        });
      }
    })();
  }

  /** When, after `since`, `n` answers in a row first pass `test`: the time of the first of them. */
  async first(since: number, n: number, test: (server: string) => boolean): Promise<number> {
    const deadline = performance.now() + 15_000;
    while (performance.now() < deadline) {
      let run: number[] = [];
      for (const a of this.answers) {
        if (a.at < since) continue;
        run = test(a.server) ? [...run, a.at] : [];
        if (run.length >= n) return run[0]!;
      }
      await new Promise((r) => setTimeout(r, 5));
    }
    throw new Error(`the edit did not show in traffic within 15 s (last: ${this.answers.at(-1)?.server})`);
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.done;
    this.agent.destroy();
  }
}

function summary(samples: number[]) {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]!;
  const round = (v: number) => Math.round(v * 10) / 10;
  return {
    n: sorted.length,
    median: round(at(0.5)),
    p99: round(at(0.99)),
    min: round(sorted[0]!),
    max: round(sorted.at(-1)!),
  };
}

async function main(): Promise<void> {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-live-edit-'));
  const port = await freePort();
  const server = start(
    process.execPath,
    [BIN, 'serve', '--port', String(port), '--workspace', path.join(home, 'workspace'), '--driver', DRIVER],
    { env: { XDG_STATE_HOME: path.join(home, 'state'), MESHCRAFT_HOME: home } },
  );
  const call = api(`http://127.0.0.1:${port}`);
  let traffic: Traffic | undefined;
  try {
    await waitForPort('127.0.0.1', port);
    const text = fs.readFileSync(path.join(repo, 'labs/traffic-split.lab.yaml'), 'utf8');
    const library = topology.parseLab(text).lab!;
    const base: Lab = { ...library, metadata: { ...library.metadata, name: LAB } };
    await call('labs.save', { lab: base });
    const status = await call<{ containers: ContainerStatus[] }>('lifecycle.up', {
      name: LAB,
      driver: DRIVER,
    });
    const front = status.containers
      .find((c) => c.name === 'front-envoy')!
      .ports.find((p) => p.purpose === 'listener')!;
    // The demoapp names itself by namespace locally, by its container's short id in Docker.
    const names = new Map(
      status.containers
        .filter((c) => c.role === 'demoapp')
        .flatMap((c) => [
          [c.namespace, c.namespace],
          [c.id.slice(0, 12), c.namespace],
        ]),
    );
    traffic = new Traffic(front.host, front.hostPort, (n) => names.get(n) ?? n);
    const v10 = (s: string) => s.startsWith('demoapp-v1-0-');
    const v11 = (s: string) => s.startsWith('demoapp-v1-1-');

    const withWeights = (lab: Lab, to: string): Lab => ({
      ...lab,
      spec: {
        ...lab.spec,
        edges: lab.spec.edges.map((e) => (e.kind === 'route' ? { ...e, weight: e.to === to ? 100 : 0 } : e)),
      },
    });
    const joined = (lab: Lab, on: boolean): Lab => ({
      ...lab,
      spec: {
        ...lab.spec,
        edges: on
          ? [
              ...lab.spec.edges,
              { kind: 'membership', id: 'v10-in-v11', from: 'demoapp-v11', to: 'demoapp-v1-0' },
            ]
          : lab.spec.edges.filter((e) => e.id !== 'v10-in-v11'),
      },
    });
    // The cycle: weight → v1.0, weight → v1.1, v1.0 joins v1.1's cluster, and leaves it again.
    const v11Only = withWeights(base, 'demoapp-v11');
    const steps: { kind: 'weight' | 'endpoint'; lab: Lab; n: number; test: (s: string) => boolean }[] = [
      { kind: 'weight', lab: withWeights(base, 'demoapp-v10'), n: RUN, test: v10 },
      { kind: 'weight', lab: v11Only, n: RUN, test: v11 },
      { kind: 'endpoint', lab: joined(v11Only, true), n: 1, test: v10 },
      { kind: 'endpoint', lab: joined(v11Only, false), n: RUN, test: v11 },
    ];
    await call('labs.save', { lab: v11Only });
    await traffic.first(performance.now(), RUN, v11);

    const samples: { kind: string; ms: number; saveMs: number; ackMs?: number }[] = [];
    for (let i = 0; i < EDITS + WARM_UP; i++) {
      const step = steps[i % steps.length]!;
      const savedAt = performance.now();
      const saved = await call<{
        live: { result: string; proxies?: { outcome: { state: string; ms?: number } }[] };
      }>('labs.save', { lab: step.lab });
      const saveMs = performance.now() - savedAt;
      if (saved.live.result !== 'applied') throw new Error(`edit ${i}: ${JSON.stringify(saved.live)}`);
      const seen = await traffic.first(savedAt, step.n, step.test);
      if (i >= WARM_UP)
        samples.push({
          kind: step.kind,
          ms: seen - savedAt,
          saveMs,
          ackMs: saved.live.proxies?.[0]?.outcome.ms,
        });
    }
    const of = (kind?: string) => samples.filter((s) => !kind || s.kind === kind);
    const results = {
      driver: DRIVER,
      edits: samples.length,
      cpus: os.cpus().length,
      cpuModel: os.cpus()[0]?.model,
      loadAverage: os.loadavg(),
      node: process.version,
      all: summary(of().map((s) => s.ms)),
      weight: summary(of('weight').map((s) => s.ms)),
      endpoint: summary(of('endpoint').map((s) => s.ms)),
      save: summary(of().map((s) => s.saveMs)),
      ack: summary(of().flatMap((s) => (s.ackMs === undefined ? [] : [s.ackMs]))),
      samples,
    };
    const line = (what: string, s: ReturnType<typeof summary>) =>
      `${what.padEnd(34)} median ${s.median} ms, p99 ${s.p99} ms, min ${s.min} ms, max ${s.max} ms (n=${s.n})\n`;
    process.stdout.write(
      `${DRIVER} driver, ${samples.length} edits (load average ${os.loadavg()[0]!.toFixed(1)}):\n`,
    );
    process.stdout.write(line('save → new behaviour in traffic', results.all));
    process.stdout.write(line('  weight (RDS)', results.weight));
    process.stdout.write(line('  endpoint (CDS, STRICT_DNS)', results.endpoint));
    process.stdout.write(line('save call (to every ACK)', results.save));
    process.stdout.write(line('push → ACK', results.ack));
    const outDir = path.join(repo, 'bench/results');
    fs.mkdirSync(outDir, { recursive: true });
    const file = path.join(
      outDir,
      `live-edit-${DRIVER}-${new Date().toISOString().replace(/[:.]/g, '-')}.json`,
    );
    fs.writeFileSync(file, `${JSON.stringify(results, null, 2)}\n`);
    process.stdout.write(`results: ${path.relative(repo, file)}\n`);
  } finally {
    await traffic?.stop();
    await call('lifecycle.down', { labId: LAB }).catch((err: Error) =>
      process.stderr.write(`${err.message}\n`),
    );
    await stop(server);
    fs.rmSync(home, { recursive: true, force: true });
  }
}

main().catch((err: Error) => {
  process.stderr.write(`${err.stack ?? err.message}\n`);
  process.exitCode = 1;
});
