/**
 * What a Server process is in a proxy of worker processes (`--concurrency N`): the one process of
 * N = 1, the primary (control plane and admin, like Envoy's main thread), or a worker (the
 * listeners, like one of Envoy's worker threads). The Server asks its role only what differs.
 */
import type { AdminContext } from '../admin/context.js';
import type { Bootstrap } from '../config/types.js';
import type { Cluster } from '../upstream/cluster.js';
import type { HealthChecker } from '../upstream/health-check/index.js';
import type { SubscriptionFactory } from '../xds/subscription.js';
import { type XdsDeps, XdsSubscriptionFactory } from '../xds/subscription-factory.js';
import type { Server } from './server.js';

export interface XdsFactory extends SubscriptionFactory {
  shutdown(): void;
}

export interface ServerRole {
  /** `<n>` of the per-worker listener stats, `listener.<address>.worker_<n>.*`. */
  readonly workerIndex: number;
  /** Whether listeners bind and take connections (the primary's only warm: LDS, RDS, the admin). */
  readonly servesTraffic: boolean;
  /** Whether this process keeps the `server.*` stats (with workers the primary computes them for all). */
  readonly keepsServerStats: boolean;
  /** A bootstrap loaded and checked already: a worker runs the primary's, not the file as it is now. */
  readonly bootstrap?: Bootstrap;
  /** The Server is built and about to start: the role's components take hold of it. */
  attach?(server: Server): void;
  /** What the admin server answers from; undefined when this process has no admin server. */
  adminContext(server: Server): AdminContext | undefined;
  /** The process's config subscriptions. */
  subscriptions(deps: XdsDeps): XdsFactory;
  /** Where a worker's clusters get host health from instead of checking hosts themselves. */
  readonly remoteHealth?: (cluster: Cluster) => HealthChecker | undefined;
}

export const SINGLE_PROCESS: ServerRole = {
  workerIndex: 0,
  servesTraffic: true,
  keepsServerStats: true,
  adminContext: (server) => server,
  subscriptions: (deps) => new XdsSubscriptionFactory(deps),
};
