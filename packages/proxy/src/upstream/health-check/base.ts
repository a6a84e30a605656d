/**
 * The protocol-independent part of active health checking, after Envoy's `HealthCheckerImplBase`
 * and `ActiveHealthCheckSession` (source/extensions/health_checkers/common/health_checker_base_impl.cc):
 * one session per host, each with its own interval and timeout timers, the threshold state
 * machine, the `health_check.*` stats, and the host's health flags.
 *
 * State machine (Envoy's, which the course notes §6.3 describe in part):
 * - a host starts with `failed_active_hc` (and `pending_active_hc` when the cluster sets
 *   `ignore_new_hosts_until_first_hc`); its *first* result clears `pending_active_hc`, and a
 *   first success makes it healthy at once, whatever `healthy_threshold` says;
 * - a healthy host becomes unhealthy after `unhealthy_threshold` consecutive network failures or
 *   timeouts (or retriable HTTP statuses), but at once on a non-retriable failure: an unexpected
 *   HTTP status, a payload mismatch, or a passive (immediate) failure;
 * - an unhealthy host becomes healthy after `healthy_threshold` consecutive successes;
 * - a timeout on a failed host sets `active_hc_timeout` (any other result clears it).
 */
import { durationMs } from '../../common/duration.js';
import type { Logger } from '../../common/logger.js';
import type { HealthCheck } from '../../config/types.js';
import type { Runtime } from '../../runtime/runtime.js';
import type { Counter, Gauge, Scope } from '../../stats/store.js';
import type { Host, PrioritySet } from '../host.js';

export interface HealthCheckerParams {
  /** One entry of the cluster's `health_checks`. */
  config: HealthCheck;
  clusterName: string;
  prioritySet: PrioritySet;
  /** The cluster's stats scope, `cluster.<name>.`; the checker adds `health_check.*`. */
  stats: Scope;
  /** Whether the cluster has ever had upstream traffic (`upstream_cx_total` used). */
  hasTraffic: () => boolean;
  /** A host's health changed; the cluster recomputes its host sets (`prioritySet.refreshHealth()`). */
  onHostHealthChanged: (host: Host) => void;
  /** A check of `host` passed (whether or not its health changed); outlier detection listens. */
  onCheckSucceeded?: (host: Host) => void;
  /** The `hc` logger. */
  log: Logger;
  /** Source of randomness for jitter, in [0, 1). */
  random: () => number;
  /** For `health_check.min_interval` / `health_check.max_interval`, when given. */
  runtime?: Runtime;
}

export interface HealthChecker {
  /** Starts checking every current host, and every host added later. */
  start(): void;
  /** Stops all checks and closes every connection and timer. */
  stop(): void;
  /** Resolves once every host present at `start()` has had its first check (cluster warming). */
  initialized(): Promise<void>;
  /**
   * The data path saw `x-envoy-immediate-health-check-fail` on a response from `host`: exclude
   * it and mark it failed now, as Envoy's `HealthCheckHostMonitor::setUnhealthy` does.
   */
  immediateHealthCheckFail(host: Host): void;
}

export interface HealthCheckStats {
  attempt: Counter;
  success: Counter;
  failure: Counter;
  passive_failure: Counter;
  network_failure: Counter;
  verify_cluster: Counter;
  healthy: Gauge;
  degraded: Gauge;
}

function healthCheckStats(scope: Scope): HealthCheckStats {
  const s = scope.scope('health_check.');
  return {
    attempt: s.counter('attempt'),
    success: s.counter('success'),
    failure: s.counter('failure'),
    passive_failure: s.counter('passive_failure'),
    network_failure: s.counter('network_failure'),
    verify_cluster: s.counter('verify_cluster'),
    // Each worker process checks every host itself, so the aggregated value must not be a sum.
    healthy: s.gauge('healthy', 'NeverImport'),
    degraded: s.gauge('degraded', 'NeverImport'),
  };
}

/** Why a check failed: Envoy's `HealthCheckFailureType` (NETWORK_TIMEOUT is `timeout`). */
export type FailureType = 'active' | 'network' | 'timeout' | 'passive';

/** How a check result changed the host: Envoy's `HealthTransition`. */
export type Transition = 'unchanged' | 'changed' | 'pending';

