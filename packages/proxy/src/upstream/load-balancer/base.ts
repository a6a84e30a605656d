/**
 * What every load balancer shares, after Envoy's `LoadBalancerBase` and
 * `ZoneAwareLoadBalancerBase` (source/extensions/load_balancing_policies/common/load_balancer_impl.cc):
 *
 * - per priority level, an integer health and degraded score:
 *   `min(100, overprovisioning_factor × healthy (or degraded) hosts / non-excluded hosts)`;
 * - the priority load: levels take load in order, each as much as its score allows, healthy
 *   before degraded; when the scores add up to less than 100 they are normalized to 100;
 * - panic: when the normalized total is below 100, a level whose (healthy + degraded)
 *   percentage is below `healthy_panic_threshold` balances over all its hosts; when every level
 *   is in panic, load is split by host count;
 * - locality-weighted picking (`locality_weighted_lb_config`): within the chosen level, a
 *   locality is picked by EDF on `locality weight × min(1, factor × available / hosts)`.
 *
 * All of it is recomputed when the priority set reports a membership or health change, never
 * per request. Zone-aware routing needs a local cluster (`cluster_manager.local_cluster_name`),
 * which meshcraft-proxy does not have, so it never applies — as in Envoy without one.
 */
import type { Cluster } from '../../config/types.js';
import type { Runtime } from '../../runtime/runtime.js';
import type { Host, HostSet, PrioritySet } from '../host.js';
import { EdfScheduler } from './edf-scheduler.js';
import type { LoadBalancer, LoadBalancerContext, LoadBalancerParams, LoadBalancerStats } from './types.js';

/** Envoy's runtime override of the panic threshold. */
const RUNTIME_PANIC_THRESHOLD = 'upstream.healthy_panic_threshold';
const DEFAULT_PANIC_THRESHOLD = 50;

/** A uniformly random unsigned 32-bit integer from a `[0, 1)` source. */
export function randomU32(random: () => number): number {
  return Math.floor(random() * 0x1_0000_0000);
}

/** The panic threshold a cluster configures: a set `healthy_panic_threshold` without value is 0. */
export function configuredPanicThreshold(config: Cluster): number {
  const t = config.common_lb_config?.healthy_panic_threshold;
  return t === undefined ? DEFAULT_PANIC_THRESHOLD : Math.round(t.value ?? 0);
}

export interface PriorityLoad {
  /** Percent of requests for the healthy hosts of each level. */
  healthy: number[];
  /** Percent of requests for the degraded hosts of each level. */
  degraded: number[];
  /** Whether each level balances over all its hosts. */
  panic: boolean[];
}

function nonExcludedCount(hs: HostSet): number {
  return hs.hosts.length - hs.excludedHosts.length;
}

/**
 * Assigns up to `totalLoad` percent to the levels in order by availability; returns the first
 * level with availability and what is left.
 */
function distributeLoad(
  load: number[],
  availability: readonly number[],
  totalLoad: number,
  normalizedTotal: number,
): { first: number; remaining: number } {
  let first = -1;
  let remaining = totalLoad;
  for (let i = 0; i < availability.length; i++) {
    const a = availability[i]!;
    if (first < 0 && a > 0) first = i;
    load[i] = Math.min(remaining, Math.floor((a * 100) / normalizedTotal));
    remaining -= load[i]!;
  }
  return { first, remaining };
}

export abstract class LoadBalancerBase implements LoadBalancer {
  protected readonly prioritySet: PrioritySet;
  protected readonly stats: LoadBalancerStats;
  protected readonly runtime: Runtime;
  protected readonly random: () => number;
  private readonly defaultPanicThreshold: number;
  private healthyLoad: number[] = [];
  private degradedLoad: number[] = [];
  protected perPriorityPanic: boolean[] = [];

  constructor(params: LoadBalancerParams) {
    this.prioritySet = params.prioritySet;
    this.stats = params.stats;
    this.runtime = params.runtime;
    this.random = params.random;
    this.defaultPanicThreshold = configuredPanicThreshold(params.config);
    this.prioritySet.onMembershipUpdate((priority) => {
      this.recalculate();
      this.refresh(priority);
    });
  }

  /** Computes the initial state; concrete balancers call it at the end of their constructor. */
  protected initialize(): void {
    this.recalculate();
    for (const hs of this.prioritySet.hostSetsPerPriority) this.refresh(hs.priority);
  }

  /** Rebuilds policy state (schedulers, rings) for one level after the shared state changed. */
  protected abstract refresh(priority: number): void;

  abstract chooseHost(context?: LoadBalancerContext): Host | undefined;

  /** The current priority load and panic flags, as Envoy would compute them (for tests and admin). */
  priorityLoad(): PriorityLoad {
    return {
      healthy: [...this.healthyLoad],
      degraded: [...this.degradedLoad],
      panic: [...this.perPriorityPanic],
    };
  }

  private panicThreshold(): number {
    return Math.min(100, this.runtime.getInteger(RUNTIME_PANIC_THRESHOLD, this.defaultPanicThreshold));
  }

