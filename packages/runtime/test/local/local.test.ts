/**
 * The local driver with real meshcraft-proxy and meshcraft-demoapp processes: the health-check
 * lab end to end, node actions and logs, 20 up/down cycles without leaks, and its faults.
 */
import { execFileSync } from 'node:child_process';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RuntimeError } from '../../src/errors.js';
import { labProcesses, processAlive } from '../../src/local/processes.js';
import { portFree } from '../../src/ports.js';
import { Runtime } from '../../src/runtime.js';
import type { LabStatus, ProgressEvent } from '../../src/types.js';
import {
  changedJob,
  checkHealthCheckLab,
  crashing,
  libraryLab,
  port,
  request,
  runKilledConsole,
  serverNames,
  waitFor,
} from '../helpers.js';

const LAB = 'health-check-with-http';
let stateDir: string;
let runtime: Runtime;
const used: string[] = [];

function lab(name: string) {
  used.push(name);
  return libraryLab(LAB, name);
}

/** Nothing of the lab is left: no process (found by its environment), no port, no state. */
async function expectGone(status: LabStatus): Promise<void> {
  expect(labProcesses(status.labId)).toEqual([]);
  for (const c of status.containers) expect(processAlive(Number(c.id))).toBe(false);
  for (const p of status.containers.flatMap((c) => c.ports))
    expect(await portFree(p.host, p.hostPort)).toBe(true);
  expect(await readdir(stateDir)).not.toContain(status.labId);
  expect(await runtime.status(status.labId)).toBeUndefined();
  // And by ps: no process mentions the lab's files.
  expect(execFileSync('ps', ['-eo', 'args'], { encoding: 'utf8' })).not.toContain(
    path.join(stateDir, status.labId),
  );
}

beforeAll(async () => {
  stateDir = await mkdtemp(path.join(os.tmpdir(), 'meshcraft-local-test-'));
  runtime = new Runtime({ local: { stateDir } });
});

afterAll(async () => {
  for (const name of used) await runtime.down(name).catch(() => {});
  await rm(stateDir, { recursive: true, force: true });
});

