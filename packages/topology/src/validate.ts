/**
 * Checks a schema-valid lab for what the schema alone cannot see: references between nodes and
 * edges, names that must be unique, ports that would collide in one network namespace, weights,
 * TLS material, routing loops. Every finding says where and what to do. Browser-safe.
 */
import { type Issue, IssueList, type PathSegment } from './issues.js';
import { buildLayout, type LabLayout, membershipDnsName } from './layout.js';
import {
  appHost,
  appPort,
  appUdpPort,
  clusterName,
  type ForwardEdge,
  LabIndex,
  type ListenerView,
  membershipPort,
  type ProxyView,
  routeAction,
  routesOf,
} from './model.js';
import { cidrContains, ipv4ToInt, parseCidr } from './names.js';
import type {
  ClusterNode,
  DataSourceSpec,
  DownstreamTlsSpec,
  Lab,
  RouteSpec,
  ServiceNode,
  TlsCertificateSpec,
  UpstreamTlsSpec,
} from './schema.js';

/** Semantic validation of a lab that already passed the schema. */
export function validateSemantics(lab: Lab): Issue[] {
  const out = new IssueList(lab);
  const index = new LabIndex(lab);
  checkIds(index, out);
  checkNetwork(index, out);
  const layout = buildLayout(index);
  checkContainersAndPorts(index, layout, out);
  checkHostPorts(index, out);
  for (const p of index.proxies) checkProxy(index, p, out);
  checkEdges(index, out);
  for (const c of index.clusters()) checkCluster(index, c, out);
  checkServices(index, out);
  checkClients(index, out);
  checkDns(index, layout, out);
  checkLoops(index, out);
  checkSteps(index, out);
  return out.items;
}

const nodePath = (index: LabIndex, id: string): PathSegment[] => [
  'spec',
  'nodes',
  index.nodeIndex.get(id) ?? 0,
];

function checkIds(index: LabIndex, out: IssueList): void {
  const seen = new Map<string, number>();
  index.lab.spec.nodes.forEach((n, i) => {
    const key = n.id.toLowerCase();
    const first = seen.get(key);
    if (first !== undefined) {
      out.error(
        ['spec', 'nodes', i, 'id'],
        `node id '${n.id}' is already used by spec.nodes[${first}]; ids must be unique (ignoring case, since they become file names)`,
      );
    } else seen.set(key, i);
  });
  const edges = new Map<string, number>();
  index.lab.spec.edges.forEach((e, i) => {
    const first = edges.get(e.id);
    if (first !== undefined)
      out.error(['spec', 'edges', i, 'id'], `edge id '${e.id}' is already used by spec.edges[${first}]`);
    else edges.set(e.id, i);
  });
  const clusterNames = new Map<string, string>();
  for (const c of index.clusters()) {
    const name = clusterName(c);
    const other = clusterNames.get(name);
    if (other !== undefined) {
      out.error(
        [...nodePath(index, c.id), 'name'],
        `cluster name '${name}' is already used by cluster node '${other}'; Envoy cluster names must be unique`,
      );
    } else clusterNames.set(name, c.id);
  }
  const certs = new Set<string>();
  (index.lab.spec.pki?.certificates ?? []).forEach((c, i) => {
    if (certs.has(c.name))
      out.error(['spec', 'pki', 'certificates', i, 'name'], `certificate '${c.name}' is defined twice`);
    certs.add(c.name);
    if (!c.server && !c.client) {
      out.error(
        ['spec', 'pki', 'certificates', i],
        `certificate '${c.name}' is neither a server nor a client certificate; set server: true, client: true or both`,
      );
    }
  });
}

function checkNetwork(index: LabIndex, out: IssueList): void {
  const subnetText = index.lab.spec.network?.subnet;
  const subnet = subnetText ? parseCidr(subnetText) : undefined;
  if (subnetText && !subnet) {
    out.error(
      ['spec', 'network', 'subnet'],
      `'${subnetText}' is not a usable IPv4 block: give a network address with its host bits zero and a prefix from /8 to /30, such as 172.31.18.0/24`,
    );
  }
  const byIp = new Map<string, string>();
  for (const n of index.lab.spec.nodes) {
    if (n.kind === 'cluster' || !n.ip) continue;
    const path = [...nodePath(index, n.id), 'ip'];
    if (n.kind === 'service' && (n.replicas ?? 1) > 1) {
      out.error(path, `a fixed ip can only be given to a single replica; remove 'ip' or set replicas to 1`);
    }
    if (!subnetText) {
      out.error(
        path,
        `node '${n.id}' has a fixed ip but the lab has no subnet; set spec.network.subnet to the block it belongs to`,
      );
    } else if (subnet) {
      if (!cidrContains(subnet, n.ip)) out.error(path, `${n.ip} is outside the lab's subnet ${subnetText}`);
      else {
        const offset = ipv4ToInt(n.ip) - subnet.base;
        if (offset === 0)
          out.error(path, `${n.ip} is the network address of ${subnetText}; pick a host address`);
        else if (offset === subnet.size - 1)
          out.error(path, `${n.ip} is the broadcast address of ${subnetText}; pick a host address`);
        else if (offset === 1)
          out.error(
            path,
            `${n.ip} is the network's gateway (Docker takes the first address); pick another host address`,
          );
      }
    }
    const other = byIp.get(n.ip);
    if (other) out.error(path, `${n.ip} is already the address of node '${other}'`);
    else byIp.set(n.ip, n.id);
  }
  if (subnet) {
    const nsCount = index.lab.spec.nodes.reduce(
      (a, n) => a + (n.kind === 'cluster' ? 0 : n.kind === 'service' ? (n.replicas ?? 1) : 1),
      0,
    );
    if (nsCount > subnet.size - 3) {
      out.error(
        ['spec', 'network', 'subnet'],
        `${subnetText} has room for ${subnet.size - 3} containers' addresses but the lab needs ${nsCount}; use a larger block`,
      );
    }
  }
}

