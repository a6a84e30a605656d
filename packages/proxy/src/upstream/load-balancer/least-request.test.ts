import { describe, expect, it } from 'vitest';
import { Runtime } from '../../runtime/runtime.js';
import type { Host } from '../host.js';
import { LeastRequestLoadBalancer } from './least-request.js';
import { buildPrioritySet, countPicks, lbParams, seededRandom, shareTolerance } from './test-support.js';

/**
 * A closed-loop load generator: `concurrency` requests are always in flight; each lasts a
 * service time drawn uniformly from [0.5, 1.5) and is replaced by a new pick when it completes.
 * Returns the picks per host.
 */
function simulate(
  lb: LeastRequestLoadBalancer,
  concurrency: number,
  requests: number,
  seed: number,
): Map<Host, number> {
  const random = seededRandom(seed);
  const inFlight: { host: Host; end: number }[] = [];
  const counts = new Map<Host, number>();
  let now = 0;
  const start = () => {
    const host = lb.chooseHost()!;
    host.stats.rq_active++;
    counts.set(host, (counts.get(host) ?? 0) + 1);
    inFlight.push({ host, end: now + 0.5 + random() });
  };
  for (let i = 0; i < concurrency; i++) start();
  for (let done = 0; done < requests; done++) {
    let next = 0;
    for (let i = 1; i < inFlight.length; i++) if (inFlight[i]!.end < inFlight[next]!.end) next = i;
    const [finished] = inFlight.splice(next, 1);
    now = finished!.end;
    finished!.host.stats.rq_active--;
    start();
  }
  return counts;
}

/**
 * Steady state of EDF on `w / (active + 1)`: with Little's law, a host receiving share s_i of the
 * rate has active_i = s_i × C in flight, and EDF gives it a rate proportional to its weight:
 * s_i ∝ w_i / (s_i C + 1). Solved by fixed-point iteration.
 */
function equilibriumShares(weights: number[], concurrency: number): number[] {
  let s = weights.map(() => 1 / weights.length);
  for (let iter = 0; iter < 200; iter++) {
    const raw = weights.map((w, i) => w / (s[i]! * concurrency + 1));
    const sum = raw.reduce((a, b) => a + b, 0);
    s = s.map((x, i) => (x + raw[i]! / sum) / 2);
  }
  return s;
}

