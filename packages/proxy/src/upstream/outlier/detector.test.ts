/**
 * The outlier detector's state machine, driven with a fake clock and explicit interval sweeps.
 */
import { describe, expect, it } from 'vitest';
import { LogRegistry } from '../../common/logger.js';
import type { OutlierDetection } from '../../config/types.js';
import { Runtime } from '../../runtime/runtime.js';
import { Store } from '../../stats/store.js';
import type { Host, PrioritySet } from '../host.js';
import { buildPrioritySet, seededRandom } from '../load-balancer/test-support.js';
import { type HostMonitor, OutlierDetector } from './detector.js';
import { successRateThreshold } from './success-rate.js';

interface Setup {
  detector: OutlierDetector;
  hosts: Host[];
  ps: PrioritySet;
  clock: { ms: number };
  stat(name: string): number;
  monitor(h: Host): HostMonitor;
  /** How often the cluster was told to recompute its host sets. */
  refreshes: { count: number };
}

function setup(
  config: OutlierDetection,
  hostCount = 3,
  options: { runtime?: Runtime; random?: () => number } = {},
): Setup {
  const ps = buildPrioritySet([{ localities: [{ hosts: hostCount }] }]);
  const store = new Store();
  const clock = { ms: 0 };
  const refreshes = { count: 0 };
  const detector = new OutlierDetector({
    config,
    prioritySet: ps,
    scope: store.scope('cluster.c.'),
    runtime: options.runtime ?? new Runtime(undefined),
    random: options.random ?? seededRandom(7),
    log: new LogRegistry('off').get('upstream', 'test'),
    clusterName: 'c',
    onHostHealthChanged: () => {
      refreshes.count++;
      ps.refreshHealth();
    },
    now: () => clock.ms,
  });
  const hosts = ps.allHosts();
  return {
    detector,
    hosts,
    ps,
    clock,
    refreshes,
    stat: (name) => {
      const c = store.counters().find((x) => x.name === `cluster.c.outlier_detection.${name}`);
      const g = store.gauges().find((x) => x.name === `cluster.c.outlier_detection.${name}`);
      return (c ?? g)!.value;
    },
    monitor: (h) => h.outlier as HostMonitor,
  };
}

const ejected = (h: Host) => h.hasFlag('failed_outlier_check');

/** Advances the fake clock interval by interval, sweeping each time, until `until` holds; returns ms elapsed. */
function sweepUntil(s: Setup, intervalMs: number, until: () => boolean, maxSweeps = 1000): number {
  const start = s.clock.ms;
  for (let i = 0; i < maxSweeps && !until(); i++) {
    s.clock.ms += intervalMs;
    s.detector.sweep();
  }
  return s.clock.ms - start;
}