function overlaps(a: string, b: string): boolean {
  return a === b || a === '0.0.0.0' || b === '0.0.0.0';
}

function checkHostPorts(index: LabIndex, out: IssueList): void {
  const taken = new Map<string, string>();
  for (const n of index.lab.spec.nodes) {
    if (n.kind === 'cluster') continue;
    (n.hostPorts ?? []).forEach((h, i) => {
      const key = `${h.host}/${h.protocol ?? 'tcp'}`;
      const other = taken.get(key);
      if (other) {
        out.error(
          [...nodePath(index, n.id), 'hostPorts', i, 'host'],
          `host port ${key} is already published by '${other}'; a host port can be published once`,
        );
      }
      taken.set(key, n.id);
    });
  }
}

function checkContainersAndPorts(index: LabIndex, layout: LabLayout, out: IssueList): void {
  const names = new Map<string, string>();
  for (const ns of layout.namespaces) {
    for (const c of ns.containers) {
      const key = c.name.toLowerCase();
      const other = names.get(key);
      if (other !== undefined) {
        out.error(
          ['spec', 'nodes', index.nodeIndex.get(c.node) ?? 0],
          other === c.node
            ? `node '${c.node}' has two containers named '${c.name}' (its app and its sidecar); give the sidecar another containerName`
            : `container name '${c.name}' of node '${c.node}' is also a container of node '${other}'; set a different containerName on one of them`,
        );
      }
      names.set(key, c.node);
    }
    for (let i = 0; i < ns.ports.length; i++) {
      for (let j = 0; j < i; j++) {
        const a = ns.ports[i]!;
        const b = ns.ports[j]!;
        if (a.port === b.port && a.protocol === b.protocol && overlaps(a.address, b.address)) {
          out.error(
            a.path,
            `port ${a.port}/${a.protocol} of ${describeUse(a)} is already taken by ${describeUse(b)} in the same network namespace (${ns.id}); choose another port`,
          );
        }
      }
    }
  }
}

function describeUse(u: { purpose: string; name: string; container: string }): string {
  if (u.purpose === 'listener') return `listener '${u.name}' of ${u.container}`;
  if (u.purpose === 'admin') return `the admin interface of ${u.container}`;
  if (u.purpose === 'xds') return `the control plane ${u.container}`;
  return `the app ${u.container}`;
}

function checkProxy(index: LabIndex, p: ProxyView, out: IssueList): void {
  const spec = p.spec;
  if (spec.raw?.mode === 'replace' && p.listeners.length > 0) {
    out.warning(
      [...p.path, 'raw'],
      `the raw bootstrap replaces the structured config, so this proxy's listeners and routes here are not rendered; remove them or use mode: merge`,
    );
  }
  const secrets = new Set<string>();
  (spec.secrets ?? []).forEach((s, i) => {
    if (secrets.has(s.name))
      out.error([...p.path, 'secrets', i, 'name'], `secret '${s.name}' is defined twice in this proxy`);
    secrets.add(s.name);
    if (!s.certificate === !s.trustedCa)
      out.error(
        [...p.path, 'secrets', i],
        `secret '${s.name}' must hold exactly one of 'certificate' or 'trustedCa'`,
      );
    if (s.certificate)
      checkCertificateFiles(index, p, s.certificate, [...p.path, 'secrets', i, 'certificate'], out);
    if (s.trustedCa) checkFile(index, p, s.trustedCa, [...p.path, 'secrets', i, 'trustedCa'], out);
  });
  const layers = new Set<string>();
  (spec.runtime ?? []).forEach((l, i) => {
    if (layers.has(l.name))
      out.error([...p.path, 'runtime', i, 'name'], `runtime layer '${l.name}' is defined twice`);
    layers.add(l.name);
  });
  checkDelivery(index, p, out);
  const identity = spec.tlsFiles?.identity;
  if (identity && !(index.lab.spec.pki?.certificates ?? []).some((c) => c.name === identity)) {
    out.error(
      [...p.path, 'tlsFiles', 'identity'],
      `certificate '${identity}' is not in spec.pki.certificates; add it there or pick one of its names`,
    );
  }
  for (const id of spec.clusters ?? []) {
    if (!index.cluster(id)) out.error([...p.path, 'clusters'], `'${id}' is not a cluster node of this lab`);
  }

  const names = new Set<string>();
  const routeIds = new Set<string>();
  for (const l of p.listeners) {
    if (names.has(l.spec.name))
      out.error(
        [...l.path, 'name'],
        `listener name '${l.spec.name}' is used twice in this proxy; Envoy listener names must be unique`,
      );
    names.add(l.spec.name);
    checkListener(index, p, l, out);
    for (const r of routesOf(l)) {
      if (routeIds.has(r.spec.id))
        out.error(
          [...r.path, 'id'],
          `route id '${r.spec.id}' is used twice in this proxy; route edges need it to be unique`,
        );
      routeIds.add(r.spec.id);
    }
  }
}

