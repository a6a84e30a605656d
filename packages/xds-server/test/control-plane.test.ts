/**
 * The control plane's in-process API with real meshcraft-proxy processes (the console's way of
 * changing a running lab), a rejected push, and a control plane that goes away and comes back.
 */
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import YAML from 'yaml';
import {
  AddressMap,
  fixture,
  Lab,
  request,
  sidecarPod,
  tally,
  until,
} from '../../proxy/test/scenarios/harness.js';
import { stat } from '../../proxy/test/scenarios/xds-support.js';
import { ControlPlane, type NackEvent, RejectedError, type Resources } from '../src/index.js';
import { courseFile, remapCourseConfig, XdsProcess } from './support.js';

let lab: Lab | undefined;
let controlPlane: ControlPlane | undefined;
let xds: XdsProcess | undefined;
afterEach(async () => {
  await controlPlane?.close();
  await xds?.kill();
  await lab?.close();
  controlPlane = undefined;
  xds = undefined;
  lab = undefined;
});

/** LAB 3's front proxy with LAB 4's ADS sources: everything this proxy runs comes from the control plane. */
function adsFront(): string {
  const doc = YAML.parse(fixture('day14a-lab03-lds-cds-grpc.front-envoy.yaml')) as Record<string, unknown>;
  doc.dynamic_resources = (
    YAML.parse(fixture('day14a-lab04-ads-grpc.dynamic-resources.yaml')) as Record<string, unknown>
  ).dynamic_resources;
  return YAML.stringify(doc);
}

const ADS = { ads: {}, resource_api_version: 'V3' as const };

/** A lab's resources as the console would render them: listener → RDS route → EDS cluster, all over ADS. */
function labResources(
  map: AddressMap,
  o: { endpoints: string[]; connectTimeout?: string; lbPolicy?: string; front?: string },
): Resources {
  return {
    listeners: [
      {
        name: 'listener_http',
        address: { socket_address: { address: map.ip(o.front ?? '172.31.19.2'), port_value: map.port(80) } },
        filter_chains: [
          {
            filters: [
              {
                name: 'envoy.filters.network.http_connection_manager',
                typed_config: {
                  '@type':
                    'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager',
                  stat_prefix: 'http',
                  rds: { config_source: ADS, route_config_name: 'local_route' },
                  http_filters: [{ name: 'envoy.filters.http.router' }],
                },
              },
            ],
          },
        ],
      },
    ],
    routes: [
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
    ],
    clusters: [
      {
        name: 'webcluster',
        type: 'EDS',
        eds_cluster_config: { eds_config: ADS },
        connect_timeout: o.connectTimeout ?? '5s',
        ...(o.lbPolicy ? { lb_policy: o.lbPolicy as 'RANDOM' } : {}),
      },
    ],
    endpoints: [
      {
        cluster_name: 'webcluster',
        endpoints: [
          {
            lb_endpoints: o.endpoints.map((ip) => ({
              endpoint: { address: { socket_address: { address: map.ip(ip), port_value: map.port(80) } } },
            })),
          },
        ],
      },
    ],
  };
}

interface ClusterDump {
  configs: { dynamic_active_clusters?: { version_info: string; cluster: { connect_timeout: string } }[] }[];
}