describe('consecutive 5xx (LAB 7: consecutive_5xx 3, base 10 s)', () => {
  const lab7: OutlierDetection = { consecutive_5xx: 3, base_ejection_time: '10s', max_ejection_percent: 10 };

  it('ejects at exactly the third consecutive 5xx, not before', () => {
    const s = setup(lab7);
    const [bad] = s.hosts;
    bad!.outlier!.putHttpResponseCode(506);
    bad!.outlier!.putHttpResponseCode(500);
    expect(ejected(bad!)).toBe(false);
    bad!.outlier!.putHttpResponseCode(503);
    expect(ejected(bad!)).toBe(true);
    expect(s.refreshes.count).toBe(1);
    expect(s.ps.hostSetsPerPriority[0]!.healthyHosts).not.toContain(bad);
    expect(s.stat('ejections_active')).toBe(1);
    expect(s.stat('ejections_detected_consecutive_5xx')).toBe(1);
    expect(s.stat('ejections_enforced_consecutive_5xx')).toBe(1);
    expect(s.stat('ejections_enforced_total')).toBe(1);
    expect(s.stat('ejections_total')).toBe(1);
  });

  it('restarts the run on any non-5xx response', () => {
    const s = setup(lab7);
    const o = s.hosts[0]!.outlier!;
    for (const code of [500, 500, 200, 500, 500, 404, 500, 500]) o.putHttpResponseCode(code);
    expect(ejected(s.hosts[0]!)).toBe(false);
    o.putHttpResponseCode(500);
    expect(ejected(s.hosts[0]!)).toBe(true);
  });

  it('returns the host after base × 1 at a sweep, then stays out base × 2 when it fails again at once', () => {
    const s = setup(lab7);
    const bad = s.hosts[0]!;
    const failThrice = () => {
      for (let i = 0; i < 3; i++) bad.outlier!.putHttpResponseCode(506);
    };
    failThrice();
    // Sweeps every 1 s: the first ejection lasts 10 s.
    expect(sweepUntil(s, 1000, () => !ejected(bad))).toBe(10_000);
    expect(s.stat('ejections_active')).toBe(0);
    failThrice();
    expect(sweepUntil(s, 1000, () => !ejected(bad))).toBe(20_000);
    failThrice();
    expect(sweepUntil(s, 1000, () => !ejected(bad))).toBe(30_000);
    expect(s.monitor(bad).numEjections).toBe(3);
  });

  it('rounds the ejection up to the sweep after it runs out (the notes: ≈10 s, 26 s, 35 s at 10 s sweeps)', () => {
    const s = setup(lab7);
    const bad = s.hosts[0]!;
    s.clock.ms = 3000; // ejected 3 s into an interval
    for (let i = 0; i < 3; i++) bad.outlier!.putHttpResponseCode(506);
    s.clock.ms = 10_000;
    s.detector.sweep();
    expect(ejected(bad)).toBe(true); // 7 s: not yet
    s.clock.ms = 20_000;
    s.detector.sweep();
    expect(ejected(bad)).toBe(false); // 17 s out
  });

  it('forgets one ejection per whole interval the host stays in service', () => {
    const s = setup(lab7);
    const bad = s.hosts[0]!;
    const failThrice = () => {
      for (let i = 0; i < 3; i++) bad.outlier!.putHttpResponseCode(506);
    };
    failThrice();
    sweepUntil(s, 1000, () => !ejected(bad));
    failThrice();
    sweepUntil(s, 1000, () => !ejected(bad));
    expect(s.monitor(bad).ejectTimeBackoff).toBe(2);
    // A healthy minute: the multiplier decays back to 0, so the next ejection is base × 1 again.
    sweepUntil(s, 10_000, () => s.monitor(bad).ejectTimeBackoff === 0, 10);
    expect(s.monitor(bad).ejectTimeBackoff).toBe(0);
    failThrice();
    expect(sweepUntil(s, 1000, () => !ejected(bad))).toBe(10_000);
  });

  it('caps the ejection at max_ejection_time', () => {
    const s = setup({ ...lab7, max_ejection_time: '25s' });
    const bad = s.hosts[0]!;
    const durations: number[] = [];
    for (let n = 0; n < 5; n++) {
      for (let i = 0; i < 3; i++) bad.outlier!.putHttpResponseCode(500);
      durations.push(sweepUntil(s, 1000, () => !ejected(bad)));
    }
    expect(durations).toEqual([10_000, 20_000, 25_000, 25_000, 25_000]);
  });

  it('refuses max_ejection_time shorter than base_ejection_time, as Envoy does', () => {
    expect(() => setup({ base_ejection_time: '30s', max_ejection_time: '10s' })).toThrow(/max_ejection_time/);
  });

  it('ejects with jitter on top when max_ejection_time_jitter is set', () => {
    const s = setup({ ...lab7, max_ejection_time_jitter: '5s' });
    const bad = s.hosts[0]!;
    for (let i = 0; i < 3; i++) bad.outlier!.putHttpResponseCode(500);
    const jitter = s.monitor(bad).jitterMs;
    expect(jitter).toBeGreaterThanOrEqual(0);
    expect(jitter).toBeLessThanOrEqual(5000);
    expect(sweepUntil(s, 1, () => !ejected(bad), 100_000)).toBe(10_000 + jitter);
  });
});

describe('max_ejection_percent', () => {
  it('always lets one host go (10% of 3 hosts), then counts overflows', () => {
    const s = setup({ consecutive_5xx: 1, max_ejection_percent: 10 });
    const [a, b] = s.hosts;
    a!.outlier!.putHttpResponseCode(500);
    b!.outlier!.putHttpResponseCode(500);
    expect([ejected(a!), ejected(b!)]).toEqual([true, false]);
    expect(s.stat('ejections_overflow')).toBe(1);
    expect(s.stat('ejections_detected_consecutive_5xx')).toBe(2);
  });

  it('counts the host about to be ejected against the cap (2 of 4 at 50%, not 3)', () => {
    const s = setup({ consecutive_5xx: 1, max_ejection_percent: 50 }, 4);
    for (const h of s.hosts) h.outlier!.putHttpResponseCode(500);
    expect(s.hosts.filter(ejected)).toHaveLength(2);
    expect(s.stat('ejections_overflow')).toBe(2);
  });

  it('with always_eject_one_host: false, a small cluster ejects nothing at 10% (Envoy ≥ 1.28)', () => {
    const s = setup({ consecutive_5xx: 1, max_ejection_percent: 10, always_eject_one_host: false });
    s.hosts[0]!.outlier!.putHttpResponseCode(500);
    expect(ejected(s.hosts[0]!)).toBe(false);
    expect(s.stat('ejections_overflow')).toBe(1);
  });
});

