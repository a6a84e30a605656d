/**
 * The stats collector: while at least one client watches a lab, it reads every proxy's admin
 * (`/stats?format=json`, `/clusters?format=json`) once per interval, turns the readings into a
 * `StatsFrame` and pushes it to the watchers; with no watcher it reads nothing. Each lab keeps a
 * rolling window of frames, sent whole to a new watcher so its charts start filled. The lab's
 * proxies come from the runtime's status, re-read every few seconds and after every lifecycle
 * change, so stopped and restarted nodes are followed.
 */
import type { LabStatus } from '@meshcraft/runtime';
import { request } from '../admin-http.js';
import { Channel } from '../async-channel.js';
import { ownerIndex, type ProxyTarget, proxyTargets } from '../lab-targets.js';
import { parseClustersJson, parseStatsJson } from './envoy.js';
import { type OwnerOf, type ProxySample, type ProxyStats, proxyStats, type StatsFrame } from './frames.js';

export const POLL_INTERVAL = { min: 250, max: 5000, default: 1000 } as const;
export const WINDOW_MS = 120_000;
/** Frames a watcher may fall behind by before the oldest are dropped (a minute at the shortest interval). */
const WATCHER_BACKLOG = 240;
/** How often the list of proxies is re-read from the runtime when nothing announced a change. */
const TARGETS_MAX_AGE_MS = 5000;

/** Only the stats the frames use: clusters' and HTTP connection managers', and only ones written to. */
export const STATS_PATH = `/stats?format=json&usedonly&filter=${encodeURIComponent('^(cluster|http)\\.')}`;
export const CLUSTERS_PATH = '/clusters?format=json';

export type StatsMessage =
  /** First message to a watcher: the window so far (oldest first). */
  | { type: 'snapshot'; labId: string; intervalMs: number; windowMs: number; frames: StatsFrame[] }
  /** Every interval after that: the new frame. */
  | { type: 'frame'; labId: string; frame: StatsFrame }
  /** The lab is not up (or went down); frames resume when it is up again. */
  | { type: 'down'; labId: string; message: string };

export interface StatusSource {
  status(labId: string): Promise<LabStatus | undefined>;
}

interface Watcher {
  intervalMs: number;
  /** How many frames of the window its snapshot carries. */
  history: number;
  push(message: StatsMessage): void;
}

interface Targets {
  proxies: ProxyTarget[];
  ownerOf: OwnerOf;
  readAt: number;
}

class LabCollector {
  readonly watchers = new Set<Watcher>();
  private window: StatsFrame[] = [];
  private readonly samples = new Map<string, ProxySample>();
  private targets: Targets | undefined;
  private timer: NodeJS.Timeout | undefined;
  private running = false;
  private labUp: boolean | undefined;

  constructor(
    readonly labId: string,
    private readonly source: StatusSource,
  ) {}

  add(watcher: Watcher): void {
    this.watchers.add(watcher);
    watcher.push({
      type: 'snapshot',
      labId: this.labId,
      intervalMs: this.intervalMs(),
      windowMs: WINDOW_MS,
      frames: watcher.history > 0 ? this.window.slice(-watcher.history) : [],
    });
    if (!this.running) {
      this.running = true;
      this.schedule(0);
    }
  }

  remove(watcher: Watcher): void {
    this.watchers.delete(watcher);
    if (this.watchers.size === 0) this.stop();
  }

  invalidate(): void {
    this.targets = undefined;
  }