function checkDelivery(index: LabIndex, p: ProxyView, out: IssueList): void {
  const d = p.spec.delivery;
  if (!d) return;
  const path = [...p.path, 'delivery'];
  if (d.mode === 'grpc' || d.mode === 'ads') {
    if (!index.lab.spec.network?.subnet) {
      out.error(
        path,
        `the control plane hands out endpoint addresses, so delivery '${d.mode}' needs the lab to have a subnet: set spec.network.subnet`,
      );
    }
    if (!d.controlPlane) {
      out.error(
        path,
        `delivery '${d.mode}' needs 'controlPlane': the id of the control plane node that serves this proxy`,
      );
      return;
    }
    const cp = index.nodes.get(d.controlPlane);
    if (cp?.kind !== 'controlPlane') {
      out.error([...path, 'controlPlane'], `'${d.controlPlane}' is not a control plane node of this lab`);
      return;
    }
    const first = index.proxies.find((q) => q.spec.delivery?.controlPlane === d.controlPlane);
    if (first && first !== p) {
      out.error(
        [...path, 'controlPlane'],
        `control plane '${d.controlPlane}' already serves '${first.node.id}'; the course's control plane serves one proxy (one NODE_ID), so add a control plane node for this one`,
      );
    }
  } else if (d.controlPlane) {
    out.warning(
      [...path, 'controlPlane'],
      `'controlPlane' is only used with delivery grpc or ads; it is ignored with '${d.mode}'`,
    );
  }
}

function checkListener(index: LabIndex, p: ProxyView, l: ListenerView, out: IssueList): void {
  const s = l.spec;
  const name = `listener '${s.name}'`;
  if (l.protocol === 'http') {
    if (!s.virtualHosts || s.virtualHosts.length === 0) {
      out.error(
        [...l.path, 'virtualHosts'],
        `${name} speaks HTTP but has no virtual hosts; add one with domains ["*"] and a route`,
      );
    }
    if (s.local)
      out.error(
        [...l.path, 'local'],
        `'local' is for TCP/UDP listeners; on an HTTP listener mark the route with local: true`,
      );
    const domains = new Map<string, string>();
    (s.virtualHosts ?? []).forEach((vh, i) => {
      for (const d of vh.domains) {
        const key = d.toLowerCase();
        const other = domains.get(key);
        if (other)
          out.error(
            [...l.path, 'virtualHosts', i, 'domains'],
            `domain '${d}' is in virtual hosts '${other}' and '${vh.name}'; Envoy refuses a domain listed twice in one route config`,
          );
        domains.set(key, vh.name);
      }
      if (vh.routes.length === 0)
        out.warning(
          [...l.path, 'virtualHosts', i, 'routes'],
          `virtual host '${vh.name}' has no routes, so every request to it gets 404`,
        );
    });
    for (const r of routesOf(l)) checkRoute(index, p, l, r.spec, r.path, out);
  } else {
    for (const field of [
      'virtualHosts',
      'codec',
      'routeConfigName',
      'generateRequestId',
      'useRemoteAddress',
    ] as const) {
      if (s[field] !== undefined)
        out.error(
          [...l.path, field],
          `'${field}' applies to HTTP listeners; ${name} is ${l.protocol.toUpperCase()}`,
        );
    }
    if (l.protocol === 'udp' && s.tls)
      out.error([...l.path, 'tls'], `${name} is UDP, which cannot carry TLS`);
    const edges = index.edgesFrom(p.node.id, { listener: s.name });
    if (s.local) {
      if (!p.sidecar)
        out.error(
          [...l.path, 'local'],
          `'local' forwards to the app beside a sidecar; ${p.node.id} is a front proxy`,
        );
      if (edges.length > 0)
        out.error(
          [...l.path, 'local'],
          `${name} forwards to the local app, so the edges leaving it have no effect; remove them or 'local'`,
        );
    } else if (edges.length === 0) {
      out.error(
        l.path,
        `${name} forwards nowhere: connect it to a cluster with an edge${p.sidecar ? ', or set local: true to reach the app' : ''}`,
      );
    } else if (l.protocol === 'udp' && edges.length > 1) {
      out.error(l.path, `${name} is UDP, which forwards to one cluster; keep one edge`);
    } else if (edges.length > 1) {
      checkWeights(edges, undefined, l.path, name, out);
    }
  }
  if (s.tls) checkTls(index, p, s.tls, 'downstream', [...l.path, 'tls'], out);
  if (l.direction === 'egress' && l.address === '0.0.0.0') {
    out.warning(
      [...l.path, 'address'],
      `egress ${name} listens on every interface; egress listeners usually bind 127.0.0.1 so only the app beside it can use them`,
    );
  }
}

