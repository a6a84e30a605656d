import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { LabError } from '../issues.js';
import { buildLayout } from '../layout.js';
import { LabIndex } from '../model.js';
import { parseLab } from '../parse.js';
import { dockerAddressPlan, localAddressPlan, PlanError } from '../plan.js';
import { API_VERSION, type FrontProxyNode, type Lab } from '../schema.js';
import { containerFile, render } from './index.js';

function library(name: string): Lab {
  const r = parseLab(readFileSync(new URL(`../../../../labs/${name}.lab.yaml`, import.meta.url), 'utf8'));
  if (!r.lab) throw new Error(r.issues.map((i) => i.message).join('\n'));
  return r.lab;
}

const docker = (lab: Lab, opts = {}) => render(lab, dockerAddressPlan(buildLayout(new LabIndex(lab))), opts);

function local(lab: Lab) {
  const layout = buildLayout(new LabIndex(lab));
  const ports = Object.fromEntries(layout.ports.map((p, i) => [p, 41000 + i]));
  return {
    result: render(lab, localAddressPlan(layout, { block: '127.31.9.0/24', ports, fileRoot: '/run/lab' })),
    ports,
  };
}

// biome-ignore lint/suspicious/noExplicitAny: the tests walk rendered Envoy JSON by field name.
type J = any;
const bootstrap = (r: ReturnType<typeof render>, container: string) =>
  r.proxies.find((p) => p.container === container)!.bootstrap as J;

