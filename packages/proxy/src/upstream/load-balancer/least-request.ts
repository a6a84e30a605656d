/**
 * `LEAST_REQUEST` (Envoy's `LeastRequestLoadBalancer`):
 * - equal weights: power of `choice_count` choices (default 2) — sample that many hosts at
 *   random, with replacement, and keep the one with the fewest active requests;
 * - unequal weights: EDF where a host is rescheduled, each time it is picked, with
 *   `weight / (active requests + 1)^active_request_bias` (bias default 1.0, runtime-overridable).
 *
 * The course notes describe the weighted case as "weight / active requests" (notes §6.6); Envoy
 * adds 1 to the active count and applies the bias, which is what this implements.
 */
import type { Host } from '../host.js';
import { type HostSource, randomU32 } from './base.js';
import { EdfLoadBalancerBase } from './edf-base.js';
import type { LoadBalancerParams } from './types.js';

export class LeastRequestLoadBalancer extends EdfLoadBalancerBase {
  private readonly choiceCount: number;
  private readonly biasConfig: { default_value: number; runtime_key: string } | undefined;
  /** Cached at every refresh, as Envoy does, so a pick never reads the runtime. */
  private activeRequestBias = 1;

  constructor(params: LoadBalancerParams) {
    super(params);
    const lr = params.config.least_request_lb_config;
    this.choiceCount = lr?.choice_count ?? 2;
    this.biasConfig = lr?.active_request_bias;
    this.initialize();
  }

  protected override refresh(priority: number): void {
    const bias = this.biasConfig
      ? this.runtime.getDouble(this.biasConfig.runtime_key, this.biasConfig.default_value)
      : 1;
    // Envoy falls back to 1.0 for a negative or NaN bias rather than rejecting the runtime value.
    this.activeRequestBias = bias >= 0 ? bias : 1;
    super.refresh(priority);
  }

  protected hostWeight(host: Host): number {
    const active = host.stats.rq_active + 1;
    if (this.activeRequestBias === 1) return host.weight / active;
    if (this.activeRequestBias === 0) return host.weight;
    return host.weight / active ** this.activeRequestBias;
  }

  protected unweightedHostPick(source: HostSource): Host {
    const hosts = source.hosts;
    let candidate = hosts[randomU32(this.random) % hosts.length]!;
    for (let i = 1; i < this.choiceCount; i++) {
      const sampled = hosts[randomU32(this.random) % hosts.length]!;
      if (sampled.stats.rq_active < candidate.stats.rq_active) candidate = sampled;
    }
    return candidate;
  }
}