describe('pushing a lab edit from the in-process API', () => {
  it('a rejected cluster is NACKed with error_detail; the proxy keeps serving the old one and accepts the next valid version', async () => {
    const map = new AddressMap('172.31.19.', '127.52.19.');
    await map.allocate(80, 8080, 9901, 18000);
    lab = new Lab(map);
    await sidecarPod(lab, { ip: '172.31.19.11', hostname: 'webserver01' });
    await sidecarPod(lab, { ip: '172.31.19.12', hostname: 'webserver02' });
    lab.alias('xdsserver', '172.31.19.5');
    controlPlane = await ControlPlane.start({ host: map.ip('172.31.19.5'), grpcPort: map.port(18000) });
    const nacks: NackEvent[] = [];
    controlPlane.on('nack', (e) => nacks.push(e));
    const v1 = controlPlane.setSnapshot(
      'envoy_front_proxy',
      labResources(map, { endpoints: ['172.31.19.11'] }),
    );
    // Versions are digests of the content: the same lab renders to the same version.
    expect(v1).toMatch(/^[0-9a-f]{16}$/);
    expect(
      controlPlane.setSnapshot('envoy_front_proxy', labResources(map, { endpoints: ['172.31.19.11'] })),
    ).toBe(v1);
    const proxy = await lab.proxy(adsFront(), { self: '172.31.19.2', name: 'front-envoy' });
    const url = `http://${map.ip('172.31.19.2')}:${map.port(80)}/`;
    expect(await tally(url, 2)).toEqual(new Map([['webserver01', 2]]));
    await controlPlane.waitForAck('envoy_front_proxy', v1);

    // The API refuses what Envoy would refuse, naming the field, and pushes nothing.
    const invalid = labResources(map, {
      endpoints: ['172.31.19.11'],
      connectTimeout: '-1s',
      lbPolicy: 'RANDOM',
    });
    expect(() => controlPlane!.setSnapshot('envoy_front_proxy', invalid)).toThrow(
      /clusters\[0\]\.connect_timeout/,
    );
    expect(controlPlane.snapshot('envoy_front_proxy')?.version).toBe(v1);

    // Pushed anyway (unvalidated), the proxy rejects the cluster: NACK with its error, old cluster kept.
    const version = controlPlane.setSnapshot('envoy_front_proxy', invalid, { validate: false });
    const rejected = await controlPlane.waitForAck('envoy_front_proxy', version).catch((e: unknown) => e);
    expect(rejected).toBeInstanceOf(RejectedError);
    expect((rejected as RejectedError).message).toMatch(
      new RegExp(
        `rejected version ${version} of type\\.googleapis\\.com/envoy\\.config\\.cluster\\.v3\\.Cluster: .*connect_timeout`,
      ),
    );
    expect((rejected as RejectedError).nack).toMatchObject({ nodeId: 'envoy_front_proxy', version });
    expect(nacks).toHaveLength(1);
    expect(nacks[0]!.message).toMatch(/resources\[0\]\.connect_timeout: .*\(in Cluster 'webcluster'\)/);
    const status = controlPlane.nodes().find((n) => n.id === 'envoy_front_proxy')!;
    expect(status.types['type.googleapis.com/envoy.config.cluster.v3.Cluster']).toMatchObject({
      acked: { version: v1 },
      nacked: { version },
    });
    expect(await stat(proxy.admin, 'cluster_manager.cds.update_rejected')).toBe(1);
    expect(proxy.logs()).toMatch(
      /gRPC config for type\.googleapis\.com\/envoy\.config\.cluster\.v3\.Cluster rejected: /,
    );
    const kept = JSON.parse((await request(`${proxy.admin}/config_dump`)).body) as ClusterDump;
    expect(kept.configs[1]!.dynamic_active_clusters![0]).toMatchObject({
      version_info: v1,
      cluster: { connect_timeout: '5s' },
    });
    expect(await tally(url, 2)).toEqual(new Map([['webserver01', 2]]));

    // The next valid version: a second endpoint, accepted everywhere.
    const next = controlPlane.setSnapshot(
      'envoy_front_proxy',
      labResources(map, { endpoints: ['172.31.19.11', '172.31.19.12'], connectTimeout: '1s' }),
    );
    await controlPlane.waitForAck('envoy_front_proxy', next, {
      typeUrls: ['Cluster', 'ClusterLoadAssignment'].map(
        (t) => `type.googleapis.com/envoy.config.${t === 'Cluster' ? 'cluster' : 'endpoint'}.v3.${t}`,
      ),
    });
    // Accepted (ACKed) at once; active once the replacement cluster has warmed with its endpoints.
    const active = async () =>
      (JSON.parse((await request(`${proxy.admin}/config_dump`)).body) as ClusterDump).configs[1]!
        .dynamic_active_clusters![0]!;
    await until('the new cluster to be active', async () => (await active()).version_info === next);
    expect((await active()).cluster.connect_timeout).toBe('1s');
    await until('both endpoints', async () => (await tally(url, 4)).size === 2);

    // A listener whose inline routes name a cluster that does not exist: valid protos, but Envoy
    // validates an inline route_config's clusters, so LDS rejects it and the listener stays.
    const dangling = labResources(map, { endpoints: ['172.31.19.11', '172.31.19.12'], connectTimeout: '1s' });
    const hcm = dangling.listeners![0]!.filter_chains![0]!.filters![0]!.typed_config as Record<
      string,
      unknown
    >;
    delete hcm.rds;
    hcm.route_config = {
      name: 'inline',
      virtual_hosts: [
        { name: 'v', domains: ['*'], routes: [{ match: { prefix: '/' }, route: { cluster: 'nope' } }] },
      ],
    };
    const v4 = controlPlane.setSnapshot('envoy_front_proxy', dangling);
    await expect(controlPlane.waitForAck('envoy_front_proxy', v4)).rejects.toThrow(
      /Listener: Error adding\/updating listener\(s\) listener_http: route: unknown cluster 'nope'/,
    );
    expect(await stat(proxy.admin, 'listener_manager.lds.update_rejected')).toBe(1);
    expect((await tally(url, 4)).size).toBe(2);
  });
});

