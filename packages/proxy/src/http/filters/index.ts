/**
 * The HTTP filter registry: maps a filter's config type (from `@type`, or from its name when the
 * config has no typed_config — Envoy's legacy form) to the factory that creates it per stream.
 * Adding a filter means adding one entry here; the connection manager knows none by name.
 */
import { filterTypeUrl } from '../../config/index.js';
import type { HttpFilter } from '../../config/types.js';
import type { Runtime } from '../../runtime/runtime.js';
import type { Scope, Store } from '../../stats/store.js';
import type { ClusterManager } from '../../upstream/cluster-manager.js';
import type { FilterCallbacks, FilterPair, HttpFilterFactory } from '../filter.js';
import { createRouterStats, RouterFilter } from '../router.js';
import { ShadowWriter } from '../shadow-writer.js';

/** What a filter factory may use, besides its own config. */
export interface HttpFilterContext {
  store: Store;
  runtime: Runtime;
  clusterManager: ClusterManager;
  /** `http.<stat_prefix>.` of the connection manager the filter runs in. */
  httpScope: Scope;
}

type FactoryBuilder = (config: Record<string, unknown>, context: HttpFilterContext) => HttpFilterFactory;

const ROUTER = 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router';

const REGISTRY = new Map<string, FactoryBuilder>([
  [
    ROUTER,
    (config, ctx) => {
      const router = {
        clusterManager: ctx.clusterManager,
        shadowWriter: new ShadowWriter(ctx.clusterManager),
        stats: createRouterStats(ctx.httpScope),
        config: { suppressEnvoyHeaders: config.suppress_envoy_headers === true },
        random: Math.random,
      };
      return (cb: FilterCallbacks): FilterPair => ({ decoder: new RouterFilter(cb, router) });
    },
  ],
]);

/** The per-stream factory for one `http_filters` entry; throws for a filter not implemented here. */
export function createHttpFilterFactory(filter: HttpFilter, context: HttpFilterContext): HttpFilterFactory {
  const type = filterTypeUrl(filter, 'HTTP filter');
  const build = REGISTRY.get(type);
  if (!build) throw new Error(`http filter '${filter.name}' is not implemented by meshcraft-proxy yet`);
  return build((filter.typed_config ?? {}) as Record<string, unknown>, context);
}