describe('LEAST_REQUEST', () => {
  it('with unequal weights and sequential requests, follows the weights exactly (1:3:5)', () => {
    const ps = buildPrioritySet([{ localities: [{ hosts: [1, 3, 5] }] }]);
    const lb = new LeastRequestLoadBalancer(lbParams(ps).params);
    const [red, blue, green] = ps.hostSetsPerPriority[0]!.hosts as [Host, Host, Host];
    // Each request completes before the next, so every host has 0 active requests when picked.
    const counts = countPicks(() => lb.chooseHost(), 900);
    expect([counts.get(red.key), counts.get(blue.key), counts.get(green.key)]).toEqual([100, 300, 500]);
  });

  it('with unequal weights under concurrent load, shifts toward weight / (active + 1)', () => {
    const ps = buildPrioritySet([{ localities: [{ hosts: [1, 3, 5] }] }]);
    const lb = new LeastRequestLoadBalancer(lbParams(ps, {}, 11).params);
    const hosts = ps.hostSetsPerPriority[0]!.hosts;
    const concurrency = 30;
    const n = 30000;
    const counts = simulate(lb, concurrency, n, 5);
    const total = [...counts.values()].reduce((a, b) => a + b, 0);
    const expected = equilibriumShares([1, 3, 5], concurrency);
    hosts.forEach((h, i) => {
      const share = (counts.get(h) ?? 0) / total;
      // The model is a mean-field approximation of a deterministic schedule, not a sample, so
      // the band is set by the approximation (±0.02), well under the gap to the static weights.
      expect(Math.abs(share - expected[i]!)).toBeLessThan(0.02);
    });
    // Heavier hosts still get more, but less than their static share (5/9 = 0.556).
    const greenShare = (counts.get(hosts[2]!) ?? 0) / total;
    expect(greenShare).toBeLessThan(5 / 9 - 0.05);
    expect(greenShare).toBeGreaterThan((counts.get(hosts[1]!) ?? 0) / total);
  });

  it('with active_request_bias 0 ignores active requests (weighted round robin)', () => {
    const ps = buildPrioritySet([{ localities: [{ hosts: [1, 3, 5] }] }]);
    const config = {
      least_request_lb_config: { active_request_bias: { default_value: 0, runtime_key: 'lr.bias' } },
    };
    const lb = new LeastRequestLoadBalancer(lbParams(ps, config).params);
    const counts = simulate(lb, 30, 9000, 5);
    const hosts = ps.hostSetsPerPriority[0]!.hosts;
    const total = [...counts.values()].reduce((a, b) => a + b, 0);
    expect(Math.abs((counts.get(hosts[2]!) ?? 0) / total - 5 / 9)).toBeLessThan(0.01);
  });

  it('reads active_request_bias from its runtime key', () => {
    const ps = buildPrioritySet([{ localities: [{ hosts: [1, 3, 5] }] }]);
    const config = {
      least_request_lb_config: { active_request_bias: { default_value: 1, runtime_key: 'lr.bias' } },
    };
    const runtime = new Runtime({ layers: [{ name: 'static', static_layer: { lr: { bias: 0 } } }] });
    const lb = new LeastRequestLoadBalancer(lbParams(ps, config, 1, runtime).params);
    const counts = simulate(lb, 30, 9000, 5);
    const hosts = ps.hostSetsPerPriority[0]!.hosts;
    const total = [...counts.values()].reduce((a, b) => a + b, 0);
    expect(Math.abs((counts.get(hosts[2]!) ?? 0) / total - 5 / 9)).toBeLessThan(0.01);
  });

  it('with equal weights and no load, picks uniformly (power of two choices)', () => {
    const ps = buildPrioritySet([{ localities: [{ hosts: 3 }] }]);
    const lb = new LeastRequestLoadBalancer(lbParams(ps, {}, 3).params);
    const n = 30000;
    const counts = countPicks(() => lb.chooseHost(), n);
    for (const c of counts.values()) expect(Math.abs(c / n - 1 / 3)).toBeLessThan(shareTolerance(1 / 3, n));
  });

  it('with equal weights, never picks the busiest host while it is busier than both samples', () => {
    const ps = buildPrioritySet([{ localities: [{ hosts: 2 }] }]);
    const lb = new LeastRequestLoadBalancer(lbParams(ps).params);
    const [a, b] = ps.hostSetsPerPriority[0]!.hosts as [Host, Host];
    a.stats.rq_active = 5;
    // With 2 hosts and 2 samples, `a` wins only when both samples are `a`: probability 1/4.
    const n = 20000;
    const share = (countPicks(() => lb.chooseHost(), n).get(a.key) ?? 0) / n;
    expect(Math.abs(share - 0.25)).toBeLessThan(shareTolerance(0.25, n));
    b.stats.rq_active = 9;
    expect((countPicks(() => lb.chooseHost(), n).get(b.key) ?? 0) / n).toBeCloseTo(0.25, 1);
  });

  it('samples choice_count hosts: with 5 choices over 2 hosts the busy one almost never wins', () => {
    const ps = buildPrioritySet([{ localities: [{ hosts: 2 }] }]);
    const lb = new LeastRequestLoadBalancer(
      lbParams(ps, { least_request_lb_config: { choice_count: 5 } }).params,
    );
    const [a] = ps.hostSetsPerPriority[0]!.hosts as [Host, Host];
    a.stats.rq_active = 1;
    const n = 20000;
    const p = 1 / 32;
    const share = (countPicks(() => lb.chooseHost(), n).get(a.key) ?? 0) / n;
    expect(Math.abs(share - p)).toBeLessThan(shareTolerance(p, n));
  });
});
