import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createTestContext, startTestAdmin, type TestAdmin, type TestContext } from './test-context.js';

// Lab 6's `curl 172.31.5.2:9901/clusters`, verbatim from the course notes.
const LAB6_CLUSTERS = `local_cluster::observability_name::local_cluster
local_cluster::default_priority::max_connections::1024
local_cluster::default_priority::max_pending_requests::1024
local_cluster::default_priority::max_requests::1024
local_cluster::default_priority::max_retries::3
local_cluster::high_priority::max_connections::1024
local_cluster::high_priority::max_pending_requests::1024
local_cluster::high_priority::max_requests::1024
local_cluster::high_priority::max_retries::3
local_cluster::added_via_api::false
local_cluster::172.31.5.11:8080::cx_active::0
local_cluster::172.31.5.11:8080::cx_connect_fail::0
local_cluster::172.31.5.11:8080::cx_total::0
local_cluster::172.31.5.11:8080::rq_active::0
local_cluster::172.31.5.11:8080::rq_error::0
local_cluster::172.31.5.11:8080::rq_success::0
local_cluster::172.31.5.11:8080::rq_timeout::0
local_cluster::172.31.5.11:8080::rq_total::0
local_cluster::172.31.5.11:8080::hostname::
local_cluster::172.31.5.11:8080::health_flags::healthy
local_cluster::172.31.5.11:8080::weight::1
local_cluster::172.31.5.11:8080::region::
local_cluster::172.31.5.11:8080::zone::
local_cluster::172.31.5.11:8080::sub_zone::
local_cluster::172.31.5.11:8080::canary::false
local_cluster::172.31.5.11:8080::priority::0
local_cluster::172.31.5.11:8080::success_rate::-1.0
local_cluster::172.31.5.11:8080::local_origin_success_rate::-1.0
local_cluster::172.31.5.12:8080::cx_active::0
local_cluster::172.31.5.12:8080::cx_connect_fail::0
local_cluster::172.31.5.12:8080::cx_total::0
local_cluster::172.31.5.12:8080::rq_active::0
local_cluster::172.31.5.12:8080::rq_error::0
local_cluster::172.31.5.12:8080::rq_success::0
local_cluster::172.31.5.12:8080::rq_timeout::0
local_cluster::172.31.5.12:8080::rq_total::0
local_cluster::172.31.5.12:8080::hostname::
local_cluster::172.31.5.12:8080::health_flags::healthy
local_cluster::172.31.5.12:8080::weight::1
local_cluster::172.31.5.12:8080::region::
local_cluster::172.31.5.12:8080::zone::
local_cluster::172.31.5.12:8080::sub_zone::
local_cluster::172.31.5.12:8080::canary::false
local_cluster::172.31.5.12:8080::priority::0
local_cluster::172.31.5.12:8080::success_rate::-1.0
local_cluster::172.31.5.12:8080::local_origin_success_rate::-1.0
`;

let context: TestContext;
let admin: TestAdmin;

beforeEach(async () => {
  context = createTestContext();
  admin = await startTestAdmin(context);
});

afterEach(async () => {
  await admin.server.close();
});