  stop(): void {
    this.running = false;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private intervalMs(): number {
    let min: number = POLL_INTERVAL.max;
    for (const w of this.watchers) min = Math.min(min, w.intervalMs);
    return min;
  }

  private schedule(delay: number): void {
    this.timer = setTimeout(() => void this.tick(), delay);
  }

  private async tick(): Promise<void> {
    const started = performance.now();
    const interval = this.intervalMs();
    try {
      await this.collect(interval);
    } catch (err) {
      this.broadcast({
        type: 'down',
        labId: this.labId,
        message: `cannot read the lab's status: ${(err as Error).message}`,
      });
    }
    if (this.running) this.schedule(Math.max(0, interval - (performance.now() - started)));
  }

  private async collect(interval: number): Promise<void> {
    const targets = await this.currentTargets();
    if (!targets) return;
    const timeoutMs = Math.max(interval, 1000);
    const proxies = await Promise.all(targets.proxies.map((p) => this.read(p, targets.ownerOf, timeoutMs)));
    const live = new Set(targets.proxies.map((p) => p.container));
    for (const container of this.samples.keys()) if (!live.has(container)) this.samples.delete(container);
    const frame: StatsFrame = { at: Date.now(), intervalMs: interval, proxies };
    this.window.push(frame);
    const oldest = frame.at - WINDOW_MS;
    let drop = 0;
    while (drop < this.window.length && this.window[drop]!.at < oldest) drop++;
    if (drop > 0) this.window = this.window.slice(drop);
    this.broadcast({ type: 'frame', labId: this.labId, frame });
  }

  private async currentTargets(): Promise<Targets | undefined> {
    if (this.targets && performance.now() - this.targets.readAt < TARGETS_MAX_AGE_MS) return this.targets;
    const status = await this.source.status(this.labId);
    if (!status) {
      this.targets = undefined;
      this.samples.clear();
      if (this.labUp !== false) {
        this.labUp = false;
        this.window = [];
        this.broadcast({ type: 'down', labId: this.labId, message: `lab '${this.labId}' is not up` });
      }
      return undefined;
    }
    this.labUp = true;
    this.targets = { proxies: proxyTargets(status), ownerOf: ownerIndex(status), readAt: performance.now() };
    return this.targets;
  }

  private async read(p: ProxyTarget, ownerOf: OwnerOf, timeoutMs: number): Promise<ProxyStats> {
    const who = { node: p.node, container: p.container };
    try {
      const [stats, clusters] = await Promise.all([
        request(p.admin, 'GET', STATS_PATH, { timeoutMs }),
        request(p.admin, 'GET', CLUSTERS_PATH, { timeoutMs }),
      ]);
      if (stats.status !== 200 || clusters.status !== 200) {
        throw new Error(`admin answered ${stats.status} to /stats and ${clusters.status} to /clusters`);
      }
      const sample: ProxySample = {
        at: performance.now(),
        stats: parseStatsJson(stats.text),
        clusters: parseClustersJson(clusters.text),
      };
      const before = this.samples.get(p.container);
      this.samples.set(p.container, sample);
      return proxyStats(who, sample, before, ownerOf);
    } catch (err) {
      this.samples.delete(p.container);
      // The runtime may know why (the node was stopped): look again on the next interval.
      this.targets = undefined;
      return { ...who, reachable: false, error: (err as Error).message, clusters: [], listeners: [] };
    }
  }

  private broadcast(message: StatsMessage): void {
    for (const w of this.watchers) w.push(message);
  }
}

export class Collector {
  private readonly labs = new Map<string, LabCollector>();

  constructor(private readonly source: StatusSource) {}

  /**
   * Streams a lab's stats until `signal` aborts: a snapshot of the window (its last `history`
   * frames, default all) first, then a frame per interval. `intervalMs` is clamped to 250 ms..5 s; with several watchers the lab is read
   * at the shortest interval any of them asked for.
   */
  async *watch(
    labId: string,
    options: { intervalMs: number; history?: number },
    signal: AbortSignal,
  ): AsyncGenerator<StatsMessage> {
    const channel = new Channel<StatsMessage>(WATCHER_BACKLOG);
    const watcher: Watcher = {
      intervalMs: Math.min(POLL_INTERVAL.max, Math.max(POLL_INTERVAL.min, options.intervalMs)),
      history: options.history ?? Number.POSITIVE_INFINITY,
      push: (message) => channel.push(message),
    };
    let lab = this.labs.get(labId);
    if (!lab) {
      lab = new LabCollector(labId, this.source);
      this.labs.set(labId, lab);
    }
    lab.add(watcher);
    try {
      yield* channel.drain(signal);
    } finally {
      lab.remove(watcher);
      if (lab.watchers.size === 0) this.labs.delete(labId);
    }
  }

  /** Re-read the lab's proxies on the next interval (after up, down, stop or start). */
  invalidate(labId: string): void {
    this.labs.get(labId)?.invalidate();
  }

  /** How many labs are being read now (none when nobody watches). */
  get activeLabs(): number {
    return this.labs.size;
  }

  close(): void {
    for (const lab of this.labs.values()) lab.stop();
    this.labs.clear();
  }
}
