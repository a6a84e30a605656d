/**
 * What LDS and CDS share (Envoy's LdsApiImpl and CdsApiImpl): a subscription to one resource
 * type whose updates are the whole set, the version of the last accepted update for
 * `/config_dump`, and an "initialized" promise the server waits on at start — resolved once the
 * first update's resources are ready, or when the first update failed or timed out (the server
 * then starts without them rather than wait forever).
 */
import type { ConfigSource } from '../config/types.js';
import type { Scope } from '../stats/store.js';
import type { DecodedResource } from './resources.js';
import type { Subscription, SubscriptionCallbacks, SubscriptionFactory } from './subscription.js';

export abstract class ResourceApi implements SubscriptionCallbacks {
  /** version_info of the last accepted update, for `/config_dump`. */
  versionInfo = '';
  private readonly subscription: Subscription;
  private resolveInitialized!: () => void;
  private readonly initialized = new Promise<void>((resolve) => {
    this.resolveInitialized = resolve;
  });

  constructor(source: ConfigSource, typeUrl: string, factory: SubscriptionFactory, stats: Scope) {
    this.subscription = factory.subscribe(source, typeUrl, this, stats);
  }

  /** Subscribes; resolves when the first update is ready (or failed or timed out). */
  start(): Promise<void> {
    this.subscription.start([]);
    return this.initialized;
  }

  abstract onConfigUpdate(resources: DecodedResource[], versionInfo: string): void;

  /** Marks the api initialized once `ready` (the update's listeners or clusters warming) settles. */
  protected initializedWhen(ready: Promise<unknown>[]): void {
    void Promise.all(ready).then(() => this.resolveInitialized());
  }

  onConfigUpdateFailed(): void {
    this.resolveInitialized();
  }

  stop(): void {
    this.subscription.stop();
  }
}
