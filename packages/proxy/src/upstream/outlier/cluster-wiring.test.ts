/**
 * The outlier detector inside a real cluster: ejection takes the host out of the load balancer,
 * and a passing active health check returns it (successful_active_health_check_uneject_host).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { LogRegistry } from '../../common/logger.js';
import type { Cluster as ClusterConfig } from '../../config/types.js';
import { Runtime } from '../../runtime/runtime.js';
import { Store } from '../../stats/store.js';
import { Cluster } from '../cluster.js';
import { DnsResolver } from '../dns.js';
import { TestHttpServer, waitFor } from '../health-check/test-support.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function cluster(
  extra: Partial<ClusterConfig>,
): Promise<{ cluster: Cluster; servers: TestHttpServer[] }> {
  const servers = [await new TestHttpServer().listen(), await new TestHttpServer().listen()];
  cleanups.push(() => Promise.all(servers.map((s) => s.close())).then(() => undefined));
  const c = new Cluster(
    {
      name: 'c',
      type: 'STATIC',
      load_assignment: {
        cluster_name: 'c',
        endpoints: [
          {
            lb_endpoints: servers.map((s) => ({
              endpoint: { address: { socket_address: { address: '127.0.0.1', port_value: s.port } } },
            })),
          },
        ],
      },
      outlier_detection: { consecutive_5xx: 2, base_ejection_time: '60s' },
      ...extra,
    },
    {
      store: new Store(),
      runtime: new Runtime(undefined),
      logs: new LogRegistry('off'),
      dns: new DnsResolver(),
      random: Math.random,
    },
  );
  cleanups.push(() => c.destroy());
  await c.initialize();
  return { cluster: c, servers };
}

describe('outlier detection in a cluster', () => {
  it('an ejected host gets no more picks', async () => {
    const { cluster: c } = await cluster({});
    const [bad, good] = c.prioritySet.allHosts();
    bad!.outlier!.putHttpResponseCode(503);
    bad!.outlier!.putHttpResponseCode(503);
    expect(bad!.healthFlagsString()).toBe('/failed_outlier_check');
    expect(c.stats.membership_healthy.value).toBe(1);
    for (let i = 0; i < 10; i++) expect(c.lb.chooseHost()).toBe(good);
  });

  it('a passing active health check returns an ejected host long before its ejection ends', async () => {
    const { cluster: c } = await cluster({
      health_checks: [
        {
          timeout: '1s',
          interval: '0.050s',
          no_traffic_interval: '0.050s',
          healthy_threshold: 1,
          unhealthy_threshold: 1,
          http_health_check: { path: '/livez' },
        },
      ],
    });
    const [bad] = c.prioritySet.allHosts();
    bad!.outlier!.putHttpResponseCode(503);
    bad!.outlier!.putHttpResponseCode(503);
    expect(bad!.hasFlag('failed_outlier_check')).toBe(true);
    await waitFor(() => !bad!.hasFlag('failed_outlier_check'), 'the health check to return the host');
    expect(c.stats.membership_healthy.value).toBe(2);
  });
});
