/**
 * The built-in load generator: what the course's `send-request.sh` loops did, without their
 * counting mistakes. Exactly one request per iteration; every response is tallied by its status
 * and, when its body says `ServerName: <name>` (the demoapp's `/` and `/hostname`), by that name;
 * failures (refused, reset, timed out) are tallied by cause instead of being counted as "the other
 * version". Requests are paced to `rate` per second across `concurrency` workers; one header can
 * take a different value per request (rotating User-Agents for the ring-hash labs). It always
 * stops by itself: after `count` requests, after `durationSeconds`, or after an hour.
 */
import http from 'node:http';

export const HTTP_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS'] as const;
export type HttpMethod = (typeof HTTP_METHODS)[number];

export interface HeaderVariation {
  header: string;
  values: string[];
  /** `cycle`: in order, one per request; `random`: a random one per request. */
  mode: 'cycle' | 'random';
}

export interface LoadSettings {
  method: HttpMethod;
  path: string;
  headers: Record<string, string>;
  vary: HeaderVariation[];
  /** Requests per second across all workers; 0: as fast as `concurrency` workers can go. */
  rate: number;
  concurrency: number;
  /** Stop after this many seconds (at most an hour, the default). */
  durationSeconds: number;
  /** Stop after this many requests. */
  count?: number;
  body?: string;
}

export const MAX_DURATION_SECONDS = 3600;

export interface LatencySummary {
  mean: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

export interface LoadSnapshot {
  id: string;
  labId: string;
  target: { node: string; listener?: string; host: string; port: number };
  settings: LoadSettings;
  state: 'running' | 'finished' | 'stopped';
  /** Why it ended, when it did. */
  endReason?: string;
  startedAt: number;
  endedAt?: number;
  sent: number;
  completed: number;
  /** Responses by HTTP status code. */
  byStatus: Record<string, number>;
  /** Responses by the `ServerName` their body names (responses without one are not in here). */
  byServerName: Record<string, number>;
  /** Requests that got no response, by cause (ECONNREFUSED, ECONNRESET, timeout, ...). */
  errors: Record<string, number>;
  /** Completions per second since the previous snapshot. */
  rps: number;
  latencyMs: LatencySummary;
}

/** Of a body, only the start is read: ServerName is in the first line. */
const BODY_BYTES_READ = 64 * 1024;
const REQUEST_TIMEOUT_MS = 10_000;
const LATENCY_SAMPLES = 2048;
const SERVER_NAME = /ServerName: ([^\s,!]+)/;

export class LoadGenerator {
  readonly startedAt = Date.now();
  private settings: LoadSettings;
  private state: LoadSnapshot['state'] = 'running';
  private endReason: string | undefined;
  private endedAt: number | undefined;
  private sent = 0;
  private completed = 0;
  private readonly byStatus: Record<string, number> = {};
  private readonly byServerName: Record<string, number> = {};
  private readonly errors: Record<string, number> = {};
  private readonly latencies = new Float64Array(LATENCY_SAMPLES);
  private latencyCount = 0;
  private latencySum = 0;
  private latencyMax = 0;
  private nextSlot = 0;
  private readonly cursors = new Map<string, number>();
  private workers = 0;
  private readonly agent: http.Agent;
  private readonly deadline: NodeJS.Timeout;
  private lastSnapshot = { at: performance.now(), completed: 0 };
  private readonly done: Promise<void>;
  private resolveDone!: () => void;

  constructor(
    readonly id: string,
    readonly labId: string,
    readonly target: LoadSnapshot['target'],
    settings: LoadSettings,
    private readonly onEnd: (g: LoadGenerator) => void,
  ) {
    this.settings = settings;
    this.agent = new http.Agent({ keepAlive: true, maxSockets: settings.concurrency });
    this.done = new Promise((resolve) => {
      this.resolveDone = resolve;
    });
    this.deadline = setTimeout(
      () => this.end('finished', `ran for ${settings.durationSeconds} s`),
      settings.durationSeconds * 1000,
    );
    this.spawnWorkers();
  }

  get running(): boolean {
    return this.state === 'running';
  }

  /** Changes rate, concurrency, headers, path or method while it runs (duration and count stay). */
  update(patch: Partial<Omit<LoadSettings, 'durationSeconds' | 'count'>>): void {
    this.settings = { ...this.settings, ...patch };
    this.nextSlot = 0;
    this.agent.maxSockets = this.settings.concurrency;
    this.spawnWorkers();
  }

  stop(): Promise<void> {
    this.end('stopped', 'stopped');
    return this.done;
  }

  /** Resolves when every worker has returned after the generator ended. */
  finished(): Promise<void> {
    return this.done;
  }

  snapshot(): LoadSnapshot {
    const now = performance.now();
    const seconds = (now - this.lastSnapshot.at) / 1000;
    const rps =
      seconds > 0 ? Math.round(((this.completed - this.lastSnapshot.completed) / seconds) * 10) / 10 : 0;
    this.lastSnapshot = { at: now, completed: this.completed };
    return {
      id: this.id,
      labId: this.labId,
      target: this.target,
      settings: this.settings,
      state: this.state,
      endReason: this.endReason,
      startedAt: this.startedAt,
      endedAt: this.endedAt,
      sent: this.sent,
      completed: this.completed,
      byStatus: { ...this.byStatus },
      byServerName: { ...this.byServerName },
      errors: { ...this.errors },
      rps,
      latencyMs: this.latencySummary(),
    };
  }

