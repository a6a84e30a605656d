/**
 * EDS for one cluster (Envoy's EdsClusterImpl): the cluster's hosts come from the
 * ClusterLoadAssignment named `eds_cluster_config.service_name` (or the cluster's name), delivered
 * by the subscription of `eds_cluster_config.eds_config`. The cluster is warm once the first
 * assignment arrives — or the subscription gives up on it (rejection, initial_fetch_timeout), so
 * one broken cluster cannot hold the server's start forever.
 */

import type { Logger } from '../common/logger.js';
import type { Cluster as ClusterConfig, ClusterLoadAssignment } from '../config/types.js';
import type { Counter, Scope } from '../stats/store.js';
import { CLUSTER_LOAD_ASSIGNMENT, type DecodedResource } from '../xds/resources.js';
import type { Subscription, SubscriptionCallbacks, SubscriptionFactory } from '../xds/subscription.js';

/** What EDS needs of its cluster. */
export interface EdsTarget<L> {
  readonly name: string;
  readonly config: ClusterConfig;
  readonly scope: Scope;
  readonly stats: { update_empty: Counter };
  localitiesOf(assignment: ClusterLoadAssignment | undefined): L;
  applyEndpoints(localities: L, assignment: ClusterLoadAssignment): void;
}

export class EdsDiscovery<L> implements SubscriptionCallbacks {
  readonly serviceName: string;
  private readonly subscription: Subscription;
  private resolveInitialized!: () => void;
  private readonly initialized = new Promise<void>((resolve) => {
    this.resolveInitialized = resolve;
  });

  /** Creating the subscription checks the config source (a missing file is refused here, as Envoy does). */
  constructor(
    private readonly cluster: EdsTarget<L>,
    factory: SubscriptionFactory | undefined,
    private readonly log: Logger,
  ) {
    const eds = cluster.config.eds_cluster_config;
    this.serviceName = eds?.service_name || cluster.name;
    if (!factory || !eds?.eds_config) {
      throw new Error(`cluster '${cluster.name}': EDS needs eds_cluster_config.eds_config`);
    }
    this.subscription = factory.subscribe(eds.eds_config, CLUSTER_LOAD_ASSIGNMENT, this, cluster.scope);
  }

  /** Subscribes; resolves when the cluster has its first assignment (or will not get one soon). */
  start(): Promise<void> {
    this.subscription.start([this.serviceName]);
    return this.initialized;
  }

  onConfigUpdate(resources: DecodedResource[]): void {
    if (resources.length === 0) {
      this.log.debug(`Missing ClusterLoadAssignment for ${this.serviceName} in onConfigUpdate()`);
      this.cluster.stats.update_empty.inc();
      this.resolveInitialized();
      return;
    }
    if (resources.length !== 1) {
      throw new Error(`Unexpected EDS response resource length: ${resources.length} (expecting 1)`);
    }
    const assignment = resources[0]!.resource as unknown as ClusterLoadAssignment;
    if (assignment.cluster_name !== this.serviceName) {
      throw new Error(`Unexpected EDS cluster (expecting ${this.serviceName}): ${assignment.cluster_name}`);
    }
    this.cluster.applyEndpoints(this.cluster.localitiesOf(assignment), assignment);
    this.resolveInitialized();
  }

  onConfigUpdateFailed(): void {
    this.resolveInitialized();
  }

  stop(): void {
    this.subscription.stop();
    // A cluster replaced or removed while warming is not waited for.
    this.resolveInitialized();
  }
}
