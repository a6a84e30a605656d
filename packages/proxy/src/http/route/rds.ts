/**
 * Route configurations of HTTP connection managers: inline (`route_config`) or discovered by name
 * over RDS (`rds {config_source, route_config_name}`) — Envoy's RouteConfigProviderManager.
 *
 * HCMs that name the same route configuration from the same config source share one provider and
 * one subscription; a listener replaced by LDS keeps the provider (and its current table) because
 * the new HCM takes it before the old one lets go. Until the first configuration arrives a
 * provider serves an empty table (404 for everything), and the listeners using it warm instead
 * of taking traffic. Each stream takes the table current when it starts and keeps it.
 */

import type { Logger, LogRegistry } from '../../common/logger.js';
import type { ConfigSource, RouteConfiguration } from '../../config/types.js';
import type { Runtime } from '../../runtime/runtime.js';
import type { Counter, Store } from '../../stats/store.js';
import { type DecodedResource, ROUTE_CONFIGURATION } from '../../xds/resources.js';
import type { Subscription, SubscriptionCallbacks, SubscriptionFactory } from '../../xds/subscription.js';
import { RouteTable } from './route-table.js';

export interface RouteConfigProvider {
  /** The route table a stream starting now uses. */
  current(): RouteTable;
  /** Resolves when the first configuration arrived (or will not soon: rejected, timed out). */
  initialized(): Promise<void>;
  /** The HCM using it is gone. */
  release(): void;
}

/** An inline `route_config`. */
export function staticRouteConfigProvider(table: RouteTable): RouteConfigProvider {
  return { current: () => table, initialized: () => Promise.resolve(), release: () => {} };
}

/** A route configuration received over RDS, as `/config_dump` lists it. */
export interface DynamicRouteConfig {
  resource: RouteConfiguration;
  versionInfo: string;
  lastUpdated: string;
}

class RdsRouteConfigProvider implements RouteConfigProvider, SubscriptionCallbacks {
  private table: RouteTable;
  private subscription: Subscription;
  private resolveInitialized!: () => void;
  private readonly ready = new Promise<void>((resolve) => {
    this.resolveInitialized = resolve;
  });
  private readonly stats: { config_reload: Counter; update_empty: Counter };
  users = 0;
  config: DynamicRouteConfig | undefined;

  constructor(
    readonly name: string,
    source: ConfigSource,
    scopePrefix: string,
    private readonly deps: { factory: SubscriptionFactory; store: Store; runtime: Runtime; log: Logger },
    private readonly onUnused: () => void,
  ) {
    this.table = new RouteTable({ name, virtual_hosts: [] }, deps.runtime);
    const scope = deps.store.scope(scopePrefix);
    this.stats = {
      config_reload: scope.counter('config_reload'),
      update_empty: scope.counter('update_empty'),
    };
    this.subscription = deps.factory.subscribe(source, ROUTE_CONFIGURATION, this, scope);
    this.subscription.start([name]);
  }

  current(): RouteTable {
    return this.table;
  }

  initialized(): Promise<void> {
    return this.ready;
  }

  release(): void {
    if (--this.users > 0) return;
    this.subscription.stop();
    this.resolveInitialized();
    this.onUnused();
  }

  onConfigUpdate(resources: DecodedResource[], versionInfo: string): void {
    if (resources.length === 0) {
      this.deps.log.debug(`Missing RouteConfiguration for ${this.name} in onConfigUpdate()`);
      this.stats.update_empty.inc();
      this.resolveInitialized();
      return;
    }
    if (resources.length !== 1) {
      throw new Error(`Unexpected RDS resource length: ${resources.length} (expecting 1)`);
    }
    const config = resources[0]!.resource as RouteConfiguration;
    if (config.name !== this.name) {
      throw new Error(`Unexpected RDS configuration (expecting ${this.name}): ${config.name}`);
    }
    const changed = JSON.stringify(config) !== JSON.stringify(this.config?.resource);
    if (changed) {
      this.table = new RouteTable(config, this.deps.runtime);
      this.stats.config_reload.inc();
      this.deps.log.debug(`rds: loading new configuration: config_name=${this.name} version=${versionInfo}`);
    }
    this.config = {
      resource: config,
      versionInfo,
      lastUpdated: changed || !this.config ? new Date().toISOString() : this.config.lastUpdated,
    };
    this.resolveInitialized();
  }

  onConfigUpdateFailed(): void {
    this.resolveInitialized();
  }
}

export class RouteConfigProviderManager {
  private readonly providers = new Map<string, RdsRouteConfigProvider>();
  private readonly log: Logger;

  constructor(
    private readonly deps: {
      factory: SubscriptionFactory;
      store: Store;
      runtime: Runtime;
      logs: LogRegistry;
    },
  ) {
    this.log = deps.logs.get('router', 'http/route/rds.ts');
  }

  /**
   * The provider of `rds.route_config_name` from `rds.config_source`, shared; its stats are
   * `http.<stat_prefix>.rds.<route_config_name>.*` of the first HCM that asked for it.
   */
  provider(
    rds: { config_source: ConfigSource; route_config_name: string },
    statPrefix: string,
  ): RouteConfigProvider {
    const key = `${rds.route_config_name}\0${JSON.stringify(rds.config_source)}`;
    let provider = this.providers.get(key);
    if (!provider) {
      const created = new RdsRouteConfigProvider(
        rds.route_config_name,
        rds.config_source,
        `http.${statPrefix}.rds.${rds.route_config_name}.`,
        { ...this.deps, log: this.log },
        () => {
          if (this.providers.get(key) === created) this.providers.delete(key);
        },
      );
      provider = created;
      this.providers.set(key, provider);
    }
    provider.users++;
    return provider;
  }

  /** Route configurations received so far, for `/config_dump`'s `dynamic_route_configs`. */
  dynamicRouteConfigs(): DynamicRouteConfig[] {
    return [...this.providers.values()].flatMap((p) => p.config ?? []);
  }
}
