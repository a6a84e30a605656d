import { describe, expect, it } from 'vitest';
import {
  extractTags,
  formatG,
  parseStatsParams,
  renderPrometheus,
  renderStatsJson,
  renderStatsText,
  StatsParamsError,
} from './render.js';
import { Store } from './store.js';

/** A store with counters, gauges, an unused counter and a histogram recorded {200, 300, 300} then flushed. */
function sampleStore(): Store {
  const store = new Store();
  store.counter('cluster.web.upstream_rq_total').inc(5);
  store.counter('cluster.web.upstream_rq_200').inc(3);
  store.counter('cluster.web.upstream_rq_timeout');
  store.counter('http.ingress_http.downstream_rq_2xx').inc(4);
  store.gauge('server.live', 'NeverImport').set(1);
  store.gauge('cluster.web.membership_healthy').set(2);
  const h = store.histogram('cluster.web.upstream_rq_time');
  for (const v of [200, 300, 300]) h.record(v);
  store.histogram('cluster.web.upstream_cx_connect_ms');
  store.flush();
  return store;
}

const params = (query: Record<string, string> = {}) => parseStatsParams(new Map(Object.entries(query)));

// Envoy's own expectation for {200, 300, 300} (test/server/admin/stats_render_test.cc).
const QUANTILE_SUMMARY =
  'P0(200,200) P25(207.5,207.5) P50(302.5,302.5) P75(306.25,306.25) P90(308.5,308.5) P95(309.25,309.25) ' +
  'P99(309.85,309.85) P99.5(309.925,309.925) P99.9(309.985,309.985) P100(310,310)';