export interface Intervals {
  interval: number;
  noTraffic: number;
  noTrafficHealthy: number;
  unhealthy: number;
  unhealthyEdge: number;
  healthyEdge: number;
  intervalJitter: number;
  intervalJitterPercent: number;
  initialJitter: number;
}

/** The configured intervals in ms, with Envoy's defaults. */
export function intervalsOf(config: HealthCheck): Intervals {
  const interval = durationMs(config.interval, 0);
  const noTraffic = durationMs(config.no_traffic_interval, 60_000);
  const unhealthy = durationMs(config.unhealthy_interval, interval);
  return {
    interval,
    noTraffic,
    noTrafficHealthy: durationMs(config.no_traffic_healthy_interval, noTraffic),
    unhealthy,
    unhealthyEdge: durationMs(config.unhealthy_edge_interval, unhealthy),
    healthyEdge: durationMs(config.healthy_edge_interval, interval),
    intervalJitter: durationMs(config.interval_jitter, 0),
    intervalJitterPercent: config.interval_jitter_percent ?? 0,
    initialJitter: durationMs(config.initial_jitter, 0),
  };
}

/**
 * Adds `interval_jitter_percent` of `base` and `jitter` ms, each uniformly random, clamps to the
 * runtime's `health_check.min_interval`/`max_interval`, and never returns less than 1 ms.
 */
export function withJitter(
  base: number,
  jitter: number,
  intervals: Intervals,
  random: () => number,
  runtime?: Runtime,
): number {
  let ms = base;
  const percentMod = Math.floor((intervals.intervalJitterPercent * base) / 100);
  if (percentMod > 0) ms += Math.floor(random() * percentMod);
  if (jitter > 0) ms += Math.floor(random() * jitter);
  const min = runtime?.getInteger('health_check.min_interval', 0) ?? 0;
  const max =
    runtime?.getInteger('health_check.max_interval', Number.MAX_SAFE_INTEGER) ?? Number.MAX_SAFE_INTEGER;
  return Math.max(1, Math.max(Math.min(ms, max), min));
}

/**
 * The wait before the next check of a host, Envoy's `HealthCheckerImplBase::interval`: before the
 * cluster has seen any traffic, `no_traffic_interval` (or `no_traffic_healthy_interval` for a
 * settled healthy host); afterwards `interval`, `unhealthy_interval`, or the edge intervals while
 * a transition is pending on the thresholds.
 */
export function baseInterval(
  i: Intervals,
  healthy: boolean,
  transition: Transition,
  hasTraffic: boolean,
): number {
  if (!hasTraffic) return healthy && transition !== 'pending' ? i.noTrafficHealthy : i.noTraffic;
  if (healthy) return transition === 'pending' ? i.healthyEdge : i.interval;
  return transition === 'pending' ? i.unhealthyEdge : i.unhealthy;
}

/** A host's checking: timers, counters and flags. Protocols implement the check itself. */
export abstract class Session {
  private firstCheck = true;
  private numHealthy = 0;
  private numUnhealthy = 0;
  private intervalTimer: NodeJS.Timeout | undefined;
  private timeoutTimer: NodeJS.Timeout | undefined;
  protected destroyed = false;

  constructor(
    protected readonly parent: HealthCheckerBase,
    readonly host: Host,
  ) {}

  /** Sends one check; its outcome arrives later through `handleSuccess` / `handleFailure`. */
  protected abstract onInterval(): void;
  /** The check timed out: abandon it (close the connection). */
  protected abstract onTimeout(): void;
  /** Releases connections; the session is gone. */
  protected abstract onDestroy(): void;

  start(): void {
    const jitter = this.parent.intervals.initialJitter;
    if (jitter === 0) this.runCheck();
    else this.schedule(this.parent.jittered(0, jitter));
  }

  destroy(): void {
    this.destroyed = true;
    clearTimeout(this.intervalTimer);
    clearTimeout(this.timeoutTimer);
    this.onDestroy();
    // The checker's gauges count the hosts it checks.
    if (!this.host.hasFlag('failed_active_hc')) this.parent.stats.healthy.dec();
    if (this.host.hasFlag('degraded_active_hc')) this.parent.stats.degraded.dec();
    if (this.firstCheck) this.parent.firstCheckDone(this.host);
  }

  private schedule(ms: number): void {
    clearTimeout(this.intervalTimer);
    this.intervalTimer = setTimeout(() => this.runCheck(), ms);
    this.intervalTimer.unref();
  }

