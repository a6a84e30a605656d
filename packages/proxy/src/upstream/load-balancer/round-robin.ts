/**
 * `ROUND_ROBIN`: hosts of equal weight are taken strictly in turn; unequal weights follow the
 * EDF schedule on the configured weights (Envoy's `RoundRobinLoadBalancer`). Slow start is not
 * implemented; the feature gate refuses `round_robin_lb_config.slow_start_config`.
 */
import type { Host } from '../host.js';
import type { HostSource } from './base.js';
import { EdfLoadBalancerBase } from './edf-base.js';
import type { LoadBalancerParams } from './types.js';

export class RoundRobinLoadBalancer extends EdfLoadBalancerBase {
  constructor(params: LoadBalancerParams) {
    super(params);
    this.initialize();
  }

  protected hostWeight(host: Host): number {
    return host.weight;
  }

  protected unweightedHostPick(source: HostSource): Host {
    return source.hosts[source.index++ % source.hosts.length]!;
  }
}
