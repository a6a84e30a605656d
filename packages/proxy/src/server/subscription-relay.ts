/**
 * One config subscription per resource for all the processes, as Envoy has one per process: the
 * primary subscribes (file, REST, gRPC, ADS), applies each update and hands it on to the workers,
 * which apply the same resources with the same code and so reach the same state.
 *
 * A worker subscribes where its config says — the same places as the primary's, since it runs the
 * same config — and its subscription becomes a watch on the primary's subscription with the same
 * source, type and resource names: it gets what that one last delivered, then every later update.
 * An update the primary rejects is still handed on: the owners apply updates in part (LDS keeps
 * the good listeners of a rejected update), and the workers must end where the primary did.
 */
import { xxHash64 } from '../common/hash.js';
import type { Logger } from '../common/logger.js';
import type { ConfigSource } from '../config/types.js';
import { type Scope, Store } from '../stats/store.js';
import type { DecodedResource } from '../xds/resources.js';
import type { Subscription, SubscriptionCallbacks } from '../xds/subscription.js';
import type { FromWorker, ToWorker, WorkerLink } from './ipc.js';
import type { XdsFactory } from './role.js';

export function subscriptionKey(source: ConfigSource, typeName: string, names: readonly string[]): string {
  return JSON.stringify([source, typeName, [...names].sort()]);
}

type Delivery = { resources: DecodedResource[]; version: string } | 'timed-out';

/** The primary's subscription, remembering what it delivered last for watches that come later. */
class TappedSubscription implements Subscription {
  key: string | undefined;
  last: { delivery: Delivery; digest: string; sequence: number } | undefined;
  inner!: Subscription;

  constructor(
    private readonly hub: SubscriptionHub,
    private readonly source: ConfigSource,
    private readonly typeName: string,
  ) {}

  start(names: readonly string[]): void {
    this.key = subscriptionKey(this.source, this.typeName, names);
    this.inner.start(names);
  }

  updateResourceInterest(names: readonly string[]): void {
    this.key = subscriptionKey(this.source, this.typeName, names);
    this.last = undefined;
    this.inner.updateResourceInterest(names);
  }

  stop(): void {
    this.hub.forget(this);
    this.inner.stop();
  }
}

interface Watch {
  key: string;
  /** Digest of the last delivery sent, so one update reaching two twin subscriptions goes once. */
  sent: string | undefined;
}

/** The primary's side: its own subscriptions, tapped, and the workers' watches on them. */
export class SubscriptionHub implements XdsFactory {
  private readonly tapped = new Set<TappedSubscription>();
  private readonly watches = new Map<WorkerLink, Map<number, Watch>>();
  private sequence = 0;

  constructor(private readonly own: XdsFactory) {}

  subscribe(
    source: ConfigSource,
    typeName: string,
    callbacks: SubscriptionCallbacks,
    scope: Scope,
  ): Subscription {
    const tapped = new TappedSubscription(this, source, typeName);
    tapped.inner = this.own.subscribe(
      source,
      typeName,
      {
        onConfigUpdate: (resources, version) => {
          try {
            callbacks.onConfigUpdate(resources, version);
          } finally {
            this.delivered(tapped, { resources, version });
          }
        },
        onConfigUpdateFailed: (reason, error) => {
          callbacks.onConfigUpdateFailed(reason, error);
          // Watches waiting for a first update stop waiting when the primary's owner does.
          if (reason === 'FetchTimedout' && !tapped.last) this.delivered(tapped, 'timed-out');
        },
      },
      scope,
    );
    this.tapped.add(tapped);
    return tapped;
  }

  pauseAds(typeName: string): () => void {
    return this.own.pauseAds(typeName);
  }

  shutdown(): void {
    this.own.shutdown();
  }

  forget(tapped: TappedSubscription): void {
    this.tapped.delete(tapped);
  }

