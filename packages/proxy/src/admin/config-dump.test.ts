import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Cluster, Listener, Secret } from '../config/types.js';
import {
  createTestContext,
  LAB6_CLUSTER,
  startTestAdmin,
  type TestAdmin,
  type TestContext,
} from './test-context.js';

let context: TestContext;
let admin: TestAdmin;

beforeEach(async () => {
  context = createTestContext();
  admin = await startTestAdmin(context);
});

afterEach(async () => {
  await admin.server.close();
});

const types = (dump: { configs?: { '@type': string }[] }) => (dump.configs ?? []).map((c) => c['@type']);
const T = 'type.googleapis.com/envoy.admin.v3.';

/** Lab 3 of day 14: webcluster and listener_http arrive over CDS/LDS at version 411. */
function addLab3DynamicResources(): void {
  const webcluster: Cluster = {
    name: 'webcluster',
    type: 'EDS',
    eds_cluster_config: {
      eds_config: {
        api_config_source: {
          api_type: 'GRPC',
          grpc_services: [{ envoy_grpc: { cluster_name: 'xds_cluster' } }],
          set_node_on_first_message_only: true,
          transport_api_version: 'V3',
        },
        resource_api_version: 'V3',
      },
    },
    connect_timeout: '5s',
    dns_lookup_family: 'V4_ONLY',
  };
  const listenerHttp: Listener = {
    name: 'listener_http',
    address: { socket_address: { address: '0.0.0.0', port_value: 80 } },
  };
  context.snapshot.dynamicClusters.push({
    resource: webcluster,
    versionInfo: '411',
    lastUpdated: '2022-06-27T07:30:53.678Z',
  });
  context.snapshot.dynamicListeners.push({
    resource: listenerHttp,
    versionInfo: '411',
    lastUpdated: '2022-06-27T07:30:53.000Z',
  });
  context.snapshot.clustersVersionInfo = '411';
  context.snapshot.listenersVersionInfo = '411';
}