  private runCheck(): void {
    if (this.destroyed) return;
    this.onInterval();
    clearTimeout(this.timeoutTimer);
    this.timeoutTimer = setTimeout(() => {
      if (this.destroyed) return;
      this.onTimeout();
      this.handleFailure('timeout', 'timeout');
    }, this.parent.timeoutMs);
    this.timeoutTimer.unref();
    this.parent.stats.attempt.inc();
  }

  /** Ends the check in flight: the next one follows the interval for the new state. */
  private next(healthy: boolean, transition: Transition): void {
    clearTimeout(this.timeoutTimer);
    this.schedule(this.parent.nextInterval(healthy, transition));
  }

  /** A pending host is no longer pending once it has a result; that alone changes the host sets. */
  private clearPending(transition: Transition): Transition {
    if (!this.host.hasFlag('pending_active_hc')) return transition;
    this.host.clearFlag('pending_active_hc');
    return 'changed';
  }

  protected handleSuccess(degraded: boolean): void {
    if (this.destroyed) return;
    const host = this.host;
    this.numUnhealthy = 0;
    let transition: Transition = 'unchanged';
    if (host.hasFlag('failed_active_hc')) {
      if (this.firstCheck || ++this.numHealthy === this.parent.healthyThreshold) {
        host.clearFlag('active_hc_timeout');
        host.clearFlag('excluded_via_immediate_hc_fail');
        host.clearFlag('failed_active_hc');
        this.parent.stats.healthy.inc();
        transition = 'changed';
        this.parent.log.info(
          `health check passed: host ${host.key} in cluster ${this.parent.clusterName} is now healthy`,
        );
      } else {
        transition = 'pending';
      }
    }
    transition = this.clearPending(transition);
    if (degraded !== host.hasFlag('degraded_active_hc')) {
      if (degraded) {
        host.setFlag('degraded_active_hc');
        this.parent.stats.degraded.inc();
      } else {
        host.clearFlag('degraded_active_hc');
        this.parent.stats.degraded.dec();
      }
      this.parent.log.info(
        `host ${host.key} in cluster ${this.parent.clusterName} is ${degraded ? 'now' : 'no longer'} degraded`,
      );
      if (transition === 'unchanged') transition = 'changed';
    }
    this.parent.stats.success.inc();
    this.completed(transition);
    this.parent.onCheckSucceeded?.(host);
    this.next(true, transition);
  }

  protected handleFailure(type: FailureType, reason: string, retriable = false): void {
    if (this.destroyed) return;
    const transition = this.setUnhealthy(type, reason, retriable);
    this.next(false, transition);
  }

  /** Records a failed result; `passive` failures do not reschedule the active checks. */
  setUnhealthy(type: FailureType, reason: string, retriable = false): Transition {
    const host = this.host;
    this.numHealthy = 0;
    this.parent.log.debug(
      `health check failed for host ${host.key} in cluster ${this.parent.clusterName}: ${reason} ` +
        `(health_flags ${host.healthFlagsString()})`,
    );
    let transition: Transition = 'unchanged';
    const countsTowardThreshold = type === 'network' || type === 'timeout' || retriable;
    if (!host.hasFlag('failed_active_hc')) {
      if (!countsTowardThreshold || ++this.numUnhealthy === this.parent.unhealthyThreshold) {
        host.setFlag('failed_active_hc');
        this.parent.stats.healthy.dec();
        transition = 'changed';
        this.parent.log.info(
          `health check failed: host ${host.key} in cluster ${this.parent.clusterName} is now unhealthy (${reason})`,
        );
      } else {
        transition = 'pending';
      }
    }
    // The timeout flag says why a failed host is failing; it follows the latest result.
    if (type === 'timeout' && host.hasFlag('failed_active_hc')) host.setFlag('active_hc_timeout');
    else host.clearFlag('active_hc_timeout');
    transition = this.clearPending(transition);
    this.parent.stats.failure.inc();
    if (type === 'network' || type === 'timeout') this.parent.stats.network_failure.inc();
    else if (type === 'passive') this.parent.stats.passive_failure.inc();
    this.completed(transition);
    return transition;
  }

  private completed(transition: Transition): void {
    if (transition === 'changed') this.parent.onHostHealthChanged(this.host);
    if (this.firstCheck) {
      this.firstCheck = false;
      this.parent.firstCheckDone(this.host);
    }
  }
}

