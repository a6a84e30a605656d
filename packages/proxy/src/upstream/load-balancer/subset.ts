/**
 * Load-balancer subsets (`lb_subset_config`), after Envoy's SubsetLoadBalancer
 * (source/extensions/load_balancing_policies/subset/subset_lb.cc).
 *
 * Each selector's keys partition the hosts by their `envoy.lb` metadata values: every distinct
 * combination of values among hosts that have all the keys is a subset. Subsets live in a trie,
 * keyed by key name then value, in sorted key order, so a request's `metadata_match` finds its
 * subset by walking its own (sorted) criteria: it must name exactly a selector's keys. Each subset
 * has its own priority set (the cluster's host sets, filtered) and its own load balancer of the
 * cluster's `lb_policy`, which sees the hosts' health like the cluster's does.
 *
 * When the request names no subset, or one with no hosts, the selector's `fallback_policy` (when
 * the criteria name exactly its keys) or else the cluster's applies: NO_FALLBACK (no host),
 * ANY_ENDPOINT (every host), DEFAULT_SUBSET (hosts matching `default_subset`); KEYS_SUBSET retries
 * with fewer keys. With `panic_mode_any`, a fallback that finds no host falls back to every host.
 */
import type { LbSubsetConfig, Struct } from '../../config/types.js';
import { type Host, PrioritySet } from '../host.js';
import type { LoadBalancer, LoadBalancerContext, LoadBalancerParams, LoadBalancerStats } from './types.js';

type SelectorFallback = 'NOT_DEFINED' | 'NO_FALLBACK' | 'ANY_ENDPOINT' | 'DEFAULT_SUBSET' | 'KEYS_SUBSET';

interface Selector {
  /** Sorted, as Envoy keeps them in a set. */
  keys: string[];
  singleHostPerSubset: boolean;
  fallback: SelectorFallback;
  fallbackKeys: string[];
}

/** One key–value pair of host metadata or of a request's criteria. */
type Kv = [key: string, value: unknown];

