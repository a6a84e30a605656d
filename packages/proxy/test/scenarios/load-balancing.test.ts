/**
 * The load-balancing labs (labs-day14a LAB 8 and LAB 9, labs-day14b L2): three pods red, blue,
 * green behind a front proxy, with the course's clusters. Ratios are checked against tolerances
 * derived from the sample size; health-check durations run 10x faster than the course's.
 */
import { afterEach, describe, expect, it } from 'vitest';
import {
  AddressMap,
  binomialTolerance,
  fixture,
  frontProxyConfig,
  hostStat,
  Lab,
  request,
  sidecarPod,
  speedUpHealthChecks,
  tally,
  until,
} from './harness.js';

let lab: Lab | undefined;
afterEach(async () => {
  await lab?.close();
  lab = undefined;
});

async function threePods(subnet: string, loopback: string, frontConfig: string) {
  const map = new AddressMap(subnet, loopback);
  await map.allocate(80, 8080, 9901);
  lab = new Lab(map);
  const colours = ['red', 'blue', 'green'] as const;
  for (const [i, colour] of colours.entries()) {
    const ip = `${subnet}${11 + i}`;
    await sidecarPod(lab, { ip, hostname: colour });
    lab.alias('myservice', ip);
    lab.alias(colour, ip);
  }
  const front = await lab.proxy(speedUpHealthChecks(frontConfig, 10), {
    self: `${subnet}2`,
    name: 'front-envoy',
  });
  return { map, front, url: `http://${map.ip(`${subnet}2`)}:${map.port(80)}/` };
}

describe('LAB 8 least-requests', () => {
  it('splits sequential requests 1:3:5 by endpoint weight, counted one request per iteration', async () => {
    const { url } = await threePods(
      '172.31.22.',
      '127.31.22.',
      frontProxyConfig('day14a-lab08-least-requests.clusters.yaml'),
    );
    const n = 450;
    const counts = await tally(url, n);
    const weights = { red: 1, blue: 3, green: 5 };
    for (const [colour, w] of Object.entries(weights)) {
      const p = w / 9;
      expect(Math.abs((counts.get(colour) ?? 0) - n * p)).toBeLessThan(binomialTolerance(n, p));
    }
  });

  it('under concurrent load, favours the heavier hosts without starving the light one', async () => {
    const { url } = await threePods(
      '172.31.22.',
      '127.41.22.',
      frontProxyConfig('day14a-lab08-least-requests.clusters.yaml'),
    );
    const counts = new Map<string, number>();
    await Promise.all(
      Array.from({ length: 10 }, async () => {
        for (let i = 0; i < 30; i++) {
          const r = await request(url);
          const name = /ServerName: (\w+)/.exec(r.body)![1]!;
          counts.set(name, (counts.get(name) ?? 0) + 1);
        }
      }),
    );
    expect((counts.get('red') ?? 0) > 0).toBe(true);
    expect(counts.get('red')!).toBeLessThan(counts.get('blue')!);
    expect(counts.get('blue')!).toBeLessThan(counts.get('green')!);
  });
});

describe('LAB 9 ring_hash_source_ip', () => {
  it('keeps each client address on one host, moves it when that host fails, and back when it recovers', async () => {
    const { map, front, url } = await threePods(
      '172.31.25.',
      '127.31.25.',
      frontProxyConfig('day14a-lab09-ring-hash-source-ip.front-envoy.yaml'),
    );
    // Clients at different source addresses (127.25.0.x), each sending several requests.
    const hostOf = new Map<string, string>();
    for (let c = 1; c <= 30; c++) {
      const localAddress = `127.25.0.${c}`;
      const counts = await tally(url, 4, { localAddress });
      expect(counts.size).toBe(1);
      hostOf.set(localAddress, [...counts.keys()][0]!);
    }
    // Thirty addresses over three hosts: every host gets some (the chance one gets none is ~1e-5).
    expect(new Set(hostOf.values()).size).toBe(3);

    // The notes: eject an endpoint and requests drift to the next node on the ring; they come back
    // when it recovers (this algorithm does not remember the move).
    const [client, colour] = [...hostOf.entries()].find(([, c]) => c === 'red')!;
    const redIp = '172.31.25.11';
    const redLivez = `http://${map.ip(redIp)}:${map.port(80)}/livez`;
    await request(redLivez, {
      method: 'POST',
      body: 'livez=FAIL',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    const redKey = `${map.ip(redIp)}:${map.port(80)}`;
    await until(
      'red to be marked unhealthy',
      async () =>
        (await hostStat(front.admin, 'web_cluster_01', redKey, 'health_flags')) === '/failed_active_hc',
      20_000,
    );
    const moved = await tally(url, 4, { localAddress: client });
    expect(moved.size).toBe(1);
    expect(moved.has(colour)).toBe(false);
    await request(redLivez, {
      method: 'POST',
      body: 'livez=OK',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    await until(
      'red to be healthy again',
      async () => (await hostStat(front.admin, 'web_cluster_01', redKey, 'health_flags')) === 'healthy',
      20_000,
    );
    expect(await tally(url, 4, { localAddress: client })).toEqual(new Map([[colour, 4]]));
  });
});

describe('L2 ring_hash_header', () => {
  it('keeps each User-Agent on one host, and different browsers spread over the hosts', async () => {
    const { url } = await threePods(
      '172.31.25.',
      '127.41.25.',
      fixture('day14b-lab02-ring-hash-header.front-envoy.yaml'),
    );
    const hostOf = new Map<string, string>();
    const agents = [
      'Chrome',
      '360',
      'Firefox',
      'Safari',
      'Edge',
      'Opera',
      'curl/7.58.0',
      'Brave',
      'Vivaldi',
      'UC',
      'QQBrowser',
      'Sogou',
      'w3m',
      'lynx',
      'Wget',
      'httpie',
      'Go-http-client',
      'okhttp',
      'python-requests',
      'Dalvik',
    ];
    for (const ua of agents) {
      const counts = await tally(url, 4, { headers: { 'User-Agent': ua } });
      expect(counts.size).toBe(1);
      hostOf.set(ua, [...counts.keys()][0]!);
    }
    // Twenty agents over three hosts land on at least two of them (all on one: ~(1/3)^19).
    expect(new Set(hostOf.values()).size).toBeGreaterThanOrEqual(2);
    // Without the header no hash policy applies and ring hash picks at random, so over many
    // requests more than one host answers.
    const noHash = await tally(url, 30, { headers: {} });
    expect(noHash.size).toBeGreaterThan(1);
  });
});
