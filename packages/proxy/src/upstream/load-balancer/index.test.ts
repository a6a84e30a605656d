import { beforeAll, describe, expect, it } from 'vitest';
import { initHashing } from '../../common/hash.js';
import { createLoadBalancer } from './index.js';
import { LeastRequestLoadBalancer } from './least-request.js';
import { MaglevLoadBalancer } from './maglev.js';
import { RandomLoadBalancer } from './random.js';
import { RingHashLoadBalancer } from './ring-hash.js';
import { RoundRobinLoadBalancer } from './round-robin.js';
import { buildPrioritySet, lbParams } from './test-support.js';

beforeAll(async () => {
  await initHashing();
});

describe('createLoadBalancer', () => {
  const ps = buildPrioritySet([{ localities: [{ hosts: 2 }] }]);

  it.each([
    [undefined, RoundRobinLoadBalancer],
    ['ROUND_ROBIN', RoundRobinLoadBalancer],
    ['LEAST_REQUEST', LeastRequestLoadBalancer],
    ['RANDOM', RandomLoadBalancer],
    ['RING_HASH', RingHashLoadBalancer],
    ['MAGLEV', MaglevLoadBalancer],
  ] as const)('lb_policy %s', (lb_policy, type) => {
    const lb = createLoadBalancer(lbParams(ps, { lb_policy }).params);
    expect(lb).toBeInstanceOf(type);
    expect(lb.chooseHost()).toBeDefined();
  });

  it.each(['CLUSTER_PROVIDED', 'LOAD_BALANCING_POLICY_CONFIG'] as const)(
    'refuses %s with a clear error',
    (lb_policy) => {
      expect(() => createLoadBalancer(lbParams(ps, { lb_policy }).params)).toThrow(
        `cluster 'test': lb_policy ${lb_policy} is not implemented by meshcraft-proxy`,
      );
    },
  );
});
