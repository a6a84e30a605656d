import { describe, expect, it } from 'vitest';
import type { Host } from '../host.js';
import { RoundRobinLoadBalancer } from './round-robin.js';
import { buildPrioritySet, countPicks, failHosts, lbParams } from './test-support.js';

describe('ROUND_ROBIN', () => {
  it('alternates strictly between hosts of equal weight', () => {
    const ps = buildPrioritySet([{ localities: [{ hosts: 2 }] }]);
    const lb = new RoundRobinLoadBalancer(lbParams(ps).params);
    const picks = Array.from({ length: 10 }, () => lb.chooseHost()!);
    for (let i = 2; i < picks.length; i++) expect(picks[i]).toBe(picks[i - 2]);
    expect(picks[0]).not.toBe(picks[1]);
  });

  it('cycles through three hosts in a fixed order, as the course labs show', () => {
    const ps = buildPrioritySet([{ localities: [{ hosts: 3 }] }]);
    const lb = new RoundRobinLoadBalancer(lbParams(ps).params);
    const first = Array.from({ length: 3 }, () => lb.chooseHost()!);
    expect(new Set(first).size).toBe(3);
    for (let i = 0; i < 30; i++) expect(lb.chooseHost()).toBe(first[i % 3]);
  });

  it('follows unequal weights exactly over each EDF cycle (1:3:5)', () => {
    const ps = buildPrioritySet([{ localities: [{ hosts: [1, 3, 5] }] }]);
    const lb = new RoundRobinLoadBalancer(lbParams(ps).params);
    const [a, b, c] = ps.hostSetsPerPriority[0]!.hosts as [Host, Host, Host];
    const counts = countPicks(() => lb.chooseHost(), 9 * 100);
    expect([counts.get(a.key), counts.get(b.key), counts.get(c.key)]).toEqual([100, 300, 500]);
  });

  it('skips a failed host and keeps rotating over the rest', () => {
    const ps = buildPrioritySet([{ localities: [{ hosts: 3 }] }]);
    const lb = new RoundRobinLoadBalancer(lbParams(ps).params);
    const [a, b, c] = ps.hostSetsPerPriority[0]!.hosts as [Host, Host, Host];
    failHosts(ps, [a]);
    const counts = countPicks(() => lb.chooseHost(), 100);
    expect([counts.get(a.key), counts.get(b.key), counts.get(c.key)]).toEqual([undefined, 50, 50]);
  });

  it('returns no host when the cluster has none', () => {
    const ps = buildPrioritySet([{ localities: [{ hosts: 0 }] }]);
    expect(new RoundRobinLoadBalancer(lbParams(ps).params).chooseHost()).toBeUndefined();
  });

  it('re-picks up to hostSelectionRetryCount times when the context rejects a host', () => {
    const ps = buildPrioritySet([{ localities: [{ hosts: 3 }] }]);
    const lb = new RoundRobinLoadBalancer(lbParams(ps).params);
    const rejected = lb.chooseHost()!;
    lb.chooseHost();
    lb.chooseHost();
    // The next pick would be `rejected` again; one retry moves on.
    const seen: Host[] = [];
    const host = lb.chooseHost({
      hostSelectionRetryCount: 1,
      shouldSelectAnotherHost: (h) => {
        seen.push(h);
        return h === rejected;
      },
    });
    expect(seen[0]).toBe(rejected);
    expect(host).not.toBe(rejected);
    // The retry consumed two picks. Without retries the rejected host is returned anyway
    // (Envoy returns the last pick).
    lb.chooseHost();
    expect(lb.chooseHost({ shouldSelectAnotherHost: () => true })).toBe(rejected);
  });
});
