/**
 * `MAGLEV`: Envoy's `MaglevLoadBalancer` (Eisenbud et al., "Maglev", NSDI 2016, listing 1).
 * Every host has a permutation of the table slots — `offset = xxHash64(key) % M`,
 * `skip = xxHash64(key, seed 1) % (M - 1) + 1`, slot `(offset + skip × j) % M` — and hosts, in
 * the order of their keys, take turns claiming their next free slot until the table of `M`
 * (`table_size`, default 65537, must be prime) slots is full. A host with normalized weight `w`
 * takes a turn every `max weight / w` rounds, so slots follow the weights, and every host gets at
 * least one. A request goes to slot `hash % M`. Removing a host moves its slots and, unlike the
 * ring, a small number of others (the paper's "minimal disruption").
 */
import { xxHash64 } from '../../common/hash.js';
import type { Gauge } from '../../stats/store.js';
import type { Host } from '../host.js';
import { HashingLoadBalancerBase, type HashingTable, type NormalizedHostWeight } from './hashing-base.js';
import type { LoadBalancerParams } from './types.js';

export const DEFAULT_TABLE_SIZE = 65537;

const MASK64 = (1n << 64n) - 1n;

interface MaglevStats {
  min_entries_per_host: Gauge;
  max_entries_per_host: Gauge;
}

function isPrime(n: number): boolean {
  if (n < 2) return false;
  for (let d = 2; d * d <= n; d++) if (n % d === 0) return false;
  return true;
}

export class MaglevTable implements HashingTable {
  /** Per slot, the index of its host in `hosts`. */
  private readonly table: Uint32Array;
  private readonly hosts: Host[];
  /** Slots per host, parallel to `hosts`. */
  readonly entriesPerHost: number[];

  constructor(
    weights: readonly NormalizedHostWeight[],
    private readonly tableSize: number,
    hashKey: (host: Host) => string,
    private readonly stats: MaglevStats,
  ) {
    // The fill order must not depend on the order hosts were listed in, or a reordered EDS
    // answer would reshuffle the table: Envoy sorts by the hashed key.
    const entries = weights
      .map(({ host, weight }) => ({ key: hashKey(host), host, weight }))
      .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))
      .map(({ key, host, weight }) => ({
        host,
        weight,
        offset: Number(xxHash64(key) % BigInt(tableSize)),
        skip: Number(xxHash64(key, 1n) % BigInt(tableSize - 1)) + 1,
        targetWeight: 0,
        next: 0,
        count: 0,
      }));
    const maxWeight = Math.max(...weights.map((w) => w.weight));
    const free = -1 >>> 0;
    const table = new Uint32Array(tableSize).fill(free);
    const permutation = (e: (typeof entries)[number]) =>
      (e.offset + ((e.skip * e.next) % tableSize)) % tableSize;
    let filled = 0;
    for (let iteration = 1; filled < tableSize; iteration++) {
      for (let i = 0; i < entries.length && filled < tableSize; i++) {
        const e = entries[i]!;
        // A host with the maximum weight claims a slot every round; one with a third of it,
        // every third round.
        if (iteration * e.weight < e.targetWeight) continue;
        e.targetWeight += maxWeight;
        let c = permutation(e);
        while (table[c] !== free) {
          e.next++;
          c = permutation(e);
        }
        table[c] = i;
        e.next++;
        e.count++;
        filled++;
      }
    }
    this.table = table;
    this.hosts = entries.map((e) => e.host);
    this.entriesPerHost = entries.map((e) => e.count);
  }

  publishStats(): void {
    this.stats.min_entries_per_host.set(Math.min(...this.entriesPerHost));
    this.stats.max_entries_per_host.set(Math.max(...this.entriesPerHost));
  }

  chooseHost(hash: bigint, attempt: number): Host | undefined {
    // A retry predicate rejected the host: flip many bits of the hash so that the retry lands far
    // away, as Envoy does (`hash ^= ~0ULL - attempt + 1`).
    const h = attempt > 0 ? hash ^ ((MASK64 - BigInt(attempt) + 1n) & MASK64) : hash;
    return this.hosts[this.table[Number(h % BigInt(this.tableSize))]!];
  }
}

export class MaglevLoadBalancer extends HashingLoadBalancerBase {
  private readonly tableSize: number;
  private readonly maglevStats: MaglevStats;
  private readonly keyOf = (host: Host) => this.hashKey(host);

  constructor(params: LoadBalancerParams) {
    super(params);
    this.tableSize = params.config.maglev_lb_config?.table_size ?? DEFAULT_TABLE_SIZE;
    if (!isPrime(this.tableSize)) {
      throw new Error(
        `cluster '${params.config.name}': maglev_lb_config.table_size ${this.tableSize}: ` +
          'the table size of maglev must be a prime number (for example 65537)',
      );
    }
    // Every worker builds the same table, so the aggregated value must not be their sum.
    const scope = params.scope.scope('maglev_lb.');
    this.maglevStats = {
      min_entries_per_host: scope.gauge('min_entries_per_host', 'NeverImport'),
      max_entries_per_host: scope.gauge('max_entries_per_host', 'NeverImport'),
    };
    this.initialize();
  }

  protected buildTable(weights: NormalizedHostWeight[]): MaglevTable {
    return new MaglevTable(weights, this.tableSize, this.keyOf, this.maglevStats);
  }
}
