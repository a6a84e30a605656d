/**
 * Envoy's `EdfLoadBalancerBase`: when the hosts of a list carry different weights, picks follow
 * an EDF schedule on `hostWeight`; when they are all equal, the policy's cheaper unweighted pick
 * (round robin's index, least request's power of two choices) is used instead.
 */
import type { Host } from '../host.js';
import { type HostSource, randomU32, ZoneAwareLoadBalancerBase } from './base.js';
import { EdfScheduler } from './edf-scheduler.js';
import type { LoadBalancerContext } from './types.js';

function weightsAreEqual(hosts: readonly Host[]): boolean {
  return hosts.every((h) => h.weight === hosts[0]!.weight);
}

export abstract class EdfLoadBalancerBase extends ZoneAwareLoadBalancerBase {
  private readonly weightOf = (host: Host) => this.hostWeight(host);

  /** The weight a host is (re)scheduled with. */
  protected abstract hostWeight(host: Host): number;

  /** A pick from a non-empty list whose hosts all have the same weight. */
  protected abstract unweightedHostPick(source: HostSource): Host;

  protected initSource(source: HostSource, previous: HostSource | undefined): void {
    // Round robin continues where it was when a list is rebuilt, as Envoy keeps its index.
    source.index = previous?.index ?? this.seed;
    if (source.hosts.length > 1 && !weightsAreEqual(source.hosts)) {
      source.scheduler = EdfScheduler.createWithPicks(source.hosts, this.weightOf, this.seed);
    }
  }

  protected chooseHostOnce(_context: LoadBalancerContext | undefined): Host | undefined {
    const source = this.hostSourceToUse(randomU32(this.random));
    if (!source) return undefined;
    if (source.scheduler) return source.scheduler.pickAndAdd(this.weightOf);
    if (source.hosts.length === 0) return undefined;
    return this.unweightedHostPick(source);
  }
}
