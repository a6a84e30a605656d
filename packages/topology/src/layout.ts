/**
 * The runtime-independent shape of a running lab: its network namespaces (one per front proxy,
 * per service replica — the app and its sidecar share one —, per client and per control plane),
 * the containers in each, the DNS names each answers to, and every port bound in each.
 *
 * A runtime driver reads this to build its AddressPlan (which address each namespace gets, which
 * port each lab port becomes) before rendering. Browser-safe.
 */
import { enumName, num, obj, objList, str } from './envoy-read.js';
import {
  appHost,
  appPort,
  appUdpPort,
  DEFAULT_ADMIN_PORT,
  DEFAULT_XDS_PORT,
  LabIndex,
  type ProxyView,
  replicasOf,
} from './model.js';
import type { Lab, LabNode, MembershipEdge } from './schema.js';

export type ContainerRole = 'proxy' | 'demoapp' | 'client' | 'xds' | 'image';
export type PortPurpose = 'admin' | 'listener' | 'app' | 'xds';

export interface PortUse {
  port: number;
  protocol: 'tcp' | 'udp';
  /** Bind address as the lab states it (0.0.0.0, 127.0.0.1 or an address of the namespace). */
  address: string;
  purpose: PortPurpose;
  /** Listener name, `admin`, `app` or `xds`. */
  name: string;
  container: string;
  /** Where in the document this port is set. */
  path: (string | number)[];
}

export interface ContainerLayout {
  /** Unique in the lab: the compose service name and the runtime's container name suffix. */
  name: string;
  role: ContainerRole;
  node: string;
  replica: number;
  namespace: string;
  /** Owns the network namespace; the others join it (`network_mode: service:<owner>`). */
  owner: boolean;
}

export interface NamespaceLayout {
  /** The node id, with `-<n>` for replica n of a replicated service. */
  id: string;
  node: string;
  kind: Exclude<LabNode['kind'], 'cluster'>;
  replica: number;
  /** Address the lab pins for this namespace, if any. */
  ip?: string;
  hostname?: string;
  /** Network aliases (besides the owner container's name, which resolves anyway). */
  aliases: string[];
  /** Every name the lab's DNS resolves to this namespace: the owner container name, then the aliases. */
  dnsNames: string[];
  containers: ContainerLayout[];
  ports: PortUse[];
}

export interface LabLayout {
  lab: string;
  network: { name: string; subnet?: string };
  namespaces: NamespaceLayout[];
  /** Every distinct port the lab binds, ascending: what a local driver must map to free host ports. */
  ports: number[];
}

export const DEFAULT_NETWORK_NAME = 'envoymesh';

export function membershipDnsName(edge: MembershipEdge): string {
  return edge.dnsName ?? edge.to;
}

function suffix(name: string, replica: number, replicas: number): string {
  return replicas > 1 ? `${name}-${replica}` : name;
}

export function sidecarContainerName(nodeId: string, containerName: string | undefined): string {
  return containerName ?? `${nodeId}-sidecar`;
}

/** The layout of a lab (for a runtime driver to build its address plan from). */
export function layoutOf(lab: Lab): LabLayout {
  return buildLayout(new LabIndex(lab));
}

export function buildLayout(index: LabIndex): LabLayout {
  const lab: Lab = index.lab;
  const namespaces: NamespaceLayout[] = [];
  lab.spec.nodes.forEach((node, i) => {
    if (node.kind === 'cluster') return;
    const replicas = replicasOf(node);
    for (let r = 1; r <= replicas; r++) namespaces.push(namespaceOf(index, node, i, r, replicas));
  });
  const ports = [...new Set(namespaces.flatMap((n) => n.ports.map((p) => p.port)))].sort((a, b) => a - b);
  return {
    lab: lab.metadata.name,
    network: { name: lab.spec.network?.name ?? DEFAULT_NETWORK_NAME, subnet: lab.spec.network?.subnet },
    namespaces,
    ports,
  };
}

