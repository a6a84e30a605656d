/**
 * The docker driver against the real engine: the runtime image, the health-check lab end to end,
 * node actions and logs, 20 up/down cycles without leaks, and its faults. Fails (never skips)
 * when no engine answers. Every lab here is named mctest-docker-*, and afterAll removes whatever
 * carries such a lab label, whatever happened.
 */
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dockerClient, pingEngine } from '../../src/docker/engine.js';
import { demuxFrames } from '../../src/docker/frames.js';
import { LABELS } from '../../src/docker/labels.js';
import { RuntimeError } from '../../src/errors.js';
import { ensureImage, RUNTIME_IMAGE } from '../../src/image/build.js';
import { portFree } from '../../src/ports.js';
import { Runtime } from '../../src/runtime.js';
import type { LabStatus, ProgressEvent } from '../../src/types.js';
import {
  changedJob,
  checkHealthCheckLab,
  crashing,
  libraryLab,
  port,
  runKilledConsole,
  runtimeOptions,
  serverNames,
} from '../helpers.js';

const LAB = 'health-check-with-http';
const PREFIX = 'mctest-docker-';
const docker = dockerClient();
let runtime: Runtime;
let stateDir: string;

/** Containers, networks and volumes labelled with the lab. */
async function leftovers(labId: string): Promise<{ containers: number; networks: number; volumes: number }> {
  const filters = { label: [`${LABELS.lab}=${labId}`] };
  const [containers, networks, volumes] = await Promise.all([
    docker.listContainers({ all: true, filters }),
    docker.listNetworks({ filters }),
    docker.listVolumes({ filters }),
  ]);
  return { containers: containers.length, networks: networks.length, volumes: volumes.Volumes?.length ?? 0 };
}

/** Nothing of the lab is left: no labelled resource, no published port, no docker-proxy for one. */
async function expectGone(status: LabStatus): Promise<void> {
  expect(await leftovers(status.labId)).toEqual({ containers: 0, networks: 0, volumes: 0 });
  const ports = status.containers.flatMap((c) => c.ports);
  for (const p of ports) expect(await portFree(p.host, p.hostPort)).toBe(true);
  const ps = execFileSync('ps', ['-eo', 'args'], { encoding: 'utf8' });
  for (const p of ports) expect(ps).not.toMatch(new RegExp(`docker-proxy .*-host-port ${p.hostPort}\\b`));
  expect(await runtime.status(status.labId)).toBeUndefined();
}

async function removeTestResources(): Promise<void> {
  const all = { label: [LABELS.lab] };
  const mine = (labels: Record<string, string> | undefined) =>
    (labels?.[LABELS.lab] ?? '').startsWith(PREFIX);
  for (const c of await docker.listContainers({ all: true, filters: all })) {
    if (mine(c.Labels))
      await docker
        .getContainer(c.Id)
        .remove({ force: true, v: true })
        .catch(() => {});
  }
  for (const n of await docker.listNetworks({ filters: all })) {
    if (mine(n.Labels))
      await docker
        .getNetwork(n.Id)
        .remove()
        .catch(() => {});
  }
}

beforeAll(async () => {
  // CI starts an engine; without one these tests must fail, saying how to start it.
  await pingEngine(docker);
  stateDir = await mkdtemp(path.join(os.tmpdir(), 'meshcraft-docker-test-'));
  runtime = new Runtime(runtimeOptions(stateDir));
  await removeTestResources();
});

afterAll(async () => {
  await removeTestResources();
  await rm(stateDir, { recursive: true, force: true });
  await rm(runtimeOptions(stateDir).docker.stateDir, { recursive: true, force: true });
});

