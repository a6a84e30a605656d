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
import { CorsFilter, CorsFilterConfig } from './cors.js';
import { FaultFilter, FaultFilterConfig, type HttpFaultConfig } from './fault.js';
import {
  HealthCheckFilter,
  HealthCheckFilterConfig,
  type HealthCheckFilterProto,
  type LocalHealth,
} from './health-check.js';
import {
  type LocalRateLimitConfig,
  LocalRateLimitFilter,
  LocalRateLimitFilterConfig,
} from './local-ratelimit.js';

export type { LocalHealth } from './health-check.js';

/** What a filter factory may use, besides its own config. */
export interface HttpFilterContext {
  store: Store;
  runtime: Runtime;
  clusterManager: ClusterManager;
  /** `http.<stat_prefix>.` of the connection manager the filter runs in. */
  httpScope: Scope;
  /** The server's health as `/healthcheck/fail|ok` set it, and its local cluster. */
  localHealth: LocalHealth;
}

/** Builds the per-stream factory from the filter's config and its name in `http_filters`. */
type FactoryBuilder = (
  config: Record<string, unknown>,
  context: HttpFilterContext,
  name: string,
) => HttpFilterFactory;

const TYPE = 'type.googleapis.com/envoy.extensions.filters.http.';
const ROUTER = `${TYPE}router.v3.Router`;

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
  [
    `${TYPE}fault.v3.HTTPFault`,
    (config, ctx, name) => {
      const fault = new FaultFilterConfig(
        config as HttpFaultConfig,
        ctx.httpScope,
        ctx.runtime,
        Math.random,
        name,
      );
      return (cb) => ({ decoder: new FaultFilter(cb, fault) });
    },
  ],
  [
    `${TYPE}cors.v3.Cors`,
    (_config, ctx, name) => {
      const cors = new CorsFilterConfig(ctx.httpScope, ctx.runtime, Math.random, name);
      return (cb) => {
        const filter = new CorsFilter(cb, cors);
        return { decoder: filter, encoder: filter };
      };
    },
  ],
  [
    `${TYPE}local_ratelimit.v3.LocalRateLimit`,
    (config, ctx, name) => {
      const limit = new LocalRateLimitFilterConfig(
        config as unknown as LocalRateLimitConfig,
        ctx.store,
        ctx.runtime,
        Math.random,
        name,
      );
      return (cb) => {
        const filter = new LocalRateLimitFilter(cb, limit);
        return { decoder: filter, encoder: filter };
      };
    },
  ],
  [
    `${TYPE}health_check.v3.HealthCheck`,
    (config, ctx) => {
      const hc = new HealthCheckFilterConfig(
        config as unknown as HealthCheckFilterProto,
        ctx.localHealth,
        ctx.clusterManager,
      );
      return (cb) => {
        const filter = new HealthCheckFilter(cb, hc);
        return { decoder: filter, encoder: filter };
      };
    },
  ],
]);

/** The per-stream factory for one `http_filters` entry; throws for a filter not implemented here. */
export function createHttpFilterFactory(filter: HttpFilter, context: HttpFilterContext): HttpFilterFactory {
  const type = filterTypeUrl(filter, 'HTTP filter');
  const build = REGISTRY.get(type);
  if (!build) throw new Error(`http filter '${filter.name}' is not implemented by meshcraft-proxy yet`);
  return build((filter.typed_config ?? {}) as Record<string, unknown>, context, filter.name);
}
