/**
 * A compiled `request_mirror_policies` entry (Envoy's ShadowPolicyImpl): which cluster gets a
 * copy of the request, for what fraction of requests, and whether its host gets `-shadow`.
 */
import type { FractionalPercent, RequestMirrorPolicy } from '../../config/types.js';
import type { HeaderMap } from '../headers.js';

export class MirrorPolicy {
  private readonly cluster: string | undefined;
  private readonly clusterHeader: string | undefined;
  readonly runtimeKey: string | undefined;
  /** Without `runtime_fraction`, every request is mirrored. */
  readonly fraction: FractionalPercent;
  readonly hostSuffix: boolean;

  constructor(config: RequestMirrorPolicy) {
    this.cluster = config.cluster || undefined;
    this.clusterHeader = config.cluster_header?.toLowerCase() || undefined;
    this.runtimeKey = config.runtime_fraction?.runtime_key;
    this.fraction = config.runtime_fraction?.default_value ?? { numerator: 100, denominator: 'HUNDRED' };
    this.hostSuffix = config.disable_shadow_host_suffix_append !== true;
  }

  /** The shadow cluster for a request (from the header that names it, when configured so). */
  clusterFor(headers: HeaderMap): string | undefined {
    return this.clusterHeader ? headers.get(this.clusterHeader) : this.cluster;
  }
}

export function compileMirrorPolicies(configs: readonly RequestMirrorPolicy[] | undefined): MirrorPolicy[] {
  return (configs ?? []).map((c) => new MirrorPolicy(c));
}

/** Envoy's shadow authority: `-shadow` after the host name, before any port (`a:8080` → `a-shadow:8080`). */
export function shadowAuthority(authority: string): string {
  const portStart = authority.startsWith('[') ? authority.indexOf(']:') + 1 : authority.lastIndexOf(':');
  if (portStart <= 0) return `${authority}-shadow`;
  return `${authority.slice(0, portStart)}-shadow${authority.slice(portStart)}`;
}