describe('render', () => {
  it('refuses an invalid lab with the validation issues', () => {
    const lab = library('http-front-proxy');
    lab.spec.edges = [];
    expect(() => docker(lab)).toThrow(LabError);
    expect(() => docker(lab)).toThrow(/route 'web_service_1' forwards but no edge leaves it/);
  });

  it('lists STATIC endpoints at the plan addresses of each member namespace', () => {
    const b = bootstrap(docker(library('https-passthrough')), 'front-envoy');
    const eps = b.static_resources.clusters[0].load_assignment.endpoints[0].lb_endpoints.map(
      (e: J) => e.endpoint.address.socket_address,
    );
    expect(eps).toEqual([
      { address: '172.31.9.11', port_value: 443 },
      { address: '172.31.9.12', port_value: 443 },
    ]);
    expect(b.static_resources.listeners[0].filter_chains[0].filters[0]).toEqual({
      name: 'envoy.filters.network.tcp_proxy',
      typed_config: {
        '@type': 'type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy',
        stat_prefix: 'https_passthrough',
        cluster: 'web_cluster_01',
      },
    });
  });

  it('writes one endpoint for members that share a DNS name, grouped by priority and locality', () => {
    const b = bootstrap(docker(library('priority-levels')), 'front-envoy');
    const c = b.static_resources.clusters[0];
    expect(c.load_assignment.endpoints).toEqual([
      {
        locality: { region: 'cn-north-1' },
        lb_endpoints: [
          { endpoint: { address: { socket_address: { address: 'webservice1', port_value: 80 } } } },
        ],
      },
      {
        locality: { region: 'cn-north-2' },
        lb_endpoints: [
          { endpoint: { address: { socket_address: { address: 'webservice2', port_value: 80 } } } },
        ],
        priority: 1,
      },
    ]);
    expect(c.load_assignment.policy).toEqual({ overprovisioning_factor: 150 });
    expect(c.common_lb_config).toEqual({ healthy_panic_threshold: { value: 49 } });
    // HTTP/2 upstream in the form Envoy 1.29 takes without deprecation warnings.
    expect(
      c.typed_extension_protocol_options['envoy.extensions.upstreams.http.v3.HttpProtocolOptions']
        .explicit_http_config,
    ).toEqual({ http2_protocol_options: {} });
    expect(c.http2_protocol_options).toBeUndefined();
  });

  it('renders weighted splits with runtime keys, subsets and header matchers in Envoy v3 form', () => {
    const split = bootstrap(docker(library('traffic-split')), 'front-envoy');
    expect(split.layered_runtime).toEqual({ layers: [{ name: 'admin', admin_layer: {} }] });
    const route =
      split.static_resources.listeners[0].filter_chains[0].filters[0].typed_config.route_config
        .virtual_hosts[0].routes[0];
    expect(route.route.weighted_clusters).toEqual({
      clusters: [
        { name: 'demoapp-v10', weight: 50 },
        { name: 'demoapp-v11', weight: 50 },
      ],
      runtime_key_prefix: 'routing.traffic_split.demoapp',
    });
    const subsets = bootstrap(docker(library('lb-subsets')), 'front-envoy');
    const routes =
      subsets.static_resources.listeners[0].filter_chains[0].filters[0].typed_config.route_config
        .virtual_hosts[0].routes;
    expect(routes[0].match).toEqual({
      prefix: '/',
      headers: [{ name: 'x-custom-version', string_match: { exact: 'pre-release' } }],
    });
    expect(routes[2].route).toEqual({
      weighted_clusters: {
        clusters: [
          {
            name: 'webcluster1',
            weight: 90,
            metadata_match: { filter_metadata: { 'envoy.lb': { version: '1.0' } } },
          },
          {
            name: 'webcluster1',
            weight: 10,
            metadata_match: { filter_metadata: { 'envoy.lb': { version: '1.1' } } },
          },
        ],
      },
      metadata_match: { filter_metadata: { 'envoy.lb': { stage: 'prod' } } },
    });
  });

  it('renders redirects, direct responses and regex matches', () => {
    const b = bootstrap(docker(library('httproute-simple-match')), 'front-envoy');
    const [vh1] =
      b.static_resources.listeners[0].filter_chains[0].filters[0].typed_config.route_config.virtual_hosts;
    expect(vh1.routes[1]).toEqual({
      match: { safe_regex: { regex: '^/service/.*blue$' } },
      redirect: { path_redirect: '/service/blue' },
    });
    expect(vh1.routes[2]).toEqual({
      match: { prefix: '/service/yellow' },
      direct_response: { status: 200, body: { inline_string: 'This page will be provided soon later.\n' } },
    });
  });

  it('runs a lab on loopback for the local driver: namespace addresses, mapped ports, a hosts file, files under fileRoot', () => {
    const { result, ports } = local(library('eds-filesystem'));
    const front = bootstrap(result, 'envoy');
    expect(front.static_resources.listeners[0].address.socket_address).toEqual({
      address: '127.31.9.2',
      port_value: ports[80],
    });
    const eds = front.static_resources.clusters[0].eds_cluster_config.eds_config.path_config_source.path;
    expect(eds).toBe('/run/lab/envoy/eds.conf.d/eds.yaml');
    const cla = parse(result.files['envoy/eds.conf.d/eds.yaml']!);
    expect(cla.resources[0].endpoints[0].lb_endpoints[0].endpoint.address.socket_address).toEqual({
      address: '127.31.9.11',
      port_value: ports[80],
    });
    const side = bootstrap(result, 'webserver01-sidecar');
    expect(
      side.static_resources.clusters[0].load_assignment.endpoints[0].lb_endpoints[0].endpoint.address
        .socket_address,
    ).toEqual({ address: '127.31.9.11', port_value: ports[8080] });
    const app = result.containers.find((c) => c.name === 'webserver01')!;
    expect(app.env).toEqual({
      HOST: '127.31.9.11',
      PORT: String(ports[8080]),
      SERVER_IP: '127.31.9.11',
      SERVER_NAME: 'webserver01',
      VERSION: 'v1.0',
    });
    const proxy = result.containers.find((c) => c.name === 'envoy')!;
    expect(proxy.command).toEqual([
      'meshcraft-proxy',
      '-c',
      '/run/lab/envoy/envoy.yaml',
      '--dns-hosts',
      '/run/lab/envoy/hosts',
    ]);
    expect(result.files['envoy/hosts']).toContain('127.31.9.11 webserver01-sidecar\n');
    expect(result.compose).toBeUndefined();
  });

  it('refuses a local plan that misses a port', () => {
    const lab = library('http-ingress');
    const layout = buildLayout(new LabIndex(lab));
    const plan = localAddressPlan(layout, {
      block: '127.31.3.0/24',
      ports: { 80: 1080, 8080: 1880, 9901: 1901 },
      fileRoot: '/x',
    });
    expect(() => render(lab, { ...plan, ports: { 80: 1080 } })).toThrow(PlanError);
  });

  it('describes every container for the runtime: role, command, namespace, aliases, mounts, probe, published ports', () => {
    const r = docker(library('health-check-with-http'));
    expect(
      r.containers.map((c) => [
        c.name,
        c.role,
        c.network.owner ? 'owner' : `joins ${(c.network as { joins: string }).joins}`,
      ]),
    ).toEqual([
      ['envoy', 'proxy', 'owner'],
      ['webserver01-sidecar', 'proxy', 'owner'],
      ['webserver01', 'demoapp', 'joins webserver01-sidecar'],
      ['webserver02-sidecar', 'proxy', 'owner'],
      ['webserver02', 'demoapp', 'joins webserver02-sidecar'],
    ]);
    const sidecar = r.containers[1]!;
    expect(sidecar).toMatchObject({
      hostname: 'red',
      network: { owner: true, ip: '172.31.18.11', aliases: ['myservice'] },
      command: ['meshcraft-proxy', '-c', '/etc/envoy/envoy.yaml'],
      readiness: { kind: 'http', port: 9901, path: '/ready' },
      publish: [
        { port: 9901, purpose: 'admin' },
        { port: 80, purpose: 'listener', name: 'listener_0' },
      ],
    });
    const app = r.containers[2]!;
    expect(app).toMatchObject({
      command: ['meshcraft-demoapp'],
      env: { HOST: '127.0.0.1', PORT: '8080', VERSION: 'v1.0' },
      publish: [],
    });
    expect(app.readiness).toMatchObject({ kind: 'http', port: 8080, path: '/livez', insideNamespace: true });
    expect(containerFile(r, 'webserver01-sidecar', '/etc/envoy/envoy.yaml')).toBe(
      'webserver01-sidecar/envoy.yaml',
    );
  });

  it('serves the control plane the course format, and points the proxy at it', () => {
    const r = docker(library('ads-grpc'));
    const b = bootstrap(r, 'envoy');
    expect(b.node).toEqual({ id: 'envoy_front_proxy', cluster: 'webcluster' });
    expect(b.dynamic_resources.cds_config).toEqual({ resource_api_version: 'V3', ads: {} });
    expect(
      b.static_resources.clusters[0].load_assignment.endpoints[0].lb_endpoints[0].endpoint.address
        .socket_address,
    ).toEqual({ address: 'xdsserver', port_value: 18000 });
    expect(b.static_resources.listeners).toBeUndefined();
    const cp = r.containers.find((c) => c.role === 'xds')!;
    expect(cp).toMatchObject({
      command: ['meshcraft-xds'],
      env: { NODE_ID: 'envoy_front_proxy', SERVER_PORT: '18000' },
      readiness: { kind: 'tcp', port: 18000 },
    });
    expect(r.containers.find((c) => c.name === 'envoy')!.dependsOn).toEqual(['xdsserver']);
  });

  it('writes LDS and CDS files in a watched directory for filesystem delivery', () => {
    const r = docker(library('lds-cds-filesystem'));
    expect(bootstrap(r, 'envoy').dynamic_resources.lds_config).toEqual({
      path_config_source: { path: '/etc/envoy/conf.d/lds.yaml' },
      resource_api_version: 'V3',
    });
    expect(parse(r.files['envoy/conf.d/lds.yaml']!).resources[0]['@type']).toBe(
      'type.googleapis.com/envoy.config.listener.v3.Listener',
    );
    expect(r.containers.find((c) => c.name === 'envoy')!.mounts).toContainEqual({
      source: 'envoy/conf.d/',
      target: '/etc/envoy/conf.d/',
      directory: true,
    });
  });

  it('switches to real Envoy and the course images', () => {
    const r = docker(library('http-egress'), { images: 'upstream' });
    const images = Object.fromEntries(r.containers.map((c) => [c.name, c.image]));
    expect(images).toEqual({
      envoy: 'envoyproxy/envoy:v1.29-latest',
      client: 'ikubernetes/admin-toolbox:v1.0',
      webserver01: 'ikubernetes/demoapp:v1.0',
      webserver02: 'ikubernetes/demoapp:v1.0',
    });
    expect(r.containers.every((c) => c.command === undefined)).toBe(true);
  });

  it('merges a raw bootstrap over the structured one, lists by name', () => {
    const lab = library('http-front-proxy');
    const front = lab.spec.nodes.find((n) => n.id === 'envoy') as FrontProxyNode;
    lab.metadata.tryThis = undefined;
    front.raw = {
      mode: 'merge',
      bootstrap: {
        static_resources: { clusters: [{ name: 'local_cluster', dns_lookup_family: 'V4_ONLY' }] },
        stats_flush_interval: '5s',
      },
    };
    const b = bootstrap(docker(lab), 'envoy');
    expect(b.stats_flush_interval).toBe('5s');
    expect(b.static_resources.clusters[0]).toMatchObject({
      name: 'local_cluster',
      type: 'STATIC',
      dns_lookup_family: 'V4_ONLY',
    });
    front.raw = {
      mode: 'replace',
      bootstrap: { admin: { address: { socket_address: { address: '0.0.0.0', port_value: 9000 } } } },
    };
    front.listeners = [];
    lab.spec.edges = lab.spec.edges.filter((e) => e.kind === 'membership');
    expect(bootstrap(docker(lab), 'envoy')).toEqual(front.raw.bootstrap);
  });

  it('writes a compose project in the course layout', () => {
    const compose = parse(docker(library('udp-proxy')).compose!);
    expect(compose.services.testing.ports).toEqual(['10000:10000/udp', '10001:10001']);
    expect(compose.services['service-udp']).toEqual({
      image: 'meshcraft-runtime:latest',
      command: ['meshcraft-demoapp'],
      environment: { HOST: '0.0.0.0', PORT: '80', UDP_PORT: '5005', VERSION: 'v1.0' },
      networks: { envoymesh: null },
    });
    expect(compose.networks).toEqual({ envoymesh: { driver: 'bridge' } });
  });

  it("gives a demoapp's udpPort to UDP_PORT and to the clusters it is a member of, mapped on the local driver", () => {
    const lab = library('udp-proxy');
    const endpoint = (r: ReturnType<typeof render>) =>
      bootstrap(r, 'testing').static_resources.clusters[0].load_assignment.endpoints[0].lb_endpoints[0]
        .endpoint.address.socket_address;
    expect(endpoint(docker(lab))).toEqual({ address: 'service-udp', port_value: 5005 });
    const { result, ports } = local(lab);
    expect(endpoint(result)).toEqual({ address: 'service-udp', port_value: ports[5005] });
    const app = result.containers.find((c) => c.name === 'service-udp')!;
    expect(app.env).toMatchObject({ UDP_PORT: String(ports[5005]), PORT: String(ports[80]) });
    expect(result.layout.namespaces.find((n) => n.node === 'service-udp')!.ports).toEqual([
      expect.objectContaining({ port: 80, protocol: 'tcp', name: 'app' }),
      expect.objectContaining({ port: 5005, protocol: 'udp', name: 'app-udp' }),
    ]);
    // The course's demoapp image has no UDP listener: an export on upstream images says so.
    expect(docker(lab, { images: 'upstream' }).warnings.map((w) => w.message)).toContain(
      "ikubernetes/demoapp has no UDP listener; 'service-udp' answers on UDP port 5005 only with meshcraft's runtime image",
    );
    expect(docker(lab).warnings).toEqual([]);
  });

  it('renders the same bytes for the same lab, whatever the key order it was written in', () => {
    const lab = library('tls-static');
    const reversed = JSON.parse(JSON.stringify(lab), (_k, v) =>
      v && typeof v === 'object' && !Array.isArray(v) ? Object.fromEntries(Object.entries(v).reverse()) : v,
    );
    const a = docker(lab);
    const b = docker(reversed as Lab);
    expect(b.files).toEqual(a.files);
    expect(b.compose).toBe(a.compose);
  });

  it('produces Envoy config without meshcraft-only fields', () => {
    const lab: Lab = { ...library('strict-dns'), apiVersion: API_VERSION };
    for (const p of docker(lab).proxies) expect(p.yaml).not.toMatch(/meshcraft/i);
  });
});