describe('one control plane for several labs', () => {
  it("listens on each lab's address; dropping one address ends only that lab's streams", async () => {
    const labs: Lab[] = [];
    const cp = new ControlPlane();
    controlPlane = cp;
    try {
      const fronts = [];
      for (const [n, prefix] of [
        [23, '127.52.23.'],
        [24, '127.52.24.'],
      ] as const) {
        const map = new AddressMap(`172.31.${n}.`, prefix);
        await map.allocate(80, 8080, 9901, 18000);
        const l = new Lab(map);
        labs.push(l);
        await sidecarPod(l, { ip: `172.31.${n}.11`, hostname: 'webserver01' });
        await sidecarPod(l, { ip: `172.31.${n}.12`, hostname: 'webserver02' });
        l.alias('xdsserver', `172.31.${n}.5`);
        const host = map.ip(`172.31.${n}.5`);
        expect(await cp.listen(host, map.port(18000))).toBe(map.port(18000));
        const nodeId = `lab-${n}/front`;
        const resources = (endpoints: string[]) => labResources(map, { endpoints, front: `172.31.${n}.2` });
        cp.setSnapshot(nodeId, resources([`172.31.${n}.11`]));
        const bootstrap = YAML.parse(adsFront()) as { node: { id: string } };
        bootstrap.node.id = nodeId;
        await l.proxy(YAML.stringify(bootstrap), { self: `172.31.${n}.2`, name: 'front-envoy' });
        const url = `http://${map.ip(`172.31.${n}.2`)}:${map.port(80)}/`;
        expect(await tally(url, 2)).toEqual(new Map([['webserver01', 2]]));
        fronts.push({ n, nodeId, host, port: map.port(18000), url, resources });
      }
      const [a, b] = fronts as [(typeof fronts)[0], (typeof fronts)[0]];
      expect(cp.addresses()).toEqual([
        { host: a.host, port: a.port },
        { host: b.host, port: b.port },
      ]);
      // Listening again where it listens changes nothing; an address another program holds is refused.
      expect(await cp.listen(b.host, b.port)).toBe(b.port);
      const other = net.createServer();
      await new Promise<void>((r) => other.listen(0, b.host, r));
      try {
        const taken = (other.address() as net.AddressInfo).port;
        await expect(cp.listen(b.host, taken)).rejects.toThrow(/No address added out of total 1 resolved/);
      } finally {
        other.close();
      }
      expect(cp.addresses()).toHaveLength(2);

      const streams = (id: string) => cp.nodes().find((x) => x.id === id)?.streams;
      expect([streams(a.nodeId), streams(b.nodeId)]).toEqual([1, 1]);
      cp.unlisten(a.host, a.port);
      await until('the first lab to be cut off', async () => streams(a.nodeId) === 0);
      expect(streams(b.nodeId)).toBe(1);
      expect(cp.addresses()).toEqual([{ host: b.host, port: b.port }]);

      // The other lab still takes edits; the one cut off keeps serving what it had.
      const v = cp.setSnapshot(b.nodeId, b.resources([`172.31.${b.n}.11`, `172.31.${b.n}.12`]));
      await cp.waitForAck(b.nodeId, v);
      await until('both endpoints behind the second lab', async () => (await tally(b.url, 4)).size === 2);
      expect(await tally(a.url, 2)).toEqual(new Map([['webserver01', 2]]));
    } finally {
      for (const l of labs) await l.close();
    }
  });
});

