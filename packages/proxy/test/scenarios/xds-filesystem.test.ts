/**
 * The course's filesystem-subscription labs (labs-day14a §2.1, §2.2), each run from its own files
 * with the real proxy and demoapp processes on loopback: the front proxy's config sources point
 * into the lab directory, and the files change the ways the course changes them.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { AddressMap, fixture, Lab, request, sidecarPod, tally, until } from './harness.js';
import {
  atomicReplace,
  frontAdmin,
  mergedDocuments,
  mountPaths,
  mvTrick,
  servedBy,
  stat,
  writeResourceFile,
} from './xds-support.js';

let lab: Lab | undefined;
afterEach(async () => {
  await lab?.close();
  lab = undefined;
});

/** labs-day14a §1.5: the static listener of LAB 1, `/` → `webcluster`. */
function lab1Listener(): Record<string, unknown> {
  return {
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
                    name: 'web_service_01',
                    domains: ['*'],
                    routes: [{ match: { prefix: '/' }, route: { cluster: 'webcluster' } }],
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
}

describe('LAB 1 eds-filesystem', () => {
  it('adds and removes endpoints when a new EDS file is moved onto the watched path, never on an in-place write', async () => {
    const map = new AddressMap('172.31.11.', '127.51.11.');
    await map.allocate(80, 8080, 9901);
    lab = new Lab(map);
    await sidecarPod(lab, { ip: '172.31.11.11', hostname: 'webserver01' });
    await sidecarPod(lab, { ip: '172.31.11.12', hostname: 'webserver02' });
    const edsDir = path.join(lab.dir, 'eds.conf.d');
    const edsFile = path.join(edsDir, 'eds.yaml');
    writeResourceFile(map, edsFile, fixture('day14a-lab01-eds-filesystem.eds.yaml'), '172.31.11.2');
    // eds.yaml.v2 sits next to it, as in the lab's directory.
    writeResourceFile(
      map,
      `${edsFile}.v2`,
      fixture('day14a-lab01-eds-filesystem.eds-v2.yaml'),
      '172.31.11.2',
    );
    const quoted = mergedDocuments(fixture('day14a-lab01-eds-filesystem.front-envoy.yaml'));
    const front = {
      node: quoted.node,
      ...frontAdmin(),
      static_resources: { listeners: [lab1Listener()], clusters: quoted.clusters },
    };
    const proxy = await lab.proxy(mountPaths(YAML.stringify(front), { '/etc/envoy/eds.conf.d': edsDir }), {
      self: '172.31.11.2',
      name: 'front-envoy',
    });
    const url = `http://${map.ip('172.31.11.2')}:${map.port(80)}/`;
    const host = (ip: string) => `webcluster::${map.ip(ip)}:${map.port(80)}::`;

    // Step 1–2: one endpoint.
    expect((await request(url)).body).toBe(
      'iKubernetes demoapp v1.0 !! ClientIP: 127.0.0.1, ServerName: webserver01, ServerIP: 172.31.11.11!\n',
    );
    let clusters = (await request(`${proxy.admin}/clusters`)).body;
    expect(clusters).toContain('webcluster::added_via_api::false');
    expect(clusters).toContain(`${host('172.31.11.11')}health_flags::healthy`);
    expect(clusters).not.toContain(host('172.31.11.12'));

    // `cat eds.yaml.v2 > eds.yaml` writes in place: not a move, so not loaded (a half-written file never is).
    const attempts = await stat(proxy.admin, 'cluster.webcluster.update_attempt');
    fs.writeFileSync(edsFile, fs.readFileSync(`${edsFile}.v2`));
    await new Promise((r) => setTimeout(r, 1000));
    expect(await stat(proxy.admin, 'cluster.webcluster.update_attempt')).toBe(attempts);
    expect((await request(`${proxy.admin}/clusters`)).body).not.toContain(host('172.31.11.12'));

    // Step 3–5: `mv eds.yaml bak; mv bak eds.yaml` loads it; round robin over both.
    mvTrick(edsFile);
    await until('the second endpoint', async () =>
      (await request(`${proxy.admin}/clusters`)).body.includes(
        `${host('172.31.11.12')}health_flags::healthy`,
      ),
    );
    clusters = (await request(`${proxy.admin}/clusters`)).body;
    expect(clusters).toContain(`${host('172.31.11.12')}cx_total::0`);
    expect(clusters).toContain(`${host('172.31.11.12')}weight::1`);
    const names = [];
    for (let i = 0; i < 4; i++) names.push(await servedBy(url));
    expect(names[0]).not.toBe(names[1]);
    expect(names[2]).toBe(names[0]);
    expect(new Set(names)).toEqual(new Set(['webserver01', 'webserver02']));
    expect(await stat(proxy.admin, 'cluster.webcluster.update_success')).toBe(2);

    // Removing an endpoint with an atomic replace (temp file renamed into place).
    atomicReplace(
      edsFile,
      map.remapConfig(fixture('day14a-lab01-eds-filesystem.eds.yaml'), map.ip('172.31.11.2')),
    );
    await until(
      'webserver02 to leave',
      async () => !(await request(`${proxy.admin}/clusters`)).body.includes(host('172.31.11.12')),
    );
    expect(await tally(url, 4)).toEqual(new Map([['webserver01', 4]]));

    // A broken file moved in is rejected; the endpoints it would replace keep serving.
    atomicReplace(
      edsFile,
      'resources:\n- "@type": type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment\n  cluster_nam: webcluster\n',
    );
    await until(
      'the rejection',
      async () => (await stat(proxy.admin, 'cluster.webcluster.update_rejected')) === 1,
    );
    expect(proxy.logs()).toMatch(/Filesystem config update rejected: .*cluster_nam/);
    expect(await tally(url, 2)).toEqual(new Map([['webserver01', 2]]));
  });
});

describe('LAB 2 lds-cds-filesystem', () => {
  it('adds a listener, then a cluster, then re-points the new listener, each by moving its file back into place', async () => {
    const map = new AddressMap('172.31.12.', '127.51.12.');
    await map.allocate(80, 8080, 9901);
    lab = new Lab(map);
    await sidecarPod(lab, { ip: '172.31.12.11', hostname: 'webserver01' });
    await sidecarPod(lab, { ip: '172.31.12.12', hostname: 'webserver02' });
    lab.alias('webserver01', '172.31.12.11');
    lab.alias('webserver02', '172.31.12.12');
    const confDir = path.join(lab.dir, 'conf.d');
    const lds = path.join(confDir, 'lds.yaml');
    const cds = path.join(confDir, 'cds.yaml');
    const self = '172.31.12.2';
    writeResourceFile(map, lds, fixture('day14a-lab02-lds-cds-filesystem.lds.yaml'), self);
    writeResourceFile(map, cds, fixture('day14a-lab02-lds-cds-filesystem.cds.yaml'), self);
    const proxy = await lab.proxy(
      mountPaths(fixture('day14a-lab02-lds-cds-filesystem.front-envoy.yaml'), {
        '/etc/envoy/conf.d': confDir,
      }),
      { self, name: 'front-envoy' },
    );
    const front = map.ip(self);

    // Step 1–3.
    expect(await tally(`http://${front}:${map.port(80)}/`, 4)).toEqual(
      new Map([
        ['webserver01', 2],
        ['webserver02', 2],
      ]),
    );
    expect((await request(`${proxy.admin}/listeners`)).body).toBe(
      `listener_http::${front}:${map.port(80)}\n`,
    );
    const clusters = (await request(`${proxy.admin}/clusters`)).body;
    expect(clusters).toContain('webcluster::added_via_api::true');
    expect(clusters).toContain(
      `webcluster::${map.ip('172.31.12.11')}:${map.port(80)}::hostname::webserver01`,
    );

    // Step 4–7: a second listener on 8080, same route.
    const ldsDoc = YAML.parse(fixture('day14a-lab02-lds-cds-filesystem.lds.yaml')) as {
      resources: Record<string, unknown>[];
    };
    const second = structuredClone(ldsDoc.resources[0]!) as {
      name: string;
      address: { socket_address: { port_value: number } };
      // The course writes `filters:` as a single mapping (Envoy accepts it as a one-element list).
      filter_chains: {
        filters: {
          typed_config: { route_config: { virtual_hosts: { routes: { route: { cluster: string } }[] }[] } };
        };
      }[];
    };
    second.name = 'listener_http_1';
    second.address.socket_address.port_value = 8080;
    ldsDoc.resources.push(second);
    writeResourceFile(map, lds, YAML.stringify(ldsDoc), self);
    mvTrick(lds);
    await until('listener_http_1', async () =>
      (await request(`${proxy.admin}/listeners`)).body.includes('listener_http_1'),
    );
    expect(proxy.logs()).toContain("lds: add/update listener 'listener_http_1'");
    expect((await request(`${proxy.admin}/listeners`)).body).toBe(
      `listener_http::${front}:${map.port(80)}\nlistener_http_1::${front}:${map.port(8080)}\n`,
    );
    expect(await tally(`http://${front}:${map.port(8080)}/`, 4)).toEqual(
      new Map([
        ['webserver01', 2],
        ['webserver02', 2],
      ]),
    );

    // Step 8–9: a second cluster.
    const cdsDoc = YAML.parse(fixture('day14a-lab02-lds-cds-filesystem.cds.yaml')) as {
      resources: unknown[];
    };
    cdsDoc.resources.push(
      ...(YAML.parse(fixture('day14a-lab02-lds-cds-filesystem.cds-appended-entry.yaml')) as unknown[]),
    );
    writeResourceFile(map, cds, YAML.stringify(cdsDoc), self);
    mvTrick(cds);
    await until('webcluster02', async () =>
      (await request(`${proxy.admin}/clusters`)).body.includes('webcluster02::'),
    );
    expect(proxy.logs()).toContain('cds: add 2 cluster(s), remove 0 cluster(s)');
    expect(proxy.logs()).toContain('cds: added/updated 1 cluster(s), skipped 1 unmodified cluster(s)');

    // Step 10–13: listener_http_1 now routes to webcluster02 (webserver01 only); listener_http is untouched.
    second.filter_chains[0]!.filters.typed_config.route_config.virtual_hosts[0]!.routes[0]!.route.cluster =
      'webcluster02';
    writeResourceFile(map, lds, YAML.stringify(ldsDoc), self);
    const updates = proxy.logs().split("lds: add/update listener 'listener_http_1'").length;
    mvTrick(lds);
    await until(
      'the second update of listener_http_1',
      async () => proxy.logs().split("lds: add/update listener 'listener_http_1'").length > updates,
    );
    // The update is in once the new listener took over the socket (the log line comes before that).
    await until(
      'the updated listener to be active',
      async () => (await stat(proxy.admin, 'listener_manager.listener_create_success')) === 3,
    );
    // listener_http is unmodified by every edit: added once, never updated.
    expect(proxy.logs().split("lds: add/update listener 'listener_http'\n").length).toBe(2);
    expect(await tally(`http://${front}:${map.port(8080)}/`, 4)).toEqual(new Map([['webserver01', 4]]));
    expect((await request(`${proxy.admin}/listeners`)).body).toBe(
      `listener_http::${front}:${map.port(80)}\nlistener_http_1::${front}:${map.port(8080)}\n`,
    );
    const after = (await request(`${proxy.admin}/clusters`)).body;
    expect(after).toContain('webcluster02::added_via_api::true');
    expect(await stat(proxy.admin, 'listener_manager.lds.update_success')).toBe(3);
    expect(await stat(proxy.admin, 'cluster_manager.cds.update_success')).toBe(2);
  });
});
