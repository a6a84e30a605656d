/**
 * Priority load, panic and locality weights (the shared base), driven through round robin.
 */
import { describe, expect, it } from 'vitest';
import { Runtime } from '../../runtime/runtime.js';
import type { Host } from '../host.js';
import { RoundRobinLoadBalancer } from './round-robin.js';
import { buildPrioritySet, countPicks, failHosts, lbParams, shareTolerance } from './test-support.js';

function hostsOf(ps: ReturnType<typeof buildPrioritySet>, priority: number): Host[] {
  return ps.hostSetsPerPriority[priority]!.hosts;
}

function levelShare(counts: Map<string, number>, hosts: Host[], n: number): number {
  return hosts.reduce((a, h) => a + (counts.get(h.key) ?? 0), 0) / n;
}

describe('priority load (Envoy formula)', () => {
  it('keeps all traffic on P0 while 80% of it is healthy, with the default factor 140', () => {
    const ps = buildPrioritySet([{ localities: [{ hosts: 5 }] }, { localities: [{ hosts: 5 }] }]);
    const lb = new RoundRobinLoadBalancer(lbParams(ps).params);
    failHosts(ps, [hostsOf(ps, 0)[0]!]);
    expect(lb.priorityLoad().healthy).toEqual([100, 0]);
  });

  it('gives P0 70% when half of it is healthy (the documented example)', () => {
    const ps = buildPrioritySet([{ localities: [{ hosts: 4 }] }, { localities: [{ hosts: 4 }] }]);
    const lb = new RoundRobinLoadBalancer(lbParams(ps).params);
    failHosts(ps, hostsOf(ps, 0).slice(0, 2));
    expect(lb.priorityLoad()).toEqual({ healthy: [70, 30], degraded: [0, 0], panic: [false, false] });
  });

  it('spills over three levels and normalizes when their health adds up to less than 100', () => {
    const ps = buildPrioritySet([
      { localities: [{ hosts: 4 }] },
      { localities: [{ hosts: 4 }] },
      { localities: [{ hosts: 5 }] },
    ]);
    const lb = new RoundRobinLoadBalancer(
      lbParams(ps, { common_lb_config: { healthy_panic_threshold: {} } }).params,
    );
    failHosts(ps, [...hostsOf(ps, 0).slice(1), ...hostsOf(ps, 1).slice(1)]);
    // health 35 / 35 / 100: P2 takes what is left.
    expect(lb.priorityLoad().healthy).toEqual([35, 35, 30]);
    failHosts(ps, hostsOf(ps, 2).slice(1));
    // health 35 / 35 / 28 = 98 < 100: scaled by 100/98 and floored (35, 35, 28); Envoy's code gives
    // the 2 left over to the first healthy level. (Envoy's docs print this case as 36/36/28.)
    expect(lb.priorityLoad().healthy).toEqual([37, 35, 28]);
  });

  it('sends degraded hosts only the load healthy hosts cannot take', () => {
    const ps = buildPrioritySet([{ localities: [{ hosts: 10 }] }], 120);
    const lb = new RoundRobinLoadBalancer(lbParams(ps).params);
    const hosts = hostsOf(ps, 0);
    for (const h of hosts.slice(0, 2)) h.setFlag('degraded_active_hc');
    ps.refreshHealth();
    // 8 of 10 healthy × 1.2 = 96: the degraded hosts take the missing 4%.
    expect(lb.priorityLoad()).toMatchObject({ healthy: [96], degraded: [4] });
    const n = 20000;
    const counts = countPicks(() => lb.chooseHost(), n);
    const degradedShare = levelShare(counts, hosts.slice(0, 2), n);
    expect(Math.abs(degradedShare - 0.04)).toBeLessThan(shareTolerance(0.04, n));
  });

  it('does not count excluded hosts as members of the level', () => {
    const ps = buildPrioritySet([{ localities: [{ hosts: 4 }] }, { localities: [{ hosts: 4 }] }]);
    const lb = new RoundRobinLoadBalancer(lbParams(ps).params);
    for (const h of hostsOf(ps, 0).slice(0, 2)) h.setFlag('excluded_via_immediate_hc_fail');
    ps.refreshHealth();
    expect(lb.priorityLoad().healthy).toEqual([100, 0]);
    expect(countPicks(() => lb.chooseHost(), 100).size).toBe(2);
  });

  it('recomputes on membership or health updates, not per request', () => {
    const ps = buildPrioritySet([{ localities: [{ hosts: 2 }] }]);
    const lb = new RoundRobinLoadBalancer(lbParams(ps).params);
    const [a, b] = hostsOf(ps, 0);
    a!.setFlag('failed_active_hc');
    // Not yet announced: the balancer still sees both hosts.
    expect(new Set([lb.chooseHost(), lb.chooseHost()])).toEqual(new Set([a, b]));
    ps.refreshHealth();
    expect([lb.chooseHost(), lb.chooseHost()]).toEqual([b, b]);
  });
});

