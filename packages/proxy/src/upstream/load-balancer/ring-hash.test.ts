import { beforeAll, describe, expect, it } from 'vitest';
import { initHashing, xxHash64 } from '../../common/hash.js';
import { Host, PrioritySet } from '../host.js';
import { RingHashLoadBalancer } from './ring-hash.js';
import { buildPrioritySet, failHosts, lbParams, seededRandom } from './test-support.js';

beforeAll(async () => {
  await initHashing();
});

function randomKeys(n: number, seed: number): bigint[] {
  const r = seededRandom(seed);
  const u32 = () => BigInt(Math.floor(r() * 0x1_0000_0000));
  return Array.from({ length: n }, () => (u32() << 32n) | u32());
}

const hashed = (key: bigint) => ({ hashKey: () => key });

function ringGauges(store: ReturnType<typeof lbParams>['store']) {
  const g = (name: string) => store.gauge(`cluster.test.ring_hash_lb.${name}`).value;
  return { size: g('size'), min: g('min_hashes_per_host'), max: g('max_hashes_per_host') };
}

describe('RING_HASH ring construction', () => {
  it.each([
    // hosts, min ring size, max ring size, expected size / min / max hashes per host
    [[1, 1, 1], undefined, undefined, { size: 1026, min: 342, max: 342 }],
    [[1, 1, 1], 512, 1048576, { size: 513, min: 171, max: 171 }],
    [[1, 2], undefined, undefined, { size: 1026, min: 342, max: 684 }],
    [new Array(100).fill(1), undefined, undefined, { size: 1100, min: 11, max: 11 }],
    // 1:1000 would need 2002 points to give the light host whole points; the maximum caps the
    // ring at 1024, where the running sums give it 2 (1024/1001 = 1.02 rounds up) and the other 1022.
    [[1, 1000], 1024, 1024, { size: 1024, min: 2, max: 1022 }],
  ])('hosts %j, min %s, max %s → %j', (weights, min, max, expected) => {
    const ps = buildPrioritySet([{ localities: [{ hosts: weights }] }]);
    const config = { ring_hash_lb_config: { minimum_ring_size: min, maximum_ring_size: max } };
    const { params, store } = lbParams(ps, config);
    new RingHashLoadBalancer(params);
    expect(ringGauges(store)).toEqual(expected);
  });

  it('rejects minimum_ring_size > maximum_ring_size', () => {
    const ps = buildPrioritySet([{ localities: [{ hosts: 1 }] }]);
    const config = { ring_hash_lb_config: { minimum_ring_size: 2048, maximum_ring_size: 1024 } };
    expect(() => new RingHashLoadBalancer(lbParams(ps, config).params)).toThrow(
      'ring hash: minimum_ring_size (2048) > maximum_ring_size (1024)',
    );
  });

  it('refuses bounded-load hashing (hash_balance_factor) with a clear error', () => {
    const ps = buildPrioritySet([{ localities: [{ hosts: 1 }] }]);
    const config = { common_lb_config: { consistent_hashing_lb_config: { hash_balance_factor: 150 } } };
    expect(() => new RingHashLoadBalancer(lbParams(ps, config).params)).toThrow(
      /hash_balance_factor.*not implemented/,
    );
  });
});

