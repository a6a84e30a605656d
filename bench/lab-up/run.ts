/**
 * bench/lab-up: `up` of the health-check lab on the docker driver until every container is ready,
 * against `docker-compose up -d` of the same lab's exported compose project plus waiting for the
 * same readiness (proxies' admin /ready, apps' /livez, checked the same way); and `down` of each.
 * Both run on the runtime image, built before timing starts. Rounds alternate which goes first.
 *
 *   pnpm --filter @meshcraft/bench build && node bench/dist/lab-up/run.js [--rounds 5]
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, '../../..');

// @meshcraft/runtime and @meshcraft/topology are not dependencies of the bench package: load
// their builds from the workspace (the types come from the same files).
type RuntimeModule = typeof import('../../packages/runtime/dist/index.js');
type TopologyModule = typeof import('../../packages/topology/dist/index.js');
type TopologyNodeModule = typeof import('../../packages/topology/dist/node.js');
const load = <T>(rel: string) => import(pathToFileURL(path.join(repo, rel)).href) as Promise<T>;
const runtimeModule = await load<RuntimeModule>('packages/runtime/dist/index.js');
const topology = await load<TopologyModule>('packages/topology/dist/index.js');
const topologyNode = await load<TopologyNodeModule>('packages/topology/dist/node.js');
const { Runtime, dockerClient, dockerProbe, ensureImage, waitReady } = runtimeModule;

const execFileAsync = promisify(execFile);
const ROUNDS = (() => {
  const i = process.argv.indexOf('--rounds');
  return i >= 0 ? Number(process.argv[i + 1]) : 5;
})();
const LAB_FILE = 'health-check-with-http.lab.yaml';
const LAB_NAME = 'bench-lab-up';
const COMPOSE_PROJECT = 'meshcraftbenchlabup';

const docker = dockerClient();
const runtime = new Runtime();
const entry = topologyNode.loadLibrary().find((e) => e.file === LAB_FILE);
if (!entry?.lab)
  throw new Error(`${LAB_FILE}: ${entry?.issues.map((i) => i.message).join('; ') ?? 'not in the library'}`);
const lab = { ...entry.lab, metadata: { ...entry.lab.metadata, name: LAB_NAME } };

// The exported project, as a person would run it.
const projectDir = fs.mkdtempSync(path.join(os.tmpdir(), 'meshcraft-bench-lab-up-'));
topologyNode.exportToDirectory(lab, projectDir);
const composeFile = path.join(projectDir, 'docker-compose.yaml');
// What each compose service must answer to be ready: the same readiness the runtime waits for.
const readiness = new Map(
  topology
    .render(lab, topology.dockerAddressPlan(topology.buildLayout(new topology.LabIndex(lab))))
    .containers.flatMap((c) => (c.readiness ? [[c.name, c.readiness] as const] : [])),
);

function compose(...args: string[]) {
  return execFileAsync('docker-compose', ['-p', COMPOSE_PROJECT, '-f', composeFile, ...args], {
    cwd: projectDir,
  });
}

async function composeReady(): Promise<void> {
  const containers = await docker.listContainers({
    filters: { label: [`com.docker.compose.project=${COMPOSE_PROJECT}`] },
  });
  const probes = containers.flatMap((info) => {
    const service = info.Labels['com.docker.compose.service']!;
    const r = readiness.get(service);
    const address = Object.values(info.NetworkSettings.Networks)[0]?.IPAddress || undefined;
    return r ? [dockerProbe(docker, { name: service, id: info.Id, address, ports: [] }, r)] : [];
  });
  if (probes.length !== readiness.size)
    throw new Error(`compose started ${probes.length} of ${readiness.size} containers`);
  await waitReady(probes, { timeoutMs: 60_000, logsOf: async () => [] });
}

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const t = performance.now();
  await fn();
  return performance.now() - t;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const fmt = (ms: number) => `${(ms / 1000).toFixed(2)} s`;

async function main(): Promise<void> {
  const image = await ensureImage(docker, { onProgress: (e) => process.stderr.write(`${e.message}\n`) });
  // The image check hashes its inputs once per process; do it before timing, as a running console has.
  await ensureImage(docker);
  const results = {
    meshcraftUp: [] as number[],
    meshcraftDown: [] as number[],
    composeUp: [] as number[],
    composeDown: [] as number[],
  };
  const meshcraft = async () => {
    results.meshcraftUp.push(await timed(() => runtime.up(lab, { driver: 'docker' })));
    results.meshcraftDown.push(await timed(() => runtime.down(LAB_NAME)));
  };
  const composeRound = async () => {
    results.composeUp.push(
      await timed(async () => {
        await compose('up', '-d');
        await composeReady();
      }),
    );
    results.composeDown.push(await timed(() => compose('down', '--volumes', '--remove-orphans')));
  };
  try {
    for (let round = 0; round < ROUNDS; round++) {
      if (round % 2 === 0) {
        await meshcraft();
        await composeRound();
      } else {
        await composeRound();
        await meshcraft();
      }
      process.stderr.write(
        `round ${round + 1}/${ROUNDS}: meshcraft up ${fmt(results.meshcraftUp.at(-1)!)}, compose up ${fmt(results.composeUp.at(-1)!)}\n`,
      );
    }
  } finally {
    await runtime.down(LAB_NAME).catch(() => {});
    await compose('down', '--volumes', '--remove-orphans').catch(() => {});
    fs.rmSync(projectDir, { recursive: true, force: true });
  }
  const summary = {
    lab: LAB_FILE,
    rounds: ROUNDS,
    image: image.tag,
    machine: `${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}, ${Math.round(os.totalmem() / 2 ** 30)} GiB`,
    medianMs: {
      meshcraftUp: Math.round(median(results.meshcraftUp)),
      composeUp: Math.round(median(results.composeUp)),
      meshcraftDown: Math.round(median(results.meshcraftDown)),
      composeDown: Math.round(median(results.composeDown)),
    },
    upRatio: Number((median(results.meshcraftUp) / median(results.composeUp)).toFixed(2)),
    samplesMs: Object.fromEntries(Object.entries(results).map(([k, v]) => [k, v.map(Math.round)])),
  };
  const m = summary.medianMs;
  process.stdout.write(
    [
      `health-check lab, ${ROUNDS} rounds, medians:`,
      `  up to all ready:  meshcraft ${fmt(m.meshcraftUp)}   docker-compose up -d + readiness ${fmt(m.composeUp)}   ratio ${summary.upRatio}`,
      `  down:             meshcraft ${fmt(m.meshcraftDown)}   docker-compose down ${fmt(m.composeDown)}`,
      JSON.stringify(summary),
      '',
    ].join('\n'),
  );
}

await main();
