/**
 * Rendering for the console's control plane (`render(lab, plan, { xds })`): every library proxy
 * without a configuration mechanism of its own gets a bootstrap that only points at the control
 * plane, and resources that behave exactly as its static rendering does; the others keep theirs
 * and say why.
 */
import { describe, expect, it } from 'vitest';
import {
  buildLayout,
  CONSOLE_XDS_CLUSTER,
  dockerAddressPlan,
  type Json,
  type Lab,
  LabIndex,
  localAddressPlan,
  loopbackBlockFor,
  type RenderedProxy,
  type RenderResult,
  render,
  summarizeBootstrap,
  type XdsResources,
} from '../src/index.js';
import { loadLibrary } from '../src/node.js';
import { LIBRARY_DIR, proxyConfigLoader } from './helpers.js';

const library = loadLibrary(LIBRARY_DIR).map((e) => e.lab!);
const loader = await proxyConfigLoader();
const XDS = { host: '172.31.99.1', port: 18999 };

const TYPE = {
  listeners: 'type.googleapis.com/envoy.config.listener.v3.Listener',
  routes: 'type.googleapis.com/envoy.config.route.v3.RouteConfiguration',
  clusters: 'type.googleapis.com/envoy.config.cluster.v3.Cluster',
  endpoints: 'type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment',
} as const;

/** The proxies whose lab's subject is how they get their configuration; the console leaves them to it. */
const OWN_DELIVERY: Record<string, RegExp> = {
  'eds-filesystem/envoy':
    /reads the endpoints of cluster 'webcluster' from a file it watches \(discovery: EDS\)/,
  'lds-cds-filesystem/envoy':
    /reads its listeners and clusters from files it watches \(delivery: filesystem\)/,
  'lds-cds-grpc/envoy': /takes its configuration from the lab's control plane 'xdsserver' \(delivery: grpc\)/,
  'ads-grpc/envoy': /takes its configuration from the lab's control plane 'xdsserver' \(delivery: ads\)/,
};

function plans(lab: Lab) {
  const layout = buildLayout(new LabIndex(lab));
  const ports = Object.fromEntries(layout.ports.map((p, i) => [p, 42000 + i]));
  return {
    docker: dockerAddressPlan(layout),
    local: localAddressPlan(layout, {
      block: loopbackBlockFor(layout.network.subnet),
      ports,
      fileRoot: '/run/lab',
    }),
  };
}

// biome-ignore lint/suspicious/noExplicitAny: the tests walk rendered Envoy JSON by field name.
type J = any;
type Served = Record<keyof XdsResources, J[]>;

/** The static bootstrap a console-served proxy amounts to: its resources put back where static rendering has them. */
function asStatic(p: RenderedProxy): Json {
  const { listeners, routes, clusters, endpoints } = structuredClone(p.xds!.resources) as Served;
  for (const l of listeners) {
    for (const chain of l.filter_chains ?? []) {
      for (const f of chain.filters) {
        const rds = f.typed_config.rds;
        if (!rds) continue;
        delete f.typed_config.rds;
        const { name: _served, ...config } = routes.find((r) => r.name === rds.route_config_name);
        f.typed_config.route_config = { name: 'local_route', ...config };
      }
    }
  }
  for (const c of clusters) {
    if (c.type !== 'EDS') continue;
    c.type = 'STATIC';
    c.load_assignment = endpoints.find((e) => e.cluster_name === c.eds_cluster_config.service_name);
    delete c.eds_cluster_config;
  }
  const { dynamic_resources: _ads, static_resources: sr, ...rest } = structuredClone(p.bootstrap) as J;
  const staticResources: J = { listeners, clusters };
  if (sr.secrets) staticResources.secrets = sr.secrets;
  return { ...rest, static_resources: staticResources };
}