/**
 * The course's priority-levels lab (L3): overprovisioning_factor 150, P0 = red/blue/green,
 * P1 = gray/black, healthy_panic_threshold 49.
 */
describe('the priority-levels lab', () => {
  const setup = () => {
    const ps = buildPrioritySet([{ localities: [{ hosts: 3 }] }, { localities: [{ hosts: 2 }] }], 150);
    const { params, store } = lbParams(
      ps,
      { common_lb_config: { healthy_panic_threshold: { value: 49 } } },
      7,
    );
    return { ps, lb: new RoundRobinLoadBalancer(params), store, p0: hostsOf(ps, 0), p1: hostsOf(ps, 1) };
  };

  it('keeps everything on P0 with one P0 host down (150 × 2/3 = 100)', () => {
    const { ps, lb, p0 } = setup();
    expect(lb.priorityLoad().healthy).toEqual([100, 0]);
    failHosts(ps, [p0[0]!]);
    expect(lb.priorityLoad().healthy).toEqual([100, 0]);
    const counts = countPicks(() => lb.chooseHost(), 600);
    expect(counts.get(p0[1]!.key)).toBe(300);
    expect(counts.get(p0[2]!.key)).toBe(300);
  });

  it('splits 50/50 with two P0 hosts down, without panic', () => {
    // P0 health floor(150 × 1/3) = 50, P1 100: total 150 ≥ 100, so no normalization and no panic
    // even though P0 is only 33% healthy (< 49). The notes' run printed 11 of 17 (65%) on P0:
    // with n = 17 the 4.5σ band around 50% is ±55%, so that sample is consistent with 50/50.
    const { ps, lb, p0, p1, store } = setup();
    failHosts(ps, p0.slice(0, 2));
    expect(lb.priorityLoad()).toEqual({ healthy: [50, 50], degraded: [0, 0], panic: [false, false] });
    const n = 20000;
    const counts = countPicks(() => lb.chooseHost(), n);
    expect(Math.abs(levelShare(counts, [p0[2]!], n) - 0.5)).toBeLessThan(shareTolerance(0.5, n));
    expect(Math.abs(levelShare(counts, p1, n) - 0.5)).toBeLessThan(shareTolerance(0.5, n));
    expect(store.counter('cluster.test.lb_healthy_panic').value).toBe(0);
  });

  it('moves everything to P1 when P0 is down', () => {
    const { ps, lb, p0, p1 } = setup();
    failHosts(ps, p0);
    expect(lb.priorityLoad().healthy).toEqual([0, 100]);
    expect(
      levelShare(
        countPicks(() => lb.chooseHost(), 100),
        p1,
        100,
      ),
    ).toBe(1);
  });

  it('panics per level once the levels together cannot take the load', () => {
    const { ps, lb, p0, p1, store } = setup();
    // P0 50, P1 floor(150 × 1/2) = 75: still ≥ 100 together, no panic.
    failHosts(ps, [...p0.slice(0, 2), p1[0]!]);
    expect(lb.priorityLoad()).toEqual({ healthy: [50, 50], degraded: [0, 0], panic: [false, false] });
    // P0 50, P1 0: total 50 < 100. Both levels are below 49% available: total panic, and the load
    // is split by host count (3/5, 2/5) over all hosts, healthy or not.
    failHosts(ps, [p1[1]!]);
    expect(lb.priorityLoad()).toEqual({ healthy: [60, 40], degraded: [0, 0], panic: [true, true] });
    const n = 20000;
    const counts = countPicks(() => lb.chooseHost(), n);
    for (const h of p0)
      expect(Math.abs((counts.get(h.key) ?? 0) / n - 0.2)).toBeLessThan(shareTolerance(0.2, n));
    for (const h of p1)
      expect(Math.abs((counts.get(h.key) ?? 0) / n - 0.2)).toBeLessThan(shareTolerance(0.2, n));
    expect(store.counter('cluster.test.lb_healthy_panic').value).toBe(n);
  });

  it('panics only the level below the threshold when another is healthy enough', () => {
    // Default threshold 50: P0 1 of 3 healthy (33%) panics, P1 1 of 2 (50%) does not.
    const ps = buildPrioritySet([{ localities: [{ hosts: 3 }] }, { localities: [{ hosts: 2 }] }], 100);
    const lb = new RoundRobinLoadBalancer(lbParams(ps).params);
    const [p0, p1] = [hostsOf(ps, 0), hostsOf(ps, 1)];
    failHosts(ps, [p0[0]!, p0[1]!, p1[0]!]);
    // health 33 and 50: total 83 < 100, loads floor(33×100/83) = 39 and floor(50×100/83) = 60, +1.
    expect(lb.priorityLoad()).toEqual({ healthy: [40, 60], degraded: [0, 0], panic: [true, false] });
    const counts = countPicks(() => lb.chooseHost(), 3000);
    // P0 in panic uses its failed hosts too; P1 only its healthy one.
    for (const h of p0) expect(counts.get(h.key)).toBeGreaterThan(0);
    expect(counts.get(p1[0]!.key)).toBeUndefined();
  });
});

