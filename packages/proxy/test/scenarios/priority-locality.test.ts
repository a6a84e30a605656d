/**
 * L3 priority-levels and L4 locality-weighted (labs-day14b): five pods, red/blue/green behind the
 * alias webservice1 (cn-north-1) and gray/black behind webservice2 (cn-north-2), a front proxy
 * with the course's cluster. Two changes to the course's config: health checks run 10x faster,
 * and the cluster's `http2_protocol_options: {}` is dropped — the sidecars' listeners accept
 * HTTP/1.1 as well (codec_type AUTO), and upstream HTTP/2 is another part of this work.
 *
 * Shares are asserted as Envoy computes them (integer health scores, normalized priority load,
 * panic per level, locality weights scaled by availability), with binomial tolerances.
 */
import { afterEach, describe, expect, it } from 'vitest';
import YAML from 'yaml';
import {
  AddressMap,
  binomialTolerance,
  fixture,
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

const PODS = [
  ['red', 'webservice1'],
  ['blue', 'webservice1'],
  ['green', 'webservice1'],
  ['gray', 'webservice2'],
  ['black', 'webservice2'],
] as const;
type Colour = (typeof PODS)[number][0];

/** The front proxy the notes describe: admin, `listener_http` on :80, vhost `backend`, `/` → webcluster1. */
function frontProxy(clustersFixture: string): string {
  const admin = YAML.parse(fixture('day14a-common-front-proxy.admin.yaml')) as Record<string, unknown>;
  const { clusters } = YAML.parse(fixture(clustersFixture)) as { clusters: Record<string, unknown>[] };
  for (const c of clusters) delete c.http2_protocol_options;
  const config = {
    ...admin,
    static_resources: {
      listeners: [
        {
          name: 'listener_http',
          address: { socket_address: { address: '0.0.0.0', port_value: 80 } },
          filter_chains: [
            {
              filters: [
                {
                  name: 'envoy.filters.network.http_connection_manager',
                  typed_config: {
                    '@type':
                      'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager',
                    codec_type: 'auto',
                    stat_prefix: 'ingress_http',
                    route_config: {
                      name: 'local_route',
                      virtual_hosts: [
                        {
                          name: 'backend',
                          domains: ['*'],
                          routes: [{ match: { prefix: '/' }, route: { cluster: 'webcluster1' } }],
                        },
                      ],
                    },
                    http_filters: [{ name: 'envoy.filters.http.router' }],
                  },
                },
              ],
            },
          ],
        },
      ],
      clusters,
    },
  };
  return speedUpHealthChecks(YAML.stringify(config), 10);
}

async function fivePods(subnet: string, loopback: string, clustersFixture: string) {
  const map = new AddressMap(subnet, loopback);
  await map.allocate(80, 8080, 9901);
  lab = new Lab(map);
  const ipOf = {} as Record<Colour, string>;
  for (const [i, [colour, alias]] of PODS.entries()) {
    const ip = `${subnet}${11 + i}`;
    ipOf[colour] = ip;
    await sidecarPod(lab, { ip, hostname: colour });
    lab.alias(alias, ip);
    lab.alias(colour, ip);
  }
  const front = await lab.proxy(frontProxy(clustersFixture), { self: `${subnet}2`, name: 'front-envoy' });
  const url = `http://${map.ip(`${subnet}2`)}:${map.port(80)}/hostname`;
  const key = (c: Colour) => `${map.ip(ipOf[c])}:${map.port(80)}`;
  const setLivez = async (c: Colour, value: 'OK' | 'FAIL') => {
    await request(`http://${map.ip(ipOf[c])}:${map.port(80)}/livez`, {
      method: 'POST',
      body: `livez=${value}`,
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    const want = value === 'FAIL' ? '/failed_active_hc' : 'healthy';
    await until(`${c} to be ${want}`, async () =>
      (await hostStat(front.admin, 'webcluster1', key(c), 'health_flags')) === want ? true : undefined,
    );
  };
  return { front, url, setLivez };
}

/** The share of `n` requests the given hosts answered, checked against Envoy's `p` within the binomial tolerance. */
function expectShare(counts: Map<string, number>, hosts: readonly string[], n: number, p: number): void {
  const observed = hosts.reduce((a, h) => a + (counts.get(h) ?? 0), 0);
  expect(
    Math.abs(observed - n * p),
    `${hosts.join('+')}: ${observed} of ${n}, expected ${p}`,
  ).toBeLessThanOrEqual(Math.max(binomialTolerance(n, p), 0));
}

describe('L3 priority-levels', () => {
  it('keeps traffic on P0 until its health (×1.5) drops below 100, then splits by health, and panics', async () => {
    const { front, url, setLivez } = await fivePods(
      '172.31.29.',
      '127.31.29.',
      'day14b-lab03-priority-levels.clusters.yaml',
    );
    const n = 200;
    // step 1: only the P0 group answers.
    expect([...(await tally(url, 30)).keys()].sort()).toEqual(['blue', 'green', 'red']);

    // steps 2–3: red fails; P0 health = min(100, 150 × 2/3) = 100, so P0 keeps everything.
    await setLivez('red', 'FAIL');
    expect([...(await tally(url, 30)).keys()].sort()).toEqual(['blue', 'green']);

    // steps 4–5: blue fails too; P0 health = 150 × 1/3 = 50, P1 = 100. The total is at least 100,
    // so there is no panic and P0 takes 50%, P1 50%. (The notes counted 11 of 17 on green, 65%,
    // and explain it as "overflow"; Envoy's formula gives 50/50, which is what is asserted.)
    await setLivez('blue', 'FAIL');
    let counts = await tally(url, n);
    expectShare(counts, ['green'], n, 0.5);
    expectShare(counts, ['gray', 'black'], n, 0.5);
    expect(counts.has('red') || counts.has('blue')).toBe(false);

    // All of P0 down: P1 takes everything.
    await setLivez('green', 'FAIL');
    expect([...(await tally(url, 30)).keys()].sort()).toEqual(['black', 'gray']);

    // Panic: only green left in P0 (33% < healthy_panic_threshold 49) and nothing in P1 (0%):
    // the normalized health (50) is below 100 and every level is in panic, so Envoy splits the load
    // by host count (P0 3/5, P1 2/5) and each level balances over all its hosts, healthy or not.
    await setLivez('green', 'OK');
    await setLivez('gray', 'FAIL');
    await setLivez('black', 'FAIL');
    counts = await tally(url, n);
    expectShare(counts, ['red', 'blue', 'green'], n, 0.6);
    expectShare(counts, ['gray', 'black'], n, 0.4);
    for (const c of ['red', 'blue', 'gray', 'black']) expect(counts.get(c) ?? 0).toBeGreaterThan(0);
    expect((await request(`${front.admin}/stats?filter=lb_healthy_panic`)).body).toMatch(
      /cluster\.webcluster1\.lb_healthy_panic: [1-9]/,
    );
  });
});

describe('L4 locality-weighted', () => {
  it('splits 1:2 by locality weight, and 10:14 when one of the two cn-north-2 hosts fails', async () => {
    const { url, setLivez } = await fivePods(
      '172.31.31.',
      '127.31.31.',
      'day14b-lab04-locality-weighted.clusters.yaml',
    );
    const coloured = ['red', 'blue', 'green'];
    const colourless = ['gray', 'black'];
    const n = 240;
    // step 1: weights 10 and 20, all hosts healthy: 1:2.
    let counts = await tally(url, n);
    expectShare(counts, coloured, n, 1 / 3);
    expectShare(counts, colourless, n, 2 / 3);

    // steps 2–3: gray fails. cn-north-2's availability is min(1, 1.4 × 1/2) = 0.7, its effective
    // weight 20 × 0.7 = 14 against cn-north-1's 10: colored 10/24, black 14/24 (the notes: 14:20).
    await setLivez('gray', 'FAIL');
    counts = await tally(url, n);
    expectShare(counts, coloured, n, 10 / 24);
    expectShare(counts, ['black'], n, 14 / 24);
    expect(counts.get('gray')).toBeUndefined();
  });
});