  /** A worker's subscription started (or changed names): send it the latest delivery for its key. */
  watch(worker: WorkerLink, id: number, key: string): void {
    let watches = this.watches.get(worker);
    if (!watches) {
      watches = new Map();
      this.watches.set(worker, watches);
    }
    const watch: Watch = { key, sent: undefined };
    watches.set(id, watch);
    let latest: TappedSubscription['last'];
    for (const t of this.tapped) {
      if (t.key === key && t.last && (!latest || t.last.sequence > latest.sequence)) latest = t.last;
    }
    if (latest) this.send(worker, id, watch, latest);
  }

  unwatch(worker: WorkerLink, id: number): void {
    this.watches.get(worker)?.delete(id);
  }

  /** A worker exited: its watches go with it. */
  dropWorker(worker: WorkerLink): void {
    this.watches.delete(worker);
  }

  private delivered(tapped: TappedSubscription, delivery: Delivery): void {
    const digest = xxHash64(JSON.stringify(delivery)).toString(16);
    tapped.last = { delivery, digest, sequence: ++this.sequence };
    for (const [worker, watches] of this.watches) {
      for (const [id, watch] of watches) {
        if (watch.key === tapped.key) this.send(worker, id, watch, tapped.last);
      }
    }
  }

  private send(
    worker: WorkerLink,
    id: number,
    watch: Watch,
    last: NonNullable<TappedSubscription['last']>,
  ): void {
    if (watch.sent === last.digest) return;
    watch.sent = last.digest;
    const d = last.delivery;
    worker.send(
      d === 'timed-out'
        ? { t: 'xds-timeout', watch: id }
        : { t: 'xds', watch: id, resources: d.resources, version: d.version },
    );
  }
}

class RelayedSubscription implements Subscription {
  constructor(
    private readonly relay: SubscriptionRelay,
    readonly id: number,
    private readonly source: ConfigSource,
    private readonly typeName: string,
    readonly callbacks: SubscriptionCallbacks,
  ) {}

  start(names: readonly string[]): void {
    this.relay.send({ t: 'watch', watch: this.id, key: subscriptionKey(this.source, this.typeName, names) });
  }

  updateResourceInterest(names: readonly string[]): void {
    this.start(names);
  }

  stop(): void {
    this.relay.forget(this);
  }
}

/** A worker's side: subscriptions that are watches on the primary's. */
export class SubscriptionRelay implements XdsFactory {
  private readonly relayed = new Map<number, RelayedSubscription>();
  private nextId = 1;

  /**
   * `validator` is a subscription factory of the worker's own that never starts what it makes: the
   * primary's factory refuses some config sources (a missing file, no ads_config), and so must this
   * one, to accept and refuse the same clusters and listeners as the primary.
   */
  constructor(
    private readonly validator: XdsFactory,
    readonly send: (message: FromWorker) => void,
    private readonly log: Logger,
  ) {}

  subscribe(source: ConfigSource, typeName: string, callbacks: SubscriptionCallbacks): Subscription {
    this.validator.subscribe(source, typeName, callbacks, new Store());
    const relayed = new RelayedSubscription(this, this.nextId++, source, typeName, callbacks);
    this.relayed.set(relayed.id, relayed);
    return relayed;
  }

  /** Pausing matters to the ADS stream, which is the primary's. */
  pauseAds(): () => void {
    return () => {};
  }

  shutdown(): void {
    this.validator.shutdown();
  }

  forget(relayed: RelayedSubscription): void {
    this.relayed.delete(relayed.id);
    this.send({ t: 'unwatch', watch: relayed.id });
  }

  /** An update (or the initial fetch's timeout) the primary handed on; applied as a subscription does. */
  receive(message: Extract<ToWorker, { t: 'xds' | 'xds-timeout' }>): void {
    const relayed = this.relayed.get(message.watch);
    if (!relayed) return;
    if (message.t === 'xds-timeout') {
      relayed.callbacks.onConfigUpdateFailed('FetchTimedout');
      return;
    }
    try {
      relayed.callbacks.onConfigUpdate(message.resources, message.version);
    } catch (err) {
      const error = err instanceof Error ? err : new Error(String(err));
      // The primary rejected it too (same resources, same code); it reported the rejection.
      this.log.debug(`update ${message.version} rejected as in the primary: ${error.message}`);
      relayed.callbacks.onConfigUpdateFailed('UpdateRejected', error);
    }
  }
}
