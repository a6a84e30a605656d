/**
 * The cluster manager: every upstream cluster by name, their warming, and the
 * `cluster_manager.*` stats. Static clusters come from the bootstrap; dynamic ones (CDS) are
 * added and replaced here too, warming before they replace the cluster they update, so traffic
 * never sees a cold cluster.
 */

import type { Logger } from '../common/logger.js';
import type { Cluster as ClusterConfig } from '../config/types.js';
import type { Counter, Gauge } from '../stats/store.js';
import { Cluster, type ClusterDeps } from './cluster.js';

export class ClusterManager {
  private readonly active = new Map<string, Cluster>();
  private readonly warming = new Map<string, Cluster>();
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

  /** Active clusters in the order they were added (the order `/clusters` lists them). */
  clusters(): Cluster[] {
    return [...this.active.values()];
  }

  warmingClusters(): Cluster[] {
    return [...this.warming.values()];
  }

  /**
   * Adds a cluster, or replaces the one with the same name once the new one is warm. Resolves
   * when it is active. An unchanged config (same JSON) is skipped, as Envoy skips unmodified
   * clusters; returns whether anything changed.
   */
  async addOrUpdate(
    config: ClusterConfig,
    options: { addedViaApi: boolean; versionInfo?: string },
  ): Promise<boolean> {
    const current = this.active.get(config.name);
    if (current && JSON.stringify(current.config) === JSON.stringify(config)) return false;
    const previousWarming = this.warming.get(config.name);
    previousWarming?.destroy();
    const cluster = new Cluster(config, this.deps, options.addedViaApi, options.versionInfo);
    this.warming.set(config.name, cluster);
    this.updateGauges();
    try {
      await cluster.initialize();
    } catch (err) {
      if (this.warming.get(config.name) === cluster) this.warming.delete(config.name);
      cluster.destroy();
      this.updateGauges();
      throw err;
    }
    if (this.warming.get(config.name) !== cluster) return false; // superseded while warming
    this.warming.delete(config.name);
    this.active.set(config.name, cluster);
    if (current) {
      current.destroy();
      this.stats.cluster_modified.inc();
      this.log.info(`cluster '${config.name}' updated`);
    } else {
      this.stats.cluster_added.inc();
      this.log.info(`cluster '${config.name}' added`);
    }
    this.stats.cluster_updated.inc();
    this.updateGauges();
    return true;
  }

  remove(name: string): boolean {
    const cluster = this.active.get(name) ?? this.warming.get(name);
    if (!cluster) return false;
    this.active.delete(name);
    this.warming.delete(name);
    cluster.destroy();
    this.deps.store.removeByPrefix(`cluster.${cluster.observabilityName}.`);
    this.stats.cluster_removed.inc();
    this.updateGauges();
    this.log.info(`cluster '${name}' removed`);
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
