/**
 * Subset load balancing on the course's worked example (labs-day14b §5.8, lab L5): seven hosts
 * e1–e7, four selectors, DEFAULT_SUBSET fallback to stage=prod, version=1.0, type=std.
 */
import { describe, expect, it } from 'vitest';
import type { LbSubsetConfig, Struct } from '../../config/types.js';
import { Host, PrioritySet } from '../host.js';
import { createLoadBalancer } from './index.js';
import { countPicks, lbParams } from './test-support.js';

const METADATA: Record<string, Struct> = {
  e1: { stage: 'prod', version: '1.0', type: 'std', xlarge: true },
  e2: { stage: 'prod', version: '1.0', type: 'std' },
  e3: { stage: 'prod', version: '1.1', type: 'std' },
  e4: { stage: 'prod', version: '1.1', type: 'std' },
  e5: { stage: 'prod', version: '1.0', type: 'bigmem' },
  e6: { stage: 'prod', version: '1.1', type: 'bigmem' },
  e7: { stage: 'dev', version: '1.2-pre', type: 'std' },
};

const LAB_SUBSETS: LbSubsetConfig = {
  fallback_policy: 'DEFAULT_SUBSET',
  default_subset: { stage: 'prod', version: '1.0', type: 'std' },
  subset_selectors: [
    { keys: ['stage', 'type'] },
    { keys: ['stage', 'version'] },
    { keys: ['version'] },
    { keys: ['xlarge', 'version'] },
  ],
};

function hostsOf(metadata: Record<string, Struct>): Host[] {
  return Object.entries(metadata).map(
    ([name, md], i) =>
      new Host({
        address: `10.0.0.${i + 1}`,
        port: 80,
        hostname: name,
        metadata: { filter_metadata: { 'envoy.lb': md } },
      }),
  );
}

function setup(subsets: LbSubsetConfig, metadata = METADATA) {
  const ps = new PrioritySet();
  const hosts = hostsOf(metadata);
  ps.updateHosts(0, [{ hosts, weight: 1 }], hosts, []);
  const { params, store } = lbParams(ps, { lb_subset_config: subsets });
  const lb = createLoadBalancer(params);
  const stat = (name: string) =>
    [...store.counters(), ...store.gauges()].find((s) => s.name === `cluster.test.${name}`)!.value;
  /** Host names picked for `criteria` over `n` picks (each name once per pick). */
  const picks = (criteria: Struct | undefined, n = 12) => {
    const names: string[] = [];
    for (let i = 0; i < n; i++) names.push(lb.chooseHost({ metadataMatch: criteria })?.hostname ?? 'none');
    return names;
  };
  const set = (criteria: Struct | undefined) => [...new Set(picks(criteria))].sort();
  return { ps, hosts, lb, stat, picks, set };
}

describe('subsets of the lab L5 example', () => {
  it('builds the 10 subsets the notes list', () => {
    const { stat } = setup(LAB_SUBSETS);
    expect(stat('lb_subsets_active')).toBe(10);
    expect(stat('lb_subsets_created')).toBe(10);
  });

  it('routes each metadata_match of the lab to its subset, round robin inside it', () => {
    const { set, picks, stat } = setup(LAB_SUBSETS);
    expect(set({ version: '1.2-pre', stage: 'dev' })).toEqual(['e7']);
    expect(picks({ type: 'bigmem', stage: 'prod' }, 4)).toSatisfy(
      (p: string[]) => p[0] !== p[1] && p[0] === p[2] && p[1] === p[3] && new Set(p).size === 2,
    );
    expect(set({ type: 'bigmem', stage: 'prod' })).toEqual(['e5', 'e6']);
    // The weighted clusters' matches merged with the route's stage=prod.
    expect(set({ stage: 'prod', version: '1.0' })).toEqual(['e1', 'e2', 'e5']);
    expect(set({ stage: 'prod', version: '1.1' })).toEqual(['e3', 'e4', 'e6']);
    expect(set({ version: '1.1' })).toEqual(['e3', 'e4', 'e6']);
    expect(set({ xlarge: true, version: '1.0' })).toEqual(['e1']);
    expect(stat('lb_subsets_selected')).toBeGreaterThan(0);
    expect(stat('lb_subsets_fallback')).toBe(0);
  });

  it('falls back to the default subset when no selector has exactly the keys, or no host the values', () => {
    const { set, stat } = setup(LAB_SUBSETS);
    // No selector is [stage] alone: Envoy looks subsets up by their exact key set.
    expect(set({ stage: 'prod' })).toEqual(['e1', 'e2']);
    expect(set({ stage: 'prod', version: '2.0' })).toEqual(['e1', 'e2']);
    // Metadata values are typed: the string "true" is not the boolean true.
    expect(set({ xlarge: 'true', version: '1.0' })).toEqual(['e1', 'e2']);
    expect(set(undefined)).toEqual(['e1', 'e2']);
    expect(stat('lb_subsets_fallback')).toBe(4 * 12);
  });

  it('NO_FALLBACK finds no host; ANY_ENDPOINT balances over all of them', () => {
    expect(setup({ ...LAB_SUBSETS, fallback_policy: 'NO_FALLBACK' }).set({ stage: 'prod' })).toEqual([
      'none',
    ]);
    expect(setup({ ...LAB_SUBSETS, fallback_policy: 'ANY_ENDPOINT' }).set({ stage: 'prod' })).toHaveLength(7);
  });

  it('keeps an unhealthy subset chosen: its balancer panics rather than falling back', () => {
    const { hosts, ps, set, stat } = setup(LAB_SUBSETS);
    hosts[6]!.setFlag('failed_active_hc');
    ps.refreshHealth();
    expect(set({ version: '1.2-pre', stage: 'dev' })).toEqual(['e7']);
    expect(stat('lb_healthy_panic')).toBeGreaterThan(0);
    // Healthy hosts of a subset are preferred while there are enough of them.
    hosts[0]!.setFlag('failed_active_hc');
    ps.refreshHealth();
    expect(set({ stage: 'prod', version: '1.0' })).toEqual(['e2', 'e5']);
  });

  it('removes subsets whose hosts all left, and creates new ones for new values', () => {
    const { hosts, ps, set, stat } = setup(LAB_SUBSETS);
    const [e7] = hosts.slice(6);
    const e8 = hostsOf({ e8: { stage: 'canary', version: '2.0' } })[0]!;
    ps.updateHosts(0, [{ hosts: [...hosts.slice(0, 6), e8], weight: 1 }], [e8], [e7!]);
    // e7's 3 subsets go, e8 brings stage=canary,version=2.0 and version=2.0.
    expect(stat('lb_subsets_removed')).toBe(3);
    expect(stat('lb_subsets_active')).toBe(9);
    expect(set({ stage: 'canary', version: '2.0' })).toEqual(['e8']);
    expect(set({ version: '1.2-pre', stage: 'dev' })).toEqual(['e1', 'e2']);
  });
});

