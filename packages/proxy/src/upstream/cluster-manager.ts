/**
 * The cluster manager: every upstream cluster by name, their warming, and the
 * `cluster_manager.*` stats. Static clusters come from the bootstrap; dynamic ones (CDS) are
 * added, replaced and removed here too. A new or updated cluster warms (first DNS answer or EDS
 * assignment, first health checks) before it replaces the active one, so traffic never sees a
 * cold cluster; static clusters cannot be changed by CDS.
 */

import type { Logger } from '../common/logger.js';
import type { Cluster as ClusterConfig } from '../config/types.js';
import type { Counter, Gauge } from '../stats/store.js';
import { Cluster, type ClusterDeps } from './cluster.js';

export interface ClusterUpdate {
  /** False for an unmodified cluster (same config) and for a static cluster CDS tried to change. */
  changed: boolean;
  /** Settles when the new cluster is active (or was replaced or removed while warming). */
  warmed: Promise<void>;
}

export class ClusterManager {
  private readonly active = new Map<string, Cluster>();
  private readonly warming = new Map<string, Cluster>();
  private readonly updatedAt = new Map<string, string>();
  private readonly log: Logger;
  private readonly stats: {
    active_clusters: Gauge;
    warming_clusters: Gauge;
    cluster_added: Counter;
    cluster_modified: Counter;
    cluster_removed: Counter;
    cluster_updated: Counter;
  };

  constructor(private readonly deps: ClusterDeps) {
    this.log = deps.logs.get('upstream', 'upstream/cluster-manager.ts');
    const scope = deps.store.scope('cluster_manager.');
    this.stats = {
      active_clusters: scope.gauge('active_clusters', 'NeverImport'),
      warming_clusters: scope.gauge('warming_clusters', 'NeverImport'),
      cluster_added: scope.counter('cluster_added'),
      cluster_modified: scope.counter('cluster_modified'),
      cluster_removed: scope.counter('cluster_removed'),
      cluster_updated: scope.counter('cluster_updated'),
    };
  }

  /** A warm cluster by name, or undefined (the router answers 503 / `cluster_not_found_response_code`). */
  get(name: string): Cluster | undefined {
    return this.active.get(name);
  }

  /** Whether a cluster of that name exists, warm or warming (what route validation asks). */
  has(name: string): boolean {
    return this.active.has(name) || this.warming.has(name);
  }

  /** Active clusters in the order they were added (the order `/clusters` lists them). */
  clusters(): Cluster[] {
    return [...this.active.values()];
  }

  warmingClusters(): Cluster[] {
    return [...this.warming.values()];
  }

  /** When the active cluster of that name was last added or replaced (ISO time). */
  lastUpdated(name: string): string | undefined {
    return this.updatedAt.get(name);
  }

  /**
   * Adds a cluster, or starts replacing the one of the same name: the new one warms and then
   * takes over. Throws at once if the cluster cannot be built (CDS rejects the update). An
   * unchanged config is skipped, as Envoy skips unmodified clusters, and so is an attempt of CDS
   * to change a static cluster.
   */
  addOrUpdate(config: ClusterConfig, options: { addedViaApi: boolean; versionInfo?: string }): ClusterUpdate {
    const current = this.warming.get(config.name) ?? this.active.get(config.name);
    const unchanged = current && JSON.stringify(current.config) === JSON.stringify(config);
    if (unchanged || (current && !current.addedViaApi && options.addedViaApi)) {
      return { changed: false, warmed: Promise.resolve() };
    }
    const cluster = new Cluster(config, this.deps, options.addedViaApi, options.versionInfo);
    this.warming.get(config.name)?.destroy();
    this.warming.set(config.name, cluster);
    if (this.active.has(config.name)) this.stats.cluster_modified.inc();
    else this.stats.cluster_added.inc();
    if (options.addedViaApi) this.log.info(`add/update cluster ${config.name} starting warming`);
    this.updateGauges();
    const warmed = cluster.initialize().then(
      () => this.activate(cluster),
      (err: unknown) => {
        if (this.warming.get(config.name) === cluster) this.warming.delete(config.name);
        cluster.destroy();
        this.updateGauges();
        throw err;
      },
    );
    return { changed: true, warmed };
  }

  private activate(cluster: Cluster): void {
    const name = cluster.name;
    if (this.warming.get(name) !== cluster) return; // replaced or removed while warming
    this.warming.delete(name);
    this.active.get(name)?.destroy();
    this.active.set(name, cluster);
    this.updatedAt.set(name, new Date().toISOString());
    this.stats.cluster_updated.inc();
    if (cluster.addedViaApi) this.log.info(`warming cluster ${name} complete`);
    this.updateGauges();
  }

  /** Removes a cluster CDS added (static clusters stay); returns whether one was removed. */
  remove(name: string): boolean {
    const cluster = this.active.get(name) ?? this.warming.get(name);
    if (!cluster?.addedViaApi) return false;
    for (const c of [this.active.get(name), this.warming.get(name)]) c?.destroy();
    this.active.delete(name);
    this.warming.delete(name);
    this.updatedAt.delete(name);
    this.deps.store.removeByPrefix(`cluster.${cluster.observabilityName}.`);
    this.stats.cluster_removed.inc();
    this.updateGauges();
    this.log.info(`removing cluster ${name}`);
    return true;
  }

  private updateGauges(): void {
    this.stats.active_clusters.set(this.active.size);
    this.stats.warming_clusters.set(this.warming.size);
  }

  destroy(): void {
    for (const c of [...this.active.values(), ...this.warming.values()]) c.destroy();
    this.active.clear();
    this.warming.clear();
  }
}
