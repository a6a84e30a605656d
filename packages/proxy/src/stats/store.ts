/**
 * The stats store: counters, gauges and histograms under Envoy's names
 * (`cluster.<name>.upstream_rq_total`, `http.<stat_prefix>.downstream_rq_2xx`, ...).
 *
 * Components resolve the stats they touch once (at construction) and keep the objects, so the
 * hot path is a field increment, never a name lookup. Names are the full dotted Envoy names;
 * tag extraction (for Prometheus output) happens when rendering, as in Envoy.
 */

export class Counter {
  value = 0;
  /** Value at the last stats flush; `value - latched` is the interval delta Envoy's sinks see. */
  latched = 0;
  used = false;
  constructor(readonly name: string) {}

  inc(n = 1): void {
    this.value += n;
    this.used = true;
  }

  reset(): void {
    this.value = 0;
    this.latched = 0;
  }
}

/**
 * How a gauge behaves across a hot restart / across workers: `Accumulate` gauges are summed
 * over workers (e.g. `upstream_rq_active`), `NeverImport` ones belong to one process (e.g.
 * `server.live`) and are not summed.
 */
export type GaugeImportMode = 'Accumulate' | 'NeverImport';

export class Gauge {
  value = 0;
  used = false;
  constructor(
    readonly name: string,
    readonly importMode: GaugeImportMode,
  ) {}

  set(v: number): void {
    this.value = v;
    this.used = true;
  }
  inc(n = 1): void {
    this.value += n;
    this.used = true;
  }
  dec(n = 1): void {
    this.value -= n;
    this.used = true;
  }
}

export type HistogramUnit = 'Unspecified' | 'Bytes' | 'Microseconds' | 'Milliseconds' | 'Percent';

/** The quantiles Envoy's admin prints for every histogram. */
export const SUPPORTED_QUANTILES = [0, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99, 0.995, 0.999, 1] as const;

/**
 * Log-linear buckets with two significant decimal digits, the layout of Envoy's circllhist:
 * a value v = m × 10^e (10 ≤ m < 100) falls in bucket (e, m), so every bucket is ≤10% wide and
 * quantiles are interpolated within it.
 */
export class HistogramBuckets {
  readonly counts = new Map<number, number>();
  total = 0;
  sum = 0;

  record(v: number): void {
    const key = HistogramBuckets.key(v);
    this.counts.set(key, (this.counts.get(key) ?? 0) + 1);
    this.total += 1;
    this.sum += v;
  }

  merge(other: HistogramBuckets): void {
    for (const [k, c] of other.counts) this.counts.set(k, (this.counts.get(k) ?? 0) + c);
    this.total += other.total;
    this.sum += other.sum;
  }

  clear(): void {
    this.counts.clear();
    this.total = 0;
    this.sum = 0;
  }

  /** Bucket key: 0 for v ≤ 0, else (e + 64) * 100 + m, which sorts like the values do. */
  static key(v: number): number {
    if (!(v > 0)) return 0;
    const e = Math.floor(Math.log10(v)) - 1;
    let m = Math.floor(v / 10 ** e);
    if (m >= 100) m = 99; // floating-point edge at exact powers of ten
    if (m < 10) m = 10;
    return (e + 64) * 100 + m;
  }

  static bounds(key: number): [number, number] {
    if (key === 0) return [0, 0];
    const e = Math.floor(key / 100) - 64;
    const m = key % 100;
    return [m * 10 ** e, (m + 1) * 10 ** e];
  }

  /** The q-quantile (0..1), or NaN when empty; interpolated linearly inside the bucket. */
  quantile(q: number): number {
    if (this.total === 0) return Number.NaN;
    const keys = [...this.counts.keys()].sort((a, b) => a - b);
    const target = q * this.total;
    let seen = 0;
    for (const k of keys) {
      const c = this.counts.get(k) ?? 0;
      if (seen + c >= target) {
        const [lo, hi] = HistogramBuckets.bounds(k);
        const within = c === 0 ? 0 : (target - seen) / c;
        return lo + (hi - lo) * within;
      }
      seen += c;
    }
    const [, hi] = HistogramBuckets.bounds(keys[keys.length - 1] ?? 0);
    return hi;
  }

