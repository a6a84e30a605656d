/**
 * Envoy's stats output formats, rendered from a {@link Store}: the `/stats` text and JSON forms
 * (source/server/admin/stats_render.cc, stats_handler.cc) and the Prometheus exposition
 * (prometheus_stats.cc) with Envoy's default tag extraction (source/common/config/well_known_names.cc),
 * plus the query parameters that select what is shown.
 */
import { RE2 } from 're2-wasm';
import {
  type Counter,
  type Gauge,
  type Histogram,
  HistogramBuckets,
  type Store,
  SUPPORTED_QUANTILES,
} from './store.js';

/** Envoy's default histogram bucket upper bounds, used for `_bucket{le=...}` and `histogram_buckets`. */
export const DEFAULT_HISTOGRAM_BUCKETS = [
  0.5, 1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000, 300000, 600000, 1800000,
  3600000,
] as const;

export type StatsFormat = 'text' | 'json' | 'prometheus';
export type StatsType = 'All' | 'Counters' | 'Gauges' | 'Histograms' | 'TextReadouts';
export type HistogramBucketsMode = 'none' | 'cumulative' | 'disjoint' | 'detailed';

export interface StatsParams {
  format: StatsFormat;
  type: StatsType;
  usedOnly: boolean;
  /** RE2 partial match on the full stat name, as Envoy's `filter=`. */
  filter: { test(name: string): boolean } | undefined;
  histogramBuckets: HistogramBucketsMode;
}

/** A query parameter Envoy would refuse; the message is the body Envoy answers with (HTTP 400). */
export class StatsParamsError extends Error {}

const STATS_TYPES: readonly StatsType[] = ['All', 'Counters', 'Gauges', 'Histograms', 'TextReadouts'];
const BUCKET_MODES: readonly HistogramBucketsMode[] = ['none', 'cumulative', 'disjoint', 'detailed'];

/** Parses `/stats` query parameters (already percent-decoded) the way Envoy's StatsParams does. */
export function parseStatsParams(query: ReadonlyMap<string, string>): StatsParams {
  let filter: StatsParams['filter'];
  const pattern = query.get('filter');
  if (pattern !== undefined) {
    try {
      filter = new RE2(pattern, 'u');
    } catch {
      throw new StatsParamsError('Invalid re2 regex');
    }
  }
  const buckets = query.get('histogram_buckets') || 'none';
  if (!(BUCKET_MODES as readonly string[]).includes(buckets)) {
    throw new StatsParamsError('usage: /stats?histogram_buckets=(cumulative|disjoint|none)\n');
  }
  const type = query.get('type') ?? 'All';
  if (!(STATS_TYPES as readonly string[]).includes(type)) throw new StatsParamsError('invalid &type= param');
  const format = query.get('format') || 'text';
  if (format !== 'text' && format !== 'json' && format !== 'prometheus') {
    throw new StatsParamsError('usage: /stats?format=(json|prometheus|text)\n\n');
  }
  return {
    format,
    type: type as StatsType,
    usedOnly: query.has('usedonly'),
    filter,
    histogramBuckets: buckets as HistogramBucketsMode,
  };
}

interface Selection {
  counters: Counter[];
  gauges: Gauge[];
  histograms: Histogram[];
}

function byName(a: { name: string }, b: { name: string }): number {
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}

/** The stats `params` ask for, each kind sorted by name. */
function select(store: Store, params: StatsParams): Selection {
  const shown = (s: { name: string; used: boolean }) =>
    (!params.usedOnly || s.used) && (params.filter === undefined || params.filter.test(s.name));
  const wants = (t: StatsType) => params.type === 'All' || params.type === t;
  return {
    counters: wants('Counters') ? store.counters().filter(shown).sort(byName) : [],
    gauges: wants('Gauges') ? store.gauges().filter(shown).sort(byName) : [],
    histograms: wants('Histograms') ? store.histograms().filter(shown).sort(byName) : [],
  };
}

/**
 * C's `%.<precision>g`, which Envoy's fmt `{:g}` and `{:.32g}` produce: shortest of fixed and
 * exponent form, trailing zeros dropped, `nan` for NaN.
 */
