/**
 * The cluster's load balancer for its `lb_policy` (default `ROUND_ROBIN`), within each subset when
 * the cluster configures `lb_subset_config` selectors.
 */
import { LeastRequestLoadBalancer } from './least-request.js';
import { MaglevLoadBalancer } from './maglev.js';
import { RandomLoadBalancer } from './random.js';
import { RingHashLoadBalancer } from './ring-hash.js';
import { RoundRobinLoadBalancer } from './round-robin.js';
import { SubsetLoadBalancer } from './subset.js';
import type { LoadBalancer, LoadBalancerParams } from './types.js';

export type { LoadBalancer, LoadBalancerContext, LoadBalancerParams, LoadBalancerStats } from './types.js';

export function createLoadBalancer(params: LoadBalancerParams): LoadBalancer {
  const subsets = params.config.lb_subset_config;
  // Envoy turns subsetting on only with at least one selector.
  if (subsets?.subset_selectors?.length) {
    return new SubsetLoadBalancer(params, subsets, (prioritySet) =>
      createPolicyLoadBalancer({ ...params, prioritySet }),
    );
  }
  return createPolicyLoadBalancer(params);
}

function createPolicyLoadBalancer(params: LoadBalancerParams): LoadBalancer {
  const policy = params.config.lb_policy ?? 'ROUND_ROBIN';
  switch (policy) {
    case 'ROUND_ROBIN':
      return new RoundRobinLoadBalancer(params);
    case 'LEAST_REQUEST':
      return new LeastRequestLoadBalancer(params);
    case 'RANDOM':
      return new RandomLoadBalancer(params);
    case 'RING_HASH':
      return new RingHashLoadBalancer(params);
    case 'MAGLEV':
      return new MaglevLoadBalancer(params);
    case 'CLUSTER_PROVIDED':
    case 'LOAD_BALANCING_POLICY_CONFIG':
      throw new Error(
        `cluster '${params.config.name}': lb_policy ${policy} is not implemented by meshcraft-proxy; ` +
          'use ROUND_ROBIN, LEAST_REQUEST, RANDOM, RING_HASH or MAGLEV',
      );
  }
}
