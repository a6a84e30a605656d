/**
 * The HTTP routing labs (labs-day14b L7 httproute-simple-match and L8 httproute-headers-match),
 * with the responses the notes show.
 */
import { afterEach, describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { AddressMap, fixture, Lab, request, tally } from './harness.js';

let lab: Lab | undefined;
afterEach(async () => {
  await lab?.close();
  lab = undefined;
});

function strictDnsCluster(name: string, extra: Record<string, unknown> = {}) {
  return {
    name,
    connect_timeout: '0.25s',
    type: 'STRICT_DNS',
    lb_policy: 'ROUND_ROBIN',
    ...extra,
    load_assignment: {
      cluster_name: name,
      endpoints: [
        { lb_endpoints: [{ endpoint: { address: { socket_address: { address: name, port_value: 80 } } } }] },
      ],
    },
  };
}

describe('L7 httproute-simple-match', () => {
  it('routes by domain and path, redirects */blue, answers /service/yellow directly', async () => {
    const map = new AddressMap('172.31.50.', '127.31.50.');
    await map.allocate(80, 9901);
    lab = new Lab(map);
    const services = [
      ['light_blue', 3, ['blue']],
      ['dark_blue', 6, ['blue']],
      ['light_red', 4, ['red']],
      ['dark_red', 2, ['red']],
      ['light_green', 8, ['green']],
      ['dark_green', 9, ['green']],
      ['gray', 7, ['gray', 'grey']],
    ] as const;
    for (const [name, octet, aliases] of services) {
      const ip = `172.31.50.${octet}`;
      await lab.demoapp({ ip, port: 80, serverName: name, serviceName: name });
      for (const a of aliases) lab.alias(a, ip);
    }
    // The notes abridge red, green and gray to a comment ("identical shape"); spell them out.
    // They also set http2_protocol_options because servicemesh-app answers through its own
    // Envoy with h2c; the demoapp speaks HTTP/1.1, so the HTTP/1.1 form of the clusters is used.
    const config = YAML.parse(fixture('day14b-lab07-httproute-simple-match.front-envoy.yaml'));
    config.static_resources.clusters = ['blue', 'red', 'green', 'gray'].map((n) => strictDnsCluster(n));
    await lab.proxy(YAML.stringify(config), { self: '172.31.50.10' });
    const base = `http://${map.ip('172.31.50.10')}:${map.port(80)}`;

    // a) any other host → gray
    const a = await request(`${base}/service/a`, { headers: { Host: 'www.fuck.com' } });
    expect(a.body).toBe(
      'Hello from App behind Envoy (service gray)! hostname: gray resolved hostname: 172.31.50.7\n',
    );
    // a2) ilinux.io's default route → red, alternating dark_red and light_red
    expect(await tally(`${base}/service/a`, 4, { headers: { Host: 'www.ilinux.io' } })).toEqual(
      new Map([
        ['dark_red', 2],
        ['light_red', 2],
      ]),
    );
    // b1) exactly /service/blue → blue
    expect(await tally(`${base}/service/blue`, 4, { headers: { Host: 'www.ilinux.io' } })).toEqual(
      new Map([
        ['light_blue', 2],
        ['dark_blue', 2],
      ]),
    );
    // b2) /service/dark_blue matches ^/service/.*blue$ → 301 to /service/blue (scheme and host kept)
    const b2 = await request(`${base}/service/dark_blue`, {
      method: 'HEAD',
      headers: { Host: 'www.ilinux.io' },
    });
    expect(b2.status).toBe(301);
    expect(b2.headers.location).toBe('http://www.ilinux.io/service/blue');
    expect(b2.headers.server).toBe('envoy');
    expect(b2.headers['transfer-encoding']).toBe('chunked');
    // b3) /service/yellow → direct response, no upstream
    const b3 = await request(`${base}/service/yellow`, { headers: { Host: 'www.ilinux.io' } });
    expect(b3.status).toBe(200);
    expect(b3.body).toBe('This page will be provided soon later.\n');
    const b3head = await request(`${base}/service/yellow`, {
      method: 'HEAD',
      headers: { Host: 'www.ilinux.io' },
    });
    expect(b3head.headers['content-length']).toBe('39');
    expect(b3head.headers['content-type']).toBe('text/plain');
  });
});

describe('L8 httproute-headers-match', () => {
  it('X-Canary goes to v1.2, username=vip_* to v1.1, the rest to v1.0; the first match wins', async () => {
    const map = new AddressMap('172.31.52.', '127.31.52.');
    await map.allocate(80, 9901);
    lab = new Lab(map);
    const apps = [
      ['demoapp-v1.0-1', 11, 'demoappv10', 'v1.0'],
      ['demoapp-v1.0-2', 12, 'demoappv10', 'v1.0'],
      ['demoapp-v1.1-1', 13, 'demoappv11', 'v1.1'],
      ['demoapp-v1.1-2', 14, 'demoappv11', 'v1.1'],
      ['demoapp-v1.2-1', 15, 'demoappv12', 'v1.2'],
    ] as const;
    for (const [name, octet, alias, version] of apps) {
      const ip = `172.31.52.${octet}`;
      await lab.demoapp({ ip, port: 80, serverName: name, version });
      lab.alias(alias, ip);
    }
    const hcm = YAML.parse(fixture('day14b-lab08-httproute-headers-match.route-config.hcm.yaml'));
    const config = {
      admin: { address: { socket_address: { address: '0.0.0.0', port_value: 9901 } } },
      static_resources: {
        listeners: [
          {
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
                      ...hcm,
                      http_filters: [{ name: 'envoy.filters.http.router' }],
                    },
                  },
                ],
              },
            ],
          },
        ],
        clusters: ['demoappv10', 'demoappv11', 'demoappv12'].map((n) => strictDnsCluster(n)),
      },
    };
    await lab.proxy(YAML.stringify(config), { self: '172.31.52.10' });
    const base = `http://${map.ip('172.31.52.10')}:${map.port(80)}`;

    expect(await tally(`${base}/hostname`, 4)).toEqual(
      new Map([
        ['demoapp-v1.0-1', 2],
        ['demoapp-v1.0-2', 2],
      ]),
    );
    expect(await tally(`${base}/hostname`, 2, { headers: { 'X-Canary': 'true' } })).toEqual(
      new Map([['demoapp-v1.2-1', 2]]),
    );
    expect(await tally(`${base}/hostname?username=vip_ilinux`, 4)).toEqual(
      new Map([
        ['demoapp-v1.1-1', 2],
        ['demoapp-v1.1-2', 2],
      ]),
    );
    expect(
      await tally(`${base}/hostname?username=vip_ilinux`, 2, { headers: { 'X-Canary': 'true' } }),
    ).toEqual(new Map([['demoapp-v1.2-1', 2]]));
    expect(await tally(`${base}/hostname?fuck=shit`, 1, { headers: { 'X-Canary': 'true' } })).toEqual(
      new Map([['demoapp-v1.2-1', 1]]),
    );
    // The query string reaches the app unchanged, with the headers Envoy adds on the way.
    const r = await request(`${base}/echo?username=vip_ilinux`, { headers: { 'User-Agent': 'lab' } });
    expect(r.body).toContain('Path: /echo?username=vip_ilinux\n');
    expect(r.body).toMatch(/\n {2}x-forwarded-proto: http\n/);
    expect(r.body).toMatch(
      /\n {2}x-request-id: [0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}\n/,
    );
    expect(r.body).toMatch(/\n {2}x-envoy-expected-rq-timeout-ms: 15000\n/);
    expect(r.body).toMatch(/\n {2}user-agent: lab\n/);
    expect(r.body).not.toMatch(/\n {2}connection:/);
  });
});