describe('enforcing percentages and gateway failures', () => {
  it('detects consecutive gateway failures but, by default (enforcing 0), does not eject for them', () => {
    const s = setup({ consecutive_gateway_failure: 2, consecutive_5xx: 10 });
    const o = s.hosts[0]!.outlier!;
    o.putHttpResponseCode(502);
    o.putHttpResponseCode(504);
    expect(ejected(s.hosts[0]!)).toBe(false);
    expect(s.stat('ejections_detected_consecutive_gateway_failure')).toBe(1);
    expect(s.stat('ejections_enforced_consecutive_gateway_failure')).toBe(0);
  });

  it('ejects on gateway failures with enforcing 100; a non-gateway 5xx breaks that run only', () => {
    const s = setup({
      consecutive_gateway_failure: 3,
      enforcing_consecutive_gateway_failure: 100,
      consecutive_5xx: 10,
    });
    const o = s.hosts[0]!.outlier!;
    for (const code of [503, 503, 500, 503, 502]) o.putHttpResponseCode(code);
    expect(ejected(s.hosts[0]!)).toBe(false);
    o.putHttpResponseCode(504);
    expect(ejected(s.hosts[0]!)).toBe(true);
    expect(s.stat('ejections_enforced_consecutive_gateway_failure')).toBe(1);
    expect(s.stat('ejections_enforced_consecutive_5xx')).toBe(0);
  });

  it('ejects about enforcing% of detections', () => {
    const s = setup({ consecutive_5xx: 1, enforcing_consecutive_5xx: 30, max_ejection_percent: 100 }, 1, {
      random: seededRandom(11),
    });
    const host = s.hosts[0]!;
    let ejections = 0;
    const n = 2000;
    for (let i = 0; i < n; i++) {
      host.outlier!.putHttpResponseCode(500);
      if (ejected(host)) {
        ejections++;
        s.clock.ms += 400_000;
        s.detector.sweep();
      }
    }
    expect(s.stat('ejections_detected_consecutive_5xx')).toBe(n);
    expect(Math.abs(ejections / n - 0.3)).toBeLessThan(4.5 * Math.sqrt((0.3 * 0.7) / n));
  });

  it('takes thresholds from the runtime when set there (outlier_detection.consecutive_5xx)', () => {
    const runtime = new Runtime({ layers: [{ name: 'admin', admin_layer: {} }] });
    runtime.modify({ 'outlier_detection.consecutive_5xx': '2' });
    const s = setup({ consecutive_5xx: 5 }, 3, { runtime });
    s.hosts[0]!.outlier!.putHttpResponseCode(500);
    s.hosts[0]!.outlier!.putHttpResponseCode(500);
    expect(ejected(s.hosts[0]!)).toBe(true);
  });
});

describe('local-origin errors', () => {
  it('without the split, connect failures and timeouts count as 503 and 504', () => {
    const s = setup({ consecutive_5xx: 3 });
    const o = s.hosts[0]!.outlier!;
    o.putResult('LOCAL_ORIGIN_CONNECT_FAILED');
    o.putResult('LOCAL_ORIGIN_TIMEOUT');
    // A connection HTTP will still judge says nothing either way.
    o.putResult('LOCAL_ORIGIN_CONNECT_SUCCESS');
    o.putResult('LOCAL_ORIGIN_CONNECT_FAILED');
    expect(ejected(s.hosts[0]!)).toBe(true);
  });

  it('with split_external_local_origin_errors, they have their own run, which a connect success resets', () => {
    const s = setup({
      split_external_local_origin_errors: true,
      consecutive_local_origin_failure: 2,
      consecutive_5xx: 2,
    });
    const o = s.hosts[0]!.outlier!;
    o.putResult('LOCAL_ORIGIN_CONNECT_FAILED');
    o.putResult('LOCAL_ORIGIN_CONNECT_SUCCESS');
    o.putResult('LOCAL_ORIGIN_CONNECT_FAILED');
    o.putHttpResponseCode(500); // an external error does not extend the local run
    expect(ejected(s.hosts[0]!)).toBe(false);
    o.putResult('LOCAL_ORIGIN_TIMEOUT');
    expect(ejected(s.hosts[0]!)).toBe(true);
    expect(s.stat('ejections_enforced_consecutive_local_origin_failure')).toBe(1);
  });
});