describe('RING_HASH picking', () => {
  /** The course's ring-hash labs: three sidecars behind the alias `myservice`. */
  const labRing = () => {
    const ps = new PrioritySet();
    const hosts = ['172.31.25.11', '172.31.25.12', '172.31.25.13'].map(
      (address) => new Host({ address, port: 80 }),
    );
    ps.updateHosts(0, [{ hosts, weight: 1 }], hosts, []);
    const config = { ring_hash_lb_config: { minimum_ring_size: 512, maximum_ring_size: 1048576 } };
    return { ps, hosts, lb: new RingHashLoadBalancer(lbParams(ps, config).params) };
  };

  it('sends the course labs’ keys where the notes show them', () => {
    const { lb } = labRing();
    // L2: `User-Agent: Chrome` → red, `User-Agent: 360` → blue.
    expect(lb.chooseHost(hashed(xxHash64('Chrome')))?.address).toBe('172.31.25.11');
    expect(lb.chooseHost(hashed(xxHash64('360')))?.address).toBe('172.31.25.12');
    // L1: source_ip of curl on the Docker host, i.e. the bridge gateway 172.31.25.1 → always blue.
    expect(lb.chooseHost(hashed(xxHash64('172.31.25.1')))?.address).toBe('172.31.25.12');
  });

  it('is sticky: the same hash always gets the same host', () => {
    const { lb } = labRing();
    for (const key of randomKeys(50, 1)) {
      const first = lb.chooseHost(hashed(key));
      for (let i = 0; i < 5; i++) expect(lb.chooseHost(hashed(key))).toBe(first);
    }
  });

  it('moves only the replaced host’s keys while the points per host stay the same', () => {
    // A STRICT_DNS answer that swaps one address: still 3 hosts of 171 points each, so every key
    // stays put unless the removed host owned it or one of the new host's points now precedes it.
    const { ps, hosts, lb } = labRing();
    const keys = randomKeys(3000, 2);
    const before = keys.map((k) => lb.chooseHost(hashed(k))!);
    const newcomer = new Host({ address: '172.31.25.14', port: 80 });
    ps.updateHosts(0, [{ hosts: [newcomer, hosts[1]!, hosts[2]!], weight: 1 }], [newcomer], [hosts[0]!]);
    let fromOthers = 0;
    keys.forEach((k, i) => {
      const after = lb.chooseHost(hashed(k))!;
      if (before[i] === hosts[0]) expect(after).not.toBe(hosts[0]);
      else if (after !== before[i]) {
        expect(after).toBe(newcomer);
        fromOthers++;
      }
    });
    expect(fromOthers).toBeGreaterThan(0);
  });

  it('moves a failed host’s keys, spills some others as the ring rescales, and restores all on recovery', () => {
    // Envoy sizes the ring from the lightest host: ceil(512 × 1/3) = 171 points each for three
    // hosts, ceil(512 × 1/2) = 256 each for two. The survivors' 85 new points each take keys from
    // one another, so (unlike the notes' "next node clockwise" picture) not only the failed
    // host's keys move. A survivor's key moves only if its successor point is a new point of the
    // other survivor: about 85 of 512 points, i.e. 1/6 of their keys.
    const { ps, hosts, lb } = labRing();
    const keys = randomKeys(6000, 2);
    const before = keys.map((k) => lb.chooseHost(hashed(k))!);
    failHosts(ps, [hosts[0]!]);
    let survivorsKeys = 0;
    let moved = 0;
    keys.forEach((k, i) => {
      const during = lb.chooseHost(hashed(k))!;
      expect(during).not.toBe(hosts[0]);
      if (before[i] !== hosts[0]) {
        survivorsKeys++;
        if (during !== before[i]) moved++;
      }
    });
    const p = 85 / 512;
    // The 85 new points fall at random, so the ring share they cover varies with a standard
    // deviation of about sqrt(85)/512 (a sum of 85 spacings of mean 1/512); the sampling error of
    // the keys adds p(1-p)/n.
    const sd = Math.sqrt(85 / 512 ** 2 + (p * (1 - p)) / survivorsKeys);
    expect(Math.abs(moved / survivorsKeys - p)).toBeLessThan(4.5 * sd);
    hosts[0]!.clearFlag('failed_active_hc');
    ps.refreshHealth();
    // The notes: requests go back to the original host when it rejoins.
    expect(keys.map((k) => lb.chooseHost(hashed(k))!)).toEqual(before);
  });

  it('picks randomly when the request has no hash', () => {
    const { lb } = labRing();
    const seen = new Set(Array.from({ length: 200 }, () => lb.chooseHost()));
    expect(seen.size).toBe(3);
  });

  it('walks to the next point when a retry predicate rejects the host', () => {
    const { lb } = labRing();
    const key = xxHash64('Chrome');
    const red = lb.chooseHost(hashed(key))!;
    const other = lb.chooseHost({
      ...hashed(key),
      hostSelectionRetryCount: 3,
      shouldSelectAnotherHost: (h) => h === red,
    });
    expect(other).not.toBe(red);
  });

  it('hashes hostnames instead of addresses with use_hostname_for_hashing', () => {
    const make = (addresses: string[]) => {
      const ps = new PrioritySet();
      const hosts = addresses.map((address, i) => new Host({ address, port: 80, hostname: `web-${i}` }));
      ps.updateHosts(0, [{ hosts, weight: 1 }], hosts, []);
      const config = {
        common_lb_config: { consistent_hashing_lb_config: { use_hostname_for_hashing: true } },
      };
      return new RingHashLoadBalancer(lbParams(ps, config).params);
    };
    const a = make(['10.0.0.1', '10.0.0.2', '10.0.0.3']);
    const b = make(['10.9.9.1', '10.9.9.2', '10.9.9.3']);
    for (const key of randomKeys(200, 4)) {
      expect(a.chooseHost(hashed(key))!.hostname).toBe(b.chooseHost(hashed(key))!.hostname);
    }
  });

  it('builds MURMUR_HASH_2 rings too', () => {
    const ps = buildPrioritySet([{ localities: [{ hosts: 3 }] }]);
    const xx = new RingHashLoadBalancer(lbParams(ps).params);
    const murmur = new RingHashLoadBalancer(
      lbParams(ps, { ring_hash_lb_config: { hash_function: 'MURMUR_HASH_2' } }).params,
    );
    const keys = randomKeys(300, 5);
    const differs = keys.some((k) => xx.chooseHost(hashed(k)) !== murmur.chooseHost(hashed(k)));
    expect(differs).toBe(true);
  });

  it('uses all hosts of a level in panic', () => {
    const ps = buildPrioritySet([{ localities: [{ hosts: 3 }] }]);
    const { params, store } = lbParams(ps);
    const lb = new RingHashLoadBalancer(params);
    failHosts(ps, ps.hostSetsPerPriority[0]!.hosts.slice(0, 2));
    const seen = new Set(randomKeys(300, 6).map((k) => lb.chooseHost(hashed(k))));
    expect(seen.size).toBe(3);
    expect(store.counter('cluster.test.lb_healthy_panic').value).toBe(300);
  });

  it('follows the priority load with the request hash', () => {
    const ps = buildPrioritySet([{ localities: [{ hosts: 4 }] }, { localities: [{ hosts: 4 }] }]);
    const lb = new RingHashLoadBalancer(lbParams(ps).params);
    failHosts(ps, ps.hostSetsPerPriority[0]!.hosts.slice(0, 2));
    // P0 70%, P1 30%: hash % 100 < 70 → P0.
    expect(lb.chooseHost(hashed(169n))!.priority).toBe(0);
    expect(lb.chooseHost(hashed(170n))!.priority).toBe(1);
  });
});