describe('/clusters text', () => {
  it("prints lab 6's output byte for byte", async () => {
    const res = await admin.get('/clusters');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/plain; charset=UTF-8');
    expect(await res.text()).toBe(LAB6_CLUSTERS);
  });

  it('shows health flags, stats, weight, locality and computed success rates of each host', async () => {
    const [first, second] = context.clusterStatuses[0]!.hosts;
    first!.setFlag('failed_active_hc');
    second!.setFlag('failed_active_hc');
    second!.setFlag('failed_outlier_check');
    first!.stats.rq_total = 7;
    first!.stats.rq_success = 6;
    first!.weight = 3;
    first!.successRate = 85.71428571428571;
    second!.successRate = 100;
    const text = await (await admin.get('/clusters')).text();
    expect(text).toContain('local_cluster::172.31.5.11:8080::health_flags::/failed_active_hc\n');
    expect(text).toContain(
      'local_cluster::172.31.5.12:8080::health_flags::/failed_active_hc/failed_outlier_check\n',
    );
    expect(text).toContain(
      'local_cluster::172.31.5.11:8080::rq_success::6\nlocal_cluster::172.31.5.11:8080::rq_timeout::0\n',
    );
    expect(text).toContain('local_cluster::172.31.5.11:8080::rq_total::7\n');
    expect(text).toContain('local_cluster::172.31.5.11:8080::weight::3\n');
    expect(text).toContain('local_cluster::172.31.5.11:8080::success_rate::85.71428571428571\n');
    expect(text).toContain('local_cluster::172.31.5.12:8080::success_rate::100.0\n');
  });

  it('adds the outlier lines for clusters with outlier detection, and several clusters in order', async () => {
    const status = context.clusterStatuses[0]!;
    context.clusterStatuses.push({
      ...status,
      name: 'webcluster',
      observabilityName: 'webcluster',
      addedViaApi: true,
      hosts: [],
      outlierDetector: { successRateAverage: -1, localOriginSuccessRateAverage: -1 },
    });
    const text = await (await admin.get('/clusters')).text();
    expect(text.slice(LAB6_CLUSTERS.length)).toBe(
      [
        'webcluster::observability_name::webcluster',
        'webcluster::outlier::success_rate_average::-1',
        'webcluster::outlier::success_rate_ejection_threshold::-1',
        'webcluster::outlier::local_origin_success_rate_average::-1',
        'webcluster::outlier::local_origin_success_rate_ejection_threshold::-1',
        'webcluster::default_priority::max_connections::1024',
        'webcluster::default_priority::max_pending_requests::1024',
        'webcluster::default_priority::max_requests::1024',
        'webcluster::default_priority::max_retries::3',
        'webcluster::high_priority::max_connections::1024',
        'webcluster::high_priority::max_pending_requests::1024',
        'webcluster::high_priority::max_requests::1024',
        'webcluster::high_priority::max_retries::3',
        'webcluster::added_via_api::true',
        '',
      ].join('\n'),
    );
  });
});

describe('/clusters?format=json', () => {
  it('is envoy.admin.v3.Clusters as protobuf prints it', async () => {
    const [first] = context.clusterStatuses[0]!.hosts;
    first!.stats.cx_total = 1;
    first!.stats.cx_active = 1;
    first!.setFlag('failed_outlier_check');
    const res = await admin.get('/clusters?format=json');
    expect(res.headers.get('content-type')).toBe('application/json');
    const body = await res.text();
    expect(body.startsWith('{\n "cluster_statuses": [\n  {\n   "name": "local_cluster",\n')).toBe(true);
    const doc = JSON.parse(body);
    const cluster = doc.cluster_statuses[0];
    expect(Object.keys(cluster)).toEqual(['name', 'host_statuses', 'circuit_breakers', 'observability_name']);
    expect(cluster.circuit_breakers).toEqual({
      thresholds: [
        { max_connections: 1024, max_pending_requests: 1024, max_requests: 1024, max_retries: 3 },
        {
          priority: 'HIGH',
          max_connections: 1024,
          max_pending_requests: 1024,
          max_requests: 1024,
          max_retries: 3,
        },
      ],
    });
    const host = cluster.host_statuses[0];
    expect(Object.keys(host)).toEqual(['address', 'stats', 'health_status', 'weight', 'locality']);
    expect(host.address).toEqual({ socket_address: { address: '172.31.5.11', port_value: 8080 } });
    expect(host.stats).toEqual([
      { name: 'cx_connect_fail' },
      { value: '1', name: 'cx_total' },
      { name: 'rq_error' },
      { name: 'rq_success' },
      { name: 'rq_timeout' },
      { name: 'rq_total' },
      { type: 'GAUGE', value: '1', name: 'cx_active' },
      { type: 'GAUGE', name: 'rq_active' },
    ]);
    expect(host.health_status).toEqual({ failed_outlier_check: true, eds_health_status: 'HEALTHY' });
    expect(host.weight).toBe(1);
    expect(host.locality).toEqual({});
  });
});
