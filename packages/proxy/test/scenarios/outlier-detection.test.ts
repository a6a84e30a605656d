/**
 * LAB 7 outlier-detection (labs-day14a §2.8): three pods red, blue, green behind a front proxy
 * whose cluster ejects a host after 3 consecutive 5xx for base_ejection_time 10 s (no active
 * health check). The lab waits tens of seconds per ejection, so this test runs the detector 5x
 * faster: base_ejection_time 2 s and the (default 10 s) sweep interval 2 s; consecutive_5xx and
 * max_ejection_percent are the course's.
 */
import { afterEach, describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { AddressMap, frontProxyConfig, hostStat, Lab, request, sidecarPod, until } from './harness.js';

let lab: Lab | undefined;
afterEach(async () => {
  await lab?.close();
  lab = undefined;
});

const SPEEDUP = 5;

/** Divides the outlier detector's durations (and its default 10 s interval) by `factor`. */
function speedUpOutlierDetection(yamlText: string, factor: number): string {
  const doc = YAML.parse(yamlText) as {
    static_resources: { clusters: { outlier_detection?: Record<string, unknown> }[] };
  };
  for (const c of doc.static_resources.clusters) {
    const od = c.outlier_detection;
    if (!od) continue;
    od.interval ??= '10s';
    for (const key of ['interval', 'base_ejection_time', 'max_ejection_time']) {
      const v = od[key];
      if (typeof v === 'string' && v.endsWith('s')) od[key] = `${Number(v.slice(0, -1)) / factor}s`;
    }
  }
  return YAML.stringify(doc);
}

interface Sample {
  t: number;
  body: string;
}

describe('LAB 7 outlier-detection', () => {
  it('ejects red right after its 3rd consecutive 5xx, returns it after ~base, then keeps it out longer each time', async () => {
    const map = new AddressMap('172.31.20.', '127.31.20.');
    await map.allocate(80, 8080, 9901);
    lab = new Lab(map);
    for (const [i, colour] of ['red', 'blue', 'green'].entries()) {
      const ip = `172.31.20.${11 + i}`;
      await sidecarPod(lab, { ip, hostname: colour });
      lab.alias('myservice', ip);
    }
    const front = await lab.proxy(
      speedUpOutlierDetection(frontProxyConfig('day14a-lab07-outlier-detection.clusters.yaml'), SPEEDUP),
      { self: '172.31.20.2', name: 'front-envoy' },
    );
    const url = `http://${map.ip('172.31.20.2')}:${map.port(80)}/livez`;
    const redLivez = `http://${map.ip('172.31.20.11')}:${map.port(80)}/livez`;
    const redKey = `${map.ip('172.31.20.11')}:${map.port(80)}`;
    const flip = (value: 'OK' | 'FAIL') =>
      request(redLivez, {
        method: 'POST',
        body: `livez=${value}`,
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
      });
    const stat = async (name: string) =>
      Number(
        new RegExp(`${name.replaceAll('.', '\\.')}: (\\d+)`).exec(
          (await request(`${front.admin}/stats?filter=${name}`)).body,
        )?.[1],
      );

    // step 1 of the lab: a client polling /livez (every 100 ms here, 500 ms in the notes).
    const samples: Sample[] = [];
    let polling = true;
    const poller = (async () => {
      while (polling) {
        const r = await request(url);
        samples.push({ t: performance.now(), body: r.body });
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    })();
    await until('OK responses', async () => samples.length >= 6);
    expect(samples.every((s) => s.body === 'OK')).toBe(true);

    // step 2: red's app answers 506 from now on.
    await flip('FAIL');
    const bursts = () => failBursts(samples);
    await until('red to be ejected', async () =>
      (await hostStat(front.admin, 'web_cluster_01', redKey, 'health_flags')) === '/failed_outlier_check'
        ? true
        : undefined,
    );
    expect(await stat('cluster.web_cluster_01.outlier_detection.ejections_active')).toBe(1);
    // Three hosts are fewer than success_rate_minimum_hosts (5): no success rates are computed.
    expect((await request(`${front.admin}/clusters`)).body).toContain(
      'web_cluster_01::outlier::success_rate_average::-1\n',
    );
    await until('a 4th ejection', async () => bursts()[3]?.fails === 3, 60_000);

    // step 5: red's app recovers, but it waits out its current (4th) ejection before it serves again.
    await flip('OK');
    const recovered = performance.now();
    await until(
      'red to be back in service',
      async () =>
        (await hostStat(front.admin, 'web_cluster_01', redKey, 'health_flags')) === 'healthy'
          ? true
          : undefined,
      60_000,
    );
    const returnedAfter = performance.now() - recovered;
    polling = false;
    await poller;

    // Every burst is exactly 3 FAILs, two OKs apart (round robin over 3 hosts): red never gets a
    // 4th request once the 3rd consecutive 5xx is in.
    const all = bursts();
    for (const b of all.slice(0, 4)) {
      expect(b.fails).toBe(3);
      expect(b.oksBetween).toEqual([2, 2]);
    }
    // The quiet gaps between bursts: ejection n lasts base × n (2 s, 4 s, 6 s here), returned at
    // the first sweep after it ran out (2 s sweeps), so n·2 s ≤ gap < n·2 s + 2 s (+ scheduling slack).
    const base = 10_000 / SPEEDUP;
    const interval = 10_000 / SPEEDUP;
    const gaps = all.slice(1, 4).map((b, i) => b.start - all[i]!.end);
    gaps.forEach((gap, i) => {
      // (less a little: the client hears of the 3rd 5xx a moment after the proxy ejected the host)
      expect(gap).toBeGreaterThanOrEqual(base * (i + 1) - 300);
      expect(gap).toBeLessThan(base * (i + 1) + interval + 1500);
    });
    expect(gaps[1]!).toBeGreaterThan(gaps[0]!);
    expect(gaps[2]!).toBeGreaterThan(gaps[1]!);
    // The 4th ejection lasts base × 4 = 8 s; red recovered inside it and still waited for the end.
    expect(returnedAfter).toBeGreaterThan(base * 4 - 1000);
    expect(returnedAfter).toBeLessThan(base * 4 + interval + 1500);
    expect(await stat('cluster.web_cluster_01.outlier_detection.ejections_enforced_consecutive_5xx')).toBe(
      all.length,
    );
    expect(await stat('cluster.web_cluster_01.outlier_detection.ejections_active')).toBe(0);
    // The FAIL bodies reached the client: outlier detection does not retry.
    expect(samples.filter((s) => s.body === 'FAIL')).toHaveLength(3 * all.length);

    // step 6: red serves again, in rotation.
    const after = await Promise.all(Array.from({ length: 6 }, () => request(url)));
    expect(after.every((r) => r.body === 'OK')).toBe(true);
    expect(await hostStat(front.admin, 'web_cluster_01', redKey, 'rq_success')).not.toBe('0');
  });
});

interface Burst {
  start: number;
  end: number;
  fails: number;
  /** OK responses between consecutive FAILs of the burst. */
  oksBetween: number[];
}

/** Runs of FAIL responses separated only by short OK runs (fewer than 3 OKs) form one burst. */
function failBursts(samples: Sample[]): Burst[] {
  const bursts: Burst[] = [];
  let current: Burst | undefined;
  let oks = 0;
  for (const s of samples) {
    if (s.body !== 'FAIL') {
      oks++;
      continue;
    }
    if (current && oks < 3) {
      current.oksBetween.push(oks);
      current.fails++;
      current.end = s.t;
    } else {
      current = { start: s.t, end: s.t, fails: 1, oksBetween: [] };
      bursts.push(current);
    }
    oks = 0;
  }
  return bursts;
}
