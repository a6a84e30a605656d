/**
 * `RING_HASH`: Envoy's ketama ring (`RingHashLoadBalancer`). Each host gets
 * `scale × normalized weight` points, where `scale` makes the lightest host's share a whole
 * number of points with at least `minimum_ring_size` (default 1024) points in all, capped at
 * `maximum_ring_size` (default 8M). Point `i` of a host is the hash of `"<address>_<i>"`
 * (`"10.0.0.1:80_0"`, ...); a request goes to the first point at or after its hash, wrapping
 * around. Removing a host removes only its points, so only its keys move.
 */
import { murmurHash2, xxHash64 } from '../../common/hash.js';
import type { Gauge } from '../../stats/store.js';
import type { Host } from '../host.js';
import { HashingLoadBalancerBase, type HashingTable, type NormalizedHostWeight } from './hashing-base.js';
import type { LoadBalancerParams } from './types.js';

const DEFAULT_MIN_RING_SIZE = 1024;
const DEFAULT_MAX_RING_SIZE = 8 * 1024 * 1024;

interface RingStats {
  size: Gauge;
  min_hashes_per_host: Gauge;
  max_hashes_per_host: Gauge;
}

export class Ring implements HashingTable {
  /** Point hashes in ascending order, and the host of each point. */
  private readonly hashes: BigUint64Array;
  private readonly hosts: Host[];
  readonly minHashesPerHost: number;
  readonly maxHashesPerHost: number;

  constructor(
    weights: readonly NormalizedHostWeight[],
    minRingSize: number,
    maxRingSize: number,
    hash: (key: string) => bigint,
    hashKey: (host: Host) => string,
    private readonly stats: RingStats,
  ) {
    const minWeight = Math.min(...weights.map((w) => w.weight));
    const scale = Math.min(Math.ceil(minWeight * minRingSize) / minWeight, maxRingSize);
    const ringSize = Math.ceil(scale);
    const pointHashes: bigint[] = [];
    const pointHosts: Host[] = [];
    let currentHashes = 0;
    let targetHashes = 0;
    let minHashes = ringSize;
    let maxHashes = 0;
    for (const { host, weight } of weights) {
      const prefix = `${hashKey(host)}_`;
      // Running sums across hosts keep fractional shares from drifting (Envoy's comment: four
      // hosts of 1.5 points each get 2, 1, 2, 1).
      targetHashes += scale * weight;
      let i = 0;
      while (currentHashes < targetHashes) {
        pointHashes.push(hash(prefix + i));
        pointHosts.push(host);
        i++;
        currentHashes++;
      }
      minHashes = Math.min(minHashes, i);
      maxHashes = Math.max(maxHashes, i);
    }
    // Sort by hash through the 32-bit halves of each hash (a Uint32Array view of the same
    // memory, little-endian: low word first): numeric comparisons and copies, no BigInt
    // arithmetic, which keeps million-point rings to about a second.
    const unsorted = BigUint64Array.from(pointHashes);
    const words = new Uint32Array(unsorted.buffer);
    const order = new Uint32Array(unsorted.length).map((_, i) => i);
    order.sort((a, b) => words[2 * a + 1]! - words[2 * b + 1]! || words[2 * a]! - words[2 * b]!);
    this.hashes = new BigUint64Array(order.length);
    const sortedWords = new Uint32Array(this.hashes.buffer);
    this.hosts = new Array<Host>(order.length);
    for (let i = 0; i < order.length; i++) {
      const from = order[i]!;
      sortedWords[2 * i] = words[2 * from]!;
      sortedWords[2 * i + 1] = words[2 * from + 1]!;
      this.hosts[i] = pointHosts[from]!;
    }
    this.minHashesPerHost = minHashes;
    this.maxHashesPerHost = maxHashes;
  }

  get size(): number {
    return this.hashes.length;
  }

  publishStats(): void {
    this.stats.size.set(this.hashes.length);
    this.stats.min_hashes_per_host.set(this.minHashesPerHost);
    this.stats.max_hashes_per_host.set(this.maxHashesPerHost);
  }

  /** Envoy's port of ketama's `ketama_get_server`, wrap-around included. */
  chooseHost(h: bigint, attempt: number): Host | undefined {
    const ring = this.hashes;
    const size = ring.length;
    if (size === 0) return undefined;
    let low = 0;
    let high = size;
    let mid = 0;
    for (;;) {
      mid = Math.floor((low + high) / 2);
      if (mid === size) {
        mid = 0;
        break;
      }
      const midval = ring[mid]!;
      const midval1 = mid === 0 ? 0n : ring[mid - 1]!;
      if (h <= midval && h > midval1) break;
      if (midval < h) low = mid + 1;
      else high = mid - 1;
      if (low > high) {
        mid = 0;
        break;
      }
    }
    // A retry predicate rejected the host: behave as if that point were not on the ring.
    if (attempt > 0) mid = (mid + attempt) % size;
    return this.hosts[mid];
  }
}

export class RingHashLoadBalancer extends HashingLoadBalancerBase {
  private readonly minRingSize: number;
  private readonly maxRingSize: number;
  private readonly hash: (key: string) => bigint;
  private readonly ringStats: RingStats;
  private readonly keyOf = (host: Host) => this.hashKey(host);

  constructor(params: LoadBalancerParams) {
    super(params);
    const rh = params.config.ring_hash_lb_config;
    this.minRingSize = rh?.minimum_ring_size ?? DEFAULT_MIN_RING_SIZE;
    this.maxRingSize = rh?.maximum_ring_size ?? DEFAULT_MAX_RING_SIZE;
    if (this.minRingSize > this.maxRingSize) {
      throw new Error(
        `ring hash: minimum_ring_size (${this.minRingSize}) > maximum_ring_size (${this.maxRingSize})`,
      );
    }
    this.hash = rh?.hash_function === 'MURMUR_HASH_2' ? (k) => murmurHash2(k) : (k) => xxHash64(k);
    // Every worker builds the same table, so the aggregated value must not be their sum.
    const scope = params.scope.scope('ring_hash_lb.');
    this.ringStats = {
      size: scope.gauge('size', 'NeverImport'),
      min_hashes_per_host: scope.gauge('min_hashes_per_host', 'NeverImport'),
      max_hashes_per_host: scope.gauge('max_hashes_per_host', 'NeverImport'),
    };
    this.initialize();
  }

  protected buildTable(weights: NormalizedHostWeight[]): Ring {
    return new Ring(weights, this.minRingSize, this.maxRingSize, this.hash, this.keyOf, this.ringStats);
  }
}
