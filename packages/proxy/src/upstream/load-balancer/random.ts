/**
 * `RANDOM`: a uniformly random host of the chosen list. Like Envoy's `RandomLoadBalancer` it
 * ignores host weights (priority levels, panic and locality weights still apply).
 */
import type { Host } from '../host.js';
import { randomU32, ZoneAwareLoadBalancerBase } from './base.js';
import type { LoadBalancerContext, LoadBalancerParams } from './types.js';

export class RandomLoadBalancer extends ZoneAwareLoadBalancerBase {
  constructor(params: LoadBalancerParams) {
    super(params);
    this.initialize();
  }

  /** Random picking keeps no per-list state. */
  protected initSource(): void {}

  protected chooseHostOnce(_context: LoadBalancerContext | undefined): Host | undefined {
    const source = this.hostSourceToUse(randomU32(this.random));
    if (!source || source.hosts.length === 0) return undefined;
    return source.hosts[randomU32(this.random) % source.hosts.length];
  }
}
