import { describe, expect, it } from 'vitest';
import type { Issue } from './issues.js';
import { parseLabObject } from './parse.js';
import {
  API_VERSION,
  type ClusterNode,
  type FrontProxyNode,
  type Lab,
  type LabEdge,
  type ServiceNode,
} from './schema.js';

function service(id: string, ip: string, extra: Partial<ServiceNode> = {}): ServiceNode {
  return {
    kind: 'service',
    id,
    ip,
    app: { role: 'demoapp' },
    sidecar: {
      ingress: [
        {
          name: 'listener_0',
          port: 80,
          virtualHosts: [
            { name: 'local', domains: ['*'], routes: [{ id: 'local', match: { prefix: '/' }, local: true }] },
          ],
        },
      ],
    },
    ...extra,
  };
}

/** A front proxy → cluster → two services lab, valid as built; each test breaks one thing. */
function lab(): Lab {
  const front: FrontProxyNode = {
    kind: 'frontProxy',
    id: 'front',
    ip: '172.31.7.2',
    listeners: [
      {
        name: 'listener_0',
        port: 80,
        virtualHosts: [{ name: 'web', domains: ['*'], routes: [{ id: 'default', match: { prefix: '/' } }] }],
      },
    ],
  };
  const cluster: ClusterNode = {
    kind: 'cluster',
    id: 'web',
    discovery: 'STRICT_DNS',
    healthChecks: [
      { timeout: '1s', interval: '2s', unhealthyThreshold: 2, healthyThreshold: 1, http: { path: '/livez' } },
    ],
  };
  const edges: LabEdge[] = [
    { kind: 'route', id: 'r', from: { node: 'front', route: 'default' }, to: 'web' },
    { kind: 'membership', id: 'm1', from: 'web', to: 'a', dnsName: 'myservice' },
    { kind: 'membership', id: 'm2', from: 'web', to: 'b', dnsName: 'myservice' },
  ];
  return {
    apiVersion: API_VERSION,
    kind: 'Lab',
    metadata: { name: 'test', title: 'Test' },
    spec: {
      network: { subnet: '172.31.7.0/24' },
      nodes: [front, cluster, service('a', '172.31.7.11'), service('b', '172.31.7.12')],
      edges,
    },
  };
}

function issues(l: Lab): Issue[] {
  return parseLabObject(l).issues;
}

function expectIssue(l: Lab, pattern: RegExp, severity: 'error' | 'warning' = 'error'): Issue {
  const all = issues(l);
  const hit = all.find((i) => i.severity === severity && pattern.test(i.message));
  expect(
    hit,
    `expected a ${severity} matching ${pattern}, got:\n${all.map((i) => `${i.severity} ${i.at}: ${i.message}`).join('\n')}`,
  ).toBeDefined();
  if (severity === 'error') expect(parseLabObject(l).lab).toBeUndefined();
  return hit!;
}

const node = <T>(l: Lab, id: string) => l.spec.nodes.find((n) => n.id === id) as T;