function checkRoute(
  index: LabIndex,
  p: ProxyView,
  l: ListenerView,
  r: RouteSpec,
  path: PathSegment[],
  out: IssueList,
): void {
  const m = r.match;
  const kinds = (['prefix', 'path', 'regex'] as const).filter((k) => m[k] !== undefined);
  if (kinds.length !== 1) {
    out.error(
      [...path, 'match'],
      `route '${r.id}' must match on exactly one of prefix, path or regex (it has ${kinds.length === 0 ? 'none' : kinds.join(' and ')})`,
    );
  }
  (m.headers ?? []).forEach((h, i) => {
    checkStringMatch(h, [...path, 'match', 'headers', i], `header '${h.name}'`, out);
  });
  (m.queryParameters ?? []).forEach((q, i) => {
    checkStringMatch(q, [...path, 'match', 'queryParameters', i], `query parameter '${q.name}'`, out);
  });
  const actions = [r.redirect && 'redirect', r.directResponse && 'directResponse', r.local && 'local'].filter(
    Boolean,
  );
  if (actions.length > 1)
    out.error(path, `route '${r.id}' has ${actions.join(' and ')}; a route does one thing`);
  const action = routeAction(r);
  const edges = index.edgesFrom(p.node.id, { route: r.id });
  if (action === 'forward') {
    if (edges.length === 0) {
      out.error(
        path,
        `route '${r.id}' forwards but no edge leaves it; connect it to a cluster${p.sidecar && l.direction === 'ingress' ? ', or set local: true to reach the app' : ''}`,
      );
    } else if (edges.length > 1 || r.totalWeight !== undefined) {
      checkWeights(edges, r.totalWeight, path, `route '${r.id}'`, out);
    } else if (r.runtimeKeyPrefix) {
      out.warning(
        [...path, 'runtimeKeyPrefix'],
        `runtimeKeyPrefix only matters for a weighted split; route '${r.id}' has one cluster`,
      );
    }
    if (r.runtimeKeyPrefix && !(p.spec.runtime ?? []).some((layer) => 'admin' in layer)) {
      out.warning(
        [...path, 'runtimeKeyPrefix'],
        `nothing can change the runtime keys of this split: add a runtime layer { name: admin, admin: true } so /runtime_modify (the console's sliders) works`,
      );
    }
    const hashed = (r.hashPolicy ?? []).length > 0;
    for (const e of edges) {
      const c = index.cluster(e.to);
      if (!c) continue;
      if (hashed && c.lbPolicy !== 'RING_HASH' && c.lbPolicy !== 'MAGLEV') {
        out.warning(
          [...path, 'hashPolicy'],
          `the hash policy of route '${r.id}' has no effect on cluster '${c.id}', which balances with ${c.lbPolicy ?? 'ROUND_ROBIN'}; use RING_HASH or MAGLEV`,
        );
      }
      if ((r.metadataMatch || e.metadataMatch) && !c.subsets) {
        out.warning(
          [...path, 'metadataMatch'],
          `route '${r.id}' selects endpoints by metadata but cluster '${c.id}' defines no subsets, so Envoy ignores it`,
        );
      }
    }
  } else {
    if (edges.length > 0)
      out.error(
        path,
        `route '${r.id}' answers with ${action} itself, so the edges leaving it are never used; remove them or the ${action}`,
      );
    for (const f of [
      'hashPolicy',
      'metadataMatch',
      'totalWeight',
      'runtimeKeyPrefix',
      'prefixRewrite',
      'hostRewrite',
      'retry',
      'timeout',
    ] as const) {
      if (
        r[f] !== undefined &&
        !(
          action === 'local' &&
          (f === 'timeout' || f === 'retry' || f === 'prefixRewrite' || f === 'hostRewrite')
        )
      ) {
        out.warning(
          [...path, f],
          `'${f}' only applies when the route forwards to a cluster; route '${r.id}' is a ${action}`,
        );
      }
    }
    if (action === 'local' && !p.sidecar)
      out.error(
        [...path, 'local'],
        `'local' reaches the app beside a sidecar; ${p.node.id} is a front proxy`,
      );
    if (action === 'local' && l.direction === 'egress')
      out.warning(
        [...path, 'local'],
        `an egress route back to the local app loops to the app that sent the request`,
      );
  }
  (r.hashPolicy ?? []).forEach((h, i) => {
    const n = [h.header, h.sourceIp, h.cookie, h.queryParameter].filter((x) => x !== undefined).length;
    if (n !== 1)
      out.error(
        [...path, 'hashPolicy', i],
        `a hash policy entry hashes exactly one of header, sourceIp, cookie or queryParameter`,
      );
  });
  if (r.redirect && Object.keys(r.redirect).length === 0)
    out.error(
      [...path, 'redirect'],
      `the redirect changes nothing; set httpsRedirect, scheme, host, port, path or prefix`,
    );
  if (r.redirect?.path && r.redirect.prefix)
    out.error([...path, 'redirect'], `a redirect replaces either the path or its prefix, not both`);
}

function checkStringMatch(
  m: Record<string, unknown>,
  path: PathSegment[],
  what: string,
  out: IssueList,
): void {
  const used = ['exact', 'prefix', 'suffix', 'contains', 'regex', 'present'].filter(
    (k) => m[k] !== undefined,
  );
  if (used.length > 1)
    out.error(path, `${what} is matched by ${used.join(' and ')}; use one matcher per entry`);
}

function checkWeights(
  edges: ForwardEdge[],
  total: number | undefined,
  path: PathSegment[],
  what: string,
  out: IssueList,
): void {
  const missing = edges.filter((e) => e.weight === undefined);
  if (missing.length > 0) {
    out.error(
      path,
      `${what} splits traffic over ${edges.length} clusters, so every edge needs a weight (missing on ${missing.map((e) => `'${e.id}'`).join(', ')})`,
    );
    return;
  }
  const sum = edges.reduce((a, e) => a + (e.weight ?? 0), 0);
  if (sum === 0)
    out.error(
      path,
      `the weights of ${what} add up to 0, so it would send nothing; give at least one edge a positive weight`,
    );
  if (total !== undefined && sum !== total) {
    out.error(
      [...path, 'totalWeight'],
      `the weights of ${what} add up to ${sum}, not its totalWeight ${total}; adjust the edge weights or totalWeight`,
    );
  }
}

