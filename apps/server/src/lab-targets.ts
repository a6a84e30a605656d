/**
 * What the console addresses in a running lab, read from the runtime's status: each proxy's
 * admin, each app's port, each listener, and which lab namespace owns an address. Targets are
 * named the way the runtime names them: a node id (all its containers and replicas), a
 * namespace id (one replica) or a container name.
 */
import type { ContainerStatus, LabStatus, PublishedPort } from '@meshcraft/runtime';
import { ConsoleError } from './errors.js';
import type { OwnerOf } from './stats/frames.js';

export interface Endpoint {
  host: string;
  port: number;
}

export interface ProxyTarget {
  node: string;
  namespace: string;
  container: string;
  admin: Endpoint;
}

function endpointOf(p: PublishedPort): Endpoint {
  return { host: p.host, port: p.hostPort };
}

/** Every running proxy of the lab with a reachable admin. */
export function proxyTargets(status: LabStatus): ProxyTarget[] {
  const out: ProxyTarget[] = [];
  for (const c of status.containers) {
    const admin = c.ports.find((p) => p.purpose === 'admin');
    if (c.role === 'proxy' && c.state === 'running' && admin) {
      out.push({ node: c.node, namespace: c.namespace, container: c.name, admin: endpointOf(admin) });
    }
  }
  return out;
}

/** The lab namespace (and its node) that an endpoint address belongs to. */
export function ownerIndex(status: LabStatus): OwnerOf {
  const byAddress = new Map<string, { node: string; namespace: string }>();
  for (const c of status.containers) {
    if (c.address && !byAddress.has(c.address))
      byAddress.set(c.address, { node: c.node, namespace: c.namespace });
  }
  return (address) => byAddress.get(address);
}

export function selectContainers(status: LabStatus, target: string): ContainerStatus[] {
  const byName = status.containers.filter((c) => c.name === target);
  if (byName.length > 0) return byName;
  const byNamespace = status.containers.filter((c) => c.namespace === target);
  if (byNamespace.length > 0) return byNamespace;
  const byNode = status.containers.filter((c) => c.node === target);
  if (byNode.length > 0) return byNode;
  throw new ConsoleError(
    'NOT_FOUND',
    `lab '${status.labId}' has no node, replica or container '${target}'`,
    `name one of: ${[...new Set(status.containers.map((c) => c.node))].join(', ')}`,
  );
}

/** The admin of every proxy `target` names (a node with replicas has one per replica). */
export function proxyAdmins(status: LabStatus, target: string): ProxyTarget[] {
  const names = new Set(selectContainers(status, target).map((c) => c.namespace));
  const proxies = proxyTargets(status).filter((p) => names.has(p.namespace));
  if (proxies.length === 0) {
    throw new ConsoleError(
      'BAD_INPUT',
      `'${target}' in lab '${status.labId}' runs no proxy with an admin interface (or it is stopped)`,
      'pick a front proxy or a service with a sidecar, and start it if it is stopped',
    );
  }
  return proxies;
}

/**
 * Where to reach each demoapp `target` names from this machine: its own published port, or,
 * when the app listens only inside its namespace behind a sidecar, that sidecar's first ingress
 * listener (as the course does: `curl -X POST -d livez=FAIL http://<sidecar address>/livez`).
 */
export function appEndpoints(
  status: LabStatus,
  target: string,
): { container: string; namespace: string; endpoint: Endpoint }[] {
  const selected = selectContainers(status, target);
  const apps = status.containers.filter(
    (c) => c.role === 'demoapp' && selected.some((s) => s.namespace === c.namespace),
  );
  if (apps.length === 0) {
    throw new ConsoleError(
      'BAD_INPUT',
      `'${target}' in lab '${status.labId}' runs no demoapp`,
      'livez and readyz belong to services whose app is the demoapp',
    );
  }
  return apps.map((app) => {
    const own = app.ports.find((p) => p.purpose === 'app');
    const sidecar = status.containers
      .find((c) => c.role === 'proxy' && c.namespace === app.namespace)
      ?.ports.find((p) => p.purpose === 'listener' && p.protocol === 'tcp');
    const port = own ?? sidecar;
    if (!port) {
      throw new ConsoleError(
        'UNREACHABLE',
        `the app ${app.name} listens only inside its namespace and no listener of a sidecar leads to it`,
        'give the service a sidecar ingress listener, or let the app listen on 0.0.0.0',
      );
    }
    return { container: app.name, namespace: app.namespace, endpoint: endpointOf(port) };
  });
}

/** The address of a listener of a proxy, by name (the first one when no name is given). */
export function listenerEndpoint(status: LabStatus, target: string, listener?: string): Endpoint {
  const namespaces = new Set(selectContainers(status, target).map((c) => c.namespace));
  const ports = status.containers
    .filter((c) => c.role === 'proxy' && namespaces.has(c.namespace) && c.state === 'running')
    .flatMap((c) => c.ports.filter((p) => p.purpose === 'listener' && p.protocol === 'tcp'));
  const port = listener ? ports.find((p) => p.name === listener) : ports[0];
  if (!port) {
    const names = [...new Set(ports.map((p) => p.name))];
    throw new ConsoleError(
      'NOT_FOUND',
      listener
        ? `'${target}' in lab '${status.labId}' has no running TCP listener '${listener}'`
        : `'${target}' in lab '${status.labId}' has no running TCP listener`,
      names.length
        ? `its listeners are: ${names.join(', ')}`
        : 'pick a front proxy or a service with a sidecar',
    );
  }
  return endpointOf(port);
}
