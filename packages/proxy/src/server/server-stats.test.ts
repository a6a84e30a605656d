import { describe, expect, it } from 'vitest';
import { createTestContext } from '../admin/test-context.js';
import { versionGaugeValue } from '../admin/version.js';
import { ServerStatsUpdater } from './server-stats.js';

const gauge = (context: ReturnType<typeof createTestContext>, name: string) =>
  context.store.gauges().find((g) => g.name === `server.${name}`);

describe('server.* stats', () => {
  it('reports a live server with its uptime, memory, concurrency and version', () => {
    const context = createTestContext();
    context.startedAt = new Date(1_000_000);
    new ServerStatsUpdater(context, () => 1_000_000 + 42_500).update();
    expect(gauge(context, 'live')?.value).toBe(1);
    expect(gauge(context, 'state')?.value).toBe(0);
    expect(gauge(context, 'uptime')?.value).toBe(42);
    expect(gauge(context, 'concurrency')?.value).toBe(2);
    expect(gauge(context, 'version')?.value).toBe(versionGaugeValue());
    expect(gauge(context, 'hot_restart_epoch')?.value).toBe(0);
    expect(gauge(context, 'memory_allocated')?.value).toBeGreaterThan(0);
    expect(gauge(context, 'memory_physical_size')?.value).toBeGreaterThan(0);
    expect(gauge(context, 'days_until_first_cert_expiring')?.value).toBe(2147483647);
  });

  it('gives each gauge Envoy’s import mode', () => {
    const context = createTestContext();
    new ServerStatsUpdater(context).update();
    const modes = Object.fromEntries(
      context.store
        .gauges()
        .filter((g) => g.name.startsWith('server.'))
        .map((g) => [g.name.slice('server.'.length), g.importMode]),
    );
    expect(modes).toEqual({
      concurrency: 'NeverImport',
      days_until_first_cert_expiring: 'NeverImport',
      hot_restart_epoch: 'NeverImport',
      live: 'NeverImport',
      memory_allocated: 'Accumulate',
      memory_heap_size: 'Accumulate',
      memory_physical_size: 'Accumulate',
      parent_connections: 'Accumulate',
      state: 'NeverImport',
      stats_recent_lookups: 'NeverImport',
      total_connections: 'Accumulate',
      uptime: 'Accumulate',
      version: 'NeverImport',
    });
  });

  it('follows the server state and health-check failure', () => {
    const context = createTestContext();
    const updater = new ServerStatsUpdater(context);
    context.serverState = 'INITIALIZING';
    updater.update();
    expect([gauge(context, 'state')?.value, gauge(context, 'live')?.value]).toEqual([3, 0]);
    context.serverState = 'LIVE';
    context.setHealthCheckFailed(true);
    updater.update();
    expect([gauge(context, 'state')?.value, gauge(context, 'live')?.value]).toEqual([1, 0]);
  });

  it('sums active connections of the data-plane listeners only', () => {
    const context = createTestContext();
    context.store.gauge('listener.0.0.0.0_80.downstream_cx_active').set(3);
    context.store.gauge('listener.0.0.0.0_443.downstream_cx_active').set(2);
    context.store.gauge('listener.0.0.0.0_80.worker_0.downstream_cx_active').set(3);
    context.store.gauge('listener.admin.downstream_cx_active').set(1);
    new ServerStatsUpdater(context).update();
    expect(gauge(context, 'total_connections')?.value).toBe(5);
  });

  it('counts days until the first certificate expires', () => {
    const context = createTestContext();
    const cert = (days: string) => ({
      path: '/c.crt',
      serial_number: '1',
      subject_alt_names: [],
      days_until_expiration: days,
      valid_from: '2022-06-25T17:31:35Z',
      expiration_time: '2032-06-22T17:31:35Z',
    });
    context.certs = () => [
      { ca_cert: [cert('3649')], cert_chain: [] },
      { ca_cert: [], cert_chain: [cert('364')] },
    ];
    new ServerStatsUpdater(context).update();
    expect(gauge(context, 'days_until_first_cert_expiring')?.value).toBe(364);
  });

  it('takes stats_server_version_override from the bootstrap', () => {
    const context = createTestContext({ stats_server_version_override: 123456 });
    new ServerStatsUpdater(context).update();
    expect(gauge(context, 'version')?.value).toBe(123456);
  });

  it('keeps updating while started, and stops', async () => {
    const context = createTestContext();
    let now = 0;
    context.startedAt = new Date(0);
    const updater = new ServerStatsUpdater(context, () => now);
    updater.start(5);
    now = 7000;
    await new Promise((r) => setTimeout(r, 30));
    expect(gauge(context, 'uptime')?.value).toBe(7);
    updater.stop();
    now = 9000;
    await new Promise((r) => setTimeout(r, 30));
    expect(gauge(context, 'uptime')?.value).toBe(7);
  });
});