describe('the health-check lab on the local driver', () => {
  it('comes up, round-robins, takes an endpoint out on livez=FAIL, and down leaves nothing', async () => {
    const events: ProgressEvent[] = [];
    const status = await runtime.up(lab('mctest-local-hc'), {
      driver: 'local',
      onProgress: (e) => events.push(e),
    });
    expect(status.driver).toBe('local');
    expect(status.state).toBe('running');
    expect(status.network.subnet).toBe('127.31.18.0/24');
    expect(status.containers.map((c) => `${c.name}@${c.address}`)).toEqual([
      'envoy@127.31.18.2',
      'webserver01-sidecar@127.31.18.11',
      'webserver01@127.31.18.11',
      'webserver02-sidecar@127.31.18.12',
      'webserver02@127.31.18.12',
    ]);
    const steps = events.map((e) => e.step);
    expect(steps[0]).toBe('driver');
    expect(steps.filter((s) => s === 'ready').length).toBeGreaterThanOrEqual(5);
    expect(steps.at(-1)).toBe('done');

    await checkHealthCheckLab(status);

    const down = await runtime.down('mctest-local-hc');
    expect(down.removed.containers).toBe(5);
    await expectGone(status);
  });

  it('stops, starts and restarts nodes, and streams their logs', async () => {
    const up = await runtime.up(lab('mctest-local-nodes'), { driver: 'local' });
    const front = port(up, 'envoy', 'listener_0');

    const stopped = await runtime.stopNode('mctest-local-nodes', 'webserver02');
    expect(stopped.state).toBe('degraded');
    expect(stopped.containers.filter((c) => c.state === 'exited').map((c) => c.name)).toEqual([
      'webserver02-sidecar',
      'webserver02',
    ]);

    const started = await runtime.startNode('mctest-local-nodes', 'webserver02');
    expect(started.state).toBe('running');
    // Ready again (through its sidecar); when the front proxy sends it traffic again is its health check's business.
    expect(await serverNames(port(started, 'webserver02-sidecar', 'listener_0'), 1)).toEqual(['blue']);

    const before = up.containers.find((c) => c.name === 'envoy')!.id;
    const restarted = await runtime.restartNode('mctest-local-nodes', 'envoy');
    expect(restarted.containers.find((c) => c.name === 'envoy')!.id).not.toBe(before);
    expect(await serverNames(front, 2)).toHaveLength(2);

    const tail: string[] = [];
    for await (const line of runtime.logs('mctest-local-nodes', 'webserver01', { tail: 50 }))
      tail.push(`${line.container}: ${line.text}`);
    expect(tail.some((l) => /^webserver01: .*"GET \/ HTTP\/1\.1" 200/.test(l))).toBe(true);

    const abort = new AbortController();
    const followed: string[] = [];
    const following = (async () => {
      for await (const line of runtime.logs('mctest-local-nodes', 'webserver01', {
        follow: true,
        tail: 0,
        signal: abort.signal,
      })) {
        followed.push(line.text);
        if (line.text.includes('/hostname')) break;
      }
    })();
    // Requests until the follower, which starts reading at the end of the file, has seen one.
    const redSidecar = port(restarted, 'webserver01-sidecar', 'listener_0');
    await waitFor(
      'the followed log to show a request',
      async () =>
        (await request(redSidecar, '/hostname')).status === 200 &&
        followed.some((l) => l.includes('/hostname')),
      10_000,
    );
    await following;
    abort.abort();
    expect(followed.some((l) => l.includes('"GET /hostname HTTP/1.1" 200'))).toBe(true);

    await expect(runtime.stopNode('mctest-local-nodes', 'nope')).rejects.toThrow(
      /has no node, namespace or container named 'nope'/,
    );
    await runtime.down('mctest-local-nodes');
    await expectGone(restarted);
  });
});

describe('what a running lab runs', () => {
  it("is recorded at up; an edit is compared with it on the running lab's plan and committed", async () => {
    const original = lab('mctest-local-edit');
    await runtime.up(original, { driver: 'local' });
    const deployment = (await runtime.deployment('mctest-local-edit'))!;
    expect(deployment.lab).toEqual(original);
    expect(deployment.controlPlane).toBeUndefined();
    expect(deployment.rendered.containers.map((c) => c.name)).toHaveLength(5);

    expect((await runtime.planEdit('mctest-local-edit', original)).restart).toEqual([]);
    // Brought up without the console's control plane, a proxy's config is its bootstrap file.
    const random = structuredClone(original);
    (random.spec.nodes.find((n) => n.id === 'web_cluster_01') as { lbPolicy?: string }).lbPolicy = 'RANDOM';
    expect((await runtime.planEdit('mctest-local-edit', random)).restart).toEqual([
      {
        container: 'envoy',
        message: 'file envoy/envoy.yaml changes; files are written when the lab comes up',
      },
    ]);
    // A port the lab did not map when it came up has no host port.
    const listener = structuredClone(original);
    (listener.spec.nodes.find((n) => n.id === 'envoy') as { listeners: unknown[] }).listeners.push({
      name: 'listener_1',
      port: 8081,
      virtualHosts: [
        {
          name: 's',
          domains: ['*'],
          routes: [{ id: 's', match: { prefix: '/' }, directResponse: { status: 200 } }],
        },
      ],
    });
    const unmapped = await runtime.planEdit('mctest-local-edit', listener);
    expect(unmapped.next).toBeUndefined();
    expect(unmapped.restart).toEqual([
      {
        message:
          "the edited lab does not fit the running lab's addresses and ports: no host port was allocated for lab port 8081",
      },
    ]);
    await expect(unmapped.commit()).rejects.toThrow(/cannot take this edit while it runs/);

    const retitled = { ...original, metadata: { ...original.metadata, title: 'Edited while running' } };
    const plan = await runtime.planEdit('mctest-local-edit', retitled);
    expect(plan.restart).toEqual([]);
    await plan.commit();
    expect((await runtime.deployment('mctest-local-edit'))!.lab.metadata.title).toBe('Edited while running');

    await runtime.down('mctest-local-edit');
    expect(await runtime.deployment('mctest-local-edit')).toBeUndefined();
    await expect(runtime.planEdit('mctest-local-edit', original)).rejects.toThrow(/is not up/);
  });
});

