/**
 * What the primary and its workers say to each other, over node:cluster's IPC channel with
 * advanced serialization (config objects, resources and histogram buckets cross as they are).
 */
import type { ListenerStatus } from '../admin/context.js';
import type { LoggerName, LogLevel } from '../common/logger.js';
import type { Bootstrap } from '../config/types.js';
import type { Host, OutlierResult } from '../upstream/host.js';
import type { DecodedResource } from '../xds/resources.js';
import type { ServerOptions } from './options.js';
import type { MemoryUsage } from './server-stats.js';
import type { HostStatsSnapshot, StoreSnapshot } from './stats-aggregation.js';

/** What a worker starts from: the primary's options and bootstrap, and what the admin set since. */
export interface WorkerInit {
  index: number;
  options: ServerOptions;
  bootstrap: Bootstrap;
  runtimeOverrides: Record<string, string>;
  healthCheckFailed: boolean;
  logLevels: [LoggerName, LogLevel][];
}

/** What the primary's admin reads from a worker. */
export interface WorkerSnapshot {
  stats: StoreSnapshot;
  hosts: HostStatsSnapshot;
  listeners: ListenerStatus[];
  memory: MemoryUsage;
}

/**
 * One cluster as built from one config: its name and a digest of its config. A CDS update builds a
 * new cluster of the same name that warms beside the old one; each has its own host health.
 */
export interface ClusterRef {
  cluster: string;
  digest: string;
}

/** Host health as the primary's checks and outlier detector decided it: host id → flag bits. */
export type HostHealth = [host: string, flags: number][];

export type ToWorker =
  | { t: 'init'; init: WorkerInit }
  | { t: 'xds'; watch: number; resources: DecodedResource[]; version: string }
  | { t: 'xds-timeout'; watch: number }
  | ({ t: 'health'; hosts: HostHealth } & ClusterRef)
  | { t: 'runtime'; overrides: Record<string, string> }
  | { t: 'healthcheck'; failed: boolean }
  | { t: 'logging'; levels: [LoggerName, LogLevel][] }
  | { t: 'drain'; inboundOnly: boolean; graceful: boolean }
  | { t: 'shutdown' }
  | { t: 'reset-counters' }
  | { t: 'snapshot'; id: number };

export type FromWorker =
  | { t: 'hello' }
  | { t: 'up' }
  | { t: 'failed'; message: string }
  | { t: 'watch'; watch: number; key: string }
  | { t: 'unwatch'; watch: number }
  | ({ t: 'health' } & ClusterRef)
  | ({ t: 'outlier'; hosts: string[]; results: (number | OutlierResult)[] } & ClusterRef)
  | ({ t: 'immediate-hc-fail'; host: string } & ClusterRef)
  | { t: 'snapshot'; id: number; snapshot: WorkerSnapshot };

/** How processes name a host to each other: the same address may be a host at two priorities. */
export function hostId(host: Host): string {
  return `${host.priority}/${host.key}`;
}

/** A worker as the primary's components see it: where to send. */
export interface WorkerLink {
  readonly index: number;
  send(message: ToWorker): void;
}
