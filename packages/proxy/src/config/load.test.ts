import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError } from './errors.js';
import { loadBootstrap, loadDiscoveryResponseFile, normalizeResource } from './load.js';

const dir = mkdtempSync(join(tmpdir(), 'meshcraft-config-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

const fixture = (path: string) => fileURLToPath(new URL(`../../test/fixtures/${path}`, import.meta.url));

function errorOf(run: () => unknown): ConfigError {
  try {
    run();
  } catch (e) {
    if (e instanceof ConfigError) return e;
    throw e;
  }
  throw new Error('expected a ConfigError');
}

const CLUSTER_YAML = `static_resources:
  clusters:
  - name: local_cluster
    connect_timeout: 0.25s
    type: strict_dns
    lb_policy: round_robin
    load_assignment:
      cluster_name: local_cluster
      endpoints:
      - lb_endpoints:
        - endpoint:
            address:
              socket_address: { address: myservice, port_value: 80 }
admin:
  access_log_path: /tmp/admin_access.log
  address:
    socket_address: { address: 0.0.0.0, port_value: 9901 }
`;

describe('loadBootstrap', () => {
  it('loads a YAML file (-c) into the normalized form', () => {
    const { bootstrap, warnings } = loadBootstrap({
      path: fixture('reference/day13-lab04-tcp-front-proxy.envoy.yaml'),
    });
    expect(bootstrap.static_resources?.listeners).toEqual([
      {
        name: 'listener_0',
        address: { socket_address: { address: '0.0.0.0', port_value: 80 } },
        filter_chains: [
          {
            filters: [
              {
                name: 'envoy.tcp_proxy',
                typed_config: {
                  '@type': 'type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy',
                  stat_prefix: 'tcp',
                  cluster: 'local_cluster',
                },
              },
            ],
          },
        ],
      },
    ]);
    expect(bootstrap.static_resources?.clusters?.[0]).toMatchObject({
      connect_timeout: '0.250s',
      type: 'STATIC',
      lb_policy: 'ROUND_ROBIN',
    });
    expect(warnings).toEqual([]);
  });

  it('loads JSON files the same way', () => {
    const yaml = loadBootstrap({ path: file('same.yaml', CLUSTER_YAML) }).bootstrap;
    const json = JSON.stringify({
      static_resources: {
        clusters: [
          {
            name: 'local_cluster',
            connectTimeout: '0.25s',
            type: 'STRICT_DNS',
            lb_policy: 'ROUND_ROBIN',
            load_assignment: {
              cluster_name: 'local_cluster',
              endpoints: [
                {
                  lb_endpoints: [
                    { endpoint: { address: { socket_address: { address: 'myservice', port_value: '80' } } } },
                  ],
                },
              ],
            },
          },
        ],
      },
      admin: {
        access_log_path: '/tmp/admin_access.log',
        address: { socket_address: { address: '0.0.0.0', port_value: 9901 } },
      },
    });
    expect(loadBootstrap({ path: file('same.json', json) }).bootstrap).toEqual(yaml);
  });

  it('says where the problem is: file:line:column: field path: what is wrong', () => {
    const path = file('envoy.yaml', CLUSTER_YAML.replace('connect_timeout', 'conect_timeout'));
    const error = errorOf(() => loadBootstrap({ path }));
    expect(error.message).toBe(
      `${path}:4:5: static_resources.clusters[0].conect_timeout: unknown field (did you mean 'connect_timeout'?)`,
    );
    expect(error).toMatchObject({
      line: 4,
      column: 5,
      file: path,
      fieldPath: 'static_resources.clusters[0].conect_timeout',
    });
  });

  it('points at the value for a bad value', () => {
    const error = errorOf(() =>
      loadBootstrap({ yaml: CLUSTER_YAML.replace('port_value: 80', 'port_value: eighty') }),
    );
    expect(error.message).toBe(
      '--config-yaml:13:65: static_resources.clusters[0].load_assignment.endpoints[0].lb_endpoints[0].endpoint.address.socket_address.port_value: expected a non-negative whole number, got the string "eighty"',
    );
  });

  it('locates errors in JSON files', () => {
    const path = file('bad.json', '{\n  "static_resources": {\n    "clusters": [{"name": 5}]\n  }\n}\n');
    expect(errorOf(() => loadBootstrap({ path })).message).toBe(
      `${path}:3:27: static_resources.clusters[0].name: expected a string, got the number 5 (put it in quotes: "5")`,
    );
  });

  it('reports malformed YAML with line and column', () => {
    const path = file(
      'broken.yaml',
      'admin:\n  address:\n    socket_address: {address: 0.0.0.0, port_value: 9901\n',
    );
    const error = errorOf(() => loadBootstrap({ path }));
    expect(error.message).toMatch(new RegExp(`^${path.replace(/[.]/g, '\\.')}:\\d+:\\d+: malformed YAML: `));
    expect(error.line).toBeGreaterThanOrEqual(3);
  });

  it('reports a missing file as Envoy does', () => {
    const path = join(dir, 'missing.yaml');
    expect(errorOf(() => loadBootstrap({ path })).message).toBe(`${path}: Unable to read file: no such file`);
  });

  it('needs a file or --config-yaml', () => {
    expect(() => loadBootstrap({})).toThrow('no configuration given');
  });

  it("returns Envoy's deprecation warnings with their position", () => {
    const path = file('deprecated.yaml', CLUSTER_YAML);
    expect(loadBootstrap({ path }).warnings).toEqual([
      expect.stringMatching(
        new RegExp(
          `^${path.replace(/[.]/g, '\\.')}:15:3: admin\\.access_log_path: Using deprecated option 'envoy\\.config\\.bootstrap\\.v3\\.Admin\\.access_log_path'`,
        ),
      ),
    ]);
  });
});

describe('--config-yaml over -c (protobuf MergeFrom)', () => {
  const base = file(
    'base.yaml',
    `node: {id: front, cluster: mesh, metadata: {a: 1, b: 2}}
enable_dispatcher_stats: true
stats_flush_interval: 1.5s
admin:
  address:
    socket_address: {address: 127.0.0.1, port_value: 9901}
${CLUSTER_YAML.split('admin:')[0]}`,
  );
  const merged = (yaml: string) => loadBootstrap({ path: base, yaml }).bootstrap;

  it('appends repeated fields', () => {
    const clusters = merged(`static_resources:\n  clusters:\n  - {name: extra, type: STRICT_DNS}\n`)
      .static_resources?.clusters;
    expect(clusters?.map((c) => c.name)).toEqual(['local_cluster', 'extra']);
  });

  it('merges singular messages field by field and replaces scalars', () => {
    const b = merged('admin: {address: {socket_address: {port_value: 9902}}}\nnode: {id: sidecar}\n');
    expect(b.admin?.address).toEqual({ socket_address: { address: '127.0.0.1', port_value: 9902 } });
    expect(b.node).toEqual({ id: 'sidecar', cluster: 'mesh', metadata: { a: 1, b: 2 } });
  });

  it('merges maps (a Struct) key by key', () => {
    expect(merged('node: {metadata: {b: 3, c: 4}}\n').node?.metadata).toEqual({ a: 1, b: 3, c: 4 });
  });

  it('does not let a default value (false, 0, "") override, as proto3 cannot tell it from unset', () => {
    expect(merged('enable_dispatcher_stats: false\n').enable_dispatcher_stats).toBe(true);
  });

  it('merges a duration like the message it is (seconds and nanos separately)', () => {
    expect(merged('stats_flush_interval: 2s\n').stats_flush_interval).toBe('2.500s');
  });

  it('replaces the member of a oneof', () => {
    expect(merged('admin: {address: {pipe: {path: /tmp/admin.sock}}}\n').admin?.address).toEqual({
      pipe: { path: '/tmp/admin.sock' },
    });
  });

  it('checks rules on the merged config, so either input may supply a required value', () => {
    const partial = file('partial.yaml', 'dynamic_resources:\n  cds_config: {resource_api_version: V3}\n');
    expect(() => loadBootstrap({ path: partial })).toThrow(
      "one of 'path', 'path_config_source', 'api_config_source', 'ads', 'self' must be set",
    );
    const { bootstrap } = loadBootstrap({
      path: partial,
      yaml: 'dynamic_resources: {cds_config: {path: /etc/envoy/cds.yaml}}\n',
    });
    expect(bootstrap.dynamic_resources?.cds_config).toEqual({
      path: '/etc/envoy/cds.yaml',
      resource_api_version: 'V3',
    });
  });

  it('locates errors of either input', () => {
    expect(errorOf(() => merged('admin: {adress: {}}\n')).message).toBe(
      "--config-yaml:1:9: admin.adress: unknown field (did you mean 'address'?)",
    );
    const error = errorOf(() =>
      merged(`static_resources:\n  clusters:\n  - {name: local_cluster, type: STRICT_DNS}\n`),
    );
    expect(error.message).toContain("duplicate cluster name 'local_cluster'");
  });
});

describe('xDS resources', () => {
  const cla = {
    cluster_name: 'webcluster',
    endpoints: [
      {
        lb_endpoints: [
          { endpoint: { address: { socket_address: { address: '172.31.11.11', port_value: 80 } } } },
        ],
      },
    ],
  };
  const CLA_URL = 'type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment';

  it('normalizeResource validates a resource, with or without its @type', () => {
    expect(normalizeResource(CLA_URL, cla)).toEqual(cla);
    expect(
      normalizeResource('envoy.config.endpoint.v3.ClusterLoadAssignment', { '@type': CLA_URL, ...cla }),
    ).toEqual(cla);
  });

  it('normalizeResource refuses an @type of another resource type', () => {
    const error = errorOf(() =>
      normalizeResource(
        CLA_URL,
        { '@type': 'type.googleapis.com/envoy.config.cluster.v3.Cluster', name: 'c' },
        'resources[0]',
      ),
    );
    expect(`${error.fieldPath}: ${error.reason}`).toBe(
      'resources[0]["@type"]: the resource is a envoy.config.cluster.v3.Cluster, but a envoy.config.endpoint.v3.ClusterLoadAssignment was expected',
    );
  });

  it('normalizeResource refuses what is not an xDS resource, and v2 resources', () => {
    expect(() => normalizeResource('envoy.config.bootstrap.v3.Bootstrap', {})).toThrow(
      'envoy.config.bootstrap.v3.Bootstrap is not an xDS resource type meshcraft-proxy reads (Listener, Cluster, ClusterLoadAssignment, RouteConfiguration, Secret)',
    );
    expect(() => normalizeResource('type.googleapis.com/envoy.api.v2.Cluster', {})).toThrow(
      "use 'type.googleapis.com/envoy.config.cluster.v3.Cluster'",
    );
  });

  it('normalizeResource passes deprecation warnings on', () => {
    const warnings: string[] = [];
    normalizeResource(
      'envoy.config.cluster.v3.Cluster',
      { name: 'c', type: 'STRICT_DNS', http2_protocol_options: {} },
      'resources[0]',
      warnings,
    );
    expect(warnings).toEqual([
      expect.stringMatching(/^resources\[0\]\.http2_protocol_options: Using deprecated option/),
    ]);
  });

  it('loadDiscoveryResponseFile reads YAML by extension', () => {
    const { response } = loadDiscoveryResponseFile(
      fixture('reference/day14a-lab01-eds-filesystem.eds-v2.yaml'),
    );
    expect(response.version_info).toBe('2');
    expect(response.resources).toHaveLength(1);
    expect(response.resources?.[0]?.['@type']).toBe(CLA_URL);
  });

  it('loadDiscoveryResponseFile reads JSON otherwise (eds.conf)', () => {
    const path = file(
      'eds.conf',
      JSON.stringify({ version_info: '3', resources: [{ '@type': CLA_URL, ...cla }] }),
    );
    expect(loadDiscoveryResponseFile(path).response).toEqual({
      version_info: '3',
      resources: [{ '@type': CLA_URL, ...cla }],
    });
  });

  it('loadDiscoveryResponseFile refuses mixed resource types', () => {
    const path = file(
      'mixed.yaml',
      `resources:\n- {"@type": "${CLA_URL}", cluster_name: a}\n- {"@type": type.googleapis.com/envoy.config.cluster.v3.Cluster, name: a}\n`,
    );
    expect(errorOf(() => loadDiscoveryResponseFile(path)).message).toBe(
      `${path}:3:3: resources[1]["@type"]: the resource is a envoy.config.cluster.v3.Cluster, but resources[0] is a envoy.config.endpoint.v3.ClusterLoadAssignment; a discovery response holds one resource type`,
    );
  });

  it('loadDiscoveryResponseFile checks type_url against the resources', () => {
    const path = file(
      'typed.yaml',
      `type_url: type.googleapis.com/envoy.config.cluster.v3.Cluster\nresources:\n- {"@type": "${CLA_URL}", cluster_name: a}\n`,
    );
    expect(errorOf(() => loadDiscoveryResponseFile(path)).reason).toBe(
      'the resource is a envoy.config.endpoint.v3.ClusterLoadAssignment, but type_url says type.googleapis.com/envoy.config.cluster.v3.Cluster',
    );
    const v2 = file('v2-typed.yaml', 'type_url: type.googleapis.com/envoy.api.v2.Cluster\nresources: []\n');
    expect(errorOf(() => loadDiscoveryResponseFile(v2)).message).toBe(
      `${v2}:1:1: type_url: 'envoy.api.v2.Cluster' is an Envoy v2 API type; Envoy (since 1.18) and meshcraft-proxy accept only v3: use 'type.googleapis.com/envoy.config.cluster.v3.Cluster'`,
    );
  });

  it('loadDiscoveryResponseFile checks resources as Envoy would', () => {
    const path = file('bad-eds.yaml', `resources:\n- "@type": ${CLA_URL}\n  endpoints: []\n`);
    expect(errorOf(() => loadDiscoveryResponseFile(path)).message).toBe(
      `${path}:2:3: resources[0].cluster_name: must not be empty`,
    );
  });
});

describe('v2 configs are refused, naming their v3 replacement', () => {
  it('a v2 filter type URL', () => {
    const path = fixture('v2/front-proxy-v2.yaml');
    expect(errorOf(() => loadBootstrap({ path })).message).toBe(
      `${path}:12:20: static_resources.listeners[0].filter_chains[0].filters[0].typed_config["@type"]: 'envoy.config.filter.network.http_connection_manager.v2.HttpConnectionManager' is an Envoy v2 API type; Envoy (since 1.18) and meshcraft-proxy accept only v3: use 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager'`,
    );
  });

  it('an untyped v2 filter config', () => {
    const path = fixture('v2/tcp-proxy-untyped-config-v2.yaml');
    expect(errorOf(() => loadBootstrap({ path })).message).toBe(
      `${path}:10:9: static_resources.listeners[0].filter_chains[0].filters[0].config: unknown field: 'config' was removed from Filter in Envoy's v3 API (this looks like a v2 config); the untyped v2 "config" is gone: write typed_config with an "@type" naming the v3 config message`,
    );
  });

  it('v2 cluster hosts', () => {
    const v2 = loadBootstrapError(
      'static_resources:\n  clusters:\n  - name: c\n    hosts: [{socket_address: {address: a, port_value: 80}}]\n',
    );
    expect(v2).toContain(
      "'hosts' was removed from Cluster in Envoy's v3 API (this looks like a v2 config); list the endpoints under load_assignment",
    );
  });

  it('a v2 resource in a filesystem subscription file', () => {
    const path = fixture('v2/eds-v2.yaml');
    expect(errorOf(() => loadDiscoveryResponseFile(path)).message).toBe(
      `${path}:4:12: resources[0]["@type"]: 'envoy.api.v2.ClusterLoadAssignment' is an Envoy v2 API type; Envoy (since 1.18) and meshcraft-proxy accept only v3: use 'type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment'`,
    );
  });

  it('the v2 xDS API version', () => {
    const path = fixture('v2/cds-v2-resource-api.yaml');
    expect(errorOf(() => loadBootstrap({ path })).message).toBe(
      `${path}:7:27: dynamic_resources.cds_config.resource_api_version: the v2 xDS API is no longer supported by Envoy (since 1.19) or meshcraft-proxy; use V3`,
    );
  });
});

function loadBootstrapError(yaml: string): string {
  return errorOf(() => loadBootstrap({ yaml })).message;
}