export function formatG(value: number, precision = 6): string {
  if (Number.isNaN(value)) return 'nan';
  if (!Number.isFinite(value)) return value > 0 ? 'inf' : '-inf';
  if (value === 0) return '0';
  const exponent = Math.floor(Math.log10(Math.abs(Number(value.toPrecision(precision)))));
  const stripZeros = (s: string) => (s.includes('.') ? s.replace(/\.?0+$/, '') : s);
  if (exponent < -4 || exponent >= precision) {
    const [mantissa = '', exp = '0'] = value.toExponential(precision - 1).split('e');
    const expDigits = exp.replace(/^[+-]/, '').padStart(2, '0');
    return `${stripZeros(mantissa)}e${exp.startsWith('-') ? '-' : '+'}${expDigits}`;
  }
  return stripZeros(value.toFixed(Math.max(0, precision - 1 - exponent)));
}

function quantiles(buckets: HistogramBuckets): number[] {
  return SUPPORTED_QUANTILES.map((q) => buckets.quantile(q));
}

/** Counts per default bucket, cumulative (values ≤ bound) or disjoint (values in (previous, bound]). */
function bucketCounts(buckets: HistogramBuckets, disjoint: boolean): number[] {
  const cumulative = buckets.cumulativeAt(DEFAULT_HISTOGRAM_BUCKETS);
  if (!disjoint) return cumulative;
  return cumulative.map((n, i) => n - (i === 0 ? 0 : (cumulative[i - 1] ?? 0)));
}

interface DetailBucket {
  lowerBound: number;
  width: number;
  count: number;
}

/** The raw log-linear buckets, as Envoy's `histogram_buckets=detailed` lists them. */
function detailBuckets(buckets: HistogramBuckets): DetailBucket[] {
  return [...buckets.counts.entries()]
    .sort((a, b) => a[0] - b[0])
    .map(([key, count]) => {
      const [lo, hi] = HistogramBuckets.bounds(key);
      return { lowerBound: lo, width: hi - lo, count };
    });
}

// ---------------------------------------------------------------------------------------------
// Text

function histogramText(h: Histogram, mode: HistogramBucketsMode): string {
  if (!h.used) return `${h.name}: No recorded values\n`;
  const summary = () => {
    const interval = quantiles(h.interval);
    const cumulative = quantiles(h.cumulative);
    return SUPPORTED_QUANTILES.map(
      (q, i) => `P${formatG(q * 100)}(${formatG(interval[i]!)},${formatG(cumulative[i]!)})`,
    ).join(' ');
  };
  switch (mode) {
    case 'none':
      return `${h.name}: ${summary()}\n`;
    case 'cumulative':
    case 'disjoint': {
      const disjoint = mode === 'disjoint';
      const interval = bucketCounts(h.interval, disjoint);
      const cumulative = bucketCounts(h.cumulative, disjoint);
      const text = DEFAULT_HISTOGRAM_BUCKETS.map((b, i) => `B${formatG(b)}(${interval[i]},${cumulative[i]})`);
      return `${h.name}: ${text.join(' ')}\n`;
    }
    case 'detailed': {
      const detail = (b: HistogramBuckets) =>
        detailBuckets(b)
          .map((d) => `${formatG(d.lowerBound)},${formatG(d.width)}:${d.count}`)
          .join(', ');
      return `${h.name}:\n  totals=${detail(h.cumulative)}\n  intervals=${detail(h.interval)}\n  summary=${summary()}\n`;
    }
  }
}

/** `/stats`: counters and gauges as `name: value` sorted by name, then the histograms. */
export function renderStatsText(store: Store, params: StatsParams): string {
  const { counters, gauges, histograms } = select(store, params);
  let out = '';
  for (const s of [...counters, ...gauges].sort(byName)) out += `${s.name}: ${s.value}\n`;
  for (const h of histograms) out += histogramText(h, params.histogramBuckets);
  return out;
}

// ---------------------------------------------------------------------------------------------
// JSON

/** Envoy writes NaN (an empty interval) as JSON null. */
function jsonNumber(v: number): number | null {
  return Number.isNaN(v) ? null : v;
}

function quantileValues(h: Histogram): { interval: number | null; cumulative: number | null }[] {
  const interval = quantiles(h.interval);
  const cumulative = quantiles(h.cumulative);
  return SUPPORTED_QUANTILES.map((_, i) => ({
    interval: jsonNumber(interval[i]!),
    cumulative: jsonNumber(cumulative[i]!),
  }));
}

