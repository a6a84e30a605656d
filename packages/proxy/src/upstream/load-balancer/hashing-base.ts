/**
 * What ring hash and Maglev share, after Envoy's `ThreadAwareLoadBalancerBase`: per priority
 * level, a lookup table built from the level's healthy hosts (all hosts when the level is in
 * panic) with weights normalized to sum to 1 — host weights, times locality weights when
 * `locality_weighted_lb_config` is set. A request's 64-bit hash picks the level (`hash % 100`
 * in the priority load, like every balancer) and then the host in that level's table; without a
 * hash (no `hash_policy`, or none of its policies applied) a random value is used.
 *
 * Tables are rebuilt when membership or health changes, and only when the weighted host list
 * they were built from actually changed. As in Envoy, degraded hosts are not put in the tables
 * and locality weights are not scaled by availability.
 */
import type { Host, HostSet } from '../host.js';
import { LoadBalancerBase, randomU32 } from './base.js';
import type { LoadBalancerContext, LoadBalancerParams } from './types.js';

export interface NormalizedHostWeight {
  host: Host;
  /** The host's share of its level, in (0, 1]. */
  weight: number;
}

/** A built ring or Maglev table for one priority level. */
export interface HashingTable {
  /** The host for `hash`; `attempt` > 0 asks for an alternative when a retry predicate rejected one. */
  chooseHost(hash: bigint, attempt: number): Host | undefined;
  /** Writes this table's size gauges (`ring_hash_lb.*`, `maglev_lb.*`). */
  publishStats(): void;
}

interface PriorityTable {
  panic: boolean;
  weights: NormalizedHostWeight[];
  table: HashingTable | undefined;
}

function normalizeHostWeights(
  hosts: readonly Host[],
  localityShare: number,
  out: NormalizedHostWeight[],
): void {
  const sum = hosts.reduce((a, h) => a + h.weight, 0);
  for (const host of hosts) out.push({ host, weight: (host.weight * localityShare) / sum });
}

function normalizeWeights(hs: HostSet, panic: boolean, localityWeighted: boolean): NormalizedHostWeight[] {
  const out: NormalizedHostWeight[] = [];
  if (!localityWeighted || hs.localityWeights.length === 0) {
    normalizeHostWeights(panic ? hs.hosts : hs.healthyHosts, 1, out);
    return out;
  }
  const perLocality = panic ? hs.hostsPerLocality : hs.healthyHostsPerLocality;
  const sum = hs.localityWeights.reduce((a, w) => a + w, 0);
  if (sum === 0) return out;
  hs.localityWeights.forEach((w, i) => {
    if (w > 0) normalizeHostWeights(perLocality[i] ?? [], w / sum, out);
  });
  return out;
}

function sameWeights(a: readonly NormalizedHostWeight[], b: readonly NormalizedHostWeight[]): boolean {
  return a.length === b.length && a.every((e, i) => e.host === b[i]!.host && e.weight === b[i]!.weight);
}

/** `consistent_hashing_lb_config` of `common_lb_config`, which the normalized config types leave open. */
interface ConsistentHashingLbConfig {
  use_hostname_for_hashing?: boolean;
  hash_balance_factor?: number;
}

export abstract class HashingLoadBalancerBase extends LoadBalancerBase {
  private readonly localityWeighted: boolean;
  private readonly useHostnameForHashing: boolean;
  private tables: PriorityTable[] = [];

  constructor(params: LoadBalancerParams) {
    super(params);
    const common = params.config.common_lb_config;
    const hashing = common?.consistent_hashing_lb_config as ConsistentHashingLbConfig | undefined;
    if (hashing?.hash_balance_factor !== undefined) {
      throw new Error(
        `cluster '${params.config.name}': common_lb_config.consistent_hashing_lb_config.hash_balance_factor ` +
          '(bounded-load consistent hashing) is not implemented by meshcraft-proxy; remove it',
      );
    }
    this.localityWeighted = common?.locality_weighted_lb_config !== undefined;
    this.useHostnameForHashing = hashing?.use_hostname_for_hashing === true;
  }

  /** Builds the table for one level; `weights` is non-empty. */
  protected abstract buildTable(weights: NormalizedHostWeight[]): HashingTable;

  /** The string a host is hashed by: its address (`10.0.0.1:80`, `[::1]:80`) or its hostname. */
  protected hashKey(host: Host): string {
    return this.useHostnameForHashing ? host.hostname : host.key;
  }

  /** Envoy rebuilds every level whichever one changed; unchanged inputs reuse their table. */
  protected refresh(): void {
    this.tables = this.prioritySet.hostSetsPerPriority.map((hs) => {
      const panic = this.perPriorityPanic[hs.priority] ?? false;
      const weights = normalizeWeights(hs, panic, this.localityWeighted);
      const previous = this.tables[hs.priority];
      if (previous && previous.panic === panic && sameWeights(previous.weights, weights)) return previous;
      return { panic, weights, table: weights.length === 0 ? undefined : this.buildTable(weights) };
    });
    // Every (re)build sets the gauges in Envoy, so the last non-empty level's numbers show.
    for (const t of this.tables) t.table?.publishStats();
  }

  chooseHost(context?: LoadBalancerContext): Host | undefined {
    const hash =
      context?.hashKey?.() ?? (BigInt(randomU32(this.random)) << 32n) | BigInt(randomU32(this.random));
    const { priority } = this.choosePriority(Number(hash % 100n));
    const state = this.tables[priority];
    if (!state) return undefined;
    if (state.panic) this.stats.lb_healthy_panic.inc();
    const attempts = (context?.hostSelectionRetryCount ?? 0) + 1;
    let host: Host | undefined;
    for (let attempt = 0; attempt < attempts; attempt++) {
      host = state.table?.chooseHost(hash, attempt);
      if (!host || !context?.shouldSelectAnotherHost?.(host)) return host;
    }
    return host;
  }
}