function checkEdges(index: LabIndex, out: IssueList): void {
  const pairs = new Set<string>();
  for (const { edge, index: i } of index.forwardEdges) {
    const path: PathSegment[] = ['spec', 'edges', i];
    const from = index.nodes.get(edge.from.node);
    if (!from) {
      out.error([...path, 'from', 'node'], `'${edge.from.node}' is not a node of this lab`);
      continue;
    }
    if (!index.nodes.has(edge.to)) out.error([...path, 'to'], `'${edge.to}' is not a node of this lab`);
    else if (!index.cluster(edge.to))
      out.error(
        [...path, 'to'],
        `${edge.kind} edges end at a cluster; '${edge.to}' is a ${index.nodes.get(edge.to)!.kind}`,
      );
    if ((edge.from.route === undefined) === (edge.from.listener === undefined)) {
      out.error(
        [...path, 'from'],
        `an edge leaves either one route (HTTP listeners) or one listener (TCP/UDP listeners): set exactly one of 'route' or 'listener'`,
      );
      continue;
    }
    const proxy = index.proxyByNode.get(from.id);
    if (!proxy) {
      out.error(
        [...path, 'from', 'node'],
        edge.kind === 'egress'
          ? `egress edges leave a service's sidecar, and '${from.id}' has no sidecar; add a sidecar with an egress listener to it`
          : `'${from.id}' is a ${from.kind} without a proxy; route edges leave a front proxy or a sidecar's ingress listener`,
      );
      continue;
    }
    const want = edge.kind === 'egress' ? 'egress' : 'ingress';
    if (edge.kind === 'egress' && !proxy.sidecar) {
      out.error(
        ['spec', 'edges', i, 'kind'],
        `'${from.id}' is a front proxy; use a route edge (egress edges leave a sidecar's egress listener)`,
      );
      continue;
    }
    const located = locate(proxy, edge);
    if (!located) {
      out.error(
        [...path, 'from'],
        edge.from.route !== undefined
          ? `'${from.id}' has no route '${edge.from.route}'`
          : `'${from.id}' has no TCP/UDP listener '${edge.from.listener}' (HTTP listeners are left through one of their routes)`,
      );
      continue;
    }
    if (located.direction !== want) {
      out.error(
        ['spec', 'edges', i, 'kind'],
        `'${edge.from.route ?? edge.from.listener}' belongs to ${located.direction} listener '${located.spec.name}'; make this a${located.direction === 'egress' ? 'n egress' : ' route'} edge`,
      );
    }
    const key = `${edge.from.node}/${edge.from.route ?? edge.from.listener}→${edge.to}`;
    if (pairs.has(key) && edge.metadataMatch === undefined) {
      out.warning(
        path,
        `another edge already goes from the same ${edge.from.route ? 'route' : 'listener'} to '${edge.to}'; keep one, or give each a metadataMatch to split across subsets`,
      );
    }
    pairs.add(key);
  }
  const members = new Set<string>();
  for (const { edge, index: i } of index.membership) {
    const path: PathSegment[] = ['spec', 'edges', i];
    const c = index.nodes.get(edge.from);
    const s = index.nodes.get(edge.to);
    if (!c) out.error([...path, 'from'], `'${edge.from}' is not a node of this lab`);
    else if (c.kind !== 'cluster')
      out.error([...path, 'from'], `membership edges start at a cluster; '${edge.from}' is a ${c.kind}`);
    if (!s) out.error([...path, 'to'], `'${edge.to}' is not a node of this lab`);
    else if (s.kind !== 'service')
      out.error([...path, 'to'], `membership edges end at a service; '${edge.to}' is a ${s.kind}`);
    if (c?.kind !== 'cluster' || s?.kind !== 'service') continue;
    const port = membershipPort(edge, s);
    const key = `${edge.from}→${edge.to}:${port}`;
    if (members.has(key))
      out.warning(
        path,
        `service '${edge.to}' port ${port} is already a member of cluster '${edge.from}'; its endpoints would be listed twice`,
      );
    members.add(key);
    if (!servesPort(s, port)) {
      out.warning(
        [...path, 'port'],
        `nothing in service '${s.id}' listens on port ${port} where the cluster can reach it (its ports: ${reachablePorts(s).join(', ') || 'none'})`,
      );
    }
    if (c.discovery === 'STATIC' || c.discovery === 'EDS') {
      if (edge.dnsName !== undefined)
        out.warning(
          [...path, 'dnsName'],
          `dnsName is only used by STRICT_DNS and LOGICAL_DNS clusters; '${c.id}' is ${c.discovery}`,
        );
    }
  }
}

function locate(p: ProxyView, edge: ForwardEdge): ListenerView | undefined {
  for (const l of p.listeners) {
    if (edge.from.listener !== undefined && l.spec.name === edge.from.listener && l.protocol !== 'http')
      return l;
    if (edge.from.route !== undefined && routesOf(l).some((r) => r.spec.id === edge.from.route)) return l;
  }
  return undefined;
}

function reachablePorts(s: ServiceNode): number[] {
  const ports = (s.sidecar?.ingress ?? []).map((l) => l.port);
  const udpPort = appUdpPort(s);
  if (appHost(s) !== '127.0.0.1') ports.push(appPort(s), ...(udpPort === undefined ? [] : [udpPort]));
  return ports;
}

function servesPort(s: ServiceNode, port: number): boolean {
  return reachablePorts(s).includes(port);
}