describe('rendering for the console', () => {
  it('serves every library proxy without a mechanism of its own; the others say which', () => {
    let served = 0;
    for (const lab of library) {
      const result = render(lab, plans(lab).docker, { xds: XDS });
      for (const p of result.proxies) {
        const own = OWN_DELIVERY[`${lab.metadata.name}/${p.container}`];
        if (own) {
          expect(p.ownDelivery, `${lab.metadata.name}/${p.container}`).toMatch(own);
          expect(p.xds).toBeUndefined();
        } else {
          expect(p.ownDelivery, `${lab.metadata.name}/${p.container}`).toBeUndefined();
          expect(p.xds?.nodeId).toBe(`${lab.metadata.name}/${p.namespace}`);
          served++;
        }
      }
    }
    expect(served).toBeGreaterThan(60);
  });

  describe.each(library.map((l) => [l.metadata.name, l]))('%s', (_name, lab) => {
    for (const [driver, plan] of Object.entries(plans(lab))) {
      it(`behaves as its static rendering (${driver} plan)`, () => {
        const statically = render(lab, plan);
        const served = render(lab, plan, { xds: XDS });
        expect(served.proxies.map((p) => p.container)).toEqual(statically.proxies.map((p) => p.container));
        for (const p of served.proxies) {
          const reference = statically.proxies.find((s) => s.container === p.container)!;
          if (p.xds) {
            expect(summarizeBootstrap(asStatic(p)), p.container).toEqual(
              summarizeBootstrap(reference.bootstrap),
            );
          } else expect(p.yaml, p.container).toBe(reference.yaml);
        }
        // Only the served proxies' bootstraps differ; containers and every other file are the same.
        expect(served.containers).toEqual(statically.containers);
        const bootstraps = new Set(served.proxies.map((p) => p.file));
        const others = (r: RenderResult) =>
          Object.fromEntries(Object.entries(r.files).filter(([f]) => !bootstraps.has(f)));
        expect(others(served)).toEqual(others(statically));
      });
    }

    it.skipIf(!loader)("renders bootstraps and resources meshcraft-proxy's loader accepts", () => {
      for (const p of render(lab, plans(lab).local, { xds: XDS }).proxies) {
        expect(() => loader!.loadBootstrap({ yaml: p.yaml }), p.container).not.toThrow();
        for (const [kind, list] of Object.entries(p.xds?.resources ?? {})) {
          for (const r of list)
            expect(() => loader!.normalizeResource(TYPE[kind as keyof typeof TYPE], r), kind).not.toThrow();
        }
      }
    });
  });

  it('gives each copy of a proxy its node id, and nothing static but the way to the control plane', () => {
    const lab = structuredClone(library.find((l) => l.metadata.name === 'health-check-with-http')!);
    const replicated = lab.spec.nodes.find((n) => n.id === 'webserver01') as J;
    delete replicated.ip;
    replicated.replicas = 2;
    const result = render(lab, plans(lab).docker, { xds: XDS });
    expect(result.proxies.map((p) => p.xds!.nodeId)).toEqual([
      'health-check-with-http/envoy',
      'health-check-with-http/webserver01-1',
      'health-check-with-http/webserver01-2',
      'health-check-with-http/webserver02',
    ]);
    for (const p of result.proxies) {
      const b = p.bootstrap as J;
      expect(b.node).toEqual({ id: p.xds!.nodeId, cluster: p.node });
      expect(b.dynamic_resources).toEqual({
        ads_config: {
          api_type: 'GRPC',
          transport_api_version: 'V3',
          grpc_services: [{ envoy_grpc: { cluster_name: CONSOLE_XDS_CLUSTER } }],
          set_node_on_first_message_only: true,
        },
        cds_config: { resource_api_version: 'V3', ads: {} },
        lds_config: { resource_api_version: 'V3', ads: {} },
      });
      expect(b.static_resources.listeners).toBeUndefined();
      expect(b.static_resources.clusters).toHaveLength(1);
      expect(b.static_resources.clusters[0]).toMatchObject({
        name: CONSOLE_XDS_CLUSTER,
        type: 'STATIC',
        load_assignment: {
          endpoints: [
            {
              lb_endpoints: [
                { endpoint: { address: { socket_address: { address: XDS.host, port_value: XDS.port } } } },
              ],
            },
          ],
        },
      });
    }
  });

  it("serves route configurations over RDS, renaming a listener's that another listener's name took", () => {
    const lab = structuredClone(library.find((l) => l.metadata.name === 'http-front-proxy')!);
    const front = lab.spec.nodes.find((n) => n.kind === 'frontProxy')!;
    front.listeners.push({
      name: 'listener_1',
      port: 8080,
      virtualHosts: [
        {
          name: 'status',
          domains: ['*'],
          routes: [{ id: 'status', match: { prefix: '/' }, directResponse: { status: 200 } }],
        },
      ],
    });
    const p = render(lab, plans(lab).docker, { xds: XDS }).proxies[0]!;
    const { listeners, routes } = p.xds!.resources as Served;
    const rds = listeners.map((l) => l.filter_chains[0].filters[0].typed_config.rds);
    expect(rds).toEqual([
      { config_source: { resource_api_version: 'V3', ads: {} }, route_config_name: 'local_route' },
      { config_source: { resource_api_version: 'V3', ads: {} }, route_config_name: 'local_route/listener_1' },
    ]);
    expect(routes.map((r) => [r.name, r.virtual_hosts.map((vh: J) => vh.name)])).toEqual([
      ['local_route', ['web_service_1', 'web_service_2']],
      ['local_route/listener_1', ['status']],
    ]);
  });

  it('serves the endpoints of STATIC clusters over EDS; DNS clusters keep theirs', () => {
    const staticLab = library.find((l) => l.metadata.name === 'http-front-proxy')!;
    const { clusters, endpoints } = render(staticLab, plans(staticLab).docker, { xds: XDS }).proxies[0]!.xds!
      .resources as Served;
    expect(clusters[0]).toMatchObject({
      name: 'local_cluster',
      type: 'EDS',
      eds_cluster_config: { service_name: 'local_cluster', eds_config: { ads: {} } },
    });
    expect(clusters[0].load_assignment).toBeUndefined();
    expect(endpoints).toEqual([
      {
        cluster_name: 'local_cluster',
        endpoints: [
          {
            lb_endpoints: [
              { endpoint: { address: { socket_address: { address: '172.31.2.11', port_value: 8080 } } } },
              { endpoint: { address: { socket_address: { address: '172.31.2.12', port_value: 8080 } } } },
            ],
          },
        ],
      },
    ]);
    const dnsLab = library.find((l) => l.metadata.name === 'traffic-split')!;
    const dns = render(dnsLab, plans(dnsLab).docker, { xds: XDS }).proxies[0]!.xds!.resources;
    expect(dns.clusters.map((c) => [c.type, (c.load_assignment as J).endpoints.length])).toEqual([
      ['STRICT_DNS', 1],
      ['STRICT_DNS', 1],
    ]);
    expect(dns.endpoints).toEqual([]);
  });
});
