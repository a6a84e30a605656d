/**
 * The Envoy-basics labs of the course (labs-day13 §3), each run from its own config with the
 * real proxy and demoapp processes on loopback.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { AddressMap, binomialTolerance, fixture, Lab, request, tally } from './harness.js';

let lab: Lab | undefined;
afterEach(async () => {
  await lab?.close();
  lab = undefined;
});

describe('lab 1 http-front-proxy', () => {
  it('round-robins www.ik8s.io, redirects gemzen.cn to it, and 404s an unknown host', async () => {
    const map = new AddressMap('172.31.2.', '127.31.2.');
    await map.allocate(80, 8080, 9901);
    lab = new Lab(map);
    await lab.demoapp({ ip: '172.31.2.11', port: 8080, serverName: 'webserver01' });
    await lab.demoapp({ ip: '172.31.2.12', port: 8080, serverName: 'webserver02' });
    await lab.proxy(fixture('day13-lab01-http-front-proxy.envoy.yaml'), { self: '172.31.2.2' });
    const url = `http://${map.ip('172.31.2.2')}:${map.port(80)}/`;

    const names: string[] = [];
    for (let i = 0; i < 6; i++) {
      const r = await request(url, { headers: { Host: 'www.ik8s.io' } });
      expect(r.status).toBe(200);
      expect(r.headers.server).toBe('envoy');
      expect(r.headers['x-envoy-upstream-service-time']).toMatch(/^\d+$/);
      names.push(/ServerName: (\w+)/.exec(r.body)![1]!);
    }
    // Strict alternation, whichever endpoint comes first.
    for (let i = 2; i < names.length; i++) expect(names[i]).toBe(names[i - 2]);
    expect(new Set(names)).toEqual(new Set(['webserver01', 'webserver02']));

    const redirect = await request(url, { method: 'HEAD', headers: { Host: 'www.gemzen.cn' } });
    expect(redirect.status).toBe(301);
    expect(redirect.headers.location).toBe('http://www.ik8s.io/');
    expect(redirect.headers.server).toBe('envoy');

    const unknown = await request(url, { headers: { Host: map.ip('172.31.2.2') } });
    expect(unknown.status).toBe(404);
  });
});

describe('lab 3 http-egress', () => {
  it('a client in the sidecar namespace reaches both web servers through the 127.0.0.1 listener', async () => {
    const map = new AddressMap('172.31.4.', '127.31.4.');
    await map.allocate(80, 9901);
    lab = new Lab(map);
    await lab.demoapp({ ip: '172.31.4.11', port: 80, serverName: 'webserver01' });
    await lab.demoapp({ ip: '172.31.4.12', port: 80, serverName: 'webserver02' });
    await lab.proxy(fixture('day13-lab03-http-egress.envoy.yaml'), { self: '172.31.4.2' });
    // The listener is on 127.0.0.1 of the sidecar's namespace, i.e. its own address here.
    const counts = await tally(`http://${map.ip('172.31.4.2')}:${map.port(80)}/`, 10);
    expect(counts).toEqual(
      new Map([
        ['webserver01', 5],
        ['webserver02', 5],
      ]),
    );
  });
});

describe('lab 5 strict-dns', () => {
  it('fans one STRICT_DNS name out to every address it resolves to', async () => {
    const map = new AddressMap('172.31.4.', '127.41.4.');
    await map.allocate(80, 9901);
    lab = new Lab(map);
    await lab.demoapp({ ip: '172.31.4.11', port: 80, serverName: 'webserver01' });
    await lab.demoapp({ ip: '172.31.4.12', port: 80, serverName: 'webserver02' });
    lab.alias('myservice', '172.31.4.11', '172.31.4.12');
    const proxy = await lab.proxy(fixture('day13-lab05-strict-dns.envoy.yaml'), { self: '172.31.4.2' });
    const counts = await tally(`http://${map.ip('172.31.4.2')}:${map.port(80)}/`, 10);
    expect(counts).toEqual(
      new Map([
        ['webserver01', 5],
        ['webserver02', 5],
      ]),
    );
    const clusters = (await request(`${proxy.admin}/clusters`)).body;
    expect(clusters).toContain(`web_cluster::${map.ip('172.31.4.11')}:${map.port(80)}::hostname::myservice`);
    expect(clusters).toContain(`web_cluster::${map.ip('172.31.4.12')}:${map.port(80)}::hostname::myservice`);

    // A third container joins the alias; the proxy picks it up at the next DNS refresh (5 s).
    await lab.demoapp({ ip: '172.31.4.13', port: 80, serverName: 'webserver03' });
    lab.alias('myservice', '172.31.4.13');
    await expect
      .poll(async () => (await request(`${proxy.admin}/clusters`)).body, { timeout: 15_000, interval: 500 })
      .toContain(`web_cluster::${map.ip('172.31.4.13')}:${map.port(80)}::hostname::myservice`);
    const after = await tally(`http://${map.ip('172.31.4.2')}:${map.port(80)}/`, 9);
    expect(after).toEqual(
      new Map([
        ['webserver01', 3],
        ['webserver02', 3],
        ['webserver03', 3],
      ]),
    );
  });
});

describe('lab 4 tcp-front-proxy', () => {
  it('round-robins connections and the upstream sees the proxy as the client', async () => {
    const map = new AddressMap('172.31.1.', '127.31.1.');
    await map.allocate(80, 8080, 9901);
    lab = new Lab(map);
    await lab.demoapp({ ip: '172.31.1.11', port: 8080, serverName: 'webserver01' });
    await lab.demoapp({ ip: '172.31.1.12', port: 8080, serverName: 'webserver02' });
    const proxy = await lab.proxy(fixture('day13-lab04-tcp-front-proxy.envoy.yaml'), { self: '172.31.1.2' });
    const url = `http://${map.ip('172.31.1.2')}:${map.port(80)}/`;
    const r = await request(url);
    // Bytes pass unchanged: no `server: envoy`, the app's own headers.
    expect(r.headers.server).toBe('meshcraft-demoapp');
    expect(r.body).toMatch(
      /^iKubernetes demoapp v1\.0 !! ClientIP: 127\.0\.0\.1, ServerName: webserver0[12], ServerIP: 172\.31\.1\.1[12]!\n$/,
    );
    const counts = await tally(url, 10);
    expect([...counts.values()].sort()).toEqual([5, 5]);
    const stats = (await request(`${proxy.admin}/stats?filter=^tcp\\.`)).body;
    expect(stats).toMatch(/tcp\.tcp\.downstream_cx_total: 11/);
  });
});

describe('lab 6 admin-interface and lab 7 layered-runtime', () => {
  it('answers the admin endpoints the notes call, and /runtime_modify writes the admin layer', async () => {
    const map = new AddressMap('172.31.14.', '127.31.14.');
    await map.allocate(80, 8080, 9901);
    lab = new Lab(map);
    await lab.demoapp({ ip: '172.31.14.11', port: 8080, serverName: 'webserver01' });
    await lab.demoapp({ ip: '172.31.14.12', port: 8080, serverName: 'webserver02' });
    // Lab 7 is lab 6's listener and cluster with the runtime head the notes quote.
    const lab1 = fixture('day13-lab01-http-front-proxy.envoy.yaml').replaceAll('172.31.2.', '172.31.14.');
    const proxy = await lab.proxy(`${fixture('day13-lab07-layered-runtime.head.yaml')}\n${lab1}`, {
      self: '172.31.14.2',
    });

    const help = (await request(`${proxy.admin}/help`)).body;
    expect(help.startsWith('admin commands are:\n  /: Admin home page\n')).toBe(true);
    expect((await request(`${proxy.admin}/listeners`)).body).toBe(
      `listener_0::${map.ip('172.31.14.2')}:${map.port(80)}\n`,
    );
    expect((await request(`${proxy.admin}/ready`)).body).toBe('LIVE\n');
    const clusters = (await request(`${proxy.admin}/clusters`)).body;
    expect(clusters.split('\n').slice(0, 10)).toEqual([
      'local_cluster::observability_name::local_cluster',
      'local_cluster::default_priority::max_connections::1024',
      'local_cluster::default_priority::max_pending_requests::1024',
      'local_cluster::default_priority::max_requests::1024',
      'local_cluster::default_priority::max_retries::3',
      'local_cluster::high_priority::max_connections::1024',
      'local_cluster::high_priority::max_pending_requests::1024',
      'local_cluster::high_priority::max_requests::1024',
      'local_cluster::high_priority::max_retries::3',
      'local_cluster::added_via_api::false',
    ]);

    const runtime = JSON.parse((await request(`${proxy.admin}/runtime`)).body);
    expect(runtime).toEqual({
      entries: { 'health_check.min_interval': { layer_values: ['5', ''], final_value: '5' } },
      layers: ['static_layer_0', 'admin_layer_0'],
    });
    expect(
      (await request(`${proxy.admin}/runtime_modify?health_check.min_interval=10`, { method: 'POST' }))
        .status,
    ).toBe(200);
    const modified = JSON.parse((await request(`${proxy.admin}/runtime`)).body);
    expect(modified.entries['health_check.min_interval']).toEqual({
      layer_values: ['5', '10'],
      final_value: '10',
    });
    expect((await request(`${proxy.admin}/runtime_modify?x=1`)).status).toBe(405);
  });
});

describe('layered runtime drives weighted clusters', () => {
  it('switches a 100/0 split to 0/100 with /runtime_modify, and a 20/80 split lands near 20/80', async () => {
    const map = new AddressMap('172.31.14.', '127.51.14.');
    await map.allocate(80, 8080, 9901);
    lab = new Lab(map);
    await lab.demoapp({ ip: '172.31.14.11', port: 8080, serverName: 'v1', version: 'v1.0' });
    await lab.demoapp({ ip: '172.31.14.12', port: 8080, serverName: 'v2', version: 'v1.1' });
    const cluster = (name: string, ip: string) => `
  - name: ${name}
    connect_timeout: 0.25s
    type: STATIC
    load_assignment:
      cluster_name: ${name}
      endpoints:
      - lb_endpoints:
        - endpoint: { address: { socket_address: { address: ${ip}, port_value: 8080 } } }`;
    const config = `${fixture('day13-lab07-layered-runtime.head.yaml')}
static_resources:
  listeners:
  - name: listener_0
    address: { socket_address: { address: 0.0.0.0, port_value: 80 } }
    filter_chains:
    - filters:
      - name: envoy.filters.network.http_connection_manager
        typed_config:
          "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
          stat_prefix: ingress_http
          route_config:
            virtual_hosts:
            - name: demoapp
              domains: ["*"]
              routes:
              - match: { prefix: "/" }
                route:
                  weighted_clusters:
                    runtime_key_prefix: routing.traffic_split.demoapp
                    clusters:
                    - { name: demoapp_v1, weight: 100 }
                    - { name: demoapp_v2, weight: 0 }
          http_filters: [{ name: envoy.filters.http.router }]
  clusters:${cluster('demoapp_v1', '172.31.14.11')}${cluster('demoapp_v2', '172.31.14.12')}
`;
    const proxy = await lab.proxy(config, { self: '172.31.14.2' });
    const url = `http://${map.ip('172.31.14.2')}:${map.port(80)}/hostname`;
    expect(await tally(url, 20)).toEqual(new Map([['v1', 20]]));
    await request(
      `${proxy.admin}/runtime_modify?routing.traffic_split.demoapp.demoapp_v1=0&routing.traffic_split.demoapp.demoapp_v2=100`,
      {
        method: 'POST',
      },
    );
    expect(await tally(url, 20)).toEqual(new Map([['v2', 20]]));
    await request(
      `${proxy.admin}/runtime_modify?routing.traffic_split.demoapp.demoapp_v1=20&routing.traffic_split.demoapp.demoapp_v2=80`,
      {
        method: 'POST',
      },
    );
    const n = 400;
    const counts = await tally(url, n);
    const v1 = counts.get('v1') ?? 0;
    expect(Math.abs(v1 - n * 0.2)).toBeLessThan(binomialTolerance(n, 0.2));
    expect(v1 + (counts.get('v2') ?? 0)).toBe(n);
  });
});