describe('/config_dump', () => {
  it("is pretty-printed with one-space indents, the bootstrap first as in lab 6's head", async () => {
    const res = await admin.get('/config_dump');
    expect(res.headers.get('content-type')).toBe('application/json');
    const body = await res.text();
    expect(
      body.startsWith(
        `{\n "configs": [\n  {\n   "@type": "${T}BootstrapConfigDump",\n   "bootstrap": {\n    "node": {\n     "user_agent_name": "meshcraft-proxy",\n     "user_agent_build_version": {\n      "version": {\n       "major_number": `,
      ),
    ).toBe(true);
    expect(body.endsWith('\n}\n')).toBe(true);
  });

  it("lists the configs in Envoy's order, clusters second", async () => {
    const dump = await admin.json('/config_dump');
    expect(types(dump)).toEqual([
      `${T}BootstrapConfigDump`,
      `${T}ClustersConfigDump`,
      `${T}ListenersConfigDump`,
      `${T}ScopedRoutesConfigDump`,
      `${T}RoutesConfigDump`,
      `${T}SecretsConfigDump`,
    ]);
    const [bootstrap, clusters, listeners, , routes, secrets] = dump.configs;
    expect(bootstrap.last_updated).toBe('2022-06-22T11:06:36.102Z');
    expect(clusters.static_clusters).toEqual([
      {
        cluster: { '@type': 'type.googleapis.com/envoy.config.cluster.v3.Cluster', ...LAB6_CLUSTER },
        last_updated: '2022-06-22T11:06:36.102Z',
      },
    ]);
    expect(clusters.dynamic_active_clusters).toBeUndefined();
    expect(listeners.static_listeners[0].listener.name).toBe('listener_0');
    expect(routes.static_route_configs[0].route_config).toMatchObject({
      '@type': 'type.googleapis.com/envoy.config.route.v3.RouteConfiguration',
      name: 'local_route',
    });
    expect(secrets).toEqual({ '@type': `${T}SecretsConfigDump` });
  });

  it('shows dynamic clusters with version_info and last_updated, as lab 3 does', async () => {
    addLab3DynamicResources();
    const dump = await admin.json('/config_dump');
    const clusters = dump.configs[1];
    expect(clusters.version_info).toBe('411');
    expect(clusters.dynamic_active_clusters).toEqual([
      {
        version_info: '411',
        cluster: {
          '@type': 'type.googleapis.com/envoy.config.cluster.v3.Cluster',
          name: 'webcluster',
          type: 'EDS',
          eds_cluster_config: {
            eds_config: {
              api_config_source: {
                api_type: 'GRPC',
                grpc_services: [{ envoy_grpc: { cluster_name: 'xds_cluster' } }],
                set_node_on_first_message_only: true,
                transport_api_version: 'V3',
              },
              resource_api_version: 'V3',
            },
          },
          connect_timeout: '5s',
          dns_lookup_family: 'V4_ONLY',
        },
        last_updated: '2022-06-27T07:30:53.678Z',
      },
    ]);
    expect(Object.keys(clusters.dynamic_active_clusters[0])).toEqual([
      'version_info',
      'cluster',
      'last_updated',
    ]);
  });

  it('returns the elements of one repeated field with ?resource=, as lab 3 queries dynamic_listeners', async () => {
    addLab3DynamicResources();
    const dump = await admin.json('/config_dump?resource=dynamic_listeners');
    expect(types(dump)).toEqual([`${T}ListenersConfigDump.DynamicListener`]);
    expect(dump.configs[0].name).toBe('listener_http');
    expect(dump.configs[0].active_state.version_info).toBe('411');
    expect(dump.configs[0].active_state.last_updated).toBe('2022-06-27T07:30:53Z');
    expect(dump.configs[0].active_state.listener.address).toEqual({
      socket_address: { address: '0.0.0.0', port_value: 80 },
    });
  });

  it('applies ?mask= inside each resource, keeping @type', async () => {
    addLab3DynamicResources();
    const dump = await admin.json(
      '/config_dump?resource=dynamic_active_clusters&mask=cluster.name,version_info',
    );
    expect(dump).toEqual({
      configs: [
        {
          '@type': `${T}ClustersConfigDump.DynamicCluster`,
          version_info: '411',
          cluster: { '@type': 'type.googleapis.com/envoy.config.cluster.v3.Cluster', name: 'webcluster' },
        },
      ],
    });
  });

  it('applies ?mask= alone to the configs it fits, and refuses it when it fits none', async () => {
    addLab3DynamicResources();
    const dump = await admin.json('/config_dump?mask=dynamic_active_clusters');
    expect(types(dump)).toEqual([`${T}ClustersConfigDump`]);
    expect(Object.keys(dump.configs[0])).toEqual(['@type', 'dynamic_active_clusters']);
    const res = await admin.get('/config_dump?mask=no_such_field');
    expect([res.status, await res.text()]).toEqual([
      400,
      'FieldMask no_such_field could not be successfully applied to any configs.',
    ]);
  });

  it('filters resources by ?name_regex= (full match)', async () => {
    addLab3DynamicResources();
    const dump = await admin.json('/config_dump?resource=dynamic_active_clusters&name_regex=web.*');
    expect(dump.configs.map((c: { cluster: { name: string } }) => c.cluster.name)).toEqual(['webcluster']);
    expect(await (await admin.get('/config_dump?resource=static_clusters&name_regex=local')).text()).toBe(
      '{}\n',
    );
    const bad = await admin.get('/config_dump?name_regex=(');
    expect(bad.status).toBe(400);
    expect(await bad.text()).toMatch(/^INVALID_ARGUMENT: Error while parsing name_regex from \(: /);
  });

  it('answers bad ?resource= values as Envoy does', async () => {
    let res = await admin.get('/config_dump?resource=nonsense');
    expect([res.status, await res.text()]).toEqual([404, 'nonsense not found in config dump']);
    res = await admin.get('/config_dump?resource=version_info');
    expect([res.status, await res.text()]).toEqual([
      400,
      'version_info is not a repeated field. Use ?mask=version_info to get only this field',
    ]);
    res = await admin.get('/config_dump?resource=static_clusters&mask=cluster.name,bogus');
    expect(res.status).toBe(400);
    expect(await res.text()).toBe(
      'FieldMask paths: "cluster.name"\npaths: "bogus"\n could not be successfully used.',
    );
  });

  it('adds EndpointsConfigDump from the cluster hosts with ?include_eds', async () => {
    context.clusterStatuses[0]!.hosts[1]!.setFlag('failed_active_hc');
    const dump = await admin.json('/config_dump?include_eds');
    expect(types(dump)[2]).toBe(`${T}EndpointsConfigDump`);
    expect(dump.configs[2].static_endpoint_configs).toEqual([
      {
        endpoint_config: {
          '@type': 'type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment',
          cluster_name: 'local_cluster',
          endpoints: [
            {
              locality: {},
              lb_endpoints: [
                {
                  endpoint: {
                    address: { socket_address: { address: '172.31.5.11', port_value: 8080 } },
                    health_check_config: {},
                  },
                  health_status: 'HEALTHY',
                  load_balancing_weight: 1,
                },
                {
                  endpoint: {
                    address: { socket_address: { address: '172.31.5.12', port_value: 8080 } },
                    health_check_config: {},
                  },
                  health_status: 'UNHEALTHY',
                  load_balancing_weight: 1,
                },
              ],
            },
          ],
          policy: { overprovisioning_factor: 140 },
        },
      },
    ]);
  });

  it('redacts private keys and passwords', async () => {
    const secret: Secret = {
      name: 'server_cert',
      tls_certificate: {
        certificate_chain: { filename: '/etc/envoy/certs/server.crt' },
        private_key: { inline_string: '-----BEGIN PRIVATE KEY-----' },
        password: { inline_bytes: 'c2VjcmV0' },
      },
    };
    context.snapshot.staticSecrets.push({ resource: secret });
    const dump = await admin.json('/config_dump?resource=static_secrets');
    expect(dump.configs[0].secret.tls_certificate).toEqual({
      certificate_chain: { filename: '/etc/envoy/certs/server.crt' },
      private_key: { inline_string: '[redacted]' },
      password: { inline_bytes: 'W3JlZGFjdGVkXQ==' },
    });
    expect(dump.configs[0].name).toBe('server_cert');
  });

  it('has no route configs without an HTTP connection manager', async () => {
    context.snapshot.staticListeners = [
      { resource: { name: 'tcp', address: { socket_address: { address: '0.0.0.0', port_value: 5432 } } } },
    ];
    const dump = await admin.json('/config_dump');
    expect(types(dump)).not.toContain(`${T}RoutesConfigDump`);
  });
});
