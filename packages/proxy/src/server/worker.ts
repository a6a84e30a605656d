/**
 * A worker process of `--concurrency N`: the data plane, like one of Envoy's worker threads. It runs
 * the primary's bootstrap, binds the listeners (node:cluster shares each socket among the workers)
 * and serves them, while its config updates, host health, runtime and admin actions come from the
 * primary. It has no admin of its own; the primary's reads it through snapshots.
 */
import { LogRegistry } from '../common/logger.js';
import type { Runtime } from '../runtime/runtime.js';
import { Store } from '../stats/store.js';
import { XdsSubscriptionFactory } from '../xds/subscription-factory.js';
import type { FromWorker, ToWorker, WorkerInit, WorkerSnapshot } from './ipc.js';
import { logSink } from './options.js';
import type { ServerRole } from './role.js';
import { Server } from './server.js';
import { WorkerHostHealth } from './shared-health.js';
import { hostStatsSnapshot, snapshotStore } from './stats-aggregation.js';
import { SubscriptionRelay } from './subscription-relay.js';

function send(message: FromWorker): void {
  process.send?.(message);
}

/** Makes the runtime's admin layer what the primary's is. */
function mirrorOverrides(runtime: Runtime, overrides: Record<string, string>): void {
  const current = runtime.adminOverrides();
  const changes = Object.fromEntries([
    ...Object.keys(current)
      .filter((k) => !(k in overrides))
      .map((k) => [k, '']),
    ...Object.entries(overrides).filter(([k, v]) => current[k] !== v),
  ]);
  if (Object.keys(changes).length > 0) runtime.modify(changes);
}

/** The worker's side of the IPC channel: what it takes from the primary, and its server. */
class WorkerAgent {
  private readonly health = new WorkerHostHealth(send);
  private relay: SubscriptionRelay | undefined;
  private server: Server | undefined;
  /** What the admin set, kept until the server exists to take it. */
  private overrides: Record<string, string>;
  private healthCheckFailed: boolean;

  constructor(
    private readonly init: WorkerInit,
    private readonly logs: LogRegistry,
  ) {
    this.overrides = init.runtimeOverrides;
    this.healthCheckFailed = init.healthCheckFailed;
  }

  role(): ServerRole {
    return {
      workerIndex: this.init.index,
      servesTraffic: true,
      keepsServerStats: false,
      bootstrap: this.init.bootstrap,
      subscriptions: (deps) => {
        // Never started: it refuses what the primary's factory refuses, with stats of its own.
        const validator = new XdsSubscriptionFactory({ ...deps, store: new Store() });
        this.relay = new SubscriptionRelay(validator, send, this.logs.get('config', 'server/worker.ts'));
        return this.relay;
      },
      attach: (server) => {
        this.server = server;
        const cm = server.clusterManager;
        this.health.clusters = () => [...cm.clusters(), ...cm.warmingClusters()];
        this.apply();
      },
      adminContext: () => undefined,
      remoteHealth: (cluster) => this.health.follow(cluster),
    };
  }

  private apply(): void {
    if (!this.server) return;
    mirrorOverrides(this.server.runtime, this.overrides);
    this.server.setHealthCheckFailed(this.healthCheckFailed);
  }

  receive(m: ToWorker): void {
    switch (m.t) {
      case 'xds':
      case 'xds-timeout':
        this.relay?.receive(m);
        return;
      case 'health':
        this.health.apply(m);
        return;
      case 'runtime':
        this.overrides = m.overrides;
        this.apply();
        return;
      case 'healthcheck':
        this.healthCheckFailed = m.failed;
        this.apply();
        return;
      case 'logging':
        for (const [name, level] of m.levels) this.logs.setLevel(name, level);
        return;
      case 'drain':
        this.server?.drainListeners(m);
        return;
      case 'shutdown':
        if (this.server) void this.server.shutdown();
        else process.exit(0);
        return;
      case 'reset-counters':
        this.server?.store.resetCounters();
        return;
      case 'snapshot':
        if (this.server) send({ t: 'snapshot', id: m.id, snapshot: snapshot(this.server) });
        return;
    }
  }
}

function snapshot(server: Server): WorkerSnapshot {
  const { heapUsed, heapTotal, rss } = process.memoryUsage();
  return {
    stats: snapshotStore(server.store),
    hosts: hostStatsSnapshot(server.clusterManager.clusters()),
    listeners: server.listeners(),
    memory: { heapUsed, heapTotal, rss },
  };
}

/** Runs this process as a worker until the primary shuts it down (or goes away: node:cluster exits then). */
export async function runWorker(): Promise<void> {
  // On a signal the primary drains the workers (a terminal's Ctrl-C reaches every process of the group).
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => {});
  // Messages right behind the init can be emitted before the init is acted on: they wait for the agent.
  let worker: WorkerAgent | undefined;
  const early: ToWorker[] = [];
  const init = await new Promise<WorkerInit>((resolve) => {
    process.on('message', (m: ToWorker) => {
      if (m.t === 'init') resolve(m.init);
      else if (worker) worker.receive(m);
      else early.push(m);
    });
    send({ t: 'hello' });
  });
  const logs = new LogRegistry(init.options.logLevel, logSink(init.options.logPath));
  for (const [name, level] of init.logLevels) logs.setLevel(name, level);
  worker = new WorkerAgent(init, logs);
  for (const m of early.splice(0)) worker.receive(m);
  let server: Server;
  try {
    // The primary's levels already include --component-log-level and any /logging change since.
    server = await Server.start({ ...init.options, componentLogLevel: [] }, logs, worker.role());
  } catch (err) {
    const failed: FromWorker = { t: 'failed', message: (err as Error).message };
    await new Promise<void>((resolve) => process.send?.(failed, undefined, undefined, () => resolve()));
    process.exit(1);
  }
  send({ t: 'up' });
  await server.stopped;
  process.exit(0);
}
