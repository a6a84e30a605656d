/**
 * LDS: listeners from a config source (Envoy's LdsApiImpl). Each update is the whole set: listeners
 * missing from it are removed (first, so a new listener may take a removed one's address), the
 * others added or updated — `lds: add/update listener '<name>'` — and unmodified ones skipped. A
 * listener that cannot be built rejects the update (the others still apply, as in Envoy).
 */

import type { Logger, LogRegistry } from '../common/logger.js';
import type { ConfigSource, Listener } from '../config/types.js';
import type { Store } from '../stats/store.js';
import { ResourceApi } from '../xds/resource-api.js';
import { type DecodedResource, LISTENER, ROUTE_CONFIGURATION } from '../xds/resources.js';
import type { SubscriptionFactory } from '../xds/subscription.js';
import type { ListenerManager } from './listener-manager.js';

export class LdsApi extends ResourceApi {
  private readonly log: Logger;

  constructor(
    source: ConfigSource,
    private readonly deps: {
      listenerManager: ListenerManager;
      factory: SubscriptionFactory;
      store: Store;
      logs: LogRegistry;
    },
  ) {
    super(source, LISTENER, deps.factory, deps.store.scope('listener_manager.lds.'));
    this.log = deps.logs.get('upstream', 'network/lds-api.ts');
  }

  onConfigUpdate(resources: DecodedResource[], versionInfo: string): void {
    // Route configurations the new listeners name are asked for once, after all of them are in.
    const resumeRds = this.deps.factory.pauseAds(ROUTE_CONFIGURATION);
    const lm = this.deps.listenerManager;
    const errors: string[] = [];
    const ready: Promise<void>[] = [];
    try {
      const names = new Set<string>();
      for (const r of resources) {
        if (names.has(r.name)) errors.push(`duplicate listener ${r.name} found`);
        names.add(r.name);
      }
      for (const name of lm.names()) {
        if (!names.has(name) && lm.remove(name)) this.log.info(`lds: remove listener '${name}'`);
      }
      const seen = new Set<string>();
      for (const { name, resource } of resources) {
        if (seen.has(name)) continue;
        seen.add(name);
        try {
          const update = lm.addOrUpdate(resource as Listener, { addedViaApi: true, versionInfo });
          if (!update.changed) {
            this.log.debug(`lds: add/update listener '${name}' skipped`);
            continue;
          }
          this.log.info(`lds: add/update listener '${name}'`);
          ready.push(
            update.ready.catch((err: Error) =>
              this.log.error(`listener '${name}' failed to listen or warm: ${err.message}`),
            ),
          );
        } catch (err) {
          errors.push(`${name}: ${(err as Error).message}`);
        }
      }
    } finally {
      resumeRds();
    }
    this.initializedWhen(ready);
    if (errors.length > 0) throw new Error(`Error adding/updating listener(s) ${errors.join(', ')}`);
    this.versionInfo = versionInfo;
  }
}
