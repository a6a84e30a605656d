/**
 * L5 lb-subsets (labs-day14b): seven demoapps e1–e7 without sidecars, the front proxy's config
 * verbatim except that the notes abridge endpoints e3–e7 ("same shape, address eN, port 80"),
 * which are written out here from the notes' metadata table. Health checks run 10x faster.
 */
import { afterEach, describe, expect, it } from 'vitest';
import YAML from 'yaml';
import {
  AddressMap,
  binomialTolerance,
  fixture,
  Lab,
  request,
  speedUpHealthChecks,
  tally,
} from './harness.js';

let lab: Lab | undefined;
afterEach(async () => {
  await lab?.close();
  lab = undefined;
});

/** envoy.lb metadata of e3–e7, from the notes' table (§5.8). */
const ABRIDGED: Record<string, Record<string, string>> = {
  e3: { stage: 'prod', version: '1.1', type: 'std' },
  e4: { stage: 'prod', version: '1.1', type: 'std' },
  e5: { stage: 'prod', version: '1.0', type: 'bigmem' },
  e6: { stage: 'prod', version: '1.1', type: 'bigmem' },
  e7: { stage: 'dev', version: '1.2-pre', type: 'std' },
};

function labConfig(): string {
  const doc = YAML.parse(fixture('day14b-lab05-lb-subsets.front-envoy.yaml')) as {
    static_resources: { clusters: { load_assignment: { endpoints: { lb_endpoints: unknown[] }[] } }[] };
  };
  const endpoints = doc.static_resources.clusters[0]!.load_assignment.endpoints[0]!.lb_endpoints;
  for (const [name, metadata] of Object.entries(ABRIDGED)) {
    endpoints.push({
      endpoint: { address: { socket_address: { address: name, port_value: 80 } } },
      metadata: { filter_metadata: { 'envoy.lb': metadata } },
    });
  }
  return speedUpHealthChecks(YAML.stringify(doc), 10);
}

describe('L5 lb-subsets', () => {
  it('sends 90% to version 1.0 and 10% to 1.1, x-hardware-test to e5/e6, x-custom-version to e7', async () => {
    const map = new AddressMap('172.31.33.', '127.31.33.');
    await map.allocate(80, 9901);
    lab = new Lab(map);
    for (let i = 1; i <= 7; i++) {
      const ip = `172.31.33.${10 + i}`;
      await lab.demoapp({ ip, port: 80, serverName: `e${i}` });
      lab.alias(`e${i}`, ip);
    }
    const front = await lab.proxy(labConfig(), { self: '172.31.33.2', name: 'front-envoy' });
    const url = `http://${map.ip('172.31.33.2')}:${map.port(80)}/hostname`;

    // Selectors [stage,type], [stage,version], [version], [xlarge,version]: the notes' 10 subsets.
    expect((await request(`${front.admin}/stats?filter=lb_subsets_active`)).body).toContain(
      'cluster.webcluster1.lb_subsets_active: 10',
    );

    // step 1: test.sh, 200 requests without headers. The weighted clusters add version 1.0 (90)
    // or 1.1 (10) to the route's stage=prod: subsets {e1,e2,e5} and {e3,e4,e6}.
    const n = 200;
    const counts = await tally(url, n);
    const v10 = ['e1', 'e2', 'e5'].reduce((a, e) => a + (counts.get(e) ?? 0), 0);
    const v11 = ['e3', 'e4', 'e6'].reduce((a, e) => a + (counts.get(e) ?? 0), 0);
    expect(v10 + v11).toBe(n);
    expect(Math.abs(v10 - 0.9 * n)).toBeLessThan(binomialTolerance(n, 0.9));
    // Within the 1.0 subset, round robin spreads over its three hosts.
    for (const e of ['e1', 'e2', 'e5']) expect(counts.get(e) ?? 0).toBeGreaterThan(0);
    expect(counts.get('e7')).toBeUndefined();

    // step 2: "e5 and e6 take turns".
    const memory = [];
    for (let i = 0; i < 8; i++)
      memory.push((await request(url, { headers: { 'x-hardware-test': 'memory' } })).body.trim());
    expect(new Set(memory)).toEqual(new Set(['ServerName: e5', 'ServerName: e6']));
    for (let i = 1; i < memory.length; i++) expect(memory[i]).not.toBe(memory[i - 1]);

    // step 3: only e7 serves the pre-release subset; with both headers the first route still wins.
    expect(await tally(url, 6, { headers: { 'x-custom-version': 'pre-release' } })).toEqual(
      new Map([['e7', 6]]),
    );
    expect(
      await tally(url, 4, { headers: { 'x-custom-version': 'pre-release', 'x-hardware-test': 'memory' } }),
    ).toEqual(new Map([['e7', 4]]));
    const stats = (await request(`${front.admin}/stats?filter=lb_subsets`)).body;
    expect(stats).toMatch(/cluster\.webcluster1\.lb_subsets_selected: [1-9]/);
    expect(stats).toContain('cluster.webcluster1.lb_subsets_fallback: 0');
  });
});