function histogramsJson(histograms: Histogram[], mode: HistogramBucketsMode): unknown {
  const supported = SUPPORTED_QUANTILES.map((q) => q * 100);
  switch (mode) {
    case 'none':
      return {
        supported_quantiles: supported,
        computed_quantiles: histograms.map((h) => ({ name: h.name, values: quantileValues(h) })),
      };
    case 'cumulative':
    case 'disjoint':
      return histograms.map((h) => {
        const interval = bucketCounts(h.interval, mode === 'disjoint');
        const cumulative = bucketCounts(h.cumulative, mode === 'disjoint');
        return {
          name: h.name,
          buckets: DEFAULT_HISTOGRAM_BUCKETS.map((b, i) => ({
            upper_bound: b,
            interval: interval[i],
            cumulative: cumulative[i],
          })),
        };
      });
    case 'detailed': {
      const verbose = (b: HistogramBuckets) =>
        detailBuckets(b).map((d) => ({ lower_bound: d.lowerBound, width: d.width, count: d.count }));
      return {
        supported_percentiles: supported,
        details: histograms.map((h) => ({
          name: h.name,
          totals: verbose(h.cumulative),
          intervals: verbose(h.interval),
          percentiles: quantileValues(h),
        })),
      };
    }
  }
}

/** `/stats?format=json`: `{"stats":[{"name","value"}..., {"histograms":{...}}]}`, compact. */
export function renderStatsJson(store: Store, params: StatsParams): string {
  const { counters, gauges, histograms } = select(store, params);
  const stats: unknown[] = [...counters, ...gauges]
    .sort(byName)
    .map((s) => ({ name: s.name, value: s.value }));
  if (histograms.length > 0) stats.push({ histograms: histogramsJson(histograms, params.histogramBuckets) });
  return JSON.stringify({ stats });
}

// ---------------------------------------------------------------------------------------------
// Tag extraction and Prometheus

export interface Tag {
  name: string;
  value: string;
}

interface TagExtractor {
  name: string;
  regex: RegExp;
  /** First dot-separated token a name must start with for this extractor to apply, as Envoy indexes them. */
  prefix?: string;
}

/**
 * Envoy's default tag extractors (TagNameValues), in Envoy's order. Group 1 is removed from the
 * name, group 2 (or group 1 when there is none) is the tag value. The DynamoDB, Mongo, gRPC-bridge
 * and client-SSL ones are left out: meshcraft-proxy has none of those filters.
 */
const TAG_EXTRACTORS: readonly TagExtractor[] = [
  { name: 'envoy.response_code', regex: /_rq(_(\d{3}))$/d },
  { name: 'envoy.response_code_class', regex: /_rq_(\d)xx$/d },
  { name: 'envoy.http_user_agent', regex: /^http(?=\.).*?\.user_agent\.((.*?)\.)\w+?$/d, prefix: 'http' },
  { name: 'envoy.virtual_cluster', regex: /^vhost(?=\.).*?\.vcluster\.((.*?)\.)\w+?$/d, prefix: 'vhost' },
  { name: 'envoy.fault_downstream_cluster', regex: /^http(?=\.).*?\.fault\.((.*?)\.)\w+?$/d, prefix: 'http' },
  { name: 'envoy.ssl_cipher', regex: /^listener(?=\.).*?\.ssl\.cipher(\.(.*?))$/d, prefix: 'listener' },
  { name: 'cipher_suite', regex: /^cluster(?=\.).*?\.ssl\.ciphers(\.(.*?))$/d, prefix: 'cluster' },
  { name: 'envoy.tcp_prefix', regex: /^tcp\.((.*?)\.)\w+?$/d, prefix: 'tcp' },
  { name: 'envoy.udp_prefix', regex: /^udp\.((.*?)\.)\w+?$/d, prefix: 'udp' },
  { name: 'envoy.ratelimit_prefix', regex: /^ratelimit\.((.*?)\.)\w+?$/d, prefix: 'ratelimit' },
  { name: 'envoy.cluster_name', regex: /^cluster\.((.*?)\.)/d, prefix: 'cluster' },
  {
    name: 'envoy.http_conn_manager_prefix',
    regex: /^listener(?=\.).*?\.http\.((.*?)\.)/d,
    prefix: 'listener',
  },
  { name: 'envoy.http_conn_manager_prefix', regex: /^http\.((.*?)\.)/d, prefix: 'http' },
  {
    name: 'envoy.listener_address',
    regex: /^listener\.(((?:[_.\d]*|[_[\]aAbBcCdDeEfF\d]*))\.)/d,
    prefix: 'listener',
  },
  { name: 'envoy.virtual_host', regex: /^vhost\.((.*?)\.)/d, prefix: 'vhost' },
  { name: 'envoy.rds_route_config', regex: /^http(?=\.).*?\.rds\.((.*?)\.)\w+?$/d, prefix: 'http' },
  { name: 'envoy.worker_id', regex: /^listener_manager\.((worker_\d+)\.)/d, prefix: 'listener_manager' },
];