describe('a control plane that goes away', () => {
  it('proxies keep serving while it is down, reconnect with back-off and resync to what changed meanwhile', async () => {
    const map = new AddressMap('172.31.20.', '127.52.20.');
    await map.allocate(80, 8080, 9901, 18000);
    lab = new Lab(map);
    await sidecarPod(lab, { ip: '172.31.20.11', hostname: 'webserver01' });
    await sidecarPod(lab, { ip: '172.31.20.12', hostname: 'webserver02' });
    lab.alias('xdsserver', '172.31.20.5');
    const dir = path.join(lab.dir, 'resources');
    fs.mkdirSync(dir);
    const configFile = path.join(dir, 'config.yaml');
    const remap = (name: string, front: string) =>
      remapCourseConfig(map, courseFile(name), '172.31.15.', front);
    const env = {
      SERVER_PORT: String(map.port(18000)),
      NODE_ID: 'envoy_front_proxy',
      RESOURCES_FILE: configFile,
      CONFIG_SOURCE: 'ads',
    };
    fs.writeFileSync(configFile, remap('lab03-lds-cds-grpc.config.yaml', '172.31.20.2'));
    xds = await XdsProcess.start(env);
    const proxy = await lab.proxy(adsFront(), { self: '172.31.20.2', name: 'front-envoy' });
    const url = `http://${map.ip('172.31.20.2')}:${map.port(80)}/`;
    expect(await tally(url, 2)).toEqual(new Map([['webserver01', 2]]));
    expect(await stat(proxy.admin, 'control_plane.connected_state')).toBe(1);

    await xds.kill();
    await until(
      'the proxy to see the control plane go',
      async () => (await stat(proxy.admin, 'control_plane.connected_state')) === 0,
    );
    // Down: traffic still flows, from the config the proxy has.
    expect(await tally(url, 3)).toEqual(new Map([['webserver01', 3]]));
    fs.writeFileSync(configFile, remap('lab03-lds-cds-grpc.config.yaml.v2', '172.31.20.2'));

    xds = await XdsProcess.start(env);
    // Envoy's back-off: a random delay under 0.5 s, 1 s, 2 s, ... doubling up to 30 s.
    await until(
      'the proxy to reconnect',
      async () => (await stat(proxy.admin, 'control_plane.connected_state')) === 1,
      40_000,
    );
    await until('the resynced endpoints', async () => (await tally(url, 4)).size === 2, 10_000);
    expect(proxy.logs()).toMatch(/StreamAggregatedResources gRPC config stream to xds_cluster closed: 14/);
    expect(await stat(proxy.admin, 'cluster_manager.cds.update_failure')).toBeGreaterThanOrEqual(1);
  });
});