describe('validation', () => {
  it('accepts the base lab without findings', () => {
    expect(issues(lab())).toEqual([]);
  });

  it('finds a route to a cluster that does not exist', () => {
    const l = lab();
    l.spec.edges[0] = { kind: 'route', id: 'r', from: { node: 'front', route: 'default' }, to: 'nowhere' };
    const i = expectIssue(l, /'nowhere' is not a node of this lab/);
    expect(i).toMatchObject({ at: 'spec.edges[0].to', edgeId: 'r' });
  });

  it('finds a route that forwards nowhere', () => {
    const l = lab();
    l.spec.edges.shift();
    expect(
      expectIssue(l, /route 'default' forwards but no edge leaves it; connect it to a cluster/).nodeId,
    ).toBe('front');
  });

  it('finds duplicate names: node ids (ignoring case), listeners, clusters, routes', () => {
    const l = lab();
    l.spec.nodes.push({ ...node<ClusterNode>(l, 'web'), id: 'WEB' });
    expectIssue(l, /node id 'WEB' is already used by spec.nodes\[1\]/);
    const l2 = lab();
    node<FrontProxyNode>(l2, 'front').listeners.push({
      name: 'listener_0',
      port: 81,
      virtualHosts: [
        {
          name: 'x',
          domains: ['*'],
          routes: [{ id: 'other', match: { prefix: '/' }, directResponse: { status: 200 } }],
        },
      ],
    });
    expectIssue(l2, /listener name 'listener_0' is used twice/);
    const l3 = lab();
    l3.spec.nodes.push({ kind: 'cluster', id: 'web2', name: 'web', discovery: 'STATIC' });
    node<FrontProxyNode>(l3, 'front').clusters = ['web2'];
    expectIssue(l3, /cluster name 'web' is already used by cluster node 'web'/);
  });

  it('finds two listeners on one port in one network namespace', () => {
    const l = lab();
    node<FrontProxyNode>(l, 'front').listeners.push({
      name: 'other',
      port: 80,
      protocol: 'tcp',
      local: undefined,
    });
    l.spec.edges.push({ kind: 'route', id: 'tcp', from: { node: 'front', listener: 'other' }, to: 'web' });
    expectIssue(
      l,
      /port 80\/tcp of listener 'other' of front is already taken by listener 'listener_0' of front in the same network namespace/,
    );
    const l2 = lab();
    const a = node<ServiceNode>(l2, 'a');
    a.app = { role: 'demoapp', port: 80, host: '0.0.0.0' };
    expectIssue(l2, /port 80\/tcp of the app a is already taken by listener 'listener_0' of a-sidecar/);
  });

  it('lets a UDP and a TCP listener share a port number', () => {
    const l = lab();
    node<FrontProxyNode>(l, 'front').listeners.push({ name: 'dns', port: 80, protocol: 'udp' });
    l.spec.edges.push({ kind: 'route', id: 'udp', from: { node: 'front', listener: 'dns' }, to: 'web' });
    expect(issues(l).filter((i) => i.severity === 'error')).toEqual([]);
  });

  it('finds weights that do not add up to totalWeight, and splits without weights', () => {
    const l = lab();
    l.spec.nodes.push({ kind: 'cluster', id: 'canary', discovery: 'STRICT_DNS' });
    l.spec.edges.push({ kind: 'membership', id: 'm3', from: 'canary', to: 'b' });
    l.spec.edges.push({
      kind: 'route',
      id: 'r2',
      from: { node: 'front', route: 'default' },
      to: 'canary',
      weight: 20,
    });
    expectIssue(l, /splits traffic over 2 clusters, so every edge needs a weight \(missing on 'r'\)/);
    (l.spec.edges[0] as { weight?: number }).weight = 70;
    node<FrontProxyNode>(l, 'front').listeners[0]!.virtualHosts![0]!.routes[0]!.totalWeight = 100;
    expectIssue(l, /the weights of route 'default' add up to 90, not its totalWeight 100/);
    (l.spec.edges[0] as { weight?: number }).weight = 80;
    expect(issues(l).filter((i) => i.severity === 'error')).toEqual([]);
  });

  it('finds a health check on a cluster with no endpoints', () => {
    const l = lab();
    l.spec.edges = l.spec.edges.filter((e) => e.kind !== 'membership');
    expect(
      expectIssue(l, /cluster 'web' has a health check but no endpoints to check; connect it to a service/)
        .at,
    ).toBe('spec.nodes[1].healthChecks');
  });

  it('finds an egress edge from a service without a sidecar', () => {
    const l = lab();
    l.spec.nodes.push({ kind: 'service', id: 'plain', app: { role: 'demoapp' } });
    l.spec.edges.push({ kind: 'egress', id: 'out', from: { node: 'plain', route: 'x' }, to: 'web' });
    expectIssue(l, /egress edges leave a service's sidecar, and 'plain' has no sidecar/);
  });

  it('finds an egress edge from an ingress listener, and a route edge from an egress one', () => {
    const l = lab();
    l.spec.edges.push({ kind: 'egress', id: 'out', from: { node: 'a', route: 'local' }, to: 'web' });
    expectIssue(l, /belongs to ingress listener 'listener_0'; make this a route edge/);
  });

  it('finds requests that would loop forever between sidecars', () => {
    const l = lab();
    const a = node<ServiceNode>(l, 'a');
    a.sidecar!.ingress![0]!.virtualHosts![0]!.routes[0] = { id: 'local', match: { prefix: '/' } };
    l.spec.edges.push({ kind: 'route', id: 'back', from: { node: 'a', route: 'local' }, to: 'web' });
    expectIssue(l, /requests would loop forever: a:80 → a:80/);
  });

  it('checks addresses against the subnet', () => {
    const l = lab();
    node<ServiceNode>(l, 'a').ip = '10.0.0.1';
    node<ServiceNode>(l, 'b').ip = '172.31.7.1';
    expectIssue(l, /10.0.0.1 is outside the lab's subnet 172.31.7.0\/24/);
    expectIssue(l, /172.31.7.1 is the network's gateway/);
    const l2 = lab();
    node<ServiceNode>(l2, 'b').ip = '172.31.7.11';
    expectIssue(l2, /172.31.7.11 is already the address of node 'a'/);
    const l3 = lab();
    l3.spec.network = { subnet: '172.31.7.5/24' };
    expectIssue(l3, /'172.31.7.5\/24' is not a usable IPv4 block/);
    const l4 = lab();
    node<ServiceNode>(l4, 'a').replicas = 2;
    expectIssue(l4, /a fixed ip can only be given to a single replica/);
  });

  it('checks TLS material', () => {
    const l = lab();
    node<FrontProxyNode>(l, 'front').listeners[0]!.tls = {};
    expectIssue(l, /a TLS listener needs a certificate/);
    node<FrontProxyNode>(l, 'front').listeners[0]!.tls = { certificateSecrets: ['server_cert'] };
    expectIssue(l, /'front' has no secret 'server_cert'; add it to its secrets/);
    node<FrontProxyNode>(l, 'front').secrets = [
      {
        name: 'server_cert',
        certificate: {
          certificateChain: { file: '/etc/envoy/certs/server.crt' },
          privateKey: { file: '/etc/envoy/certs/server.key' },
        },
      },
    ];
    expectIssue(
      l,
      /\/etc\/envoy\/certs\/server.crt is not provided in 'front': set tlsFiles.identity/,
      'warning',
    );
    l.spec.pki = { certificates: [{ name: 'front', server: true }] };
    node<FrontProxyNode>(l, 'front').tlsFiles = { identity: 'front' };
    expect(issues(l)).toEqual([]);
    node<FrontProxyNode>(l, 'front').tlsFiles = { identity: 'nobody' };
    expectIssue(l, /certificate 'nobody' is not in spec.pki.certificates/);
  });

  it('checks delivery from a control plane', () => {
    const l = lab();
    node<FrontProxyNode>(l, 'front').delivery = { mode: 'grpc' };
    expectIssue(l, /delivery 'grpc' needs 'controlPlane'/);
    node<FrontProxyNode>(l, 'front').delivery = { mode: 'ads', controlPlane: 'web' };
    expectIssue(l, /'web' is not a control plane node of this lab/);
  });

  it('warns when a shared DNS name reaches services outside the cluster', () => {
    const l = lab();
    l.spec.nodes.push({ kind: 'service', id: 'stray', aliases: ['myservice'], app: { role: 'demoapp' } });
    expectIssue(
      l,
      /DNS name 'myservice' of cluster 'web' also resolves to 'stray', which will receive its traffic too/,
      'warning',
    );
  });

  it('checks routes: one path matcher, hash policies that matter, actions that exclude each other', () => {
    const l = lab();
    const route = node<FrontProxyNode>(l, 'front').listeners[0]!.virtualHosts![0]!.routes[0]!;
    route.match = { prefix: '/', path: '/x' };
    expectIssue(l, /must match on exactly one of prefix, path or regex \(it has prefix and path\)/);
    route.match = { prefix: '/' };
    route.hashPolicy = [{ header: 'User-Agent' }];
    expectIssue(
      l,
      /has no effect on cluster 'web', which balances with ROUND_ROBIN; use RING_HASH or MAGLEV/,
      'warning',
    );
    route.hashPolicy = [{ header: 'User-Agent', sourceIp: true }];
    expectIssue(l, /hashes exactly one of header, sourceIp, cookie or queryParameter/);
    route.hashPolicy = undefined;
    route.redirect = { httpsRedirect: true };
    expectIssue(l, /route 'default' answers with redirect itself, so the edges leaving it are never used/);
  });

  it('checks localities and priorities', () => {
    const l = lab();
    Object.assign(l.spec.edges[1]!, { locality: { region: 'r1' }, localityWeight: 10 });
    Object.assign(l.spec.edges[2]!, { locality: { region: 'r1' }, localityWeight: 20 });
    expectIssue(l, /same locality and priority of cluster 'web' but give it different weights \(10 and 20\)/);
    const l2 = lab();
    Object.assign(l2.spec.edges[2]!, { priority: 2 });
    expectIssue(l2, /priorities of cluster 'web' must run 0, 1, 2 … without gaps; it has 0, 2/);
    const l3 = lab();
    node<ClusterNode>(l3, 'web').discovery = 'LOGICAL_DNS';
    (l3.spec.edges[2] as { dnsName?: string }).dnsName = 'other';
    expectIssue(l3, /a LOGICAL_DNS cluster has exactly one endpoint/);
  });

  it('flags an image that cannot run offline, without refusing the lab', () => {
    const l = lab();
    node<ServiceNode>(l, 'b').app = { role: 'image', image: 'example/app:1', why: 'it is private' };
    expectIssue(
      l,
      /service 'b' runs image 'example\/app:1', which cannot run offline: it is private/,
      'warning',
    );
    expect(parseLabObject(l).lab).toBeDefined();
  });

  it('finds a host port published twice', () => {
    const l = lab();
    node<FrontProxyNode>(l, 'front').hostPorts = [{ host: 8080, container: 80 }];
    node<ServiceNode>(l, 'a').hostPorts = [{ host: 8080, container: 80 }];
    expectIssue(l, /host port 8080\/tcp is already published by 'front'/);
  });

  it('counts the ports of a raw bootstrap in its network namespace', () => {
    const l = lab();
    const a = node<ServiceNode>(l, 'a');
    a.sidecar = {
      raw: {
        mode: 'replace',
        bootstrap: {
          static_resources: {
            listeners: [
              { name: 'in', address: { socket_address: { address: '0.0.0.0', port_value: 8080 } } },
            ],
          },
        },
      },
    };
    l.spec.edges = l.spec.edges.filter((e) => e.id !== 'm1');
    expectIssue(l, /port 8080\/tcp of the app a is already taken by listener 'in' of a-sidecar/);
  });

  it('checks that steps act on nodes that exist', () => {
    const l = lab();
    l.metadata.tryThis = [
      { say: 'flip', action: { setProbe: { node: 'ghost', probe: 'livez', value: 'FAIL' } } },
    ];
    expectIssue(l, /step 1 acts on 'ghost', which is not a node of this lab/);
    l.metadata.tryThis = [{ say: 'send', action: { send: { node: 'front', listener: 'nope' } } }];
    expectIssue(l, /step 1 sends to listener 'nope', which 'front' does not have/);
  });
});