function checkCluster(index: LabIndex, c: ClusterNode, out: IssueList): void {
  const path = nodePath(index, c.id);
  const members = index.membersOf(c.id);
  const endpoints = members.length + (c.endpoints?.length ?? 0);
  const used = index.proxies.some((p) => index.clustersOfProxy(p).includes(c));
  if (!used)
    out.warning(
      path,
      `cluster '${c.id}' is not used by any proxy, so it is not rendered; connect a route to it or list it in a proxy's clusters`,
    );
  if (endpoints === 0) {
    if (c.healthChecks?.length) {
      out.error(
        [...path, 'healthChecks'],
        `cluster '${c.id}' has a health check but no endpoints to check; connect it to a service with a membership edge or remove the health check`,
      );
    } else if (used) {
      out.warning(
        path,
        `cluster '${c.id}' has no endpoints, so requests to it get 503; connect it to a service with a membership edge`,
      );
    }
  }
  (c.healthChecks ?? []).forEach((hc, i) => {
    const p = [...path, 'healthChecks', i];
    if (!hc.http === !hc.tcp) out.error(p, `a health check is either http or tcp: set exactly one of them`);
    (hc.http?.expectedStatuses ?? []).forEach((r, j) => {
      if (r.start >= r.end)
        out.error(
          [...p, 'http', 'expectedStatuses', j],
          `status range ${r.start}-${r.end} is empty: end is exclusive, so it must be greater than start`,
        );
    });
  });
  if (
    (c.discovery === 'STATIC' || c.discovery === 'EDS') &&
    members.length > 0 &&
    !index.lab.spec.network?.subnet
  ) {
    out.error(
      path,
      `cluster '${c.id}' is ${c.discovery}, so it lists its members' addresses, and those need the lab to have a subnet: set spec.network.subnet (or make the cluster STRICT_DNS)`,
    );
  }
  if (c.edsPath && c.discovery !== 'EDS')
    out.warning([...path, 'edsPath'], `edsPath is only used by EDS clusters; '${c.id}' is ${c.discovery}`);
  const policy = c.lbPolicy ?? 'ROUND_ROBIN';
  if (c.ringHash && policy !== 'RING_HASH')
    out.warning([...path, 'ringHash'], `ringHash options are ignored with lbPolicy ${policy}`);
  if (c.maglev && policy !== 'MAGLEV')
    out.warning([...path, 'maglev'], `maglev options are ignored with lbPolicy ${policy}`);
  if (c.leastRequest && policy !== 'LEAST_REQUEST')
    out.warning([...path, 'leastRequest'], `leastRequest options are ignored with lbPolicy ${policy}`);
  const rh = c.ringHash;
  if (
    rh?.minimumRingSize !== undefined &&
    rh.maximumRingSize !== undefined &&
    rh.minimumRingSize > rh.maximumRingSize
  ) {
    out.error(
      [...path, 'ringHash'],
      `minimumRingSize ${rh.minimumRingSize} is larger than maximumRingSize ${rh.maximumRingSize}`,
    );
  }
  if (c.discovery === 'LOGICAL_DNS') {
    const names = new Set(members.map(membershipDnsName));
    if (names.size + (c.endpoints?.length ?? 0) > 1)
      out.error(
        path,
        `a LOGICAL_DNS cluster has exactly one endpoint; '${c.id}' has ${names.size + (c.endpoints?.length ?? 0)}. Use STRICT_DNS to reach several`,
      );
  }
  // Localities: edges sharing a priority and locality form one group and must agree on its weight.
  const groups = new Map<string, { weight: number | undefined; edge: string }>();
  let anyLocalityWeight = false;
  for (const { edge, index: i } of index.membership.filter((m) => m.edge.from === c.id)) {
    const key = `${edge.priority ?? 0}/${edge.locality?.region ?? ''}/${edge.locality?.zone ?? ''}/${edge.locality?.subZone ?? ''}`;
    if (edge.localityWeight !== undefined) anyLocalityWeight = true;
    const g = groups.get(key);
    if (!g) groups.set(key, { weight: edge.localityWeight, edge: edge.id });
    else if (g.weight !== edge.localityWeight) {
      out.error(
        ['spec', 'edges', i, 'localityWeight'],
        `edges '${g.edge}' and '${edge.id}' are in the same locality and priority of cluster '${c.id}' but give it different weights (${g.weight ?? 'none'} and ${edge.localityWeight ?? 'none'}); set the same localityWeight on both`,
      );
    }
  }
  if (c.localityWeighted && !anyLocalityWeight)
    out.warning(
      [...path, 'localityWeighted'],
      `localityWeighted is on but no membership edge of '${c.id}' sets a localityWeight, and Envoy sends nothing to a locality without a weight; give each locality a localityWeight`,
    );
  if (!c.localityWeighted && anyLocalityWeight)
    out.warning(
      [...path, 'localityWeighted'],
      `membership edges of '${c.id}' set locality weights, which Envoy ignores unless localityWeighted is on`,
    );
  const priorities = [
    ...new Set([...members.map((m) => m.priority ?? 0), ...(c.endpoints ?? []).map((e) => e.priority ?? 0)]),
  ].sort((a, b) => a - b);
  priorities.forEach((p, i) => {
    if (p !== i)
      out.error(
        path,
        `priorities of cluster '${c.id}' must run 0, 1, 2 … without gaps; it has ${priorities.join(', ')}`,
      );
  });
  if (c.subsets?.fallbackPolicy === 'DEFAULT_SUBSET' && !c.subsets.defaultSubset) {
    out.warning(
      [...path, 'subsets'],
      `fallbackPolicy DEFAULT_SUBSET without a defaultSubset falls back to every endpoint`,
    );
  }
  if (c.tls) {
    for (const p of index.proxies.filter((q) => index.clustersOfProxy(q).includes(c))) {
      checkTls(index, p, c.tls, 'upstream', [...path, 'tls'], out);
    }
  }
}

