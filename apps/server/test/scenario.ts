/**
 * The console's end-to-end scenario, run on each driver: create a lab through the API, bring it
 * up, put load on it, watch its stats over the WebSocket, flip one endpoint's livez to FAIL and
 * see its share fall to 0 within the health-check thresholds plus one poll, move the split
 * (runtime_modify) and see the ratio follow, and bring it down.
 */
import { randomBytes } from 'node:crypto';
import type { LogLine } from '@meshcraft/runtime';
import type { Lab } from '@meshcraft/topology';
import { expect } from 'vitest';
import type { LifecycleEvent } from '../src/lifecycle/operations.js';
import type { LoadSnapshot } from '../src/loadgen/generator.js';
import type { StatsMessage } from '../src/stats/collector.js';
import type { ClusterStats, StatsFrame } from '../src/stats/frames.js';
import { Recorder, type ServerProcess } from './server-process.js';

/** Health checking of the test lab: every second, out after 2 failures, back after 1 success. */
export const HC = { intervalMs: 1000, unhealthyThreshold: 2 } as const;
export const POLL_MS = 500;

/** A front proxy splitting 50/50 (runtime keys `routing.split.<cluster>`) between blue (2 replicas) and green (1). */
export function splitLab(name: string): Lab {
  const healthChecks = [
    {
      timeout: '0.5s',
      interval: `${HC.intervalMs / 1000}s`,
      // Until the cluster has had traffic Envoy checks at no_traffic_interval (60 s by default).
      noTrafficInterval: `${HC.intervalMs / 1000}s`,
      unhealthyThreshold: HC.unhealthyThreshold,
      healthyThreshold: 1,
      http: { path: '/livez' },
    },
  ];
  return {
    apiVersion: 'meshcraft.io/v1alpha1',
    kind: 'Lab',
    metadata: { name, title: 'Server integration test: split and health checks' },
    spec: {
      nodes: [
        {
          kind: 'frontProxy',
          id: 'front',
          admin: { port: 9901 },
          runtime: [{ name: 'admin', admin: true }],
          listeners: [
            {
              name: 'listener_0',
              port: 80,
              virtualHosts: [
                {
                  name: 'web',
                  domains: ['*'],
                  routes: [
                    {
                      id: 'split',
                      match: { prefix: '/' },
                      totalWeight: 100,
                      runtimeKeyPrefix: 'routing.split',
                    },
                  ],
                },
              ],
            },
          ],
        },
        {
          kind: 'cluster',
          id: 'blue',
          discovery: 'STRICT_DNS',
          lbPolicy: 'ROUND_ROBIN',
          connectTimeout: '0.25s',
          healthChecks,
        },
        {
          kind: 'cluster',
          id: 'green',
          discovery: 'STRICT_DNS',
          lbPolicy: 'ROUND_ROBIN',
          connectTimeout: '0.25s',
          healthChecks,
        },
        { kind: 'service', id: 'blue-app', replicas: 2, app: { role: 'demoapp', version: 'v1.0' } },
        { kind: 'service', id: 'green-app', app: { role: 'demoapp', version: 'v1.1' } },
      ],
      edges: [
        { kind: 'route', id: 'to-blue', from: { node: 'front', route: 'split' }, to: 'blue', weight: 50 },
        { kind: 'route', id: 'to-green', from: { node: 'front', route: 'split' }, to: 'green', weight: 50 },
        { kind: 'membership', id: 'blue-members', from: 'blue', to: 'blue-app' },
        { kind: 'membership', id: 'green-members', from: 'green', to: 'green-app' },
      ],
    },
  } as Lab;
}

export function uniqueName(prefix: string): string {
  return `${prefix}-${randomBytes(3).toString('hex')}`;
}

function frontCluster(frame: StatsFrame, name: string): ClusterStats | undefined {
  return frame.proxies.find((p) => p.node === 'front')?.clusters.find((c) => c.name === name);
}

function framesOf(rec: Recorder<StatsMessage>): StatsFrame[] {
  return rec.items.flatMap((m) => (m.type === 'frame' ? [m.frame] : m.type === 'snapshot' ? m.frames : []));
}