describe('panic threshold', () => {
  it('is disabled by 0: a level with no healthy host gets no traffic', () => {
    const ps = buildPrioritySet([{ localities: [{ hosts: 2 }] }]);
    const lb = new RoundRobinLoadBalancer(
      lbParams(ps, { common_lb_config: { healthy_panic_threshold: { value: 0 } } }).params,
    );
    failHosts(ps, hostsOf(ps, 0));
    expect(lb.chooseHost()).toBeUndefined();
  });

  it('defaults to 50%: one healthy host of three means panic over all three', () => {
    const ps = buildPrioritySet([{ localities: [{ hosts: 3 }] }]);
    const { params, store } = lbParams(ps);
    const lb = new RoundRobinLoadBalancer(params);
    failHosts(ps, hostsOf(ps, 0).slice(0, 2));
    expect(countPicks(() => lb.chooseHost(), 300).size).toBe(3);
    expect(store.counter('cluster.test.lb_healthy_panic').value).toBe(300);
  });

  it('is exactly at the threshold: 50% available is not panic', () => {
    const ps = buildPrioritySet([{ localities: [{ hosts: 4 }] }]);
    const lb = new RoundRobinLoadBalancer(lbParams(ps).params);
    failHosts(ps, hostsOf(ps, 0).slice(0, 2));
    expect(lb.priorityLoad().panic).toEqual([false]);
    failHosts(ps, hostsOf(ps, 0).slice(0, 3));
    expect(lb.priorityLoad().panic).toEqual([true]);
  });

  it('follows the runtime key upstream.healthy_panic_threshold', () => {
    // Factor 100 and 3 of 4 healthy: total health 75 < 100, and 75% is above 50 but below 80.
    const panicWith = (runtime: Runtime) => {
      const ps = buildPrioritySet([{ localities: [{ hosts: 4 }] }], 100);
      const lb = new RoundRobinLoadBalancer(lbParams(ps, {}, 1, runtime).params);
      failHosts(ps, hostsOf(ps, 0).slice(0, 1));
      return lb.priorityLoad().panic;
    };
    expect(panicWith(new Runtime(undefined))).toEqual([false]);
    const layer = { name: 'static', static_layer: { upstream: { healthy_panic_threshold: 80 } } };
    expect(panicWith(new Runtime({ layers: [layer] }))).toEqual([true]);
  });

  it('fails traffic instead when zone_aware_lb_config.fail_traffic_on_panic is set', () => {
    const ps = buildPrioritySet([{ localities: [{ hosts: 3 }] }]);
    const lb = new RoundRobinLoadBalancer(
      lbParams(ps, { common_lb_config: { zone_aware_lb_config: { fail_traffic_on_panic: true } } }).params,
    );
    failHosts(ps, hostsOf(ps, 0).slice(0, 2));
    expect(lb.chooseHost()).toBeUndefined();
  });
});