function checkServices(index: LabIndex, out: IssueList): void {
  for (const s of index.lab.spec.nodes) {
    if (s.kind !== 'service') continue;
    const path = nodePath(index, s.id);
    if (s.app.role === 'image') {
      out.warning(
        [...path, 'app'],
        `service '${s.id}' runs image '${s.app.image}', which cannot run offline: ${s.app.why ?? 'meshcraft has no work-alike of it'}. It runs only where that image can be pulled, and is exported as is`,
      );
    } else {
      for (const k of Object.keys(s.app.env ?? {})) {
        const field = {
          PORT: 'port',
          HOST: 'host',
          VERSION: 'version',
          SERVICE_NAME: 'serviceName',
          SERVER_NAME: 'hostname',
        }[k];
        if (field)
          out.warning(
            [...path, 'app', 'env', k],
            `${k} is set from the service's '${field}'; set that instead, this value is overridden`,
          );
      }
    }
    if (!s.sidecar && appHost(s) === '127.0.0.1') {
      out.warning(
        [...path, 'app', 'host'],
        `the app listens on 127.0.0.1 and has no sidecar, so nothing can reach it; bind 0.0.0.0 or add a sidecar`,
      );
    }
    if (s.sidecar && !(s.sidecar.ingress?.length || s.sidecar.egress?.length)) {
      out.warning(
        [...path, 'sidecar'],
        `the sidecar has no ingress or egress listener, so it carries no traffic`,
      );
    }
    if (s.netnsOwner && !s.sidecar)
      out.warning([...path, 'netnsOwner'], `netnsOwner only matters for a service with a sidecar`);
  }
}

function checkClients(index: LabIndex, out: IssueList): void {
  for (const c of index.lab.spec.nodes) {
    if (c.kind !== 'client') continue;
    const path = nodePath(index, c.id);
    if (c.sidecar?.ingress?.length)
      out.warning(
        [...path, 'sidecar', 'ingress'],
        `a client receives no requests, so its sidecar's ingress listeners carry no traffic`,
      );
    if (c.load) {
      const proxy = index.proxyByNode.get(c.load.node);
      if (!proxy)
        out.error([...path, 'load', 'node'], `'${c.load.node}' is not a node with a proxy in this lab`);
      else if (!proxy.listeners.some((l) => l.spec.name === c.load!.listener)) {
        out.error([...path, 'load', 'listener'], `'${c.load.node}' has no listener '${c.load.listener}'`);
      }
    }
  }
}

/** A shared DNS name reaches every namespace carrying it; warn when that includes non-members. */
function checkDns(index: LabIndex, layout: LabLayout, out: IssueList): void {
  for (const c of index.clusters()) {
    if (c.discovery !== 'STRICT_DNS' && c.discovery !== 'LOGICAL_DNS') continue;
    const members = index.membersOf(c.id);
    for (const name of new Set(members.map(membershipDnsName))) {
      const intended = new Set(members.filter((m) => membershipDnsName(m) === name).map((m) => m.to));
      const resolved = layout.namespaces.filter((ns) =>
        ns.dnsNames.some((d) => d.toLowerCase() === name.toLowerCase()),
      );
      const extra = [...new Set(resolved.map((ns) => ns.node).filter((n) => !intended.has(n)))];
      if (extra.length > 0) {
        out.warning(
          nodePath(index, c.id),
          `DNS name '${name}' of cluster '${c.id}' also resolves to ${extra.map((e) => `'${e}'`).join(', ')}, which will receive its traffic too; connect them with membership edges or use another name`,
        );
      }
    }
  }
}

/** Requests must not loop: a sidecar ingress route to a cluster whose members include that same listener. */
function checkLoops(index: LabIndex, out: IssueList): void {
  // Graph over (service, port) listeners: ingress listener → its edges' clusters → member (service, port).
  const next = new Map<string, string[]>();
  const edgeOf = new Map<string, number>();
  for (const p of index.proxies) {
    if (!p.sidecar || p.node.kind !== 'service') continue;
    for (const l of p.listeners.filter((x) => x.direction === 'ingress')) {
      const key = `${p.node.id}:${l.spec.port}`;
      const edges =
        l.protocol === 'http'
          ? routesOf(l).flatMap((r) => index.edgesFrom(p.node.id, { route: r.spec.id }))
          : index.edgesFrom(p.node.id, { listener: l.spec.name });
      for (const e of edges) {
        for (const m of index.membersOf(e.to)) {
          const s = index.service(m.to);
          if (!s) continue;
          const list = next.get(key) ?? [];
          list.push(`${s.id}:${membershipPort(m, s)}`);
          next.set(key, list);
          const ei = index.forwardEdges.find((f) => f.edge === e)?.index;
          if (ei !== undefined && !edgeOf.has(key)) edgeOf.set(key, ei);
        }
      }
    }
  }
  const state = new Map<string, 'visiting' | 'done'>();
  const reported = new Set<string>();
  const visit = (key: string, trail: string[]): void => {
    state.set(key, 'visiting');
    for (const n of next.get(key) ?? []) {
      if (state.get(n) === 'visiting') {
        const cycle = [...trail.slice(trail.indexOf(n)), n];
        const at = edgeOf.get(key);
        if (!reported.has(n) && at !== undefined) {
          reported.add(n);
          out.error(
            ['spec', 'edges', at],
            `requests would loop forever: ${cycle.join(' → ')}; route the sidecar's ingress to its app (local: true) instead`,
          );
        }
      } else if (!state.has(n)) visit(n, [...trail, n]);
    }
    state.set(key, 'done');
  };
  for (const key of next.keys()) if (!state.has(key)) visit(key, [key]);
}

