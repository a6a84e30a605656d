/**
 * The primary's worker processes (node:cluster): starting them, talking to them, replacing one that
 * dies, and stopping them all.
 *
 * Connections reach the workers through the primary's round robin (node:cluster's SCHED_RR): the
 * primary accepts and hands each connection to the next free worker over the same IPC channel that
 * carries config, health and runtime changes, so a worker has applied every change sent before a
 * connection arrives. It also spreads load better than the kernel does among workers accepting on
 * one shared socket (SCHED_NONE; Node 20 has no SO_REUSEPORT): with wrk on 2 cores and a new
 * connection per request, round robin split connections 48/52 (twice) where the shared socket
 * split them 60/40 and 56/44; with keep-alive connections both kept the two workers equally busy.
 */
import cluster, { type Worker } from 'node:cluster';
import type { Logger } from '../common/logger.js';
import type { FromWorker, ToWorker, WorkerInit, WorkerLink, WorkerSnapshot } from './ipc.js';

/** How long a worker has to answer a snapshot request before the admin answers without it. */
const SNAPSHOT_TIMEOUT_MS = 2000;
/** A worker that dies sooner than this after starting is restarted after a pause, not at once. */
const STABLE_AFTER_MS = 10_000;
const RESTART_PAUSE_MS = 1000;

export interface WorkerPoolEvents {
  /** The state a worker starts from, taken when it asks (so it is current). */
  init(index: number): WorkerInit;
  /** What the pool does not handle itself: xDS watches, health requests, outlier reports. */
  message(worker: WorkerLink, message: FromWorker): void;
  /** A worker is gone; `last` is the last snapshot it gave. */
  exited(worker: WorkerLink, last: WorkerSnapshot | undefined): void;
}

class WorkerProcess implements WorkerLink {
  /** Sent its init: from then on it is told every change. */
  initialized = false;
  serving = false;
  /** Why it failed to start, as it reported it. */
  failure: string | undefined;
  last: WorkerSnapshot | undefined;
  readonly startedAt = Date.now();
  private readonly snapshotRequests = new Map<number, (s: WorkerSnapshot | undefined) => void>();

  constructor(
    readonly index: number,
    readonly worker: Worker,
  ) {}

  get pid(): number | undefined {
    return this.worker.process.pid;
  }

  init(init: WorkerInit): void {
    this.initialized = true;
    this.post({ t: 'init', init });
  }

  send(message: ToWorker): void {
    if (this.initialized) this.post(message);
  }

  private post(message: ToWorker): void {
    // A worker that just died cannot be told anything; its exit is handled on its own.
    if (this.worker.isConnected()) this.worker.send(message, undefined, undefined, () => {});
  }

  snapshot(id: number): Promise<WorkerSnapshot | undefined> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => this.answered(id, undefined), SNAPSHOT_TIMEOUT_MS);
      this.snapshotRequests.set(id, (s) => {
        clearTimeout(timer);
        resolve(s);
      });
      this.send({ t: 'snapshot', id });
    });
  }

  answered(id: number, snapshot: WorkerSnapshot | undefined): void {
    if (snapshot) this.last = snapshot;
    this.snapshotRequests.get(id)?.(snapshot);
    this.snapshotRequests.delete(id);
  }

  exited(): void {
    for (const id of [...this.snapshotRequests.keys()]) this.answered(id, undefined);
  }
}

export class WorkerPool {
  private readonly workers: (WorkerProcess | undefined)[];
  private startup: { resolve(): void; reject(err: Error): void } | undefined;
  private stopping = false;
  private nextSnapshotId = 1;

  constructor(
    count: number,
    private readonly events: WorkerPoolEvents,
    private readonly log: Logger,
  ) {
    this.workers = Array.from({ length: count }, () => undefined);
  }

  /** Starts every worker; resolves when all serve, rejects with the first that fails to. */
  start(): Promise<void> {
    cluster.schedulingPolicy = cluster.SCHED_RR;
    cluster.setupPrimary({ serialization: 'advanced' });
    return new Promise((resolve, reject) => {
      this.startup = { resolve, reject };
      for (let i = 0; i < this.workers.length; i++) this.fork(i);
    });
  }

  /** Tells every worker that has started. */
  broadcast(message: ToWorker): void {
    for (const w of this.workers) w?.send(message);
  }

  /** Snapshots of the serving workers, in worker order (a worker that does not answer is left out). */
  async snapshots(): Promise<WorkerSnapshot[]> {
    const id = this.nextSnapshotId++;
    const serving = this.workers.filter((w): w is WorkerProcess => w?.serving === true);
    const answers = await Promise.all(serving.map((w) => w.snapshot(id)));
    return answers.filter((s): s is WorkerSnapshot => s !== undefined);
  }

  /** Tells the workers to drain and waits for them to exit, killing those still there after `timeoutMs`. */
  async shutdown(timeoutMs: number): Promise<void> {
    this.stopping = true;
    const running = this.workers.filter((w): w is WorkerProcess => w !== undefined);
    const exits = running.map((w) => new Promise<void>((resolve) => w.worker.once('exit', () => resolve())));
    for (const w of running) {
      if (w.initialized) w.send({ t: 'shutdown' });
      else w.worker.kill('SIGKILL');
    }
    const timer = setTimeout(() => {
      for (const w of running) if (!w.worker.isDead()) w.worker.kill('SIGKILL');
    }, timeoutMs);
    await Promise.all(exits);
    clearTimeout(timer);
  }

  private fork(index: number): void {
    const w = new WorkerProcess(index, cluster.fork());
    this.workers[index] = w;
    w.worker.on('message', (m: FromWorker) => this.onMessage(w, m));
    w.worker.on('exit', (code, signal) => this.onExit(w, signal ?? `code ${code}`));
  }

  private onMessage(w: WorkerProcess, m: FromWorker): void {
    switch (m.t) {
      case 'hello':
        w.init(this.events.init(w.index));
        return;
      case 'up':
        w.serving = true;
        this.log.info(`worker ${w.index} (pid ${w.pid}) is serving`);
        if (this.workers.every((x) => x?.serving)) {
          this.startup?.resolve();
          this.startup = undefined;
        }
        return;
      case 'failed':
        w.failure = m.message;
        return;
      case 'snapshot':
        w.answered(m.id, m.snapshot);
        return;
      default:
        this.events.message(w, m);
    }
  }

  private onExit(w: WorkerProcess, how: string): void {
    if (this.workers[w.index] === w) this.workers[w.index] = undefined;
    w.exited();
    this.events.exited(w, w.last);
    if (this.stopping) return;
    if (this.startup) {
      // Start-up fails as the single process's would (a port in use, say); the caller stops the rest.
      this.stopping = true;
      this.startup.reject(new Error(w.failure ?? `worker ${w.index} exited (${how}) while starting`));
      this.startup = undefined;
      return;
    }
    const why = w.failure ? `: ${w.failure}` : '';
    this.log.error(`worker ${w.index} (pid ${w.pid}) exited (${how})${why}; starting a new one`);
    const pause = Date.now() - w.startedAt < STABLE_AFTER_MS ? RESTART_PAUSE_MS : 0;
    setTimeout(() => {
      if (!this.stopping) this.fork(w.index);
    }, pause);
  }
}
