/**
 * Derived facts about a lab that validation, layout and rendering all need: which nodes carry a
 * proxy, the listeners and routes of each, the defaults the renderer applies, and indexes of the
 * graph. One place, so the validator checks exactly what the renderer will produce.
 * Browser-safe.
 */
import type {
  ClientNode,
  ClusterNode,
  ControlPlaneNode,
  FrontProxyNode,
  Lab,
  LabEdge,
  LabNode,
  ListenerSpec,
  MembershipEdge,
  RouteSpec,
  ServiceNode,
  SidecarSpec,
} from './schema.js';

export type Direction = 'ingress' | 'egress';

/** The Envoy configuration a node carries: a front proxy's, or a service's or client's sidecar. */
export interface ProxyView {
  node: FrontProxyNode | ServiceNode | ClientNode;
  /** Path of the proxy fields in the document. */
  path: (string | number)[];
  spec: FrontProxyNode | SidecarSpec;
  sidecar: boolean;
  listeners: ListenerView[];
}

export interface ListenerView {
  spec: ListenerSpec;
  direction: Direction;
  path: (string | number)[];
  protocol: 'http' | 'tcp' | 'udp';
  address: string;
}

export interface RouteView {
  spec: RouteSpec;
  listener: ListenerView;
  virtualHost: string;
  path: (string | number)[];
}

export type NamespaceNode = FrontProxyNode | ServiceNode | ClientNode | ControlPlaneNode;

export function isNamespaceNode(n: LabNode): n is NamespaceNode {
  return n.kind !== 'cluster';
}

export const DEFAULT_ADMIN_PORT = 9901;
export const DEFAULT_XDS_PORT = 18000;
export const ENVOY_CONFIG_PATH = '/etc/envoy/envoy.yaml';

export function clusterName(c: ClusterNode): string {
  return c.name ?? c.id;
}

export function listenerProtocol(l: ListenerSpec): 'http' | 'tcp' | 'udp' {
  return l.protocol ?? 'http';
}

/** The app's listening port: 8080 behind a sidecar (the course's pattern), 80 otherwise. */
export function appPort(s: ServiceNode): number {
  return s.app.port ?? (s.sidecar ? 8080 : 80);
}

/** The app's bind address: loopback behind a sidecar, so only the sidecar reaches it. */
export function appHost(s: ServiceNode): string {
  if (s.app.role === 'demoapp' && s.app.host) return s.app.host;
  return s.sidecar ? '127.0.0.1' : '0.0.0.0';
}

/** The app's UDP port, when it listens for datagrams. */
export function appUdpPort(s: ServiceNode): number | undefined {
  return s.app.role === 'demoapp' ? s.app.udpPort : undefined;
}

/**
 * The port a membership edge connects to when it names none: the sidecar's first ingress
 * listener, else the app's UDP port when it has one (a UDP service), else the app's port.
 */
export function servicePort(s: ServiceNode): number {
  const first = s.sidecar?.ingress?.[0];
  return first ? first.port : (appUdpPort(s) ?? appPort(s));
}

export function membershipPort(edge: MembershipEdge, s: ServiceNode): number {
  return edge.port ?? servicePort(s);
}

export function replicasOf(n: NamespaceNode): number {
  return n.kind === 'service' ? (n.replicas ?? 1) : 1;
}

export function proxyViews(lab: Lab): ProxyView[] {
  const out: ProxyView[] = [];
  lab.spec.nodes.forEach((node, i) => {
    const base: (string | number)[] = ['spec', 'nodes', i];
    if (node.kind === 'frontProxy') {
      out.push({
        node,
        path: base,
        spec: node,
        sidecar: false,
        listeners: node.listeners.map((l, j) => listenerView(l, 'ingress', [...base, 'listeners', j])),
      });
    } else if ((node.kind === 'service' || node.kind === 'client') && node.sidecar) {
      const sc = node.sidecar;
      const sp = [...base, 'sidecar'];
      out.push({
        node,
        path: sp,
        spec: sc,
        sidecar: true,
        listeners: [
          ...(sc.ingress ?? []).map((l, j) => listenerView(l, 'ingress', [...sp, 'ingress', j])),
          ...(sc.egress ?? []).map((l, j) => listenerView(l, 'egress', [...sp, 'egress', j])),
        ],
      });
    }
  });
  return out;
}

function listenerView(spec: ListenerSpec, direction: Direction, path: (string | number)[]): ListenerView {
  return {
    spec,
    direction,
    path,
    protocol: listenerProtocol(spec),
    address: spec.address ?? (direction === 'egress' ? '127.0.0.1' : '0.0.0.0'),
  };
}