describe('success rate and failure percentage', () => {
  it('computes the documented threshold (50,100,100,100,100 → mean 90, stdev 20, 52)', () => {
    const { average, threshold } = successRateThreshold([50, 100, 100, 100, 100], 1.9);
    expect(average).toBe(90);
    expect(threshold).toBeCloseTo(52, 10);
  });

  function traffic(s: Setup, rates: number[], volume: number): void {
    s.hosts.forEach((h, i) => {
      for (let r = 0; r < volume; r++) h.outlier!.putHttpResponseCode(r < rates[i]! * volume ? 200 : 500);
    });
  }

  it('ejects hosts below mean − factor × stdev, judging the interval that just ended', () => {
    const s = setup({ consecutive_5xx: 1000, max_ejection_percent: 50 }, 5);
    traffic(s, [0.5, 1, 1, 1, 1], 100);
    s.clock.ms += 10_000;
    s.detector.sweep();
    expect(s.hosts.filter(ejected)).toEqual([s.hosts[0]]);
    expect(s.stat('ejections_enforced_success_rate')).toBe(1);
    expect(s.stat('ejections_detected_success_rate')).toBe(1);
    expect(s.detector.successRateSummary('external')).toEqual({ average: 90, threshold: 90 - 1.9 * 20 });
    expect(s.hosts[1]!.successRate).toBe(100);
    expect(s.hosts[0]!.successRate).toBe(50);
    // An interval without traffic: nothing to judge, and /clusters shows -1 again.
    s.clock.ms += 10_000;
    s.detector.sweep();
    expect(s.hosts[1]!.successRate).toBe(-1);
    expect(s.detector.successRateSummary('external').average).toBe(-1);
  });

  it('skips hosts under success_rate_request_volume and clusters under success_rate_minimum_hosts', () => {
    const s = setup({ consecutive_5xx: 1000, success_rate_minimum_hosts: 5 }, 5);
    traffic(s, [0.5, 1, 1, 1, 1], 99);
    s.detector.sweep();
    traffic(s, [0, 1, 1, 1, 1], 99);
    s.detector.sweep();
    expect(s.hosts.filter(ejected)).toHaveLength(0);
    expect(s.detector.successRateSummary('external').average).toBe(-1);
  });

  it('ejects by failure percentage when enforced, with its own volume and host minimums', () => {
    const s = setup(
      {
        consecutive_5xx: 1000,
        enforcing_failure_percentage: 100,
        failure_percentage_minimum_hosts: 3,
        failure_percentage_request_volume: 20,
        failure_percentage_threshold: 60,
        success_rate_minimum_hosts: 100,
        max_ejection_percent: 100,
      },
      3,
    );
    traffic(s, [0.3, 0.5, 1], 20);
    s.detector.sweep();
    s.detector.sweep();
    expect(s.hosts.map(ejected)).toEqual([true, false, false]);
    expect(s.stat('ejections_detected_failure_percentage')).toBe(1);
    expect(s.stat('ejections_enforced_failure_percentage')).toBe(1);
  });
});

describe('membership and active health checks', () => {
  it('forgets removed hosts (and their ejection), ignoring later reports about them', () => {
    const s = setup({ consecutive_5xx: 1 });
    const gone = s.hosts[0]!;
    const monitor = s.monitor(gone);
    gone.outlier!.putHttpResponseCode(500);
    expect(s.stat('ejections_active')).toBe(1);
    s.ps.updateHosts(0, [{ hosts: s.hosts.slice(1), weight: 1 }], [], [gone]);
    expect(s.stat('ejections_active')).toBe(0);
    monitor.putHttpResponseCode(500);
    expect(s.stat('ejections_detected_consecutive_5xx')).toBe(1);
  });

  it('returns an ejected host whose active health check passes (successful_active_health_check_uneject_host)', () => {
    const s = setup({ consecutive_5xx: 1 });
    const host = s.hosts[0]!;
    host.outlier!.putHttpResponseCode(500);
    s.detector.onActiveHealthCheckSuccess(host);
    expect(ejected(host)).toBe(false);
    expect(s.stat('ejections_active')).toBe(0);
  });

  it('keeps the host out when that option is off', () => {
    const s = setup({ consecutive_5xx: 1, successful_active_health_check_uneject_host: false });
    const host = s.hosts[0]!;
    host.outlier!.putHttpResponseCode(500);
    s.detector.onActiveHealthCheckSuccess(host);
    expect(ejected(host)).toBe(true);
  });
});
