import { describe, expect, it } from 'vitest';
import { RandomLoadBalancer } from './random.js';
import { buildPrioritySet, chiSquareCritical001, countPicks, failHosts, lbParams } from './test-support.js';

describe('RANDOM', () => {
  it('picks uniformly (χ² test at 0.1% over 10 hosts)', () => {
    const ps = buildPrioritySet([{ localities: [{ hosts: 10 }] }]);
    const lb = new RandomLoadBalancer(lbParams(ps, {}, 42).params);
    const n = 50000;
    const counts = countPicks(() => lb.chooseHost(), n);
    expect(counts.size).toBe(10);
    const expected = n / 10;
    const chi2 = [...counts.values()].reduce((a, c) => a + (c - expected) ** 2 / expected, 0);
    expect(chi2).toBeLessThan(chiSquareCritical001(9));
  });

  it('ignores host weights, as Envoy does', () => {
    const ps = buildPrioritySet([{ localities: [{ hosts: [1, 9] }] }]);
    const lb = new RandomLoadBalancer(lbParams(ps, {}, 42).params);
    const n = 20000;
    const counts = countPicks(() => lb.chooseHost(), n);
    const expected = n / 2;
    const chi2 = [...counts.values()].reduce((a, c) => a + (c - expected) ** 2 / expected, 0);
    expect(chi2).toBeLessThan(chiSquareCritical001(1));
  });

  it('only picks healthy hosts', () => {
    const ps = buildPrioritySet([{ localities: [{ hosts: 4 }] }]);
    const lb = new RandomLoadBalancer(lbParams(ps).params);
    const [a] = ps.hostSetsPerPriority[0]!.hosts;
    failHosts(ps, [a!]);
    expect(countPicks(() => lb.chooseHost(), 1000).has(a!.key)).toBe(false);
  });
});
