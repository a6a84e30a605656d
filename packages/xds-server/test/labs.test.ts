/**
 * The course's gRPC and REST dynamic-configuration labs (labs-day14a §2.3–2.5) with meshcraft-xds
 * in the role of the course's `envoy-xds-server` image and meshcraft-proxy as every Envoy, all real
 * processes on loopback (meshcraft-proxy's scenario harness), run from the course's own files.
 */
import fs from 'node:fs';
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
import { courseFile, remapCourseConfig, XdsProcess } from './support.js';

let lab: Lab | undefined;
let xds: XdsProcess | undefined;
afterEach(async () => {
  await xds?.kill();
  await lab?.close();
  xds = undefined;
  lab = undefined;
});

/** A gRPC lab: two pods, the control plane at .5 serving the course's config.yaml, the front proxy at .2. */
async function grpcLab(
  subnet: number,
  front: (text: string) => string,
  extraEnv: Record<string, string> = {},
) {
  const map = new AddressMap(`172.31.${subnet}.`, `127.52.${subnet}.`);
  await map.allocate(80, 8080, 9901, 18000, 18001);
  lab = new Lab(map);
  await sidecarPod(lab, { ip: `172.31.${subnet}.11`, hostname: 'webserver01' });
  await sidecarPod(lab, { ip: `172.31.${subnet}.12`, hostname: 'webserver02' });
  lab.alias('xdsserver', `172.31.${subnet}.5`);
  const dir = path.join(lab.dir, 'resources');
  fs.mkdirSync(dir);
  const configFile = path.join(dir, 'config.yaml');
  const remap = (name: string) =>
    remapCourseConfig(map, courseFile(name), '172.31.15.', `172.31.${subnet}.2`);
  fs.writeFileSync(configFile, remap('lab03-lds-cds-grpc.config.yaml'));
  fs.writeFileSync(`${configFile}.v2`, remap('lab03-lds-cds-grpc.config.yaml.v2'));
  xds = await XdsProcess.start({
    SERVER_PORT: String(map.port(18000)),
    NODE_ID: 'envoy_front_proxy',
    RESOURCES_FILE: configFile,
    REST_PORT: String(map.port(18001)),
    ...extraEnv,
  });
  const proxy = await lab.proxy(front(fixture('day14a-lab03-lds-cds-grpc.front-envoy.yaml')), {
    self: `172.31.${subnet}.2`,
    name: 'front-envoy',
  });
  const url = `http://${map.ip(`172.31.${subnet}.2`)}:${map.port(80)}/`;
  return { map, proxy, url, configFile, xds };
}

/** LAB 3's front-envoy.yaml with LAB 4's dynamic_resources (ADS), as the upstream ads-grpc lab has it. */
function adsFront(lab3: string): string {
  const doc = YAML.parse(lab3) as Record<string, unknown>;
  doc.dynamic_resources = (
    YAML.parse(fixture('day14a-lab04-ads-grpc.dynamic-resources.yaml')) as Record<string, unknown>
  ).dynamic_resources;
  return YAML.stringify(doc);
}