describe('the runtime image', () => {
  it('is reused while its inputs are unchanged, carries their hash, and runs node, sh, curl and both programs', async () => {
    const events: ProgressEvent[] = [];
    await ensureImage(docker, { onProgress: (e) => events.push(e) });
    const again = await ensureImage(docker);
    expect(again.built).toBe(false);
    const image = await docker.getImage(RUNTIME_IMAGE).inspect();
    expect(image.Config.Labels?.[LABELS.imageHash]).toBe(again.hash);

    const container = await docker.createContainer({
      Image: RUNTIME_IMAGE,
      Cmd: [
        'sh',
        '-c',
        'node --version && curl --version && meshcraft-proxy --version && { PORT=8080 meshcraft-demoapp & } && curl -sS --retry 20 --retry-connrefused --retry-delay 1 http://127.0.0.1:8080/hostname',
      ],
      Hostname: 'toolbox',
      Labels: { [LABELS.lab]: `${PREFIX}image` },
    });
    try {
      await container.start();
      await container.wait();
      let output = '';
      for await (const t of demuxFrames([
        (await container.logs({ stdout: true, stderr: true })) as unknown as Buffer,
      ]))
        output += t;
      expect(output).toContain(process.version);
      expect(output).toMatch(/^curl \d/m);
      expect(output).toMatch(/meshcraft-proxy {2}version: /);
      expect(output).toContain('ServerName: toolbox');
    } finally {
      await container.remove({ force: true });
    }
  });
});

describe('the health-check lab on docker', () => {
  it('comes up, round-robins through the published port, takes an endpoint out on livez=FAIL, and down leaves nothing', async () => {
    const name = `${PREFIX}hc`;
    const events: ProgressEvent[] = [];
    const status = await runtime.up(libraryLab(LAB, name), {
      driver: 'docker',
      onProgress: (e) => events.push(e),
    });
    expect(status.driver).toBe('docker');
    expect(status.state).toBe('running');
    expect(status.containers.map((c) => c.name)).toEqual([
      'envoy',
      'webserver01',
      'webserver01-sidecar',
      'webserver02',
      'webserver02-sidecar',
    ]);
    // Sidecar and app share one namespace, so one address; host numbers as the lab has them.
    expect(status.containers.map((c) => c.address?.split('.')[3])).toEqual(['2', '11', '11', '12', '12']);
    for (const c of status.containers.filter((x) => x.role === 'proxy')) {
      expect(c.ports.map((p) => `${p.name}:${p.port}:${p.host}`)).toEqual([
        'admin:9901:127.0.0.1',
        'listener_0:80:127.0.0.1',
      ]);
    }
    expect(events.map((e) => e.step)).toEqual(
      expect.arrayContaining(['driver', 'image', 'network', 'container', 'ready', 'done']),
    );

    await checkHealthCheckLab(status);

    const down = await runtime.down(name);
    expect(down.removed).toEqual({ containers: 5, networks: 1, volumes: 0 });
    await expectGone(status);
  });

  it('stops, starts and restarts nodes, and streams their logs', async () => {
    const name = `${PREFIX}nodes`;
    const up = await runtime.up(libraryLab(LAB, name), { driver: 'docker' });
    const stopped = await runtime.stopNode(name, 'webserver02');
    expect(stopped.state).toBe('degraded');
    expect(stopped.containers.filter((c) => c.state === 'exited').map((c) => c.name)).toEqual([
      'webserver02',
      'webserver02-sidecar',
    ]);

    const started = await runtime.startNode(name, 'webserver02');
    expect(started.state).toBe('running');
    // Published ports of a restarted container are new ephemeral ones: status has them.
    expect(await serverNames(port(started, 'webserver02-sidecar', 'listener_0'), 1)).toEqual(['blue']);

    // Restarting the sidecar alone takes the app sharing its namespace along.
    const restarted = await runtime.restartNode(name, 'webserver01-sidecar');
    expect(restarted.state).toBe('running');
    expect(await serverNames(port(restarted, 'webserver01-sidecar', 'listener_0'), 1)).toEqual(['red']);

    const lines: string[] = [];
    for await (const l of runtime.logs(name, 'webserver01', { tail: 20 })) lines.push(l.text);
    expect(lines.some((l) => /"GET \/ HTTP\/1\.1" 200/.test(l))).toBe(true);

    const abort = new AbortController();
    const followed: string[] = [];
    const following = (async () => {
      for await (const l of runtime.logs(name, undefined, { follow: true, tail: 0, signal: abort.signal })) {
        followed.push(`${l.container}: ${l.text}`);
        if (/^webserver02: .*GET \/hostname/.test(followed.at(-1)!)) break;
      }
    })();
    const blue = port(restarted, 'webserver02-sidecar', 'listener_0');
    for (let i = 0; i < 50 && !followed.some((l) => l.includes('/hostname')); i++) {
      await fetch(`http://${blue.host}:${blue.hostPort}/hostname`);
      await new Promise((r) => setTimeout(r, 100));
    }
    await following;
    abort.abort();

    await runtime.down(name);
    await expectGone(up);
  });
});

