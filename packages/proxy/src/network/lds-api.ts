/**
 * LDS: listeners from a config source (Envoy's LdsApiImpl). Each update is the whole set: listeners
 * missing from it are removed (first, so a new listener may take a removed one's address), the
 * others added or updated — `lds: add/update listener '<name>'` — and unmodified ones skipped. A
 * listener that cannot be built rejects the update (the others still apply, as in Envoy).
 */

import type { Logger, LogRegistry } from '../common/logger.js';
import type { ConfigSource, Listener } from '../config/types.js';
import type { Store } from '../stats/store.js';
import { type DecodedResource, LISTENER, ROUTE_CONFIGURATION } from '../xds/resources.js';
import type { Subscription, SubscriptionCallbacks, SubscriptionFactory } from '../xds/subscription.js';
import type { ListenerManager } from './listener-manager.js';

export class LdsApi implements SubscriptionCallbacks {
  /** version_info of the last accepted update, for `/config_dump`. */
  versionInfo = '';
  private readonly subscription: Subscription;
  private readonly log: Logger;
  private resolveInitialized!: () => void;
  private readonly initialized = new Promise<void>((resolve) => {
    this.resolveInitialized = resolve;
  });

  constructor(
    source: ConfigSource,
    private readonly deps: {
      listenerManager: ListenerManager;
      factory: SubscriptionFactory;
      store: Store;
      logs: LogRegistry;
    },
  ) {
    this.log = deps.logs.get('upstream', 'network/lds-api.ts');
    this.subscription = deps.factory.subscribe(
      source,
      LISTENER,
      this,
      deps.store.scope('listener_manager.lds.'),
    );
  }

  /** Subscribes; resolves when the first update's listeners are warm (or the first update failed or timed out). */
  start(): Promise<void> {
    this.subscription.start([]);
    return this.initialized;
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
    void Promise.all(ready).then(() => this.resolveInitialized());
    if (errors.length > 0) throw new Error(`Error adding/updating listener(s) ${errors.join(', ')}`);
    this.versionInfo = versionInfo;
  }

  onConfigUpdateFailed(): void {
    // The server starts even without listeners rather than wait forever.
    this.resolveInitialized();
  }

  stop(): void {
    this.subscription.stop();
  }
}