describe('/stats text', () => {
  it('prints counters and gauges sorted by name, then histograms', () => {
    expect(renderStatsText(sampleStore(), params())).toBe(
      [
        'cluster.web.membership_healthy: 2',
        'cluster.web.upstream_rq_200: 3',
        'cluster.web.upstream_rq_timeout: 0',
        'cluster.web.upstream_rq_total: 5',
        'http.ingress_http.downstream_rq_2xx: 4',
        'server.live: 1',
        'cluster.web.upstream_cx_connect_ms: No recorded values',
        `cluster.web.upstream_rq_time: ${QUANTILE_SUMMARY}`,
        '',
      ].join('\n'),
    );
  });

  it('shows nan for the interval of a histogram with no values since the last flush', () => {
    const store = new Store();
    store.histogram('h').record(200);
    expect(renderStatsText(store, params())).toBe(
      'h: P0(nan,200) P25(nan,202.5) P50(nan,205) P75(nan,207.5) P90(nan,209) P95(nan,209.5) ' +
        'P99(nan,209.9) P99.5(nan,209.95) P99.9(nan,209.99) P100(nan,210)\n',
    );
  });

  it('filters by RE2 partial match, usedonly and type', () => {
    const store = sampleStore();
    expect(renderStatsText(store, params({ filter: 'upstream_rq_\\d+$' }))).toBe(
      'cluster.web.upstream_rq_200: 3\n',
    );
    expect(renderStatsText(store, params({ usedonly: '', filter: 'cluster\\.web\\.upstream_(rq|cx)' }))).toBe(
      `cluster.web.upstream_rq_200: 3\ncluster.web.upstream_rq_total: 5\ncluster.web.upstream_rq_time: ${QUANTILE_SUMMARY}\n`,
    );
    expect(renderStatsText(store, params({ type: 'Gauges' }))).toBe(
      'cluster.web.membership_healthy: 2\nserver.live: 1\n',
    );
    expect(renderStatsText(store, params({ type: 'Histograms', usedonly: '' }))).toBe(
      `cluster.web.upstream_rq_time: ${QUANTILE_SUMMARY}\n`,
    );
    expect(renderStatsText(store, params({ type: 'TextReadouts' }))).toBe('');
  });

  it('prints Envoy bucket summaries for histogram_buckets=cumulative and disjoint', () => {
    const store = sampleStore();
    expect(renderStatsText(store, params({ filter: 'rq_time$', histogram_buckets: 'cumulative' }))).toBe(
      'cluster.web.upstream_rq_time: B0.5(0,0) B1(0,0) B5(0,0) B10(0,0) B25(0,0) B50(0,0) B100(0,0) B250(1,1) ' +
        'B500(3,3) B1000(3,3) B2500(3,3) B5000(3,3) B10000(3,3) B30000(3,3) B60000(3,3) B300000(3,3) ' +
        'B600000(3,3) B1.8e+06(3,3) B3.6e+06(3,3)\n',
    );
    expect(renderStatsText(store, params({ filter: 'rq_time$', histogram_buckets: 'disjoint' }))).toBe(
      'cluster.web.upstream_rq_time: B0.5(0,0) B1(0,0) B5(0,0) B10(0,0) B25(0,0) B50(0,0) B100(0,0) B250(1,1) ' +
        'B500(2,2) B1000(0,0) B2500(0,0) B5000(0,0) B10000(0,0) B30000(0,0) B60000(0,0) B300000(0,0) ' +
        'B600000(0,0) B1.8e+06(0,0) B3.6e+06(0,0)\n',
    );
    expect(renderStatsText(store, params({ filter: 'rq_time$', histogram_buckets: 'detailed' }))).toBe(
      'cluster.web.upstream_rq_time:\n  totals=200,10:1, 300,10:2\n  intervals=200,10:1, 300,10:2\n' +
        `  summary=${QUANTILE_SUMMARY}\n`,
    );
  });

  it('keeps quantiles within the log-linear bucket error for many values', () => {
    const store = new Store();
    const h = store.histogram('latency');
    for (let v = 1; v <= 1000; v++) h.record(v);
    store.flush();
    const line = renderStatsText(store, params());
    const p50 = Number(/ P50\(([\d.]+),/.exec(line)?.[1]);
    const p99 = Number(/ P99\(([\d.]+),/.exec(line)?.[1]);
    expect(Math.abs(p50 - 500) / 500).toBeLessThan(0.1);
    expect(Math.abs(p99 - 990) / 990).toBeLessThan(0.1);
  });
});

describe('/stats?format=json', () => {
  it('lists stats then one histograms object with quantiles, NaN as null', () => {
    const store = sampleStore();
    const doc = JSON.parse(renderStatsJson(store, params({ format: 'json' })));
    expect(doc.stats.slice(0, 2)).toEqual([
      { name: 'cluster.web.membership_healthy', value: 2 },
      { name: 'cluster.web.upstream_rq_200', value: 3 },
    ]);
    const histograms = doc.stats.at(-1).histograms;
    expect(histograms.supported_quantiles).toEqual([0, 25, 50, 75, 90, 95, 99, 99.5, 99.9, 100]);
    expect(histograms.computed_quantiles.map((q: { name: string }) => q.name)).toEqual([
      'cluster.web.upstream_cx_connect_ms',
      'cluster.web.upstream_rq_time',
    ]);
    expect(histograms.computed_quantiles[0].values[0]).toEqual({ interval: null, cumulative: null });
    expect(histograms.computed_quantiles[1].values[1]).toEqual({ interval: 207.5, cumulative: 207.5 });
  });

  it('is compact and names keys in Envoy order', () => {
    const store = new Store();
    store.counter('a').inc();
    store.histogram('h').record(1);
    expect(renderStatsJson(store, params({ format: 'json', type: 'Counters' }))).toBe(
      '{"stats":[{"name":"a","value":1}]}',
    );
    expect(renderStatsJson(store, params({ format: 'json', type: 'Histograms' }))).toMatch(
      /^\{"stats":\[\{"histograms":\{"supported_quantiles":\[0,25,50,75,90,95,99,99.5,99.9,100\],"computed_quantiles":\[\{"name":"h","values":\[\{"interval":null,"cumulative":1\}/,
    );
  });

  it('lists buckets with histogram_buckets=cumulative', () => {
    const doc = JSON.parse(
      renderStatsJson(sampleStore(), params({ histogram_buckets: 'cumulative', filter: 'rq_time$' })),
    );
    const [h] = doc.stats[0].histograms;
    expect(h.name).toBe('cluster.web.upstream_rq_time');
    expect(h.buckets[7]).toEqual({ upper_bound: 250, interval: 1, cumulative: 1 });
    expect(h.buckets).toHaveLength(19);
  });
});

describe('tag extraction', () => {
  it.each([
    ['cluster.web.upstream_rq_200', 'cluster.upstream_rq', 'envoy.response_code=200 envoy.cluster_name=web'],
    [
      'http.ingress_http.downstream_rq_2xx',
      'http.downstream_rq_xx',
      'envoy.response_code_class=2 envoy.http_conn_manager_prefix=ingress_http',
    ],
    [
      'listener.0.0.0.0_80.downstream_cx_total',
      'listener.downstream_cx_total',
      'envoy.listener_address=0.0.0.0_80',
    ],
    [
      'listener.[__1]_443.http.ingress_https.downstream_rq_5xx',
      'listener.http.downstream_rq_xx',
      'envoy.response_code_class=5 envoy.http_conn_manager_prefix=ingress_https envoy.listener_address=[__1]_443',
    ],
    [
      'tcp.tcp_passthrough.downstream_cx_total',
      'tcp.downstream_cx_total',
      'envoy.tcp_prefix=tcp_passthrough',
    ],
    [
      'vhost.web_service_01.vcluster.other.upstream_rq_retry',
      'vhost.vcluster.upstream_rq_retry',
      'envoy.virtual_cluster=other envoy.virtual_host=web_service_01',
    ],
    [
      'listener_manager.worker_1.downstream_cx_active',
      'listener_manager.downstream_cx_active',
      'envoy.worker_id=worker_1',
    ],
    ['listener.admin.downstream_cx_total', 'listener.admin.downstream_cx_total', ''],
    ['server.live', 'server.live', ''],
  ])('%s → %s', (name, extracted, tags) => {
    const result = extractTags(name);
    expect(result.extractedName).toBe(extracted);
    expect(result.tags.map((t) => `${t.name}=${t.value}`).join(' ')).toBe(tags);
  });
});

describe('/stats/prometheus', () => {
  it('groups by tag-extracted name with TYPE lines and Envoy default buckets', () => {
    expect(renderPrometheus(sampleStore(), params({ usedonly: '' }))).toBe(
      [
        '# TYPE envoy_cluster_upstream_rq counter',
        'envoy_cluster_upstream_rq{envoy_response_code="200",envoy_cluster_name="web"} 3',
        '',
        '# TYPE envoy_cluster_upstream_rq_total counter',
        'envoy_cluster_upstream_rq_total{envoy_cluster_name="web"} 5',
        '',
        '# TYPE envoy_http_downstream_rq_xx counter',
        'envoy_http_downstream_rq_xx{envoy_response_code_class="2",envoy_http_conn_manager_prefix="ingress_http"} 4',
        '',
        '# TYPE envoy_cluster_membership_healthy gauge',
        'envoy_cluster_membership_healthy{envoy_cluster_name="web"} 2',
        '',
        '# TYPE envoy_server_live gauge',
        'envoy_server_live{} 1',
        '',
        '# TYPE envoy_cluster_upstream_rq_time histogram',
        'envoy_cluster_upstream_rq_time_bucket{envoy_cluster_name="web",le="0.5"} 0',
        'envoy_cluster_upstream_rq_time_bucket{envoy_cluster_name="web",le="1"} 0',
        'envoy_cluster_upstream_rq_time_bucket{envoy_cluster_name="web",le="5"} 0',
        'envoy_cluster_upstream_rq_time_bucket{envoy_cluster_name="web",le="10"} 0',
        'envoy_cluster_upstream_rq_time_bucket{envoy_cluster_name="web",le="25"} 0',
        'envoy_cluster_upstream_rq_time_bucket{envoy_cluster_name="web",le="50"} 0',
        'envoy_cluster_upstream_rq_time_bucket{envoy_cluster_name="web",le="100"} 0',
        'envoy_cluster_upstream_rq_time_bucket{envoy_cluster_name="web",le="250"} 1',
        'envoy_cluster_upstream_rq_time_bucket{envoy_cluster_name="web",le="500"} 3',
        'envoy_cluster_upstream_rq_time_bucket{envoy_cluster_name="web",le="1000"} 3',
        'envoy_cluster_upstream_rq_time_bucket{envoy_cluster_name="web",le="2500"} 3',
        'envoy_cluster_upstream_rq_time_bucket{envoy_cluster_name="web",le="5000"} 3',
        'envoy_cluster_upstream_rq_time_bucket{envoy_cluster_name="web",le="10000"} 3',
        'envoy_cluster_upstream_rq_time_bucket{envoy_cluster_name="web",le="30000"} 3',
        'envoy_cluster_upstream_rq_time_bucket{envoy_cluster_name="web",le="60000"} 3',
        'envoy_cluster_upstream_rq_time_bucket{envoy_cluster_name="web",le="300000"} 3',
        'envoy_cluster_upstream_rq_time_bucket{envoy_cluster_name="web",le="600000"} 3',
        'envoy_cluster_upstream_rq_time_bucket{envoy_cluster_name="web",le="1800000"} 3',
        'envoy_cluster_upstream_rq_time_bucket{envoy_cluster_name="web",le="3600000"} 3',
        'envoy_cluster_upstream_rq_time_bucket{envoy_cluster_name="web",le="+Inf"} 3',
        'envoy_cluster_upstream_rq_time_sum{envoy_cluster_name="web"} 800',
        'envoy_cluster_upstream_rq_time_count{envoy_cluster_name="web"} 3',
        '',
        '',
      ].join('\n'),
    );
  });

  it('puts every stat of one tag-extracted name under one TYPE line', () => {
    const store = new Store();
    store.counter('cluster.b.upstream_rq_total').inc(2);
    store.counter('cluster.a.upstream_rq_total').inc(1);
    expect(renderPrometheus(store, params())).toBe(
      '# TYPE envoy_cluster_upstream_rq_total counter\n' +
        'envoy_cluster_upstream_rq_total{envoy_cluster_name="a"} 1\n' +
        'envoy_cluster_upstream_rq_total{envoy_cluster_name="b"} 2\n\n',
    );
  });
});

describe('query parameters', () => {
  it('answers bad values with Envoy’s messages', () => {
    expect(() => params({ filter: '(' })).toThrow(new StatsParamsError('Invalid re2 regex'));
    expect(() => params({ type: 'Bogus' })).toThrow('invalid &type= param');
    expect(() => params({ histogram_buckets: 'x' })).toThrow(
      'usage: /stats?histogram_buckets=(cumulative|disjoint|none)\n',
    );
    expect(() => params({ format: 'xml' })).toThrow(StatsParamsError);
  });

  it('accepts RE2 syntax, not JavaScript-only syntax', () => {
    expect(() => params({ filter: '(?=x)' })).toThrow('Invalid re2 regex');
    expect(params({ filter: '(?i)UPSTREAM' }).filter?.test('cluster.web.upstream_rq_total')).toBe(true);
  });
});

describe('formatG', () => {
  it.each([
    [200, 6, '200'],
    [207.5, 6, '207.5'],
    [1800000, 6, '1.8e+06'],
    [0.5, 6, '0.5'],
    [0.00001, 6, '1e-05'],
    [Number.NaN, 6, 'nan'],
    [1800000, 32, '1800000'],
    [0.1 + 0.2, 32, '0.30000000000000004440892098500626'],
  ])('%d with precision %d is %s', (value, precision, text) => {
    expect(formatG(value, precision)).toBe(text);
  });
});
