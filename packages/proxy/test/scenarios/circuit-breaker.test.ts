/**
 * L6 circuit-breaker (labs-day14b): five pods, red/blue/green behind `webcluster1` whose breaker
 * allows one connection and one pending request, gray/black behind `webcluster2`; the sidecars
 * carry their own breakers (max_connections 1, max_pending_requests 1, max_retries 2). The front
 * proxy's config is the course's, verbatim.
 */
import { afterEach, describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { AddressMap, fixture, Lab, request, tally } from './harness.js';

let lab: Lab | undefined;
afterEach(async () => {
  await lab?.close();
  lab = undefined;
});

/** The standard sidecar with the lab's breakers on its local cluster. */
function sidecarWithBreakers(): string {
  const sidecar = YAML.parse(fixture('day14b-common-sidecar.envoy.yaml')) as {
    static_resources: { clusters: Record<string, unknown>[] };
  };
  const breakers = YAML.parse(
    fixture('day14b-lab06-circuit-breaker.sidecar-breakers.cluster.yaml'),
  ) as Record<string, unknown>;
  Object.assign(sidecar.static_resources.clusters[0]!, breakers);
  return YAML.stringify(sidecar);
}

describe('L6 circuit-breaker', () => {
  it('serves sequential requests, and under concurrent load answers overflows with 503 and moves the counters', async () => {
    const map = new AddressMap('172.31.35.', '127.31.35.');
    await map.allocate(80, 8080, 9901);
    lab = new Lab(map);
    const pods = [
      ['red', 'webservice1'],
      ['blue', 'webservice1'],
      ['green', 'webservice1'],
      ['gray', 'webservice2'],
      ['black', 'webservice2'],
    ] as const;
    for (const [i, [colour, alias]] of pods.entries()) {
      const ip = `172.31.35.${11 + i}`;
      await lab.demoapp({ ip, port: 8080, serverName: colour });
      await lab.proxy(sidecarWithBreakers(), { self: ip, name: `${colour}-sidecar` });
      lab.alias(alias, ip);
      lab.alias(colour, ip);
    }
    const front = await lab.proxy(fixture('day14b-lab06-circuit-breaker.front-envoy.yaml'), {
      self: '172.31.35.2',
      name: 'front-envoy',
    });
    const url = `http://${map.ip('172.31.35.2')}:${map.port(80)}/`;
    const stat = async (name: string) =>
      Number(
        new RegExp(`^${name.replaceAll('.', '\\.')}: (\\d+)$`, 'm').exec(
          (await request(`${front.admin}/stats?filter=${name}`)).body,
        )?.[1],
      );

    const clusters = (await request(`${front.admin}/clusters`)).body;
    expect(clusters).toContain('webcluster1::default_priority::max_connections::1\n');
    expect(clusters).toContain('webcluster1::default_priority::max_pending_requests::1\n');
    expect(clusters).toContain('webcluster1::default_priority::max_retries::3\n');

    // step 1: "manual curl never produces 5xx": nine sequential requests, round robin.
    expect(await tally(url, 9)).toEqual(
      new Map([
        ['red', 3],
        ['blue', 3],
        ['green', 3],
      ]),
    );
    expect(await stat('cluster.webcluster1.upstream_rq_pending_overflow')).toBe(0);

    // step 2: send-requests.sh fires 300 requests at once.
    const responses = await Promise.all(Array.from({ length: 300 }, () => request(url)));
    const ok = responses.filter((r) => r.status === 200);
    const overflowed = responses.filter((r) => r.status === 503);
    expect(ok.length + overflowed.length).toBe(300);
    expect(ok.length).toBeGreaterThan(0);
    expect(overflowed.length).toBeGreaterThan(0);
    for (const r of overflowed) {
      expect(r.headers['x-envoy-overloaded']).toBe('true');
      expect(r.body).toBe(
        'upstream connect error or disconnect/reset before headers. reset reason: overflow',
      );
    }
    // Every 503 is a request the pending-queue breaker (or the request breaker) turned away...
    expect(await stat('cluster.webcluster1.upstream_rq_pending_overflow')).toBe(overflowed.length);
    // ...while requests that queued found the one connection busy and could not open another.
    expect(await stat('cluster.webcluster1.upstream_cx_overflow')).toBeGreaterThan(0);
    expect(await stat('cluster.webcluster1.upstream_rq_200')).toBe(9 + ok.length);
    // At rest the queue is empty, and the one (keep-alive) connection keeps the connection breaker at its limit.
    expect(await stat('cluster.webcluster1.circuit_breakers.default.rq_pending_open')).toBe(0);
    expect(await stat('cluster.webcluster1.circuit_breakers.default.cx_open')).toBe(1);
    // The other cluster has no breaker to speak of and saw nothing of this.
    expect(await stat('cluster.webcluster2.upstream_rq_pending_overflow')).toBe(0);
    expect((await request(`${url}livez`)).body).toBe('OK');
  });
});