describe('leaks', () => {
  it('20 up/down cycles leave no process, port or file behind', async () => {
    for (let i = 0; i < 20; i++) {
      const status = await runtime.up(lab('mctest-local-leak'), { driver: 'local' });
      expect(await serverNames(port(status, 'envoy', 'listener_0'), 1)).toHaveLength(1);
      await runtime.down('mctest-local-leak');
      // Ports are checked at once: ephemeral ports are handed out again later, to anyone.
      await expectGone(status);
    }
    // Process ids are recycled; the lab's environment marker is not.
    expect(labProcesses('mctest-local-leak')).toEqual([]);
  });
});

describe('faults', () => {
  it('a process that exits during up fails it with its log lines, and nothing is left', async () => {
    const crashy = new Runtime({ local: { stateDir }, prepare: changedJob(crashing('webserver02')) });
    const error = await crashy.up(lab('mctest-local-crash'), { driver: 'local' }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(RuntimeError);
    expect((error as RuntimeError).code).toBe('EXITED');
    expect((error as RuntimeError).message).toMatch(
      /webserver02 exited with code 3 while lab 'mctest-local-crash' was coming up/,
    );
    expect((error as RuntimeError).logs).toEqual([
      { container: 'webserver02', lines: ['demoapp: cannot start: deliberately broken for the test'] },
    ]);
    expect(labProcesses('mctest-local-crash')).toEqual([]);
    expect(await readdir(stateDir)).not.toContain('mctest-local-crash');
  });

  it('refuses a second up of a running lab', async () => {
    await runtime.up(lab('mctest-local-twice'), { driver: 'local' });
    await expect(runtime.up(lab('mctest-local-twice'), { driver: 'local' })).rejects.toMatchObject({
      code: 'LAB_RUNNING',
    });
    await runtime.down('mctest-local-twice');
  });

  it('a console killed while the lab runs: a new one adopts the lab, and down cleans it', async () => {
    used.push('mctest-local-adopt');
    await runKilledConsole({
      lab: LAB,
      name: 'mctest-local-adopt',
      driver: 'local',
      stateDir,
      killWhen: /^UP$/,
    });
    const adopted = new Runtime({ local: { stateDir } });
    expect(await adopted.list()).toContainEqual({
      labId: 'mctest-local-adopt',
      driver: 'local',
      state: 'running',
      containers: 5,
    });
    const status = (await adopted.status('mctest-local-adopt'))!;
    expect(await serverNames(port(status, 'envoy', 'listener_0'), 2)).toHaveLength(2);
    await adopted.down('mctest-local-adopt');
    await expectGone(status);
  });

  it('a console killed in the middle of up: down still removes what it started', async () => {
    used.push('mctest-local-midup');
    await runKilledConsole({
      lab: LAB,
      name: 'mctest-local-midup',
      driver: 'local',
      stateDir,
      killWhen: /"starting webserver02-sidecar"/,
    });
    const fresh = new Runtime({ local: { stateDir } });
    expect((await fresh.list()).map((l) => l.labId)).toContain('mctest-local-midup');
    await fresh.down('mctest-local-midup');
    expect(labProcesses('mctest-local-midup')).toEqual([]);
    expect(await readdir(stateDir)).not.toContain('mctest-local-midup');
  });
});
