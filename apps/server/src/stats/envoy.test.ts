import { describe, expect, it } from 'vitest';
import { healthFlags, hostHealthy, parseClustersJson, parseStatsJson } from './envoy.js';

// The shape real Envoy (1.2x) prints for `/clusters?format=json`: uint64 values as strings,
// fields at their default left out, observability_name beside name.
const ENVOY_CLUSTERS = `{
 "cluster_statuses": [
  {
   "name": "web_cluster_01",
   "host_statuses": [
    {
     "address": {"socket_address": {"address": "172.31.18.11", "port_value": 80}},
     "stats": [
      {"name": "cx_connect_fail"}, {"value": "7", "name": "cx_total"}, {"name": "rq_error"},
      {"value": "41", "name": "rq_success"}, {"name": "rq_timeout"}, {"value": "41", "name": "rq_total"},
      {"type": "GAUGE", "value": "1", "name": "cx_active"}, {"type": "GAUGE", "name": "rq_active"}
     ],
     "health_status": {"failed_active_health_check": true, "eds_health_status": "HEALTHY"},
     "weight": 1,
     "hostname": "myservice",
     "locality": {}
    },
    {
     "address": {"socket_address": {"address": "172.31.18.12", "port_value": 80}},
     "stats": [{"value": "3", "name": "rq_total"}],
     "health_status": {"eds_health_status": "HEALTHY"},
     "success_rate": {"value": 98.5},
     "weight": 2,
     "priority": 1,
     "locality": {"region": "cn-north", "zone": "z1"}
    }
   ],
   "circuit_breakers": {"thresholds": [{"max_connections": 1024}]},
   "observability_name": "web_cluster_01_stats"
  }
 ]
}`;

describe('parseClustersJson', () => {
  it('reads Envoy’s /clusters?format=json: string counters, omitted zeros, flags, weights, localities', () => {
    const [c] = parseClustersJson(ENVOY_CLUSTERS);
    expect(c!.name).toBe('web_cluster_01');
    expect(c!.statName).toBe('web_cluster_01_stats');
    const [a, b] = c!.hosts;
    expect(a).toMatchObject({
      address: '172.31.18.11',
      port: 80,
      hostname: 'myservice',
      weight: 1,
      priority: 0,
    });
    expect(a!.stats).toMatchObject({ rq_total: 41, rq_success: 41, rq_error: 0, cx_active: 1, rq_active: 0 });
    expect(a!.health.failedActiveHc).toBe(true);
    expect(hostHealthy(a!.health)).toBe(false);
    expect(healthFlags(a!.health)).toEqual(['failed_active_hc']);
    expect(b).toMatchObject({
      weight: 2,
      priority: 1,
      successRate: 98.5,
      locality: { region: 'cn-north', zone: 'z1' },
    });
    expect(hostHealthy(b!.health)).toBe(true);
    expect(healthFlags(b!.health)).toEqual([]);
  });

  it('takes EDS health and outlier ejection as Envoy does', () => {
    const h = parseClustersJson(ENVOY_CLUSTERS)[0]!.hosts[1]!.health;
    expect(hostHealthy({ ...h, failedOutlierCheck: true })).toBe(false);
    expect(hostHealthy({ ...h, edsHealthStatus: 'UNHEALTHY' })).toBe(false);
    expect(hostHealthy({ ...h, edsHealthStatus: 'DEGRADED' })).toBe(true);
    expect(hostHealthy({ ...h, pendingActiveHc: true })).toBe(true);
    expect(healthFlags({ ...h, failedOutlierCheck: true, edsHealthStatus: 'DRAINING' })).toEqual([
      'failed_outlier_check',
      'failed_eds_health',
    ]);
  });

  it('answers an empty cluster list for an admin with no clusters', () => {
    expect(parseClustersJson('{}')).toEqual([]);
  });
});

describe('parseStatsJson', () => {
  it('keeps counters and gauges, and skips text readouts and the histograms entry', () => {
    const stats = parseStatsJson(
      JSON.stringify({
        stats: [
          { name: 'cluster.web.upstream_rq_total', value: 12 },
          { name: 'cluster.web.membership_healthy', value: 2 },
          { name: 'server.version', value: 'abc/1.29.0' },
          { histograms: { supported_quantiles: [50, 99], computed_quantiles: [] } },
        ],
      }),
    );
    expect([...stats]).toEqual([
      ['cluster.web.upstream_rq_total', 12],
      ['cluster.web.membership_healthy', 2],
    ]);
  });

  it('refuses an answer that is not /stats?format=json', () => {
    expect(() => parseStatsJson('{"cluster_statuses": []}')).toThrow(/no "stats" list/);
  });
});