describe('leaks', () => {
  it('20 up/down cycles leave no container, network, volume, port or docker-proxy behind', async () => {
    const name = `${PREFIX}leak`;
    const ports: number[] = [];
    const upMs: number[] = [];
    const downMs: number[] = [];
    for (let i = 0; i < 20; i++) {
      let t = performance.now();
      const status = await runtime.up(libraryLab(LAB, name), { driver: 'docker' });
      upMs.push(performance.now() - t);
      expect(await serverNames(port(status, 'envoy', 'listener_0'), 1)).toHaveLength(1);
      t = performance.now();
      await runtime.down(name);
      downMs.push(performance.now() - t);
      // Ports are checked at once: ephemeral ports are handed out again later, to anyone.
      await expectGone(status);
      ports.push(...status.containers.flatMap((c) => c.ports.map((p) => p.hostPort)));
    }
    const ps = execFileSync('ps', ['-eo', 'args'], { encoding: 'utf8' });
    for (const p of ports) expect(ps).not.toMatch(new RegExp(`docker-proxy .*-host-port ${p}\\b`));
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
    console.log(
      `docker: up median ${median(upMs).toFixed(0)} ms, down median ${median(downMs).toFixed(0)} ms over 20 cycles`,
    );
  });
});

describe('faults', () => {
  it('no engine: docker says it is not running and how to start it; auto falls back to local and says why', async () => {
    const noEngine = new Runtime({
      docker: { socketPath: path.join(stateDir, 'no-docker.sock') },
      local: { stateDir },
    });
    const error = await noEngine
      .up(libraryLab(LAB, `${PREFIX}noengine`), { driver: 'docker' })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RuntimeError);
    expect((error as RuntimeError).code).toBe('DOCKER_UNAVAILABLE');
    expect((error as RuntimeError).message).toMatch(
      /^the Docker engine is not running: nothing answers at .*no-docker\.sock/,
    );
    expect((error as RuntimeError).hint).toMatch(/start it .*systemctl start docker.*--driver local/);

    const events: ProgressEvent[] = [];
    const status = await noEngine.up(libraryLab(LAB, `${PREFIX}noengine`), {
      driver: 'auto',
      onProgress: (e) => events.push(e),
    });
    expect(status.driver).toBe('local');
    expect(events[0]).toMatchObject({
      step: 'driver',
      driver: 'local',
      message: expect.stringMatching(/^using the local driver: the Docker engine is not running/),
    });
    await noEngine.down(`${PREFIX}noengine`);
  });

  it('a taken subnet: the lab runs on a free one with the same host numbers, and says so', async () => {
    const name = `${PREFIX}clash`;
    const wanted = libraryLab(LAB, name).spec.network!.subnet!;
    // Another lab's network on the same block (labelled so cleanup finds it).
    const blocker = await docker
      .createNetwork({
        Name: `${PREFIX}blocker`,
        Labels: { [LABELS.lab]: `${PREFIX}blocker` },
        IPAM: { Config: [{ Subnet: wanted }] },
      })
      .catch(() => undefined);
    const taken = (await docker.listNetworks()).find((n) => n.IPAM?.Config?.some((c) => c.Subnet === wanted));
    expect(taken).toBeDefined();
    try {
      const status = await runtime.up(libraryLab(LAB, name), { driver: 'docker' });
      expect(status.network.subnet).not.toBe(wanted);
      expect(status.notes).toEqual([
        `subnet ${wanted} is in use by docker network '${taken!.Name}'; this lab runs on ${status.network.subnet} instead (same host numbers)`,
      ]);
      const base = status.network.subnet!.replace(/\.0\/24$/, '');
      expect(status.containers.find((c) => c.name === 'envoy')!.address).toBe(`${base}.2`);
      expect(new Set(await serverNames(port(status, 'envoy', 'listener_0'), 4))).toEqual(
        new Set(['red', 'blue']),
      );
      await runtime.down(name);
      await expectGone(status);
    } finally {
      await blocker?.remove();
    }
  });

  it('a taken host port: a clear error before anything is created', async () => {
    const name = `${PREFIX}port`;
    const holder = net.createServer();
    await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve));
    const held = (holder.address() as net.AddressInfo).port;
    try {
      const lab = libraryLab(LAB, name);
      const front = lab.spec.nodes.find((n) => n.kind === 'frontProxy')!;
      lab.spec.nodes = lab.spec.nodes.map((n) =>
        n === front ? { ...front, hostPorts: [{ host: held, container: 80 }] } : n,
      );
      const events: ProgressEvent[] = [];
      const error = await runtime
        .up(lab, { driver: 'docker', onProgress: (e) => events.push(e) })
        .catch((e: unknown) => e);
      expect(error).toMatchObject({ code: 'PORT_IN_USE' });
      expect((error as RuntimeError).message).toContain(
        `host port ${held} that envoy publishes (to its port 80) is already in use on 127.0.0.1`,
      );
      expect((error as RuntimeError).hint).toContain(`remove that host port from node '${front.id}'`);
      expect(events.some((e) => e.step === 'network' || e.step === 'container')).toBe(false);
      expect(await leftovers(name)).toEqual({ containers: 0, networks: 0, volumes: 0 });
    } finally {
      holder.close();
    }
  });

  it('a container that exits during up: up fails with its log lines and rolls back', async () => {
    const name = `${PREFIX}crash`;
    const crashy = new Runtime({ ...runtimeOptions(stateDir), prepare: changedJob(crashing('webserver02')) });
    const error = await crashy.up(libraryLab(LAB, name), { driver: 'docker' }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'EXITED' });
    expect((error as RuntimeError).message).toMatch(
      new RegExp(`^webserver02 exited with code 3 while lab '${name}' was coming up`),
    );
    expect((error as RuntimeError).logs).toEqual([
      { container: 'webserver02', lines: ['demoapp: cannot start: deliberately broken for the test'] },
    ]);
    expect(await leftovers(name)).toEqual({ containers: 0, networks: 0, volumes: 0 });
  });

  it('a console killed while the lab runs: a new one adopts the lab from its labels and its record, and down cleans it', async () => {
    const name = `${PREFIX}adopt`;
    await runKilledConsole({ lab: LAB, name, driver: 'docker', stateDir, killWhen: /^UP$/ });
    const adopted = new Runtime(runtimeOptions(stateDir));
    expect(await adopted.list()).toContainEqual({
      labId: name,
      driver: 'docker',
      state: 'running',
      containers: 5,
    });
    const status = (await adopted.status(name))!;
    expect(new Set(await serverNames(port(status, 'envoy', 'listener_0'), 4))).toEqual(
      new Set(['red', 'blue']),
    );
    // What it runs, for an edit: the lab it was brought up with, on the network it has.
    const deployment = (await adopted.deployment(name))!;
    expect(deployment.lab).toEqual(libraryLab(LAB, name));
    const v2 = structuredClone(deployment.lab);
    (v2.spec.nodes.find((n) => n.id === 'webserver02') as { app: { version?: string } }).app.version = 'v2.0';
    expect((await adopted.planEdit(name, v2)).restart).toEqual([
      {
        container: 'webserver02',
        message: 'webserver02 gets another environment (VERSION=v2.0), which a process reads when it starts',
      },
    ]);
    expect((await adopted.planEdit(name, deployment.lab)).restart).toEqual([]);
    await adopted.down(name);
    await expectGone(status);
    expect(await adopted.deployment(name)).toBeUndefined();
  });

  it('a console killed in the middle of up: down still removes everything it created', async () => {
    const name = `${PREFIX}midup`;
    await runKilledConsole({
      lab: LAB,
      name,
      driver: 'docker',
      stateDir,
      killWhen: /"starting webserver01"/,
    });
    const fresh = new Runtime(runtimeOptions(stateDir));
    expect((await fresh.list()).map((l) => l.labId)).toContain(name);
    await fresh.down(name);
    expect(await leftovers(name)).toEqual({ containers: 0, networks: 0, volumes: 0 });
  });
});