  private recalculate(): void {
    const hostSets = this.prioritySet.hostSetsPerPriority;
    const n = hostSets.length;
    const health = new Array<number>(n).fill(0);
    const degraded = new Array<number>(n).fill(0);
    for (const hs of hostSets) {
      const count = nonExcludedCount(hs);
      if (count === 0) continue;
      // Envoy computes these in integers, so 150 × 1/3 is 50 and 140 × 1/2 is 70.
      health[hs.priority] = Math.min(
        100,
        Math.floor((hs.overprovisioningFactor * hs.healthyHosts.length) / count),
      );
      degraded[hs.priority] = Math.min(
        100,
        Math.floor((hs.overprovisioningFactor * hs.degradedHosts.length) / count),
      );
    }
    const normalizedTotal = Math.min(
      100,
      [...health, ...degraded].reduce((a, b) => a + b, 0),
    );
    this.healthyLoad = new Array<number>(n).fill(0);
    this.degradedLoad = new Array<number>(n).fill(0);
    if (normalizedTotal > 0) {
      const h = distributeLoad(this.healthyLoad, health, 100, normalizedTotal);
      const d = distributeLoad(this.degradedLoad, degraded, h.remaining, normalizedTotal);
      // Rounding leftovers go to the first level with healthy hosts, else with degraded ones.
      if (d.remaining > 0) {
        if (h.first >= 0) this.healthyLoad[h.first]! += d.remaining;
        else this.degradedLoad[d.first]! += d.remaining;
      }
    }

    const threshold = this.panicThreshold();
    if (normalizedTotal === 0 && threshold === 0) {
      // Nothing is available and panic is disabled: P0 gets the load, and finds no host.
      if (n > 0) this.healthyLoad[0] = 100;
      this.perPriorityPanic = new Array<boolean>(n).fill(false);
      return;
    }
    // A level is never in panic while the levels together can take all the load.
    this.perPriorityPanic = hostSets.map(
      (hs) => normalizedTotal < 100 && this.isHostSetInPanic(hs, threshold),
    );
    if (n > 0 && this.perPriorityPanic.every(Boolean)) this.recalculateLoadInTotalPanic();
  }

  /** Panic compares the raw available percentage, without the overprovisioning factor. */
  private isHostSetInPanic(hs: HostSet, threshold: number): boolean {
    const count = nonExcludedCount(hs);
    const available = count === 0 ? 0 : (100 * (hs.healthyHosts.length + hs.degradedHosts.length)) / count;
    return available < threshold;
  }

  /** Every level in panic: split the load by the number of hosts, whatever their health. */
  private recalculateLoadInTotalPanic(): void {
    const hostSets = this.prioritySet.hostSetsPerPriority;
    const total = hostSets.reduce((a, hs) => a + hs.hosts.length, 0);
    this.degradedLoad.fill(0);
    if (total === 0) {
      this.healthyLoad.fill(0);
      this.healthyLoad[0] = 100;
      return;
    }
    let remaining = 100;
    let firstNonEmpty = -1;
    for (const hs of hostSets) {
      if (firstNonEmpty < 0 && hs.hosts.length > 0) firstNonEmpty = hs.priority;
      this.healthyLoad[hs.priority] = Math.floor((100 * hs.hosts.length) / total);
      remaining -= this.healthyLoad[hs.priority]!;
    }
    this.healthyLoad[firstNonEmpty]! += remaining;
  }

  /**
   * The level for a request and whether it targets that level's degraded hosts, from a hash or
   * random integer: `hash % 100 + 1` is located in the cumulative healthy loads, then the degraded.
   */
  protected choosePriority(hash: number): { priority: number; degraded: boolean } {
    const h = (hash % 100) + 1;
    let aggregate = 0;
    for (let p = 0; p < this.healthyLoad.length; p++) {
      aggregate += this.healthyLoad[p]!;
      if (h <= aggregate) return { priority: p, degraded: false };
    }
    for (let p = 0; p < this.degradedLoad.length; p++) {
      aggregate += this.degradedLoad[p]!;
      if (h <= aggregate) return { priority: p, degraded: true };
    }
    return { priority: 0, degraded: false };
  }
}

/**
 * One list of hosts a pick can draw from (all hosts of a level, its healthy or degraded hosts, or
 * those of one locality), with the state the host-picking policies keep for it.
 */
export class HostSource {
  /** Weighted policies' schedule; absent when all weights are equal (plain index picking). */
  scheduler: EdfScheduler<Host> | undefined;
  /** Round robin's position. */
  index = 0;
  constructor(readonly hosts: readonly Host[]) {}
}

interface PrioritySources {
  all: HostSource;
  healthy: HostSource;
  degraded: HostSource;
  localityHealthy: HostSource[];
  localityDegraded: HostSource[];
  healthyLocalities: EdfScheduler<LocalityEntry> | undefined;
  degradedLocalities: EdfScheduler<LocalityEntry> | undefined;
}

interface LocalityEntry {
  index: number;
  effectiveWeight: number;
}

const localityWeight = (l: LocalityEntry) => l.effectiveWeight;

