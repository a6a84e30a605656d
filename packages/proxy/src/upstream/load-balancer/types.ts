import type { Cluster as ClusterConfig, Struct } from '../../config/types.js';
import type { Runtime } from '../../runtime/runtime.js';
import type { Counter, Gauge, Scope } from '../../stats/store.js';
import type { Host, PrioritySet } from '../host.js';

/**
 * What a caller (router, TCP proxy, health-check-aware code) tells the load balancer about the
 * request it picks a host for. Every member is optional: a plain round-robin pick needs none.
 */
export interface LoadBalancerContext {
  /**
   * The request's hash for consistent hashing (RING_HASH, MAGLEV), from the route's
   * `hash_policy`; undefined when no policy produced one, in which case hashing LBs pick randomly.
   */
  hashKey?(): bigint | undefined;
  /** Retry host predicates (`previous_hosts`): true rejects the candidate and the LB tries again. */
  shouldSelectAnotherHost?(host: Host): boolean;
  /** How many times to re-pick when `shouldSelectAnotherHost` rejects (`host_selection_retry_max_attempts`). */
  hostSelectionRetryCount?: number;
  /** Route / weighted-cluster `metadata_match` under `envoy.lb`, for subset load balancing. */
  metadataMatch?: Struct;
}

export interface LoadBalancer {
  /** A host for this request, or undefined when the cluster has none to offer (Envoy's "no healthy upstream"). */
  chooseHost(context?: LoadBalancerContext): Host | undefined;
}

/** The load-balancer stats Envoy keeps per cluster (`cluster.<name>.lb_*`). */
export interface LoadBalancerStats {
  lb_healthy_panic: Counter;
  lb_zone_no_capacity_left: Counter;
  lb_recalculate_zone_structures: Counter;
  lb_subsets_active: Gauge;
  lb_subsets_created: Counter;
  lb_subsets_removed: Counter;
  lb_subsets_selected: Counter;
  lb_subsets_fallback: Counter;
  lb_subsets_fallback_panic: Counter;
  lb_subsets_single_host_per_subset_duplicate: Gauge;
}

export interface LoadBalancerParams {
  config: ClusterConfig;
  prioritySet: PrioritySet;
  stats: LoadBalancerStats;
  /** The cluster's stats scope (`cluster.<name>.`), for policy gauges such as `ring_hash_lb.size`. */
  scope: Scope;
  runtime: Runtime;
  /** Source of randomness; tests pass a seeded one. Returns a float in [0, 1). */
  random: () => number;
}

export type LoadBalancerFactory = (params: LoadBalancerParams) => LoadBalancer;
