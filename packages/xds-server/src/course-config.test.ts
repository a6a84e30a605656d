import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseCli } from './cli.js';
import { CourseConfigError, courseResources } from './course-config.js';
import { Snapshot } from './snapshot.js';

const lab3 = fs.readFileSync(
  new URL('../test/fixtures/lab03-lds-cds-grpc.config.yaml', import.meta.url),
  'utf8',
);

const GRPC_SOURCE = {
  api_config_source: {
    api_type: 'GRPC',
    transport_api_version: 'V3',
    grpc_services: [{ envoy_grpc: { cluster_name: 'xds_cluster' } }],
    set_node_on_first_message_only: true,
  },
  resource_api_version: 'V3',
};

describe("the course's control-plane file", () => {
  it('becomes the resources the course server logs at start (labs-day14a §2.3)', () => {
    const r = courseResources(lab3);
    expect(r.clusters).toEqual([
      {
        name: 'webcluster',
        type: 'EDS',
        eds_cluster_config: { eds_config: GRPC_SOURCE },
        connect_timeout: '5s',
        dns_lookup_family: 'V4_ONLY',
      },
    ]);
    expect(r.endpoints).toEqual([
      {
        cluster_name: 'webcluster',
        endpoints: [
          {
            lb_endpoints: [
              { endpoint: { address: { socket_address: { address: '172.31.15.11', port_value: 80 } } } },
            ],
          },
        ],
      },
    ]);
    expect(r.routes).toEqual([
      {
        name: 'local_route',
        virtual_hosts: [
          {
            name: 'local_service',
            domains: ['*'],
            routes: [{ match: { prefix: '/' }, route: { cluster: 'webcluster' } }],
          },
        ],
      },
    ]);
    const hcm = r.listeners![0]!.filter_chains![0]!.filters![0]!.typed_config;
    expect(r.listeners![0]!.address).toEqual({ socket_address: { address: '0.0.0.0', port_value: 80 } });
    expect(hcm).toMatchObject({
      stat_prefix: 'http',
      rds: { config_source: GRPC_SOURCE, route_config_name: 'local_route' },
      http_filters: [{ name: 'envoy.filters.http.router' }],
    });
    // And Envoy's protos accept all of it.
    expect(() => Snapshot.build(r, '411')).not.toThrow();
  });

  it('can point routes and endpoints at ADS or REST instead', () => {
    expect(courseResources(lab3, { configSource: 'ads' }).clusters![0]!.eds_cluster_config).toEqual({
      eds_config: { ads: {}, resource_api_version: 'V3' },
    });
    expect(
      courseResources(lab3, { configSource: 'rest' }).clusters![0]!.eds_cluster_config?.eds_config
        ?.api_config_source,
    ).toEqual({
      api_type: 'REST',
      transport_api_version: 'V3',
      cluster_names: ['xds_cluster'],
      refresh_delay: '0.5s',
    });
  });

  it('names the entry that is wrong', () => {
    expect(() =>
      courseResources('spec:\n  clusters:\n  - name: c\n    endpoints: [{address: 10.0.0.1, port: http}]\n'),
    ).toThrow(new CourseConfigError('spec.clusters[0].endpoints[0].port: expected a port number'));
    expect(() => courseResources('spec:\n  listeners:\n  - {name: l, address: 0.0.0.0, port: 80}\n')).toThrow(
      /spec\.listeners\[0\]\.routes: a listener needs at least one route/,
    );
  });
});

describe('meshcraft-xds command line', () => {
  it("takes the course image's environment, and its flags over it", () => {
    const env = { SERVER_PORT: '18000', NODE_ID: 'envoy_front_proxy', RESOURCES_FILE: '/c/config.yaml' };
    expect(parseCli([], env)).toMatchObject({
      port: 18000,
      nodeId: 'envoy_front_proxy',
      file: '/c/config.yaml',
      configSource: 'grpc',
    });
    expect(
      parseCli(
        ['-watchDirectoryFileName', '/x.yaml', '-port', '19000', '-nodeID', 'n', '--rest-port', '18001'],
        env,
      ),
    ).toMatchObject({ port: 19000, nodeId: 'n', file: '/x.yaml', restPort: 18001 });
    expect(() => parseCli(['-port', 'http'], env)).toThrow(/-port must be a port number/);
    expect(() => parseCli([], { CONFIG_SOURCE: 'delta' })).toThrow(/CONFIG_SOURCE is grpc, ads or rest/);
  });
});