/**
 * The course's locality-weighted lab (L4): cn-north-1 (red/blue/green) weight 10, cn-north-2
 * (gray/black) weight 20, overprovisioning 140.
 */
describe('locality-weighted balancing', () => {
  const setup = (localityWeighted = true) => {
    const ps = buildPrioritySet(
      [
        {
          localities: [
            { hosts: 3, weight: 10, region: 'cn-north-1' },
            { hosts: 2, weight: 20, region: 'cn-north-2' },
          ],
        },
      ],
      140,
    );
    const config = localityWeighted ? { common_lb_config: { locality_weighted_lb_config: {} } } : {};
    const lb = new RoundRobinLoadBalancer(lbParams(ps, config, 3).params);
    const [colored, colorless] = ps.hostSetsPerPriority[0]!.hostsPerLocality as [Host[], Host[]];
    return { ps, lb, colored, colorless };
  };

  it('splits 1:2 by locality weight, in a strict colored/colorless/colorless pattern', () => {
    const { lb, colored } = setup();
    const picks = Array.from({ length: 30 }, () => colored.includes(lb.chooseHost()!));
    expect(picks.filter(Boolean).length).toBe(10);
    // EDF on weights 10 and 20 never puts two colored responses next to each other.
    for (let i = 1; i < picks.length; i++) expect(picks[i] && picks[i - 1]).toBe(false);
  });

  it('scales a locality by its availability: 10 : 20 × min(1, 1.4 × 1/2) = 10 : 14', () => {
    const { ps, lb, colored, colorless } = setup();
    failHosts(ps, [colorless[0]!]);
    const n = 24000;
    const counts = countPicks(() => lb.chooseHost(), n);
    // EDF is deterministic: over whole cycles of 24 picks the split is exactly 10:14.
    expect(levelShare(counts, colored, n)).toBeCloseTo(10 / 24, 3);
    expect(counts.get(colorless[1]!.key)).toBe((n * 14) / 24);
    expect(counts.get(colorless[0]!.key)).toBeUndefined();
  });

  it('sends everything to cn-north-1 when cn-north-2 is down', () => {
    const { ps, lb, colored, colorless } = setup();
    failHosts(ps, colorless);
    expect(
      levelShare(
        countPicks(() => lb.chooseHost(), 300),
        colored,
        300,
      ),
    ).toBe(1);
  });

  it('ignores locality weights without locality_weighted_lb_config', () => {
    const { lb, colored } = setup(false);
    expect(
      levelShare(
        countPicks(() => lb.chooseHost(), 500),
        colored,
        500,
      ),
    ).toBe(0.6);
  });
});