/**
 * `ZoneAwareLoadBalancerBase`: chooses the level, then the list of hosts (all hosts in panic,
 * else one locality's when locality-weighted, else the level's healthy or degraded hosts), and
 * retries the pick when the context rejects the host.
 */
export abstract class ZoneAwareLoadBalancerBase extends LoadBalancerBase {
  private readonly localityWeighted: boolean;
  private readonly failTrafficOnPanic: boolean;
  /** Fixed per balancer so rebuilt schedules keep a stable but instance-specific start. */
  protected readonly seed: number;
  private sources: PrioritySources[] = [];

  constructor(params: LoadBalancerParams) {
    super(params);
    const common = params.config.common_lb_config;
    this.localityWeighted = common?.locality_weighted_lb_config !== undefined;
    this.failTrafficOnPanic = common?.zone_aware_lb_config?.fail_traffic_on_panic === true;
    this.seed = randomU32(params.random);
  }

  /** Prepares a source's policy state; `previous` is the same source before the rebuild. */
  protected abstract initSource(source: HostSource, previous: HostSource | undefined): void;

  /** One pick, without the retry loop. */
  protected abstract chooseHostOnce(context: LoadBalancerContext | undefined): Host | undefined;

  chooseHost(context?: LoadBalancerContext): Host | undefined {
    const attempts = (context?.hostSelectionRetryCount ?? 0) + 1;
    let host: Host | undefined;
    for (let i = 0; i < attempts; i++) {
      host = this.chooseHostOnce(context);
      if (!host || !context?.shouldSelectAnotherHost?.(host)) return host;
    }
    return host;
  }

  protected refresh(priority: number): void {
    const hs = this.prioritySet.hostSetsPerPriority[priority];
    if (!hs) return;
    const previous = this.sources[priority];
    const make = (hosts: readonly Host[], old: HostSource | undefined): HostSource => {
      const source = new HostSource(hosts);
      this.initSource(source, old);
      return source;
    };
    const degradedSet = new Set(hs.degradedHosts);
    const excludedSet = new Set(hs.excludedHosts);
    const degradedPerLocality = hs.hostsPerLocality.map((l) => l.filter((h) => degradedSet.has(h)));
    const excludedPerLocality = hs.hostsPerLocality.map((l) => l.filter((h) => excludedSet.has(h)));
    this.sources[priority] = {
      all: make(hs.hosts, previous?.all),
      healthy: make(hs.healthyHosts, previous?.healthy),
      degraded: make(hs.degradedHosts, previous?.degraded),
      localityHealthy: hs.healthyHostsPerLocality.map((l, i) => make(l, previous?.localityHealthy[i])),
      localityDegraded: degradedPerLocality.map((l, i) => make(l, previous?.localityDegraded[i])),
      healthyLocalities: this.localityScheduler(
        hs,
        hs.healthyHostsPerLocality,
        hs.healthyHosts,
        excludedPerLocality,
      ),
      degradedLocalities: this.localityScheduler(
        hs,
        degradedPerLocality,
        hs.degradedHosts,
        excludedPerLocality,
      ),
    };
  }

  /**
   * Envoy's `LocalityWrr`: EDF over the localities with a positive effective weight, or none when
   * the level has no locality weights or no eligible host (panic and the flat lists take over).
   */
  private localityScheduler(
    hs: HostSet,
    eligiblePerLocality: readonly Host[][],
    eligible: readonly Host[],
    excludedPerLocality: readonly Host[][],
  ): EdfScheduler<LocalityEntry> | undefined {
    if (!this.localityWeighted || hs.localityWeights.length === 0 || eligible.length === 0) return undefined;
    const entries: LocalityEntry[] = [];
    for (let i = 0; i < hs.hostsPerLocality.length; i++) {
      const count = hs.hostsPerLocality[i]!.length - (excludedPerLocality[i]?.length ?? 0);
      if (count === 0) continue;
      const availability = Math.min(
        1,
        (hs.overprovisioningFactor / 100) * (eligiblePerLocality[i]!.length / count),
      );
      const effectiveWeight = (hs.localityWeights[i] ?? 0) * availability;
      if (effectiveWeight > 0) entries.push({ index: i, effectiveWeight });
    }
    if (entries.length === 0) return undefined;
    return EdfScheduler.createWithPicks(entries, localityWeight, this.seed);
  }

  /** The host list for this pick, or undefined when traffic must fail (`fail_traffic_on_panic`). */
  protected hostSourceToUse(hash: number): HostSource | undefined {
    const { priority, degraded } = this.choosePriority(hash);
    const sources = this.sources[priority];
    if (!sources) return undefined;
    if (this.perPriorityPanic[priority]) {
      this.stats.lb_healthy_panic.inc();
      return this.failTrafficOnPanic ? undefined : sources.all;
    }
    const localities = degraded ? sources.degradedLocalities : sources.healthyLocalities;
    const locality = localities?.pickAndAdd(localityWeight);
    if (locality) {
      return degraded ? sources.localityDegraded[locality.index] : sources.localityHealthy[locality.index];
    }
    return degraded ? sources.degraded : sources.healthy;
  }
}
