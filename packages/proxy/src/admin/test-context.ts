/**
 * A hand-built AdminContext for the admin's tests (and anyone testing against the admin): the
 * course's lab 6 front proxy — listener_0 on 0.0.0.0:80 routing to local_cluster with hosts
 * 172.31.5.11:8080 and 172.31.5.12:8080 — with lab 7's layered runtime, real Store, Runtime,
 * LogRegistry and Host objects, and a record of what the admin asked the server to do.
 */
import { LogRegistry } from '../common/logger.js';
import type { Bootstrap, Cluster, Listener } from '../config/types.js';
import { Runtime } from '../runtime/runtime.js';
import { Store } from '../stats/store.js';
import { Host } from '../upstream/host.js';
import type { AdminContext, ClusterStatus, ConfigSnapshot, ServerState } from './context.js';
import { type AdminServer, startAdminServer } from './server.js';

export const LAB6_LISTENER: Listener = {
  name: 'listener_0',
  address: { socket_address: { address: '0.0.0.0', port_value: 80 } },
  filter_chains: [
    {
      filters: [
        {
          name: 'envoy.filters.network.http_connection_manager',
          typed_config: {
            '@type':
              'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager',
            stat_prefix: 'ingress_http',
            codec_type: 'AUTO',
            route_config: {
              name: 'local_route',
              virtual_hosts: [
                {
                  name: 'web_service_1',
                  domains: ['*.ik8s.io', 'ik8s.io'],
                  routes: [{ match: { prefix: '/' }, route: { cluster: 'local_cluster' } }],
                },
              ],
            },
            http_filters: [{ name: 'envoy.filters.http.router' }],
          },
        },
      ],
    },
  ],
};

export const LAB6_CLUSTER: Cluster = {
  name: 'local_cluster',
  connect_timeout: '0.250s',
  type: 'STATIC',
  lb_policy: 'ROUND_ROBIN',
  load_assignment: {
    cluster_name: 'local_cluster',
    endpoints: [
      {
        lb_endpoints: [
          { endpoint: { address: { socket_address: { address: '172.31.5.11', port_value: 8080 } } } },
          { endpoint: { address: { socket_address: { address: '172.31.5.12', port_value: 8080 } } } },
        ],
      },
    ],
  },
};

export const LAB6_BOOTSTRAP: Bootstrap = {
  admin: {
    profile_path: '/tmp/envoy.prof',
    access_log_path: '/tmp/admin_access.log',
    address: { socket_address: { address: '0.0.0.0', port_value: 9901 } },
  },
  layered_runtime: {
    layers: [
      { name: 'static_layer_0', static_layer: { health_check: { min_interval: 5 } } },
      { name: 'admin_layer_0', admin_layer: {} },
    ],
  },
  static_resources: { listeners: [LAB6_LISTENER], clusters: [LAB6_CLUSTER] },
};

const DEFAULT_THRESHOLDS = {
  max_connections: 1024,
  max_pending_requests: 1024,
  max_requests: 1024,
  max_retries: 3,
};

export interface TestContext extends AdminContext {
  /** Mutable stand-ins for the server's state, for tests to set. */
  serverState: ServerState;
  clusterStatuses: ClusterStatus[];
  snapshot: ConfigSnapshot;
  /** What the admin asked for. */
  calls: { quit: number; drain: { inboundOnly: boolean; graceful: boolean }[]; reopenAccessLogs: number };
  /** Log lines written through `logs`. */
  logLines: string[];
}

export function createTestContext(bootstrap: Bootstrap = LAB6_BOOTSTRAP): TestContext {
  const logLines: string[] = [];
  let hcFailed = false;
  const loadedAt = '2022-06-22T11:06:36.102Z';
  const hosts = ['172.31.5.11', '172.31.5.12'].map((address) => new Host({ address, port: 8080 }));
  const context: TestContext = {
    store: new Store(),
    runtime: new Runtime(bootstrap.layered_runtime),
    logs: new LogRegistry('info', (line) => logLines.push(line)),
    commandLine: { config_path: '/etc/envoy/envoy.yaml', concurrency: 2 },
    startedAt: new Date(),
    serverState: 'LIVE',
    clusterStatuses: [
      {
        name: 'local_cluster',
        observabilityName: 'local_cluster',
        addedViaApi: false,
        thresholds: { default: { ...DEFAULT_THRESHOLDS }, high: { ...DEFAULT_THRESHOLDS } },
        hosts,
      },
    ],
    snapshot: {
      bootstrap,
      loadedAt,
      staticListeners: (bootstrap.static_resources?.listeners ?? []).map((resource) => ({ resource })),
      dynamicListeners: [],
      staticClusters: (bootstrap.static_resources?.clusters ?? []).map((resource) => ({ resource })),
      dynamicClusters: [],
      staticSecrets: (bootstrap.static_resources?.secrets ?? []).map((resource) => ({ resource })),
    },
    calls: { quit: 0, drain: [], reopenAccessLogs: 0 },
    logLines,
    state() {
      return context.serverState;
    },
    clusters() {
      return context.clusterStatuses;
    },
    listeners() {
      return (context.snapshot.staticListeners ?? []).map(({ resource }) => ({
        name: resource.name ?? '',
        localAddress: resource.address ?? {},
        additionalLocalAddresses: (resource.additional_addresses ?? []).map((a) => a.address),
      }));
    },
    config() {
      return context.snapshot;
    },
    certs() {
      return [];
    },
    setHealthCheckFailed(failed) {
      hcFailed = failed;
    },
    healthCheckFailed() {
      return hcFailed;
    },
    drainListeners(options) {
      context.calls.drain.push(options);
    },
    quit() {
      context.calls.quit++;
    },
    reopenAccessLogs() {
      context.calls.reopenAccessLogs++;
    },
  };
  return context;
}

/** Admin JSON as tests see it: indexed freely, its shape being what the assertions check. */
// biome-ignore lint/suspicious/noExplicitAny: the assertions, not the type, pin the shape down
export type ParsedJson = any;

export interface TestAdmin {
  server: AdminServer;
  url(path: string): string;
  get(path: string): Promise<Response>;
  post(path: string, init?: RequestInit): Promise<Response>;
  /** GET and parse the JSON body. */
  json(path: string): Promise<ParsedJson>;
}

/** Starts the admin for `context` on 127.0.0.1 with an ephemeral port. */
export async function startTestAdmin(context: AdminContext, accessLogPath?: string): Promise<TestAdmin> {
  const server = await startAdminServer(context, {
    address: { socket_address: { address: '127.0.0.1', port_value: 0 } },
    ...(accessLogPath ? { accessLogPath } : {}),
  });
  const url = (path: string) => `http://127.0.0.1:${server.port}${path}`;
  return {
    server,
    url,
    get: (path) => fetch(url(path)),
    post: (path, init) => fetch(url(path), { ...init, method: 'POST' }),
    json: async (path) => (await fetch(url(path))).json(),
  };
}