function namespaceOf(
  index: LabIndex,
  node: Exclude<LabNode, { kind: 'cluster' }>,
  nodeIndex: number,
  replica: number,
  replicas: number,
): NamespaceLayout {
  const nsId = suffix(node.id, replica, replicas);
  const base: (string | number)[] = ['spec', 'nodes', nodeIndex];
  const containers: ContainerLayout[] = [];
  const ports: PortUse[] = [];
  const add = (name: string, role: ContainerRole, owner: boolean) =>
    containers.push({
      name: suffix(name, replica, replicas),
      role,
      node: node.id,
      replica,
      namespace: nsId,
      owner,
    });

  const proxy = index.proxyByNode.get(node.id);
  switch (node.kind) {
    case 'frontProxy':
      add(node.containerName ?? node.id, 'proxy', true);
      break;
    case 'controlPlane':
      add(node.containerName ?? node.id, 'xds', true);
      break;
    case 'service': {
      const appRole: ContainerRole = node.app.role === 'demoapp' ? 'demoapp' : 'image';
      const appName = node.app.containerName ?? node.id;
      if (node.sidecar) {
        const appOwns = node.netnsOwner === 'app';
        const sidecarName = sidecarContainerName(node.id, node.sidecar.containerName);
        if (appOwns) {
          add(appName, appRole, true);
          add(sidecarName, 'proxy', false);
        } else {
          add(sidecarName, 'proxy', true);
          add(appName, appRole, false);
        }
      } else {
        add(appName, appRole, true);
      }
      break;
    }
    case 'client': {
      const clientName = node.containerName ?? node.id;
      if (node.sidecar) {
        const sidecarName = sidecarContainerName(node.id, node.sidecar.containerName);
        if (node.netnsOwner === 'app') {
          add(clientName, 'client', true);
          add(sidecarName, 'proxy', false);
        } else {
          add(sidecarName, 'proxy', true);
          add(clientName, 'client', false);
        }
      } else {
        add(clientName, 'client', true);
      }
      break;
    }
  }

  const proxyContainer = containers.find((c) => c.role === 'proxy')?.name;
  if (proxy && proxyContainer) ports.push(...proxyPorts(proxy, proxyContainer));
  if (node.kind === 'service') {
    const appContainer = containers.find((c) => c.role !== 'proxy')!.name;
    ports.push({
      port: appPort(node),
      protocol: node.app.role === 'image' ? (node.app.protocol ?? 'tcp') : 'tcp',
      address: appHost(node),
      purpose: 'app',
      name: 'app',
      container: appContainer,
      path: [...base, 'app', 'port'],
    });
    const udpPort = appUdpPort(node);
    if (udpPort !== undefined) {
      ports.push({
        port: udpPort,
        protocol: 'udp',
        address: appHost(node),
        purpose: 'app',
        name: 'app-udp',
        container: appContainer,
        path: [...base, 'app', 'udpPort'],
      });
    }
  }
  if (node.kind === 'controlPlane') {
    ports.push({
      port: node.port ?? DEFAULT_XDS_PORT,
      protocol: 'tcp',
      address: '0.0.0.0',
      purpose: 'xds',
      name: 'xds',
      container: containers[0]!.name,
      path: [...base, 'port'],
    });
  }

  const owner = containers.find((c) => c.owner)!.name;
  const aliases: string[] = [];
  const addAlias = (a: string) => {
    if (a !== owner && !aliases.includes(a)) aliases.push(a);
  };
  for (const a of node.aliases ?? []) addAlias(a);
  // Replicas answer together to the node's id, as `docker compose --scale` replicas answer to the service name.
  if (replicas > 1) addAlias(node.id);
  if (node.kind === 'service') {
    // Names DNS clusters resolve must reach their members; STATIC and EDS clusters use addresses.
    for (const m of index.membership) {
      const discovery = index.cluster(m.edge.from)?.discovery;
      if (m.edge.to === node.id && (discovery === 'STRICT_DNS' || discovery === 'LOGICAL_DNS'))
        addAlias(membershipDnsName(m.edge));
    }
  }
  if (node.kind === 'controlPlane') addAlias(node.id);

  return {
    id: nsId,
    node: node.id,
    kind: node.kind,
    replica,
    ip: node.ip,
    hostname: node.hostname ? suffix(node.hostname, replica, replicas) : undefined,
    aliases,
    dnsNames: [owner, ...aliases],
    containers,
    ports,
  };
}

function proxyPorts(proxy: ProxyView, container: string): PortUse[] {
  if (proxy.spec.raw?.mode === 'replace') return rawPorts(proxy, container);
  const admin = proxy.spec.admin;
  const out: PortUse[] = [
    {
      port: admin?.port ?? DEFAULT_ADMIN_PORT,
      protocol: 'tcp',
      address: admin?.address ?? '0.0.0.0',
      purpose: 'admin',
      name: 'admin',
      container,
      path: [...proxy.path, 'admin', 'port'],
    },
  ];
  for (const l of proxy.listeners) {
    out.push({
      port: l.spec.port,
      protocol: l.protocol === 'udp' ? 'udp' : 'tcp',
      address: l.address,
      purpose: 'listener',
      name: l.spec.name,
      container,
      path: [...l.path, 'port'],
    });
  }
  return out;
}

/** The admin and static listener ports of a raw bootstrap, which replaces the structured fields. */
function rawPorts(proxy: ProxyView, container: string): PortUse[] {
  const b = obj(proxy.spec.raw?.bootstrap);
  const path = [...proxy.path, 'raw', 'bootstrap'];
  const out: PortUse[] = [];
  const admin = obj(obj(obj(b.admin).address).socket_address);
  const adminPort = num(admin.port_value);
  if (adminPort !== undefined) {
    out.push({
      port: adminPort,
      protocol: 'tcp',
      address: str(admin.address) ?? '0.0.0.0',
      purpose: 'admin',
      name: 'admin',
      container,
      path: [...path, 'admin'],
    });
  }
  objList(obj(b.static_resources).listeners).forEach((l, i) => {
    const sa = obj(obj(l.address).socket_address);
    const port = num(sa.port_value);
    if (port === undefined) return;
    out.push({
      port,
      protocol: enumName(sa.protocol) === 'UDP' ? 'udp' : 'tcp',
      address: str(sa.address) ?? '0.0.0.0',
      purpose: 'listener',
      name: str(l.name) ?? `listener_${port}`,
      container,
      path: [...path, 'static_resources', 'listeners', i],
    });
  });
  return out;
}