describe('listeners replaced or removed over LDS drain', () => {
  it('a request in flight finishes on the old listener; new connections get the new one, or none once removed', async () => {
    const map = new AddressMap('172.31.21.', '127.52.21.');
    await map.allocate(80, 8080, 9901, 18000);
    lab = new Lab(map);
    lab.alias('xdsserver', '172.31.21.5');
    // An upstream that answers /slow after 1.5 s, to have a request in flight across the change.
    const upstream = http.createServer((req, res) => {
      setTimeout(() => res.end(`done ${req.url}\n`), req.url === '/slow' ? 1500 : 0);
    });
    await new Promise<void>((r) => upstream.listen(map.port(8080), map.ip('172.31.21.11'), r));
    try {
      controlPlane = await ControlPlane.start({ host: map.ip('172.31.21.5'), grpcPort: map.port(18000) });
      const resources = (statPrefix: string): Resources => {
        const r = labResources(map, { endpoints: [] });
        const hcm = r.listeners![0]!.filter_chains![0]!.filters![0]!.typed_config as Record<string, unknown>;
        hcm.stat_prefix = statPrefix;
        r.listeners![0]!.address = {
          socket_address: { address: map.ip('172.31.21.2'), port_value: map.port(80) },
        };
        r.endpoints![0]!.endpoints![0]!.lb_endpoints = [
          {
            endpoint: {
              address: { socket_address: { address: map.ip('172.31.21.11'), port_value: map.port(8080) } },
            },
          },
        ];
        return r;
      };
      controlPlane.setSnapshot('envoy_front_proxy', resources('http'));
      const proxy = await lab.proxy(adsFront(), { self: '172.31.21.2', name: 'front-envoy' });
      const base = `http://${map.ip('172.31.21.2')}:${map.port(80)}`;
      expect((await request(`${base}/fast`)).body).toBe('done /fast\n');

      // Replaced: the in-flight request completes (and its connection closes); the next one is the new listener's.
      const inFlight = request(`${base}/slow`);
      await new Promise((r) => setTimeout(r, 300));
      const v2 = controlPlane.setSnapshot('envoy_front_proxy', resources('http_v2'));
      await controlPlane.waitForAck('envoy_front_proxy', v2, {
        typeUrls: ['type.googleapis.com/envoy.config.listener.v3.Listener'],
      });
      // Active once it took over the socket: the second listener created.
      await until(
        'the new listener',
        async () => (await stat(proxy.admin, 'listener_manager.listener_create_success')) === 2,
      );
      expect((await request(`${base}/fast`)).status).toBe(200);
      expect(await stat(proxy.admin, 'http.http_v2.downstream_rq_total')).toBe(1);
      const finished = await inFlight;
      expect(finished).toMatchObject({ status: 200, body: 'done /slow\n' });
      expect(finished.headers.connection).toBe('close');
      expect(proxy.logs()).toContain("lds: add/update listener 'listener_http'");

      // Removed: stops accepting at once, the request in flight still completes.
      const lastOne = request(`${base}/slow`);
      await new Promise((r) => setTimeout(r, 300));
      controlPlane.setSnapshot('envoy_front_proxy', { ...resources('http_v2'), listeners: [] });
      await until('the removal', async () => proxy.logs().includes("lds: remove listener 'listener_http'"));
      await expect(request(`${base}/fast`)).rejects.toThrow(/ECONNREFUSED/);
      expect(await lastOne).toMatchObject({ status: 200, body: 'done /slow\n' });
      expect((await request(`${proxy.admin}/listeners`)).body).toBe('');
    } finally {
      upstream.closeAllConnections();
      upstream.close();
    }
  });
});

