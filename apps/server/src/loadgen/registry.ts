/**
 * The load generators of all labs: start, change, stop, and a stream per lab of their tallies,
 * sampled twice a second while any of them runs (and once more when one ends).
 */
import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { Channel } from '../async-channel.js';
import { ConsoleError } from '../errors.js';
import { LoadGenerator, type LoadSettings, type LoadSnapshot } from './generator.js';

const SAMPLE_MS = 500;
/** Ended generators kept per lab so their final tallies can still be read. */
const KEEP_ENDED = 10;

export class LoadGenerators {
  private readonly generators = new Map<string, LoadGenerator>();
  private readonly latest = new Map<string, LoadSnapshot>();
  private readonly emitter = new EventEmitter();
  private timer: NodeJS.Timeout | undefined;

  constructor() {
    this.emitter.setMaxListeners(0);
  }

  start(labId: string, target: LoadSnapshot['target'], settings: LoadSettings): LoadSnapshot {
    const g = new LoadGenerator(randomUUID(), labId, target, settings, (ended) => this.ended(ended));
    this.generators.set(g.id, g);
    this.prune(labId);
    this.timer ??= setInterval(() => this.sample(), SAMPLE_MS);
    return this.record(g);
  }

  update(id: string, patch: Parameters<LoadGenerator['update']>[0]): LoadSnapshot {
    const g = this.mustFind(id);
    if (!g.running) throw new ConsoleError('BAD_INPUT', `load generator ${id} has ended`, 'start a new one');
    g.update(patch);
    return this.record(g);
  }

  async stop(id: string): Promise<LoadSnapshot> {
    const g = this.mustFind(id);
    await g.stop();
    return this.latest.get(id) ?? this.record(g);
  }

  async stopLab(labId: string): Promise<void> {
    await Promise.all(
      [...this.generators.values()].filter((g) => g.labId === labId && g.running).map((g) => g.stop()),
    );
  }

  list(labId: string): LoadSnapshot[] {
    return [...this.generators.values()].filter((g) => g.labId === labId).map((g) => this.latest.get(g.id)!);
  }

  /** The lab's generators now, then again every time they are sampled, until `signal` aborts. */
  async *watch(labId: string, signal: AbortSignal): AsyncGenerator<LoadSnapshot[]> {
    const channel = new Channel<LoadSnapshot[]>(20);
    channel.push(this.list(labId));
    const listener = () => channel.push(this.list(labId));
    this.emitter.on(labId, listener);
    try {
      yield* channel.drain(signal);
    } finally {
      this.emitter.off(labId, listener);
    }
  }

  async close(): Promise<void> {
    await Promise.all([...this.generators.values()].filter((g) => g.running).map((g) => g.stop()));
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  private mustFind(id: string): LoadGenerator {
    const g = this.generators.get(id);
    if (!g)
      throw new ConsoleError(
        'NOT_FOUND',
        `there is no load generator ${id}`,
        'list the lab’s generators to find it',
      );
    return g;
  }

  private record(g: LoadGenerator): LoadSnapshot {
    const s = g.snapshot();
    this.latest.set(g.id, s);
    return s;
  }

  private sample(): void {
    const labs = new Set<string>();
    for (const g of this.generators.values()) {
      if (!g.running) continue;
      this.record(g);
      labs.add(g.labId);
    }
    for (const labId of labs) this.emitter.emit(labId);
    if (labs.size === 0 && this.timer) {
      clearInterval(this.timer);
      this.timer = undefined;
    }
  }

  private ended(g: LoadGenerator): void {
    // After the workers return, so the final tallies include every answered request.
    void g.finished().then(() => {
      this.record(g);
      this.emitter.emit(g.labId);
    });
    this.record(g);
    this.emitter.emit(g.labId);
  }

  private prune(labId: string): void {
    const ended = [...this.generators.values()].filter((g) => g.labId === labId && !g.running);
    for (const g of ended.slice(0, Math.max(0, ended.length - KEEP_ENDED))) {
      this.generators.delete(g.id);
      this.latest.delete(g.id);
    }
  }
}