export abstract class HealthCheckerBase implements HealthChecker {
  readonly clusterName: string;
  readonly stats: HealthCheckStats;
  readonly log: Logger;
  readonly intervals: Intervals;
  readonly timeoutMs: number;
  readonly healthyThreshold: number;
  readonly unhealthyThreshold: number;
  readonly reuseConnection: boolean;
  readonly onHostHealthChanged: (host: Host) => void;
  readonly onCheckSucceeded: ((host: Host) => void) | undefined;
  private readonly prioritySet: PrioritySet;
  private readonly hasTraffic: () => boolean;
  private readonly random: () => number;
  private readonly runtime: Runtime | undefined;
  private readonly sessions = new Map<Host, Session>();
  private started = false;
  /** Hosts present at `start()` still waiting for their first result. */
  private readonly awaitingFirstCheck = new Set<Host>();
  private resolveInitialized: (() => void) | undefined;
  private readonly initializedPromise: Promise<void>;

  constructor(params: HealthCheckerParams) {
    const c = params.config;
    this.clusterName = params.clusterName;
    this.stats = healthCheckStats(params.stats);
    this.log = params.log;
    this.intervals = intervalsOf(c);
    this.timeoutMs = durationMs(c.timeout, 0);
    this.healthyThreshold = c.healthy_threshold;
    this.unhealthyThreshold = c.unhealthy_threshold;
    this.reuseConnection = c.reuse_connection ?? true;
    this.onHostHealthChanged = params.onHostHealthChanged;
    this.onCheckSucceeded = params.onCheckSucceeded;
    this.prioritySet = params.prioritySet;
    this.hasTraffic = params.hasTraffic;
    this.random = params.random;
    this.runtime = params.runtime;
    this.initializedPromise = new Promise((resolve) => {
      this.resolveInitialized = resolve;
    });
    this.prioritySet.onMembershipUpdate((_priority, added, removed) => {
      if (!this.started) return;
      this.addHosts(added);
      for (const host of removed) {
        this.sessions.get(host)?.destroy();
        this.sessions.delete(host);
      }
    });
  }

  protected abstract makeSession(host: Host): Session;

  start(): void {
    if (this.started) return;
    this.started = true;
    const hosts = this.prioritySet.allHosts();
    for (const h of hosts) this.awaitingFirstCheck.add(h);
    if (hosts.length === 0) this.resolveInitialized?.();
    this.addHosts(hosts);
  }

  stop(): void {
    this.started = false;
    for (const session of this.sessions.values()) session.destroy();
    this.sessions.clear();
    this.resolveInitialized?.();
  }

  initialized(): Promise<void> {
    return this.initializedPromise;
  }

  immediateHealthCheckFail(host: Host): void {
    const session = this.sessions.get(host);
    if (!session) return;
    host.setFlag('excluded_via_immediate_hc_fail');
    const transition = session.setUnhealthy('passive', 'x-envoy-immediate-health-check-fail');
    // The exclusion alone changes the host sets even when the host was already failed.
    if (transition !== 'changed') this.onHostHealthChanged(host);
  }

  private addHosts(hosts: readonly Host[]): void {
    for (const host of hosts) {
      if (this.sessions.has(host)) continue;
      // Envoy's cluster marks hosts under active checking as failed until their first check
      // (and pending, excluded from balancing, only with `ignore_new_hosts_until_first_hc`,
      // which the cluster knows about). A host it did not mark is marked failed here.
      const unmarked = !host.hasFlag('failed_active_hc');
      host.setFlag('failed_active_hc');
      if (host.hasFlag('degraded_active_hc')) this.stats.degraded.inc();
      const session = this.makeSession(host);
      this.sessions.set(host, session);
      if (unmarked) this.onHostHealthChanged(host);
      session.start();
    }
  }

  /** A session got its first result, or went away before it. */
  firstCheckDone(host: Host): void {
    if (this.awaitingFirstCheck.delete(host) && this.awaitingFirstCheck.size === 0)
      this.resolveInitialized?.();
  }

  jittered(base: number, jitter: number): number {
    return withJitter(base, jitter, this.intervals, this.random, this.runtime);
  }

  nextInterval(healthy: boolean, transition: Transition): number {
    const base = baseInterval(this.intervals, healthy, transition, this.hasTraffic());
    return this.jittered(base, this.intervals.intervalJitter);
  }
}