function checkSteps(index: LabIndex, out: IssueList): void {
  (index.lab.metadata.tryThis ?? []).forEach((step, i) => {
    const a = step.action;
    if (!a) return;
    const target =
      'setProbe' in a
        ? a.setProbe.node
        : 'send' in a
          ? a.send.node
          : 'runtimeModify' in a
            ? a.runtimeModify.node
            : 'healthcheck' in a
              ? a.healthcheck.node
              : a.admin.node;
    const node = index.nodes.get(target);
    const path = ['metadata', 'tryThis', i, 'action'];
    if (!node) out.error(path, `step ${i + 1} acts on '${target}', which is not a node of this lab`);
    else if ('setProbe' in a && node.kind !== 'service')
      out.error(path, `step ${i + 1} flips a probe of '${target}', which is not a service`);
    else if (!('setProbe' in a) && !index.proxyByNode.has(target))
      out.error(path, `step ${i + 1} talks to the proxy of '${target}', which has none`);
    else if (
      'send' in a &&
      !index.proxyByNode.get(target)!.listeners.some((l) => l.spec.name === a.send.listener)
    ) {
      out.error(
        path,
        `step ${i + 1} sends to listener '${a.send.listener}', which '${target}' does not have`,
      );
    }
  });
}

// ---------------------------------------------------------------------------------------------
// TLS material

/** Files the lab itself provides in a proxy's container: its PKI identity and the CA. */
export function providedFiles(index: LabIndex, p: ProxyView): Map<string, string> {
  const files = new Map<string, string>();
  const tf = p.spec.tlsFiles;
  const cert = (index.lab.spec.pki?.certificates ?? []).find((c) => c.name === tf?.identity);
  if (cert?.server) {
    files.set('/etc/envoy/certs/server.crt', `the server certificate of '${cert.name}'`);
    files.set('/etc/envoy/certs/server.key', `the server key of '${cert.name}'`);
  }
  if (cert?.client) {
    files.set('/etc/envoy/certs/client.crt', `the client certificate of '${cert.name}'`);
    files.set('/etc/envoy/certs/client.key', `the client key of '${cert.name}'`);
  }
  if (tf?.ca) files.set('/etc/envoy/ca/ca.crt', 'the lab CA');
  return files;
}

function checkFile(
  index: LabIndex,
  p: ProxyView,
  ds: DataSourceSpec,
  path: PathSegment[],
  out: IssueList,
): void {
  if (!('file' in ds)) return;
  if (providedFiles(index, p).has(ds.file)) return;
  const hint = ds.file.startsWith('/etc/envoy/certs/')
    ? `set tlsFiles.identity of '${p.node.id}' to a spec.pki certificate with the ${ds.file.includes('client') ? 'client' : 'server'} role`
    : ds.file === '/etc/envoy/ca/ca.crt'
      ? `set tlsFiles.ca: true on '${p.node.id}'`
      : 'the lab does not create it, so it must be mounted by hand';
  out.warning([...path, 'file'], `${ds.file} is not provided in '${p.node.id}': ${hint}`);
}

function checkCertificateFiles(
  index: LabIndex,
  p: ProxyView,
  c: TlsCertificateSpec,
  path: PathSegment[],
  out: IssueList,
): void {
  checkFile(index, p, c.certificateChain, [...path, 'certificateChain'], out);
  checkFile(index, p, c.privateKey, [...path, 'privateKey'], out);
}

function checkSecretRef(
  p: ProxyView,
  name: string,
  want: 'certificate' | 'trustedCa',
  path: PathSegment[],
  out: IssueList,
): void {
  const s = (p.spec.secrets ?? []).find((x) => x.name === name);
  if (!s) out.error(path, `'${p.node.id}' has no secret '${name}'; add it to its secrets`);
  else if (!s[want])
    out.error(
      path,
      `secret '${name}' of '${p.node.id}' holds no ${want === 'certificate' ? 'certificate' : 'CA'}`,
    );
}

/** TLS material of a listener (downstream, where Envoy needs a certificate) or a cluster (upstream). */
function checkTls(
  index: LabIndex,
  p: ProxyView,
  t: DownstreamTlsSpec | UpstreamTlsSpec,
  side: 'downstream' | 'upstream',
  path: PathSegment[],
  out: IssueList,
): void {
  if (side === 'downstream' && !t.certificates?.length && !t.certificateSecrets?.length) {
    out.error(path, `a TLS listener needs a certificate: set certificates or certificateSecrets`);
  }
  (t.certificates ?? []).forEach((c, i) => {
    checkCertificateFiles(index, p, c, [...path, 'certificates', i], out);
  });
  (t.certificateSecrets ?? []).forEach((n, i) => {
    checkSecretRef(p, n, 'certificate', [...path, 'certificateSecrets', i], out);
  });
  if (t.trustedCa) checkFile(index, p, t.trustedCa, [...path, 'trustedCa'], out);
  if (t.validationSecret)
    checkSecretRef(p, t.validationSecret, 'trustedCa', [...path, 'validationSecret'], out);
  if (t.trustedCa && t.validationSecret)
    out.error(path, `set either trustedCa or validationSecret, not both`);
}
