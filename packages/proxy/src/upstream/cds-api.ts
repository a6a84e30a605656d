/**
 * CDS: clusters from a config source (Envoy's CdsApiImpl and cds_api_helper). Each update is the
 * whole set: `cds: add N cluster(s), remove M cluster(s)` (M counts every cluster missing from it,
 * static ones too, which are then kept), then each is added, replaced (warming first) or skipped
 * when unmodified — `cds: added/updated X cluster(s), skipped Y unmodified cluster(s)`. A cluster
 * that cannot be built rejects the update; the others still apply, as in Envoy.
 */

import type { Logger, LogRegistry } from '../common/logger.js';
import type { Cluster as ClusterConfig, ConfigSource } from '../config/types.js';
import type { Store } from '../stats/store.js';
import { ResourceApi } from '../xds/resource-api.js';
import { CLUSTER, CLUSTER_LOAD_ASSIGNMENT, type DecodedResource } from '../xds/resources.js';
import type { SubscriptionFactory } from '../xds/subscription.js';
import type { ClusterManager } from './cluster-manager.js';

export class CdsApi extends ResourceApi {
  private readonly log: Logger;

  constructor(
    source: ConfigSource,
    private readonly deps: {
      clusterManager: ClusterManager;
      factory: SubscriptionFactory;
      store: Store;
      logs: LogRegistry;
    },
  ) {
    super(source, CLUSTER, deps.factory, deps.store.scope('cluster_manager.cds.'));
    this.log = deps.logs.get('upstream', 'upstream/cds-api.ts');
  }

  onConfigUpdate(resources: DecodedResource[], versionInfo: string): void {
    const cm = this.deps.clusterManager;
    const names = new Set(resources.map((r) => r.name));
    const existing = [...new Set([...cm.clusters(), ...cm.warmingClusters()].map((c) => c.name))];
    const toRemove = existing.filter((name) => !names.has(name));
    this.log.info(`cds: add ${resources.length} cluster(s), remove ${toRemove.length} cluster(s)`);
    // New EDS clusters ask for their endpoints in one request, after all of them are in.
    const resumeEds = this.deps.factory.pauseAds(CLUSTER_LOAD_ASSIGNMENT);
    const errors: string[] = [];
    const warmed: Promise<void>[] = [];
    let updated = 0;
    let skipped = 0;
    try {
      const seen = new Set<string>();
      for (const { name, resource } of resources) {
        if (seen.has(name)) {
          errors.push(`duplicate cluster ${name} found`);
          continue;
        }
        seen.add(name);
        try {
          const update = cm.addOrUpdate(resource as ClusterConfig, { addedViaApi: true, versionInfo });
          if (update.changed) {
            updated++;
            this.log.debug(`cds: add/update cluster '${name}'`);
            warmed.push(
              update.warmed.catch((err: Error) =>
                this.log.error(`cluster '${name}' failed to warm: ${err.message}`),
              ),
            );
          } else {
            skipped++;
            this.log.debug(`cds: add/update cluster '${name}' skipped`);
          }
        } catch (err) {
          errors.push(`${name}: ${(err as Error).message}`);
        }
      }
      for (const name of toRemove) if (cm.remove(name)) this.log.debug(`cds: remove cluster '${name}'`);
    } finally {
      resumeEds();
    }
    this.log.info(`cds: added/updated ${updated} cluster(s), skipped ${skipped} unmodified cluster(s)`);
    this.initializedWhen(warmed);
    if (errors.length > 0) throw new Error(`Error adding/updating cluster(s) ${errors.join(', ')}`);
    this.versionInfo = versionInfo;
  }
}