describe('LAB 3 lds-cds-grpc', () => {
  it('serves the resources the course server generates; swapping its config file adds the endpoint', async () => {
    const { map, proxy, url, configFile } = await grpcLab(15, (t) => t);
    // Step 1: one endpoint.
    expect(await tally(url, 2)).toEqual(new Map([['webserver01', 2]]));

    // Step 2: webcluster added via API next to the static xds_cluster, with four xDS streams open (LDS, CDS, RDS, EDS).
    const clusters = (await request(`${proxy.admin}/clusters`)).body;
    expect(clusters).toContain('webcluster::added_via_api::true');
    expect(clusters).toContain('xds_cluster::added_via_api::false');
    expect(clusters).toContain(`webcluster::${map.ip('172.31.15.11')}:${map.port(80)}::rq_success::2`);
    expect(xds!.logs().match(/node 'envoy_front_proxy' connected/g)).toHaveLength(4);

    // Step 3: config_dump's dynamic cluster is the one the notes show, at the control plane's version.
    const dump = JSON.parse((await request(`${proxy.admin}/config_dump`)).body) as {
      configs: { dynamic_active_clusters?: Record<string, unknown>[] }[];
    };
    const [dynamic] = dump.configs[1]!.dynamic_active_clusters!;
    const [quoted] = JSON.parse(
      fixture('day14a-lab03-lds-cds-grpc.config-dump-dynamic-clusters.json'),
    ) as Record<string, unknown>[];
    expect(dynamic!.cluster).toEqual(quoted!.cluster);
    expect(dynamic!.version_info).toBe(xds!.version());
    expect(dynamic!.last_updated).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);

    // Step 4–5: the listener.
    const front = map.ip('172.31.15.2');
    expect((await request(`${proxy.admin}/listeners`)).body).toBe(
      `listener_http::${front}:${map.port(80)}\n`,
    );
    const listeners = JSON.parse(
      (await request(`${proxy.admin}/config_dump?resource=dynamic_listeners`)).body,
    ) as {
      configs: { active_state: { version_info: string; listener: { address: unknown } } }[];
    };
    expect(listeners.configs[0]!.active_state.listener.address).toEqual({
      socket_address: { address: front, port_value: map.port(80) },
    });
    // RDS and EDS resources are in the dump too: the route configuration with its version, the endpoints as dynamic.
    const full = JSON.parse((await request(`${proxy.admin}/config_dump?include_eds`)).body) as {
      configs: Record<string, unknown>[];
    };
    const section = (type: string) =>
      full.configs.find((c) => c['@type'] === `type.googleapis.com/envoy.admin.v3.${type}`)!;
    const routes = section('RoutesConfigDump').dynamic_route_configs as Record<string, unknown>[];
    expect(routes).toEqual([
      {
        version_info: xds!.version(),
        route_config: {
          '@type': 'type.googleapis.com/envoy.config.route.v3.RouteConfiguration',
          name: 'local_route',
          virtual_hosts: [
            {
              name: 'local_service',
              domains: ['*'],
              routes: [{ match: { prefix: '/' }, route: { cluster: 'webcluster' } }],
            },
          ],
        },
        last_updated: expect.stringMatching(/Z$/),
      },
    ]);
    const endpoints = section('EndpointsConfigDump').dynamic_endpoint_configs as {
      endpoint_config: Record<string, unknown>;
    }[];
    expect(endpoints.map((e) => e.endpoint_config.cluster_name)).toEqual(['webcluster']);
    expect(listeners.configs[0]!.active_state.version_info).toBe(xds!.version());
    expect(await stat(proxy.admin, 'listener_manager.lds.update_success')).toBe(1);
    expect(await stat(proxy.admin, 'listener_manager.lds.control_plane.connected_state')).toBe(1);
    expect(await stat(proxy.admin, 'cluster_manager.cds.control_plane.connected_state')).toBe(1);

    // Step 6–9: `cat config.yaml.v2 > config.yaml` (no mv needed: the control plane watches its file).
    fs.writeFileSync(configFile, fs.readFileSync(`${configFile}.v2`));
    await until('the second endpoint', async () =>
      (await request(`${proxy.admin}/clusters`)).body.includes(
        `webcluster::${map.ip('172.31.15.12')}:${map.port(80)}::health_flags::healthy`,
      ),
    );
    // Only the assignment changed: the cluster itself is skipped as unmodified.
    await until('the CDS log lines', async () =>
      proxy.logs().includes('cds: added/updated 0 cluster(s), skipped 1 unmodified cluster(s)'),
    );
    expect(proxy.logs()).toContain('cds: add 1 cluster(s), remove 1 cluster(s)');
    const names = [];
    for (let i = 0; i < 4; i++) names.push(/ServerName: (\w+)/.exec((await request(url)).body)![1]);
    expect(new Set(names)).toEqual(new Set(['webserver01', 'webserver02']));
    expect(names[0]).not.toBe(names[1]);
  });
});

