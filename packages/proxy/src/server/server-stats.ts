/**
 * Envoy's `server.*` stats (ALL_SERVER_STATS in source/server/server.h), kept current from the
 * AdminContext and the process the way InstanceImpl::updateServerStats does, once a second.
 */
import os from 'node:os';
import type { AdminContext, ServerState } from '../admin/context.js';
import { effectiveState } from '../admin/server-info.js';
import { versionGaugeValue } from '../admin/version.js';
import type { Gauge, GaugeImportMode } from '../stats/store.js';

export type ServerStatsSource = Pick<
  AdminContext,
  'store' | 'state' | 'healthCheckFailed' | 'startedAt' | 'commandLine' | 'certs' | 'config'
> & {
  /** The server's memory: this process's unless given (with workers, all the processes'). */
  memoryUsage?(): MemoryUsage;
};

export type MemoryUsage = Pick<NodeJS.MemoryUsage, 'heapUsed' | 'heapTotal' | 'rss'>;

/** `server.state` holds the ServerInfo.State enum number. */
const STATE_NUMBER: Record<ServerState, number> = {
  LIVE: 0,
  DRAINING: 1,
  PRE_INITIALIZING: 2,
  INITIALIZING: 3,
};

/** What Envoy 1.21 reports for days_until_first_cert_expiring when there is no certificate. */
const NO_CERTIFICATE_DAYS = 2147483647;

/** `listener.<address>.downstream_cx_active`, but neither the admin listener nor a per-worker copy. */
const LISTENER_ACTIVE_CONNECTIONS = /^listener\.(?!admin\.)(.+)\.downstream_cx_active$/;
const PER_WORKER = /(^|\.)worker_\d+$/;

function numberOption(commandLine: Record<string, unknown>, key: string): number | undefined {
  const v = commandLine[key];
  return typeof v === 'number' ? v : undefined;
}

export class ServerStatsUpdater {
  private readonly gauges: Record<
    | 'concurrency'
    | 'days_until_first_cert_expiring'
    | 'hot_restart_epoch'
    | 'live'
    | 'memory_allocated'
    | 'memory_heap_size'
    | 'memory_physical_size'
    | 'parent_connections'
    | 'state'
    | 'stats_recent_lookups'
    | 'total_connections'
    | 'uptime'
    | 'version',
    Gauge
  >;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly source: ServerStatsSource,
    private readonly now: () => number = Date.now,
  ) {
    const scope = source.store.scope('server.');
    const gauge = (name: string, mode: GaugeImportMode) => scope.gauge(name, mode);
    this.gauges = {
      concurrency: gauge('concurrency', 'NeverImport'),
      days_until_first_cert_expiring: gauge('days_until_first_cert_expiring', 'NeverImport'),
      hot_restart_epoch: gauge('hot_restart_epoch', 'NeverImport'),
      live: gauge('live', 'NeverImport'),
      memory_allocated: gauge('memory_allocated', 'Accumulate'),
      memory_heap_size: gauge('memory_heap_size', 'Accumulate'),
      memory_physical_size: gauge('memory_physical_size', 'Accumulate'),
      parent_connections: gauge('parent_connections', 'Accumulate'),
      state: gauge('state', 'NeverImport'),
      stats_recent_lookups: gauge('stats_recent_lookups', 'NeverImport'),
      total_connections: gauge('total_connections', 'Accumulate'),
      uptime: gauge('uptime', 'Accumulate'),
      version: gauge('version', 'NeverImport'),
    };
    const override = source.config().bootstrap.stats_server_version_override;
    this.gauges.version.set(typeof override === 'number' ? override : versionGaugeValue());
    this.gauges.concurrency.set(numberOption(source.commandLine, 'concurrency') ?? os.availableParallelism());
    this.gauges.hot_restart_epoch.set(numberOption(source.commandLine, 'restart_epoch') ?? 0);
    // No hot restart: there is never a parent process, and stat names are not looked up at run time.
    this.gauges.parent_connections.set(0);
    this.gauges.stats_recent_lookups.set(0);
  }

  /** Refreshes every gauge that changes while the server runs. */
  update(): void {
    const g = this.gauges;
    const state = effectiveState(this.source);
    g.state.set(STATE_NUMBER[state]);
    g.live.set(state === 'LIVE' ? 1 : 0);
    g.uptime.set(Math.floor((this.now() - this.source.startedAt.getTime()) / 1000));
    const memory = this.source.memoryUsage?.() ?? process.memoryUsage();
    g.memory_allocated.set(memory.heapUsed);
    g.memory_heap_size.set(memory.heapTotal);
    g.memory_physical_size.set(memory.rss);
    g.total_connections.set(this.activeDownstreamConnections());
    g.days_until_first_cert_expiring.set(this.daysUntilFirstCertExpires());
  }

  private activeDownstreamConnections(): number {
    let total = 0;
    for (const gauge of this.source.store.gauges()) {
      const m = LISTENER_ACTIVE_CONNECTIONS.exec(gauge.name);
      if (m && !PER_WORKER.test(m[1]!)) total += gauge.value;
    }
    return total;
  }

  private daysUntilFirstCertExpires(): number {
    const days = this.source
      .certs()
      .flatMap((c) => [...c.ca_cert, ...c.cert_chain])
      .map((cert) => Number(cert.days_until_expiration));
    return days.length > 0 ? Math.min(...days) : NO_CERTIFICATE_DAYS;
  }

  /** Updates now and then every `intervalMs`, without keeping the process alive. */
  start(intervalMs = 1000): void {
    this.stop();
    this.update();
    this.timer = setInterval(() => this.update(), intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }
}
