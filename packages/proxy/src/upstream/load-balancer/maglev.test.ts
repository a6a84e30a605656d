import { beforeAll, describe, expect, it } from 'vitest';
import { initHashing } from '../../common/hash.js';
import { MaglevLoadBalancer } from './maglev.js';
import { buildPrioritySet, lbParams, seededRandom, shareTolerance } from './test-support.js';

beforeAll(async () => {
  await initHashing();
});

const hashed = (key: bigint) => ({ hashKey: () => key });

function randomKeys(n: number, seed: number): bigint[] {
  const r = seededRandom(seed);
  const u32 = () => BigInt(Math.floor(r() * 0x1_0000_0000));
  return Array.from({ length: n }, () => (u32() << 32n) | u32());
}

function entries(store: ReturnType<typeof lbParams>['store']) {
  const g = (name: string) => store.gauge(`cluster.test.maglev_lb.${name}`).value;
  return { min: g('min_entries_per_host'), max: g('max_entries_per_host') };
}

describe('MAGLEV', () => {
  it('fills all 65537 slots, 1:2 as 21846 and 43691 entries (the notes’ example)', () => {
    const ps = buildPrioritySet([{ localities: [{ hosts: [1, 2] }] }]);
    const { params, store } = lbParams(ps);
    new MaglevLoadBalancer(params);
    expect(entries(store)).toEqual({ min: 21846, max: 43691 });
    expect(21846 + 43691).toBe(65537);
  });

  it('gives every host a slot whatever its weight (notes §5.2), and spreads the rest evenly', () => {
    const ps = buildPrioritySet([{ localities: [{ hosts: [...new Array<number>(99).fill(1000), 1] }] }]);
    const { params, store } = lbParams(ps);
    new MaglevLoadBalancer(params);
    // The weight-1 host claims a slot in the first round and never again; the other 99 share
    // the remaining 65536 slots, 661 or 662 each.
    expect(entries(store)).toEqual({ min: 1, max: 662 });
  });

  it('maps keys in proportion to the table (3 equal hosts)', () => {
    const ps = buildPrioritySet([{ localities: [{ hosts: 3 }] }]);
    const lb = new MaglevLoadBalancer(lbParams(ps).params);
    const n = 30000;
    const counts = new Map<unknown, number>();
    for (const k of randomKeys(n, 1)) {
      const h = lb.chooseHost(hashed(k));
      counts.set(h, (counts.get(h) ?? 0) + 1);
    }
    // Each host owns 21845 or 21846 of 65537 slots: its share is 1/3 to within 2·10⁻⁵.
    for (const c of counts.values()) expect(Math.abs(c / n - 1 / 3)).toBeLessThan(shareTolerance(1 / 3, n));
  });

  it('is sticky, and a removed host’s keys move while few others do', () => {
    const ps = buildPrioritySet([{ localities: [{ hosts: 10 }] }]);
    const lb = new MaglevLoadBalancer(lbParams(ps).params);
    const hosts = [...ps.hostSetsPerPriority[0]!.hosts];
    const keys = randomKeys(5000, 2);
    const before = keys.map((k) => lb.chooseHost(hashed(k))!);
    expect(keys.map((k) => lb.chooseHost(hashed(k))!)).toEqual(before);
    ps.updateHosts(0, [{ hosts: hosts.slice(1), weight: 1 }], [], [hosts[0]!]);
    const after = keys.map((k) => lb.chooseHost(hashed(k))!);
    let movedOthers = 0;
    keys.forEach((_, i) => {
      if (before[i] === hosts[0]) expect(after[i]).not.toBe(hosts[0]);
      else if (after[i] !== before[i]) movedOthers++;
    });
    // Maglev is not perfectly minimal: the paper measures a few percent of other keys moving
    // when one of many backends leaves. Bound it well below a rehash (which would move 90%).
    expect(movedOthers / keys.length).toBeLessThan(0.05);
  });

  it('rejects a table size that is not prime', () => {
    const ps = buildPrioritySet([{ localities: [{ hosts: 1 }] }]);
    expect(
      () => new MaglevLoadBalancer(lbParams(ps, { maglev_lb_config: { table_size: 65536 } }).params),
    ).toThrow(/must be a prime number/);
  });

  it('finds another host when a retry predicate rejects one', () => {
    const ps = buildPrioritySet([{ localities: [{ hosts: 3 }] }]);
    const lb = new MaglevLoadBalancer(lbParams(ps).params);
    const key = 12345n;
    const first = lb.chooseHost(hashed(key))!;
    const next = lb.chooseHost({
      ...hashed(key),
      hostSelectionRetryCount: 5,
      shouldSelectAnotherHost: (h) => h === first,
    });
    expect(next).not.toBe(first);
  });
});