export function routesOf(listener: ListenerView): RouteView[] {
  const out: RouteView[] = [];
  (listener.spec.virtualHosts ?? []).forEach((vh, i) => {
    vh.routes.forEach((r, j) => {
      out.push({
        spec: r,
        listener,
        virtualHost: vh.name,
        path: [...listener.path, 'virtualHosts', i, 'routes', j],
      });
    });
  });
  return out;
}

export type RouteAction = 'forward' | 'redirect' | 'directResponse' | 'local';

export function routeAction(r: RouteSpec): RouteAction {
  if (r.redirect) return 'redirect';
  if (r.directResponse) return 'directResponse';
  if (r.local) return 'local';
  return 'forward';
}

/** Route and egress edges leave a proxy's route (HTTP) or listener (TCP/UDP). */
export type ForwardEdge = Extract<LabEdge, { kind: 'route' | 'egress' }>;

export class LabIndex {
  readonly nodes = new Map<string, LabNode>();
  readonly nodeIndex = new Map<string, number>();
  readonly proxies: ProxyView[];
  readonly proxyByNode = new Map<string, ProxyView>();
  readonly forwardEdges: { edge: ForwardEdge; index: number }[] = [];
  readonly membership: { edge: MembershipEdge; index: number }[] = [];

  constructor(readonly lab: Lab) {
    lab.spec.nodes.forEach((n, i) => {
      if (!this.nodes.has(n.id)) {
        this.nodes.set(n.id, n);
        this.nodeIndex.set(n.id, i);
      }
    });
    this.proxies = proxyViews(lab);
    for (const p of this.proxies) this.proxyByNode.set(p.node.id, p);
    lab.spec.edges.forEach((edge, index) => {
      if (edge.kind === 'membership') this.membership.push({ edge, index });
      else this.forwardEdges.push({ edge, index });
    });
  }

  cluster(id: string): ClusterNode | undefined {
    const n = this.nodes.get(id);
    return n?.kind === 'cluster' ? n : undefined;
  }

  service(id: string): ServiceNode | undefined {
    const n = this.nodes.get(id);
    return n?.kind === 'service' ? n : undefined;
  }

  clusters(): ClusterNode[] {
    return this.lab.spec.nodes.filter((n): n is ClusterNode => n.kind === 'cluster');
  }

  membersOf(clusterId: string): MembershipEdge[] {
    return this.membership.filter((m) => m.edge.from === clusterId).map((m) => m.edge);
  }

  /** Edges leaving one route (HTTP listeners) or one listener (TCP/UDP listeners) of a proxy node. */
  edgesFrom(nodeId: string, key: { route?: string; listener?: string }): ForwardEdge[] {
    return this.forwardEdges
      .map((f) => f.edge)
      .filter(
        (e) =>
          e.from.node === nodeId &&
          (key.route !== undefined
            ? e.from.route === key.route
            : e.from.route === undefined && e.from.listener === key.listener),
      );
  }

  /** Clusters a proxy defines: those its edges point at, those it lists, in the order first used. */
  clustersOfProxy(p: ProxyView): ClusterNode[] {
    const ids: string[] = [];
    for (const { edge } of this.forwardEdges)
      if (edge.from.node === p.node.id && !ids.includes(edge.to)) ids.push(edge.to);
    for (const id of p.spec.clusters ?? []) if (!ids.includes(id)) ids.push(id);
    return ids.map((id) => this.cluster(id)).filter((c): c is ClusterNode => c !== undefined);
  }
}

/**
 * The edge kinds that may join two nodes, for an editor that only allows valid connections:
 * a front proxy or a sidecar's ingress → a cluster (route), a sidecar's egress → a cluster
 * (egress), a cluster → a service (membership).
 */
export function connectableKinds(lab: Lab, from: string, to: string): LabEdge['kind'][] {
  const a = lab.spec.nodes.find((n) => n.id === from);
  const b = lab.spec.nodes.find((n) => n.id === to);
  if (!a || !b) return [];
  if (a.kind === 'cluster') return b.kind === 'service' ? ['membership'] : [];
  if (b.kind !== 'cluster') return [];
  if (a.kind === 'frontProxy') return ['route'];
  if ((a.kind === 'service' || a.kind === 'client') && a.sidecar) {
    const kinds: LabEdge['kind'][] = [];
    if (a.sidecar.ingress?.length) kinds.push('route');
    if (a.sidecar.egress?.length) kinds.push('egress');
    return kinds;
  }
  return [];
}
