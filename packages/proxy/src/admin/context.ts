/**
 * What the admin server reads from (and does to) the running proxy. The server implements it;
 * the admin handlers depend only on this, so they can be tested against a hand-built context
 * and never reach into the data plane's internals.
 */

import type { LogRegistry } from '../common/logger.js';
import type {
  Address,
  Bootstrap,
  CircuitBreakerThresholds,
  Cluster,
  Listener,
  RouteConfiguration,
  Secret,
} from '../config/types.js';
import type { Runtime } from '../runtime/runtime.js';
import type { Store } from '../stats/store.js';
import type { Host } from '../upstream/host.js';

/** Envoy's server states, as `/server_info` and the `server.state` gauge report them. */
export type ServerState = 'LIVE' | 'DRAINING' | 'PRE_INITIALIZING' | 'INITIALIZING';

export interface ClusterStatus {
  name: string;
  /** `alt_stat_name` when set, otherwise the name. */
  observabilityName: string;
  addedViaApi: boolean;
  /** Circuit-breaker thresholds per priority, with Envoy's defaults (1024/1024/1024/3) filled in. */
  thresholds: {
    default: Required<
      Pick<
        CircuitBreakerThresholds,
        'max_connections' | 'max_pending_requests' | 'max_requests' | 'max_retries'
      >
    >;
    high: Required<
      Pick<
        CircuitBreakerThresholds,
        'max_connections' | 'max_pending_requests' | 'max_requests' | 'max_retries'
      >
    >;
  };
  /** Every host of every priority, in priority then load-assignment order. */
  hosts: Host[];
  /** Success-rate ejection thresholds from outlier detection, when computed. */
  successRateEjectionThreshold?: number;
  localOriginSuccessRateEjectionThreshold?: number;
  /**
   * Present when the cluster has outlier detection: the success-rate averages of the last
   * analysis (-1 until computed). `/clusters` prints the `::outlier::` lines only for such clusters.
   */
  outlierDetector?: { successRateAverage: number; localOriginSuccessRateAverage: number };
  /** `eds_cluster_config.service_name` of an EDS cluster, when set. */
  edsServiceName?: string;
}

export interface ListenerStatus {
  name: string;
  /** The address the listener is bound to (with the real port when the config asked for port 0). */
  localAddress: Address;
  additionalLocalAddresses: Address[];
}

/** A resource as `/config_dump` shows it, with xDS bookkeeping for dynamic ones. */
export interface DumpedResource<T> {
  resource: T;
  /** xDS version for dynamic resources; absent for static. */
  versionInfo?: string;
  /** ISO time of the last update (`last_updated`). */
  lastUpdated?: string;
}

export interface ConfigSnapshot {
  bootstrap: Bootstrap;
  /** When the bootstrap was loaded (ISO time), for `last_updated` of static resources. */
  loadedAt: string;
  staticListeners: DumpedResource<Listener>[];
  dynamicListeners: DumpedResource<Listener>[];
  staticClusters: DumpedResource<Cluster>[];
  dynamicClusters: DumpedResource<Cluster>[];
  staticSecrets: DumpedResource<Secret>[];
  /** Route configurations received over RDS (inline `route_config`s are found in the listeners). */
  dynamicRouteConfigs?: DumpedResource<RouteConfiguration>[];
  /** `version_info` of the last accepted CDS / LDS response (absent with static config only). */
  clustersVersionInfo?: string;
  listenersVersionInfo?: string;
}

/** One certificate as `/certs` prints it. */
export interface CertificateDetails {
  path: string;
  serial_number: string;
  subject_alt_names: unknown[];
  days_until_expiration: string;
  valid_from: string;
  expiration_time: string;
}

export interface AdminContext {
  store: Store;
  runtime: Runtime;
  logs: LogRegistry;
  /** `--service-node`/`node.id`, `--service-cluster`/`node.cluster`, and the rest of the command line. */
  commandLine: Record<string, unknown>;
  startedAt: Date;
  state(): ServerState;
  clusters(): ClusterStatus[];
  listeners(): ListenerStatus[];
  config(): ConfigSnapshot;
  /** One entry per TLS context: its CA and chain certificates. */
  certs(): { ca_cert: CertificateDetails[]; cert_chain: CertificateDetails[] }[];
  /** `/healthcheck/fail` and `/healthcheck/ok`: what the health_check filter reports. */
  setHealthCheckFailed(failed: boolean): void;
  healthCheckFailed(): boolean;
  /** `/drain_listeners`: stop accepting (inbound only when asked), optionally gracefully. */
  drainListeners(options: { inboundOnly: boolean; graceful: boolean }): void;
  /** `/quitquitquit`: orderly shutdown after the response is sent. */
  quit(): void;
  /** `/reopen_logs`: reopen the listeners' access-log files (the admin reopens its own). */
  reopenAccessLogs?(): void;
  /** `/init_dump`: init managers with targets not yet ready (e.g. warming clusters and listeners). */
  unreadyTargets?(): { name: string; target_names: string[] }[];
  /**
   * Brings what the handlers read up to date before a request is answered: with worker processes,
   * the primary gathers their stats and host counters here.
   */
  refresh?(): Promise<void>;
}