describe('a proxy that starts before its control plane (articles §3.5)', () => {
  it('goes LIVE after initial_fetch_timeout with its static config, then takes the config once the control plane is up', async () => {
    const map = new AddressMap('172.31.22.', '127.52.22.');
    await map.allocate(8080, 10000, 18000, 19000);
    lab = new Lab(map);
    await lab.demoapp({ ip: '172.31.22.11', port: 8080, serverName: 'service1' });
    lab.alias('service1', '172.31.22.11');
    lab.alias('go-control-plane', '172.31.22.5');
    // --service-node/--service-cluster name the node the control plane sees, as with Envoy. CDS
    // and then LDS each wait initial_fetch_timeout (Envoy's default, 15 s, shortened to 4 s here).
    const started = Date.now();
    const proxy = await lab.proxy(fixture('articles-004-dynamic-config-cp.bootstrap.yaml'), {
      self: '172.31.22.2',
      name: 'proxy',
      args: [
        '--service-node',
        'edge-1',
        '--service-cluster',
        'edge',
        '--config-yaml',
        'dynamic_resources: {cds_config: {initial_fetch_timeout: 4s}, lds_config: {initial_fetch_timeout: 4s}}',
      ],
    });
    expect(Date.now() - started).toBeGreaterThanOrEqual(8000);
    expect(await stat(proxy.admin, 'cluster_manager.cds.init_fetch_timeout')).toBe(1);
    expect(await stat(proxy.admin, 'listener_manager.lds.init_fetch_timeout')).toBe(1);
    const url = `http://${map.ip('172.31.22.2')}:${map.port(10000)}/`;
    await expect(request(url)).rejects.toThrow(/ECONNREFUSED/);
    const before = JSON.parse((await request(`${proxy.admin}/config_dump`)).body) as {
      configs: { static_clusters?: { cluster: { name: string } }[]; dynamic_active_clusters?: unknown }[];
    };
    expect(before.configs[1]!.static_clusters!.map((c) => c.cluster.name)).toEqual(['xds_cluster']);
    expect(before.configs[1]!.dynamic_active_clusters).toBeUndefined();

    // The go-control-plane example's snapshot (version "1"): listener_0 on :10000 → local_route → example_proxy_cluster.
    controlPlane = await ControlPlane.start({ host: map.ip('172.31.22.5'), grpcPort: map.port(18000) });
    const grpc = {
      api_config_source: {
        api_type: 'GRPC' as const,
        transport_api_version: 'V3' as const,
        grpc_services: [{ envoy_grpc: { cluster_name: 'xds_cluster' } }],
        set_node_on_first_message_only: true,
      },
      resource_api_version: 'V3' as const,
    };
    const resources: Resources = {
      clusters: [
        {
          name: 'example_proxy_cluster',
          type: 'LOGICAL_DNS',
          connect_timeout: '5s',
          dns_lookup_family: 'V4_ONLY',
          load_assignment: {
            cluster_name: 'example_proxy_cluster',
            endpoints: [
              {
                lb_endpoints: [
                  {
                    endpoint: {
                      address: { socket_address: { address: 'service1', port_value: map.port(8080) } },
                    },
                  },
                ],
              },
            ],
          },
        },
      ],
      listeners: [
        {
          name: 'listener_0',
          address: { socket_address: { address: map.ip('172.31.22.2'), port_value: map.port(10000) } },
          filter_chains: [
            {
              filters: [
                {
                  name: 'envoy.filters.network.http_connection_manager',
                  typed_config: {
                    '@type':
                      'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager',
                    stat_prefix: 'http',
                    codec_type: 'AUTO',
                    rds: { config_source: grpc, route_config_name: 'local_route' },
                    http_filters: [{ name: 'envoy.filters.http.router' }],
                  },
                },
              ],
            },
          ],
        },
      ],
      routes: [
        {
          name: 'local_route',
          virtual_hosts: [
            {
              name: 'local_service',
              domains: ['*'],
              routes: [{ match: { prefix: '/' }, route: { cluster: 'example_proxy_cluster' } }],
            },
          ],
        },
      ],
    };
    controlPlane.setSnapshot('edge-1', resources, { version: '1' });
    await until('the listener on :10000', async () => (await request(url)).status === 200, 40_000);
    expect((await request(url)).body).toContain('ServerName: service1');
    const after = JSON.parse((await request(`${proxy.admin}/config_dump`)).body) as {
      configs: { dynamic_active_clusters?: { version_info: string; cluster: Record<string, unknown> }[] }[];
    };
    expect(after.configs[1]!.dynamic_active_clusters).toEqual([
      {
        version_info: '1',
        cluster: {
          '@type': 'type.googleapis.com/envoy.config.cluster.v3.Cluster',
          name: 'example_proxy_cluster',
          type: 'LOGICAL_DNS',
          connect_timeout: '5s',
          dns_lookup_family: 'V4_ONLY',
          load_assignment: resources.clusters![0]!.load_assignment,
        },
        last_updated: expect.stringMatching(/Z$/),
      },
    ]);
    expect(controlPlane.nodes()).toMatchObject([{ id: 'edge-1', cluster: 'edge', streams: 2 }]);
  });
});