/** A canonical spelling of a protobuf Value, so typed values compare as Envoy compares them (`true` ≠ `"true"`). */
function valueKey(v: unknown): string {
  if (v && typeof v === 'object' && !Array.isArray(v)) {
    const o = v as Record<string, unknown>;
    return `{${Object.keys(o)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${valueKey(o[k])}`)
      .join(',')}}`;
  }
  if (Array.isArray(v)) return `[${v.map(valueKey).join(',')}]`;
  return JSON.stringify(v ?? null);
}

/** A set of hosts with its own load balancer. */
interface Subset {
  /** Records that `host` (of `priority`) belongs here after this update. */
  push(priority: number, host: Host): void;
  /** Installs what was pushed for `priority` since the last finalize. */
  finalize(priority: number): void;
  /** Has any host, healthy or not. */
  active(): boolean;
  chooseHost(context: LoadBalancerContext | undefined): Host | undefined;
}

/**
 * A subset balanced by the cluster's policy over a filtered copy of the cluster's host sets
 * (Envoy's PriorityLbSubset): same priorities, overprovisioning factor and health; locality
 * weights only with `locality_weight_aware` (scaled to the subset's share of each locality with
 * `scale_locality_weight`).
 */
class PrioritySubset implements Subset {
  private readonly prioritySet = new PrioritySet();
  private readonly lb: LoadBalancer;
  private readonly pending = new Map<number, Set<Host>>();

  constructor(
    private readonly original: PrioritySet,
    createLb: (prioritySet: PrioritySet) => LoadBalancer,
    private readonly localityWeightAware: boolean,
    private readonly scaleLocalityWeight: boolean,
  ) {
    this.prioritySet.getOrCreateHostSet(0);
    this.lb = createLb(this.prioritySet);
  }

  push(priority: number, host: Host): void {
    let hosts = this.pending.get(priority);
    if (!hosts) {
      hosts = new Set();
      this.pending.set(priority, hosts);
    }
    hosts.add(host);
  }

  finalize(priority: number): void {
    const members = this.pending.get(priority) ?? new Set<Host>();
    this.pending.delete(priority);
    const hs = this.original.hostSetsPerPriority[priority]!;
    const perLocality = hs.hostsPerLocality.map((l) => l.filter((h) => members.has(h)));
    let localities: { hosts: Host[]; weight: number }[];
    if (!this.localityWeightAware) {
      localities = [{ hosts: hs.hosts.filter((h) => members.has(h)), weight: 1 }];
    } else {
      localities = perLocality.map((hosts, i) => {
        const weight = hs.localityWeights[i] ?? 1;
        const all = hs.hostsPerLocality[i]!.length;
        if (!this.scaleLocalityWeight) return { hosts, weight };
        return { hosts, weight: all === 0 ? 0 : Math.round((weight * hosts.length) / all) };
      });
    }
    this.prioritySet.updateHosts(priority, localities, [], [], hs.overprovisioningFactor);
  }

  active(): boolean {
    return this.prioritySet.hostSetsPerPriority.some((hs) => hs.hosts.length > 0);
  }

  chooseHost(context: LoadBalancerContext | undefined): Host | undefined {
    return this.lb.chooseHost(context);
  }
}

/**
 * A `single_host_per_subset` subset: its one host (the first with the values, at the highest
 * priority), whatever its health (Envoy's SingleHostLbSubset).
 */
class SingleHostSubset implements Subset {
  private readonly hosts = new Map<number, Host>();
  private readonly pending = new Map<number, Host>();

  push(priority: number, host: Host): void {
    this.pending.set(priority, host);
  }

  finalize(priority: number): void {
    const host = this.pending.get(priority);
    this.pending.delete(priority);
    if (host) this.hosts.set(priority, host);
    else this.hosts.delete(priority);
  }

  active(): boolean {
    return this.hosts.size > 0;
  }

  chooseHost(): Host | undefined {
    return this.hosts.get(Math.min(...this.hosts.keys()));
  }
}

/** A node of the subset trie: the subset its path of key–values names, and the deeper ones. */
interface Entry {
  subset: Subset | undefined;
  children: Trie;
}
/** key → value (canonical) → entry. */
type Trie = Map<string, Map<string, Entry>>;

/** The selector trie: per key path, the fallback of the selector that ends there. */
interface SelectorNode {
  fallback: Selector | undefined;
  children: Map<string, SelectorNode>;
}

export class SubsetLoadBalancer implements LoadBalancer {
  private readonly stats: LoadBalancerStats;
  private readonly selectors: Selector[];
  private readonly selectorTrie: SelectorNode = { fallback: undefined, children: new Map() };
  private readonly subsets: Trie = new Map();
  private readonly defaultMetadata: Kv[];
  private readonly listAsAny: boolean;
  private readonly fallbackList: boolean;
  private readonly localityWeightAware: boolean;
  private readonly scaleLocalityWeight: boolean;
  private anySubset: PrioritySubset | undefined;
  private defaultSubset: PrioritySubset | undefined;
  /** The cluster's fallback: undefined for NO_FALLBACK. */
  private readonly fallback: PrioritySubset | undefined;
  private readonly panic: PrioritySubset | undefined;

  constructor(
    private readonly params: LoadBalancerParams,
    config: LbSubsetConfig,
    /** The cluster's policy over another priority set. */
    private readonly createLb: (prioritySet: PrioritySet) => LoadBalancer,
  ) {
    this.stats = params.stats;
    this.listAsAny = config.list_as_any === true;
    this.localityWeightAware = config.locality_weight_aware === true;
    this.scaleLocalityWeight = config.scale_locality_weight === true;
    this.fallbackList = config.metadata_fallback_policy === 'FALLBACK_LIST';
    this.defaultMetadata = Object.entries(config.default_subset ?? {});
    this.selectors = (config.subset_selectors ?? []).map((s) => ({
      keys: [...new Set(s.keys ?? [])].sort(),
      singleHostPerSubset: s.single_host_per_subset === true,
      fallback: s.fallback_policy ?? 'NOT_DEFINED',
      fallbackKeys: s.fallback_keys_subset ?? [],
    }));
    for (const s of this.selectors) this.addSelector(s);
    const policy = config.fallback_policy ?? 'NO_FALLBACK';
    if (policy === 'ANY_ENDPOINT') this.fallback = this.any();
    else if (policy === 'DEFAULT_SUBSET') this.fallback = this.defaults();
    if (config.panic_mode_any) this.panic = this.any();
    for (const hs of params.prioritySet.hostSetsPerPriority) this.update(hs.priority);
    params.prioritySet.onMembershipUpdate((priority) => {
      this.update(priority);
      this.purge(this.subsets);
    });
  }

  private newSubset(): PrioritySubset {
    return new PrioritySubset(
      this.params.prioritySet,
      this.createLb,
      this.localityWeightAware,
      this.scaleLocalityWeight,
    );
  }

  private any(): PrioritySubset {
    this.anySubset ??= this.newSubset();
    return this.anySubset;
  }

  private defaults(): PrioritySubset {
    this.defaultSubset ??= this.newSubset();
    return this.defaultSubset;
  }

  private addSelector(s: Selector): void {
    let node = this.selectorTrie;
    for (const key of s.keys) {
      let child = node.children.get(key);
      if (!child) {
        child = { fallback: undefined, children: new Map() };
        node.children.set(key, child);
      }
      node = child;
    }
    node.fallback ??= s;
    if (s.fallback === 'ANY_ENDPOINT') this.any();
    else if (s.fallback === 'DEFAULT_SUBSET') this.defaults();
  }

  // ---- building subsets ----

  /** Re-sorts one priority's hosts into the subsets (health changes included: subsets recompute too). */
  private update(priority: number): void {
    const hosts = this.params.prioritySet.hostSetsPerPriority[priority]?.hosts ?? [];
    for (const h of hosts) {
      this.anySubset?.push(priority, h);
      if (this.defaultSubset && this.hostMatches(this.defaultMetadata, h))
        this.defaultSubset.push(priority, h);
    }
    this.anySubset?.finalize(priority);
    this.defaultSubset?.finalize(priority);

    const singleHostTaken = new Set<Entry>();
    let duplicates = 0;
    for (const h of hosts) {
      for (const selector of this.selectors) {
        for (const kvs of this.extract(selector.keys, h)) {
          const entry = this.findOrCreate(this.subsets, kvs, 0);
          if (!entry.subset) {
            entry.subset = selector.singleHostPerSubset ? new SingleHostSubset() : this.newSubset();
            this.stats.lb_subsets_active.inc();
            this.stats.lb_subsets_created.inc();
          }
          if (entry.subset instanceof SingleHostSubset) {
            if (singleHostTaken.has(entry)) {
              duplicates++;
              continue;
            }
            singleHostTaken.add(entry);
          }
          entry.subset.push(priority, h);
        }
      }
    }
    this.stats.lb_subsets_single_host_per_subset_duplicate.set(duplicates);
    this.forEachEntry(this.subsets, (e) => e.subset?.finalize(priority));
  }

  /** The host's values for `keys`, one combination per list element with `list_as_any`; none if a key is missing. */
  private extract(keys: readonly string[], host: Host): Kv[][] {
    const metadata = host.lbMetadata();
    if (!metadata) return [];
    let combos: Kv[][] = [[]];
    for (const key of keys) {
      if (!(key in metadata)) return [];
      const v = metadata[key];
      const values = this.listAsAny && Array.isArray(v) ? v : [v];
      combos = combos.flatMap((kvs) => values.map((value): Kv[] => [...kvs, [key, value]]));
    }
    return combos;
  }

  /** Whether the host's metadata has every key–value (a list containing it, with `list_as_any`). */
  private hostMatches(kvs: readonly Kv[], host: Host): boolean {
    const metadata = host.lbMetadata() ?? {};
    return kvs.every(([k, v]) => {
      if (!(k in metadata)) return false;
      const hv = metadata[k];
      if (valueKey(hv) === valueKey(v)) return true;
      return this.listAsAny && Array.isArray(hv) && hv.some((x) => valueKey(x) === valueKey(v));
    });
  }

  private findOrCreate(trie: Trie, kvs: readonly Kv[], i: number): Entry {
    const [key, value] = kvs[i]!;
    let values = trie.get(key);
    if (!values) {
      values = new Map();
      trie.set(key, values);
    }
    const vk = valueKey(value);
    let entry = values.get(vk);
    if (!entry) {
      entry = { subset: undefined, children: new Map() };
      values.set(vk, entry);
    }
    return i + 1 === kvs.length ? entry : this.findOrCreate(entry.children, kvs, i + 1);
  }

  private forEachEntry(trie: Trie, fn: (e: Entry) => void): void {
    for (const values of trie.values()) {
      for (const entry of values.values()) {
        fn(entry);
        this.forEachEntry(entry.children, fn);
      }
    }
  }

  /** Drops subsets that lost all their hosts (and nodes left with nothing below them). */
  private purge(trie: Trie): void {
    for (const [key, values] of trie) {
      for (const [vk, entry] of values) {
        this.purge(entry.children);
        if (entry.subset?.active() || entry.children.size > 0) continue;
        if (entry.subset) {
          this.stats.lb_subsets_active.dec();
          this.stats.lb_subsets_removed.inc();
        }
        values.delete(vk);
      }
      if (values.size === 0) trie.delete(key);
    }
  }

  // ---- picking ----

  chooseHost(context?: LoadBalancerContext): Host | undefined {
    const criteria = context?.metadataMatch;
    const list = criteria?.fallback_list;
    if (this.fallbackList && Array.isArray(list)) {
      const { fallback_list: _, ...rest } = criteria!;
      if (list.length === 0) return this.chooseFor(context, rest);
      for (const overrides of list) {
        const host = this.chooseFor(context, { ...rest, ...(overrides as Struct) });
        if (host) return host;
      }
      return undefined;
    }
    return this.chooseFor(context, criteria);
  }

  private chooseFor(
    context: LoadBalancerContext | undefined,
    criteria: Struct | undefined,
  ): Host | undefined {
    if (criteria) {
      const kvs = Object.entries(criteria).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
      const entry = this.find(kvs);
      if (entry?.subset?.active()) {
        this.stats.lb_subsets_selected.inc();
        return entry.subset.chooseHost(context);
      }
      const selector = this.selectorFor(kvs);
      if (selector && selector.fallback !== 'NOT_DEFINED')
        return this.selectorFallback(selector, context, criteria);
    }
    if (!this.fallback) return undefined;
    const host = this.fallback.chooseHost(context);
    if (host) {
      this.stats.lb_subsets_fallback.inc();
      return host;
    }
    const panicHost = this.panic?.chooseHost(context);
    if (panicHost) this.stats.lb_subsets_fallback_panic.inc();
    return panicHost;
  }

  private find(kvs: readonly Kv[]): Entry | undefined {
    let trie = this.subsets;
    for (let i = 0; i < kvs.length; i++) {
      const [key, value] = kvs[i]!;
      const entry = trie.get(key)?.get(valueKey(value));
      if (!entry) return undefined;
      if (i + 1 === kvs.length) return entry;
      trie = entry.children;
    }
    return undefined;
  }

  /** The selector whose keys are exactly the criteria's keys, if one ends there. */
  private selectorFor(kvs: readonly Kv[]): Selector | undefined {
    let node: SelectorNode | undefined = this.selectorTrie;
    for (const [key] of kvs) {
      node = node.children.get(key);
      if (!node) return undefined;
    }
    return kvs.length > 0 ? node.fallback : undefined;
  }

  private selectorFallback(
    selector: Selector,
    context: LoadBalancerContext | undefined,
    criteria: Struct,
  ): Host | undefined {
    switch (selector.fallback) {
      case 'ANY_ENDPOINT':
        return this.anySubset?.chooseHost(context);
      case 'DEFAULT_SUBSET':
        return this.defaultSubset?.chooseHost(context);
      case 'KEYS_SUBSET': {
        const reduced = Object.fromEntries(
          Object.entries(criteria).filter(([k]) => selector.fallbackKeys.includes(k)),
        );
        return this.chooseFor(context, reduced);
      }
      default:
        return undefined;
    }
  }
}
