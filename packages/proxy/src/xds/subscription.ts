/**
 * Config subscriptions, Envoy's Config::Subscription: something that delivers state-of-the-world
 * updates of one resource type from one config source (a watched file, a REST endpoint polled, or
 * a gRPC stream — its own or the shared ADS stream) to the component that owns the resources.
 *
 * The owner (LDS, CDS, RDS, an EDS cluster) applies an update synchronously and throws to reject
 * it; the subscription then reports the rejection the way its transport can (a NACK with
 * `error_detail` over gRPC and REST, stats and logs for files), and the previous config stays.
 */

import { durationMs } from '../common/duration.js';
import { xxHash64 } from '../common/hash.js';
import type { Logger } from '../common/logger.js';
import type { ConfigSource } from '../config/types.js';
import type { Counter, Gauge, Scope } from '../stats/store.js';
import type { DecodedResource } from './resources.js';

export type UpdateFailureReason = 'ConnectionFailure' | 'FetchTimedout' | 'UpdateRejected';

export interface SubscriptionCallbacks {
  /**
   * A state-of-the-world update: for wildcard subscriptions (LDS, CDS) every resource there is —
   * one missing was removed —, for named ones (RDS, EDS) the requested resources the update
   * carries. Throws to reject the update.
   */
  onConfigUpdate(resources: DecodedResource[], versionInfo: string): void;
  /**
   * The update was rejected, or the first one did not arrive within `initial_fetch_timeout`.
   * Connection failures are not reported: the subscription reconnects and the previous config
   * keeps serving.
   */
  onConfigUpdateFailed(reason: Exclude<UpdateFailureReason, 'ConnectionFailure'>, error?: Error): void;
}

export interface Subscription {
  /** Starts fetching: `resourceNames` empty means every resource of the type (wildcard). */
  start(resourceNames: readonly string[]): void;
  /** The names of a named subscription changed (an RDS/EDS subscription stays, its resource set moves). */
  updateResourceInterest(resourceNames: readonly string[]): void;
  stop(): void;
}

/** Creates subscriptions for config sources; the server owns the one factory (and the ADS stream). */
export interface SubscriptionFactory {
  subscribe(
    source: ConfigSource,
    typeName: string,
    callbacks: SubscriptionCallbacks,
    scope: Scope,
  ): Subscription;
  /**
   * Holds back requests of `typeName` on the shared ADS stream until the returned function runs,
   * so an update that changes what another type watches sends one request (Envoy pauses EDS while
   * a CDS update adds clusters).
   */
  pauseAds(typeName: string): () => void;
}

/** Envoy's per-subscription stats (`listener_manager.lds.*`, `cluster_manager.cds.*`, `cluster.<name>.*`). */
export class SubscriptionStats {
  readonly update_attempt: Counter;
  readonly update_success: Counter;
  readonly update_failure: Counter;
  readonly update_rejected: Counter;
  readonly init_fetch_timeout: Counter;
  readonly update_time: Gauge;
  readonly version: Gauge;

  constructor(scope: Scope) {
    this.update_attempt = scope.counter('update_attempt');
    this.update_success = scope.counter('update_success');
    this.update_failure = scope.counter('update_failure');
    this.update_rejected = scope.counter('update_rejected');
    this.init_fetch_timeout = scope.counter('init_fetch_timeout');
    this.update_time = scope.gauge('update_time', 'NeverImport');
    this.version = scope.gauge('version', 'NeverImport');
  }

  accepted(versionInfo: string): void {
    this.update_attempt.inc();
    this.update_success.inc();
    this.update_time.set(Date.now());
    // Envoy reports the version as a hash of version_info (a gauge holds numbers, not text).
    this.version.set(Number(xxHash64(versionInfo) & 0x1f_ffff_ffff_ffffn));
  }

  rejected(): void {
    this.update_attempt.inc();
    this.update_rejected.inc();
  }
}

/** Envoy's default `initial_fetch_timeout`. */
const DEFAULT_INITIAL_FETCH_TIMEOUT_MS = 15_000;

/**
 * `initial_fetch_timeout`: if the first update has not arrived in time, the owner stops waiting
 * (its init target is ready) and keeps the subscription going. 0 waits forever.
 */
export class InitialFetchTimer {
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly source: ConfigSource,
    private readonly stats: SubscriptionStats,
    private readonly callbacks: SubscriptionCallbacks,
    private readonly log: Logger,
    private readonly what: string,
  ) {}

  start(): void {
    const ms = durationMs(this.source.initial_fetch_timeout, DEFAULT_INITIAL_FETCH_TIMEOUT_MS);
    if (ms === 0) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.stats.init_fetch_timeout.inc();
      this.log.warn(`${this.what}: initial fetch timed out after ${ms} ms; continuing without it`);
      this.callbacks.onConfigUpdateFailed('FetchTimedout');
    }, ms);
    this.timer.unref();
  }

  /** The first update (accepted or rejected) arrived. */
  disarm(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }
}

/** Runs an update through the owner, counting it; returns the rejection, if any. */
export function deliver(
  callbacks: SubscriptionCallbacks,
  stats: SubscriptionStats,
  resources: DecodedResource[],
  versionInfo: string,
): Error | undefined {
  try {
    callbacks.onConfigUpdate(resources, versionInfo);
  } catch (err) {
    stats.rejected();
    const error = err instanceof Error ? err : new Error(String(err));
    callbacks.onConfigUpdateFailed('UpdateRejected', error);
    return error;
  }
  stats.accepted(versionInfo);
  return undefined;
}