  /** Cumulative counts at the given upper bounds, for Prometheus `_bucket{le=...}` lines. */
  cumulativeAt(upperBounds: readonly number[]): number[] {
    const keys = [...this.counts.keys()].sort((a, b) => a - b);
    return upperBounds.map((le) => {
      let n = 0;
      for (const k of keys) {
        const [, hi] = HistogramBuckets.bounds(k);
        if (hi <= le || (k === 0 && le >= 0)) n += this.counts.get(k) ?? 0;
      }
      return n;
    });
  }
}

export class Histogram {
  /** Everything recorded since start (or the last reset). */
  readonly cumulative = new HistogramBuckets();
  /** Values recorded since the last flush, still accumulating. */
  private current = new HistogramBuckets();
  /** The last completed flush interval; what the admin shows as "interval". */
  interval = new HistogramBuckets();
  used = false;

  constructor(
    readonly name: string,
    readonly unit: HistogramUnit,
  ) {}

  record(v: number): void {
    this.cumulative.record(v);
    this.current.record(v);
    this.used = true;
  }

  /** Called at every stats flush: the accumulating interval becomes the reported one. */
  flush(): void {
    this.interval = this.current;
    this.current = new HistogramBuckets();
  }
}

export type Stat = Counter | Gauge | Histogram;

/** A name prefix over a store: `scope('cluster.web.').counter('upstream_rq_total')`. */
export interface Scope {
  readonly prefix: string;
  counter(name: string): Counter;
  gauge(name: string, importMode?: GaugeImportMode): Gauge;
  histogram(name: string, unit?: HistogramUnit): Histogram;
  scope(prefix: string): Scope;
}

export class Store implements Scope {
  readonly prefix = '';
  private readonly counterMap = new Map<string, Counter>();
  private readonly gaugeMap = new Map<string, Gauge>();
  private readonly histogramMap = new Map<string, Histogram>();

  counter(name: string): Counter {
    let c = this.counterMap.get(name);
    if (!c) {
      c = new Counter(name);
      this.counterMap.set(name, c);
    }
    return c;
  }

  gauge(name: string, importMode: GaugeImportMode = 'Accumulate'): Gauge {
    let g = this.gaugeMap.get(name);
    if (!g) {
      g = new Gauge(name, importMode);
      this.gaugeMap.set(name, g);
    }
    return g;
  }

  histogram(name: string, unit: HistogramUnit = 'Milliseconds'): Histogram {
    let h = this.histogramMap.get(name);
    if (!h) {
      h = new Histogram(name, unit);
      this.histogramMap.set(name, h);
    }
    return h;
  }

  scope(prefix: string): Scope {
    return new PrefixScope(this, prefix);
  }

  counters(): Counter[] {
    return [...this.counterMap.values()];
  }
  gauges(): Gauge[] {
    return [...this.gaugeMap.values()];
  }
  histograms(): Histogram[] {
    return [...this.histogramMap.values()];
  }

  /** Drops every stat whose name starts with `prefix` (a removed cluster or listener). */
  removeByPrefix(prefix: string): void {
    for (const map of [this.counterMap, this.gaugeMap, this.histogramMap] as Map<string, Stat>[]) {
      for (const name of map.keys()) if (name.startsWith(prefix)) map.delete(name);
    }
  }

  /** `POST /reset_counters`: counters back to zero; gauges and histograms keep their values. */
  resetCounters(): void {
    for (const c of this.counterMap.values()) c.reset();
  }

  /** The periodic stats flush (`stats_flush_interval`): latch counters, rotate histograms. */
  flush(): void {
    for (const c of this.counterMap.values()) c.latched = c.value;
    for (const h of this.histogramMap.values()) h.flush();
  }
}

class PrefixScope implements Scope {
  constructor(
    private readonly store: Store,
    readonly prefix: string,
  ) {}
  counter(name: string): Counter {
    return this.store.counter(this.prefix + name);
  }
  gauge(name: string, importMode?: GaugeImportMode): Gauge {
    return this.store.gauge(this.prefix + name, importMode);
  }
  histogram(name: string, unit?: HistogramUnit): Histogram {
    return this.store.histogram(this.prefix + name, unit);
  }
  scope(prefix: string): Scope {
    return new PrefixScope(this.store, this.prefix + prefix);
  }
}
