/**
 * Route-specific filter configuration: the `typed_per_filter_config` entries of route
 * configurations, virtual hosts and routes, compiled when the route table is built (so a bad one
 * fails the configuration, not a request), as Envoy's filter factories'
 * `createRouteSpecificFilterConfig` does. The config's type picks the compiler; a filter finds its
 * entry by the name it has in `http_filters` and recognises its own compiled type.
 */
import type { Any } from '../../config/types.js';
import { CorsPolicy, type CorsPolicyConfig } from './cors.js';
import { FaultSettings, type HttpFaultConfig } from './fault.js';
import { type LocalRateLimitConfig, LocalRateLimitSettings } from './local-ratelimit.js';

const TYPE_PREFIX = 'type.googleapis.com/';
/** `envoy.config.route.v3.FilterConfig`: a wrapper around the filter's own config. */
const FILTER_CONFIG = `${TYPE_PREFIX}envoy.config.route.v3.FilterConfig`;

const COMPILERS = new Map<string, (config: Record<string, unknown>) => unknown>([
  [
    `${TYPE_PREFIX}envoy.extensions.filters.http.fault.v3.HTTPFault`,
    (c) => new FaultSettings(c as HttpFaultConfig),
  ],
  [
    `${TYPE_PREFIX}envoy.extensions.filters.http.cors.v3.CorsPolicy`,
    (c) => new CorsPolicy(c as CorsPolicyConfig),
  ],
  [
    `${TYPE_PREFIX}envoy.extensions.filters.http.local_ratelimit.v3.LocalRateLimit`,
    (c) => new LocalRateLimitSettings(c as unknown as LocalRateLimitConfig, true),
  ],
]);

/** Filter name → its compiled route-specific config, at one level of a route configuration. */
export type PerFilterConfigs = ReadonlyMap<string, unknown>;

export const NO_PER_FILTER_CONFIGS: PerFilterConfigs = new Map();

/** Compiles one level's `typed_per_filter_config`; throws, naming the filter, for a config no filter takes. */
export function compilePerFilterConfigs(configs: Record<string, Any> | undefined): PerFilterConfigs {
  const entries = Object.entries(configs ?? {});
  if (entries.length === 0) return NO_PER_FILTER_CONFIGS;
  return new Map(
    entries.map(([name, any]) => {
      const config = any['@type'] === FILTER_CONFIG ? (any.config as Any) : any;
      const type = config['@type'];
      const compile = COMPILERS.get(type);
      if (!compile) {
        throw new Error(
          `typed_per_filter_config '${name}': the filter with config type '${type.slice(TYPE_PREFIX.length)}' ` +
            "doesn't support virtual host or route specific configurations in meshcraft-proxy",
        );
      }
      return [name, compile(config as Record<string, unknown>)];
    }),
  );
}