  private end(state: 'finished' | 'stopped', reason: string): void {
    if (this.state !== 'running') return;
    this.state = state;
    this.endReason = reason;
    this.endedAt = Date.now();
    clearTimeout(this.deadline);
    this.onEnd(this);
    if (this.workers === 0) this.closed();
  }

  private closed(): void {
    this.agent.destroy();
    this.resolveDone();
  }

  private spawnWorkers(): void {
    while (this.running && this.workers < this.settings.concurrency) {
      void this.work(this.workers++);
    }
  }

  /** Worker `slot` leaves when concurrency drops to `slot` or below; one request per iteration. */
  private async work(slot: number): Promise<void> {
    try {
      while (this.running && slot < this.settings.concurrency) {
        if (this.settings.count !== undefined && this.sent >= this.settings.count) {
          this.end('finished', `sent ${this.settings.count} requests`);
          break;
        }
        await this.pace();
        if (!this.running) break;
        this.sent++;
        await this.once();
      }
    } finally {
      this.workers--;
      if (!this.running && this.workers === 0) this.closed();
    }
  }

  /** Waits for this worker's turn so that all workers together send `rate` requests per second. */
  private async pace(): Promise<void> {
    const { rate } = this.settings;
    if (rate <= 0) return;
    const now = performance.now();
    const slot = Math.max(now, this.nextSlot);
    this.nextSlot = slot + 1000 / rate;
    if (slot > now) await new Promise((r) => setTimeout(r, slot - now));
  }

  private headersFor(): Record<string, string> {
    const headers = { ...this.settings.headers };
    for (const v of this.settings.vary) {
      if (v.values.length === 0) continue;
      if (v.mode === 'random') {
        headers[v.header] = v.values[Math.floor(Math.random() * v.values.length)]!;
      } else {
        const i = this.cursors.get(v.header) ?? 0;
        headers[v.header] = v.values[i % v.values.length]!;
        this.cursors.set(v.header, i + 1);
      }
    }
    return headers;
  }

  private once(): Promise<void> {
    const { method, path, body } = this.settings;
    const started = performance.now();
    return new Promise((resolve) => {
      let settled = false;
      const settle = (tally: () => void) => {
        if (settled) return;
        settled = true;
        tally();
        resolve();
      };
      const payload =
        body !== undefined && method !== 'GET' && method !== 'HEAD' ? Buffer.from(body) : undefined;
      const req = http.request(
        {
          host: this.target.host,
          port: this.target.port,
          method,
          path,
          agent: this.agent,
          headers: payload ? { ...this.headersFor(), 'content-length': payload.length } : this.headersFor(),
          timeout: REQUEST_TIMEOUT_MS,
        },
        (res) => {
          const chunks: Buffer[] = [];
          let size = 0;
          res.on('data', (c: Buffer) => {
            if (size < BODY_BYTES_READ) chunks.push(c);
            size += c.length;
          });
          res.on('end', () =>
            settle(() => {
              this.completed++;
              this.recordLatency(performance.now() - started);
              const status = String(res.statusCode ?? 0);
              this.byStatus[status] = (this.byStatus[status] ?? 0) + 1;
              const name = SERVER_NAME.exec(Buffer.concat(chunks).toString('utf8', 0, BODY_BYTES_READ))?.[1];
              if (name) this.byServerName[name] = (this.byServerName[name] ?? 0) + 1;
            }),
          );
          res.on('error', (err) => settle(() => this.recordError(err)));
        },
      );
      req.on('timeout', () => req.destroy(Object.assign(new Error('timeout'), { code: 'timeout' })));
      req.on('error', (err) => settle(() => this.recordError(err)));
      req.end(payload);
    });
  }

  private recordError(err: Error): void {
    const cause = (err as NodeJS.ErrnoException).code ?? err.message;
    this.errors[cause] = (this.errors[cause] ?? 0) + 1;
  }

  private recordLatency(ms: number): void {
    this.latencies[this.latencyCount % LATENCY_SAMPLES] = ms;
    this.latencyCount++;
    this.latencySum += ms;
    if (ms > this.latencyMax) this.latencyMax = ms;
  }

  private latencySummary(): LatencySummary {
    const n = Math.min(this.latencyCount, LATENCY_SAMPLES);
    if (n === 0) return { mean: 0, p50: 0, p90: 0, p99: 0, max: 0 };
    const recent = Array.from(this.latencies.subarray(0, n)).sort((a, b) => a - b);
    const at = (q: number) => round(recent[Math.min(n - 1, Math.floor(q * n))]!);
    return {
      mean: round(this.latencySum / this.latencyCount),
      p50: at(0.5),
      p90: at(0.9),
      p99: at(0.99),
      max: round(this.latencyMax),
    };
  }
}

function round(ms: number): number {
  return Math.round(ms * 100) / 100;
}