/**
 * Envoy's TagProducer: every extractor runs on the full name (those without a prefix first), the
 * tag values are collected in that order, and the characters each one removes are cut from the
 * name to give the tag-extracted name.
 */
export function extractTags(name: string): { extractedName: string; tags: Tag[] } {
  const firstToken = name.includes('.') ? name.slice(0, name.indexOf('.')) : undefined;
  const applicable = [
    ...TAG_EXTRACTORS.filter((e) => e.prefix === undefined),
    ...TAG_EXTRACTORS.filter((e) => e.prefix !== undefined && e.prefix === firstToken),
  ];
  const removed = new Array<boolean>(name.length).fill(false);
  const tags: Tag[] = [];
  for (const extractor of applicable) {
    const m = extractor.regex.exec(name);
    const remove = m?.indices?.[1];
    if (!m || !remove) continue;
    tags.push({ name: extractor.name, value: m[2] ?? m[1] ?? '' });
    for (let i = remove[0]; i < remove[1]; i++) removed[i] = true;
  }
  let extractedName = '';
  for (let i = 0; i < name.length; i++) if (!removed[i]) extractedName += name[i];
  return { extractedName, tags };
}

function sanitize(name: string): string {
  return name.replace(/[^a-zA-Z0-9_]/g, '_');
}

function formattedTags(tags: Tag[]): string {
  return tags.map((t) => `${sanitize(t.name)}="${t.value}"`).join(',');
}

/** Envoy orders Prometheus groups by tag-extracted StatName, which compares token by token. */
function compareByTokens(a: string, b: string): number {
  const ta = a.split('.');
  const tb = b.split('.');
  for (let i = 0; i < Math.min(ta.length, tb.length); i++) {
    if (ta[i] !== tb[i]) return ta[i]! < tb[i]! ? -1 : 1;
  }
  return ta.length - tb.length;
}

function prometheusSection<S extends { name: string }>(
  stats: S[],
  type: 'counter' | 'gauge' | 'histogram',
  line: (stat: S, metric: string, tags: Tag[]) => string,
): string {
  const groups = new Map<string, { stat: S; tags: Tag[] }[]>();
  for (const stat of stats) {
    const { extractedName, tags } = extractTags(stat.name);
    const group = groups.get(extractedName) ?? [];
    group.push({ stat, tags });
    groups.set(extractedName, group);
  }
  let out = '';
  for (const extracted of [...groups.keys()].sort(compareByTokens)) {
    const metric = `envoy_${sanitize(extracted)}`;
    out += `# TYPE ${metric} ${type}\n`;
    for (const { stat, tags } of groups.get(extracted)!.sort((a, b) => byName(a.stat, b.stat))) {
      out += line(stat, metric, tags);
    }
    out += '\n';
  }
  return out;
}

function prometheusHistogram(h: Histogram, metric: string, tags: Tag[]): string {
  const labels = formattedTags(tags);
  const bucketLabels = labels === '' ? '' : `${labels},`;
  const counts = h.cumulative.cumulativeAt(DEFAULT_HISTOGRAM_BUCKETS);
  let out = '';
  DEFAULT_HISTOGRAM_BUCKETS.forEach((bound, i) => {
    out += `${metric}_bucket{${bucketLabels}le="${formatG(bound, 32)}"} ${counts[i]}\n`;
  });
  out += `${metric}_bucket{${bucketLabels}le="+Inf"} ${h.cumulative.total}\n`;
  out += `${metric}_sum{${labels}} ${formatG(h.cumulative.sum, 32)}\n`;
  out += `${metric}_count{${labels}} ${h.cumulative.total}\n`;
  return out;
}

/** `/stats/prometheus`: counters, then gauges, then histograms, grouped by tag-extracted name. */
export function renderPrometheus(store: Store, params: StatsParams): string {
  const { counters, gauges, histograms } = select(store, params);
  const numeric = (s: Counter | Gauge, metric: string, tags: Tag[]) =>
    `${metric}{${formattedTags(tags)}} ${s.value}\n`;
  return (
    prometheusSection(counters, 'counter', numeric) +
    prometheusSection(gauges, 'gauge', numeric) +
    prometheusSection(histograms, 'histogram', prometheusHistogram)
  );
}

/** Renders `/stats` in the format `params` asks for. */
export function renderStats(store: Store, params: StatsParams): string {
  switch (params.format) {
    case 'text':
      return renderStatsText(store, params);
    case 'json':
      return renderStatsJson(store, params);
    case 'prometheus':
      return renderPrometheus(store, params);
  }
}