describe('LAB 4 ads-grpc', () => {
  it('fetches listeners and clusters over one ADS stream; swapping the file switches the proxy', async () => {
    const { map, proxy, url, configFile } = await grpcLab(16, adsFront);
    expect(await tally(url, 2)).toEqual(new Map([['webserver01', 2]]));
    expect(await stat(proxy.admin, 'control_plane.connected_state')).toBe(1);
    // The course's server generates RDS and EDS config sources on their own streams: ADS + RDS + EDS.
    expect(xds!.logs().match(/node 'envoy_front_proxy' connected \(ads stream\)/g)).toHaveLength(1);
    expect(xds!.logs().match(/node 'envoy_front_proxy' connected/g)).toHaveLength(3);
    fs.writeFileSync(configFile, fs.readFileSync(`${configFile}.v2`));
    await until('the second endpoint', async () =>
      (await request(`${proxy.admin}/clusters`)).body.includes(
        `webcluster::${map.ip('172.31.16.12')}:${map.port(80)}::`,
      ),
    );
    expect(await tally(url, 4)).toEqual(
      new Map([
        ['webserver01', 2],
        ['webserver02', 2],
      ]),
    );
  });

  it('with every type over ADS, delivers clusters, endpoints, listeners, then routes — at start and on every change', async () => {
    const { map, proxy, url, configFile } = await grpcLab(17, adsFront, { CONFIG_SOURCE: 'ads' });
    expect(await tally(url, 2)).toEqual(new Map([['webserver01', 2]]));
    expect(xds!.logs().match(/node 'envoy_front_proxy' connected/g)).toHaveLength(1);
    const order = (lines: string[]) => lines.map((l) => / sent (\w+) version/.exec(l)![1]);
    expect(order(xds!.pushes())).toEqual([
      'Cluster',
      'ClusterLoadAssignment',
      'Listener',
      'RouteConfiguration',
    ]);
    expect(xds!.pushes().every((l) => l.endsWith('(ads stream)'))).toBe(true);

    const before = xds!.pushes().length;
    fs.writeFileSync(configFile, fs.readFileSync(`${configFile}.v2`));
    await until('the second endpoint', async () =>
      (await request(`${proxy.admin}/clusters`)).body.includes(
        `webcluster::${map.ip('172.31.17.12')}:${map.port(80)}::`,
      ),
    );
    await until('all four types of the new version', async () => xds!.pushes().length >= before + 4);
    expect(order(xds!.pushes().slice(before))).toEqual([
      'Cluster',
      'ClusterLoadAssignment',
      'Listener',
      'RouteConfiguration',
    ]);
    // The proxy applied them in that order too: CDS before LDS.
    const logs = proxy.logs();
    expect(logs.indexOf('cds: add 1 cluster(s)')).toBeLessThan(
      logs.indexOf("lds: add/update listener 'listener_http'"),
    );
  });
});

describe('REST-JSON polling (labs-day14a §2.5)', () => {
  it('polls every refresh_delay and picks up a change of the control plane within it', async () => {
    const rest = (lab3: string) => {
      const doc = YAML.parse(lab3) as {
        dynamic_resources: Record<string, unknown>;
        static_resources: { clusters: Record<string, unknown>[] };
      };
      // The notes' example, with `cluster_names: - xds_cluster` made a list and port 18001 (REST).
      const source = {
        resource_api_version: 'V3',
        api_config_source: {
          api_type: 'REST',
          transport_api_version: 'V3',
          refresh_delay: { nanos: 500000000 },
          cluster_names: ['xds_cluster'],
        },
      };
      doc.dynamic_resources = { cds_config: source, lds_config: source };
      const xdsCluster = doc.static_resources.clusters[0]!;
      delete xdsCluster.typed_extension_protocol_options;
      (
        xdsCluster.load_assignment as {
          endpoints: {
            lb_endpoints: { endpoint: { address: { socket_address: { port_value: number } } } }[];
          }[];
        }
      ).endpoints[0]!.lb_endpoints[0]!.endpoint.address.socket_address.port_value = 18001;
      return YAML.stringify(doc);
    };
    // The generated routes and endpoints are polled over REST too (the course's server only does gRPC).
    const { map, proxy, url, configFile } = await grpcLab(18, rest, { CONFIG_SOURCE: 'rest' });
    expect(await tally(url, 2)).toEqual(new Map([['webserver01', 2]]));
    expect(xds!.logs()).not.toContain('connected'); // no gRPC stream at all
    expect(xds!.logs()).toMatch(
      /sent Cluster version \d+ \[webcluster\] to node 'envoy_front_proxy' \(rest stream\)/,
    );

    fs.writeFileSync(configFile, fs.readFileSync(`${configFile}.v2`));
    await until('the second endpoint', async () =>
      (await request(`${proxy.admin}/clusters`)).body.includes(
        `webcluster::${map.ip('172.31.18.12')}:${map.port(80)}::`,
      ),
    );
    // From the control plane's new snapshot to the proxy applying the assignment: one poll period at most.
    const served = /^(\S+) will serve snapshot version \d+/gm;
    const snapshotAt = Date.parse([...xds!.logs().matchAll(served)].at(-1)![1]!);
    const appliedAt = (await stat(proxy.admin, 'cluster.webcluster.update_time'))!;
    const refreshDelayMs = 500;
    console.log(
      `REST: change applied ${appliedAt - snapshotAt} ms after the snapshot (refresh_delay ${refreshDelayMs} ms)`,
    );
    // A poll takes a few ms, more on a loaded machine.
    expect(appliedAt - snapshotAt).toBeLessThanOrEqual(refreshDelayMs + 250);
    expect(await tally(url, 4)).toEqual(
      new Map([
        ['webserver01', 2],
        ['webserver02', 2],
      ]),
    );
  });
});