/** green's part of the requests the front proxy sent over the last `n` frames. */
function greenRatio(frames: StatsFrame[], n: number): number {
  let blue = 0;
  let green = 0;
  for (const f of frames.slice(-n)) {
    blue += frontCluster(f, 'blue')?.rps ?? 0;
    green += frontCluster(f, 'green')?.rps ?? 0;
  }
  return blue + green > 0 ? green / (blue + green) : Number.NaN;
}

export async function runScenario(server: ServerProcess, driver: 'local' | 'docker'): Promise<void> {
  const { client } = server;
  const name = uniqueName(`it-${driver}`);
  server.labs.add(name);

  const saved = await client.labs.save.mutate({ lab: splitLab(name) });
  expect(saved).toMatchObject({ name, created: true });
  const listed = await client.labs.list.query();
  expect(listed.find((l) => l.name === name)).toMatchObject({ source: 'workspace', valid: true });

  const progress = new Recorder<LifecycleEvent>();
  const progressSub = client.lifecycle.progress.subscribe(
    { labId: name },
    { onData: (e) => progress.push(e), onError: (e) => (progress.error = e) },
  );
  const status = await client.lifecycle.up.mutate({ name, driver });
  expect(status.driver).toBe(driver);
  expect(status.state).toBe('running');
  await progress.waitFor(
    'the up operation to finish',
    (e) => e.type === 'finished' && e.operation.kind === 'up',
    10_000,
    true,
  );
  expect(progress.items.some((e) => e.type === 'progress' && e.event.step === 'ready')).toBe(true);
  progressSub.unsubscribe();

  const logs = new Recorder<LogLine[]>();
  const logsSub = client.lifecycle.logs.subscribe(
    { labId: name, target: 'front', tail: 20 },
    { onData: (b) => logs.push(b), onError: (e) => (logs.error = e) },
  );
  const batch = await logs.waitFor('log lines of the front proxy', (b) => b.length > 0, 10_000, true);
  expect(batch.every((l) => l.container === 'front')).toBe(true);
  logsSub.unsubscribe();

  const stats = new Recorder<StatsMessage>();
  const statsSub = client.stats.watch.subscribe(
    { labId: name, intervalMs: POLL_MS },
    { onData: (m) => stats.push(m), onError: (e) => (stats.error = e) },
  );
  const load = new Recorder<LoadSnapshot[]>();
  const loadSub = client.loadgen.watch.subscribe(
    { labId: name },
    { onData: (l) => load.push(l), onError: (e) => (load.error = e) },
  );
  try {
    const gen = await client.loadgen.start.mutate({
      labId: name,
      target: { node: 'front', listener: 'listener_0' },
      path: '/',
      rate: 200,
      concurrency: 4,
      durationSeconds: 300,
    });

    // Both blue replicas take part while healthy.
    const healthy = await stats.waitFor(
      'both blue endpoints sharing traffic',
      (m) => {
        const blue = m.type === 'frame' ? frontCluster(m.frame, 'blue') : undefined;
        return (
          blue?.endpoints.length === 2 && blue.endpoints.every((e) => e.healthy && (e.share ?? 0) > 0.25)
        );
      },
      30_000,
    );
    const blue = frontCluster((healthy as Extract<StatsMessage, { type: 'frame' }>).frame, 'blue')!;
    expect(blue.endpoints.map((e) => e.node)).toEqual(['blue-app', 'blue-app']);
    const victim = blue.endpoints[0]!.namespace!;
    expect(victim).toMatch(/^blue-app-[12]$/);

    // livez=FAIL on one replica: out after unhealthyThreshold failed checks, seen one poll later.
    const flippedAt = Date.now();
    const acted = await client.actions.setProbe.mutate({
      labId: name,
      target: victim,
      probe: 'livez',
      value: 'FAIL',
    });
    expect(acted.containers).toHaveLength(1);
    // Read back from the apps themselves: only the victim's livez changed.
    const probes = await client.actions.probes.query({ labId: name, target: 'blue-app' });
    expect(probes.map((p) => [p.container === acted.containers[0], p.livez, p.readyz]).sort()).toEqual([
      [false, 'OK', 'OK'],
      [true, 'FAIL', 'OK'],
    ]);
    const bound = HC.unhealthyThreshold * HC.intervalMs + HC.intervalMs + 2 * POLL_MS + 1000;
    const marked = await stats.waitFor(
      `${victim} to be marked unhealthy`,
      (m) =>
        m.type === 'frame' &&
        frontCluster(m.frame, 'blue')
          ?.endpoints.find((e) => e.namespace === victim)
          ?.flags.includes('failed_active_hc') === true,
      bound,
    );
    const markedAt = (marked as Extract<StatsMessage, { type: 'frame' }>).frame.at;
    const zero = await stats.waitFor(
      `${victim}'s share to reach 0`,
      (m) => {
        const c = m.type === 'frame' ? frontCluster(m.frame, 'blue') : undefined;
        const e = c?.endpoints.find((x) => x.namespace === victim);
        return e !== undefined && e.share === 0 && !e.healthy;
      },
      bound + POLL_MS,
      true,
    );
    const zeroAt = (zero as Extract<StatsMessage, { type: 'frame' }>).frame.at;
    console.info(
      `[${driver}] livez=FAIL → marked unhealthy in the stream after ${markedAt - flippedAt} ms, share 0 after ${zeroAt - flippedAt} ms (bound ${bound + POLL_MS} ms)`,
    );
    expect(zeroAt - flippedAt).toBeLessThanOrEqual(bound + POLL_MS);
    // The frame that carries the flag may still count requests sent just before it was set; the next cannot.
    expect(zeroAt - markedAt).toBeLessThanOrEqual(POLL_MS + 400);

    // The split follows the slider: 50/50, then 20/80.
    await stats.waitFor(
      'a 50/50 split',
      () => Math.abs(greenRatio(framesOf(stats), 4) - 0.5) < 0.1,
      10_000,
      true,
    );
    await client.actions.runtimeModify.mutate({
      labId: name,
      target: 'front',
      values: { 'routing.split.blue': '20', 'routing.split.green': '80' },
    });
    const runtime = await client.actions.runtime.query({ labId: name, target: 'front' });
    expect(runtime[0]!.entries['routing.split.green']).toBe('80');
    const movedFrom = framesOf(stats).length;
    await stats.waitFor(
      'the split to settle near 20/80',
      () => {
        const after = framesOf(stats).slice(movedFrom + 1);
        return after.length >= 4 && Math.abs(greenRatio(after, 4) - 0.8) < 0.08;
      },
      10_000,
    );

    // The load generator counted every response once, by status and by the ServerName in its body.
    const stopped = await client.loadgen.stop.mutate({ id: gen.id });
    expect(stopped.state).toBe('stopped');
    expect(stopped.completed).toBeGreaterThan(100);
    const byStatus = Object.values(stopped.byStatus).reduce((a, b) => a + b, 0);
    const errors = Object.values(stopped.errors).reduce((a, b) => a + b, 0);
    expect(byStatus + errors).toBe(stopped.completed + errors);
    expect(stopped.byStatus['200']).toBe(stopped.completed);
    // The demoapp names itself by its hostname: locally the namespace, in Docker the container's short id.
    const apps = status.containers.filter((c) => c.role === 'demoapp');
    const serverNames = apps.map((c) => (driver === 'local' ? c.namespace : c.id.slice(0, 12)));
    expect(Object.keys(stopped.byServerName).sort()).toEqual(serverNames.sort());
    expect(Object.values(stopped.byServerName).reduce((a, b) => a + b, 0)).toBe(stopped.completed);
    await load.waitFor(
      'the stopped generator in the stream',
      (l) => l.some((g) => g.id === gen.id && g.state === 'stopped'),
      5000,
      true,
    );
  } finally {
    statsSub.unsubscribe();
    loadSub.unsubscribe();
  }

  // A stopped node shows in the status, and comes back when started.
  const degraded = await client.lifecycle.nodeAction.mutate({
    labId: name,
    target: 'green-app',
    action: 'stop',
  });
  expect(degraded.state).toBe('degraded');
  expect(degraded.containers.find((c) => c.node === 'green-app')?.state).not.toBe('running');
  const restored = await client.lifecycle.nodeAction.mutate({
    labId: name,
    target: 'green-app',
    action: 'start',
  });
  expect(restored.state).toBe('running');

  await client.lifecycle.down.mutate({ labId: name });
  expect((await client.lifecycle.status.query({ labId: name })).status).toBeNull();
  expect((await client.lifecycle.list.query()).some((l) => l.labId === name)).toBe(false);
  server.labs.delete(name);
}