describe('subset options', () => {
  it('single_host_per_subset keeps the first host of each subset and counts the others', () => {
    const { set, stat } = setup({ subset_selectors: [{ keys: ['version'], single_host_per_subset: true }] });
    expect(set({ version: '1.1' })).toEqual(['e3']);
    expect(stat('lb_subsets_single_host_per_subset_duplicate')).toBe(4);
  });

  it("a selector's own fallback applies to criteria with exactly its keys: KEYS_SUBSET retries with fewer", () => {
    const { set } = setup({
      fallback_policy: 'NO_FALLBACK',
      subset_selectors: [
        { keys: ['stage', 'type'], fallback_policy: 'KEYS_SUBSET', fallback_keys_subset: ['stage'] },
        { keys: ['stage'] },
        { keys: ['version'], fallback_policy: 'ANY_ENDPOINT' },
      ],
    });
    expect(set({ stage: 'dev', type: 'bigmem' })).toEqual(['e7']);
    expect(set({ version: '9' })).toHaveLength(7);
    expect(set({ type: 'std' })).toEqual(['none']);
  });

  it('panic_mode_any falls back to every host when the fallback subset has none', () => {
    const config: LbSubsetConfig = { ...LAB_SUBSETS, default_subset: { stage: 'qa' } };
    expect(setup(config).set({ stage: 'prod' })).toEqual(['none']);
    const { set, stat } = setup({ ...config, panic_mode_any: true });
    expect(set({ stage: 'prod' })).toHaveLength(7);
    expect(stat('lb_subsets_fallback_panic')).toBe(12);
  });

  it('list_as_any: a host whose value is a list is in the subset of each element', () => {
    const { set } = setup(
      { subset_selectors: [{ keys: ['zone'] }] },
      { a: { zone: ['z1', 'z2'] }, b: { zone: 'z2' }, c: { zone: ['z1', 'z2'] } },
    );
    expect(set({ zone: 'z1' })).toEqual(['none']);
    const any = setup(
      { subset_selectors: [{ keys: ['zone'] }], list_as_any: true },
      { a: { zone: ['z1', 'z2'] }, b: { zone: 'z2' }, c: { zone: 'z3' } },
    );
    expect(any.set({ zone: 'z1' })).toEqual(['a']);
    expect(any.set({ zone: 'z2' })).toEqual(['a', 'b']);
  });

  it('metadata_fallback_policy FALLBACK_LIST tries each fallback_list entry over the rest of the criteria', () => {
    const { set } = setup({
      ...LAB_SUBSETS,
      fallback_policy: 'NO_FALLBACK',
      metadata_fallback_policy: 'FALLBACK_LIST',
    });
    expect(set({ stage: 'prod', fallback_list: [{ version: '9' }, { version: '1.1' }] })).toEqual([
      'e3',
      'e4',
      'e6',
    ]);
    expect(set({ stage: 'prod', fallback_list: [{ version: '9' }] })).toEqual(['none']);
  });

  it('balances within a subset by the weights of its hosts (the cluster lb_policy)', () => {
    const ps = new PrioritySet();
    const hosts = hostsOf({ a: { v: '1' }, b: { v: '1' }, c: { v: '2' } });
    hosts[0]!.weight = 1;
    hosts[1]!.weight = 3;
    ps.updateHosts(0, [{ hosts, weight: 1 }], hosts, []);
    const lb = createLoadBalancer(
      lbParams(ps, { lb_subset_config: { subset_selectors: [{ keys: ['v'] }] } }).params,
    );
    const counts = countPicks(() => lb.chooseHost({ metadataMatch: { v: '1' } }), 400);
    expect([counts.get(hosts[0]!.key), counts.get(hosts[1]!.key)]).toEqual([100, 300]);
  });
});
