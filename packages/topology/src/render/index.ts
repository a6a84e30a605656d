/**
 * `render(lab, plan)`: everything a runtime driver or an exported project needs to run a lab —
 * one Envoy bootstrap per proxy (per namespace), the files proxies and control planes read, one
 * container description per container (image role, command, env, hostname, aliases, namespace
 * sharing, mounts, readiness probe, ports to publish), and, for docker plans, a compose file.
 * Browser-safe.
 */
import { stringify } from 'yaml';
import { errorsOf, type Issue, LabError } from '../issues.js';
import {
  buildLayout,
  type ContainerLayout,
  type ContainerRole,
  type LabLayout,
  type NamespaceLayout,
  type PortPurpose,
} from '../layout.js';
import {
  appHost,
  appPort,
  appUdpPort,
  clusterName,
  DEFAULT_ADMIN_PORT,
  DEFAULT_XDS_PORT,
  ENVOY_CONFIG_PATH,
  LabIndex,
  type ProxyView,
  routeAction,
  routesOf,
} from '../model.js';
import { parseLabObject } from '../parse.js';
import { type AddressPlan, hostsFileText, PlanError } from '../plan.js';
import type { ControlPlaneNode, Lab, ServiceNode } from '../schema.js';
import { renderCompose } from './compose.js';
import {
  type ConsoleDelivery,
  clusterEndpoints,
  type Json,
  type ProxyContext,
  renderEnvoy,
  type XdsResources,
} from './envoy.js';

export type ImageFlavour = 'meshcraft' | 'upstream';

export interface RenderOptions {
  /** `meshcraft` (default): every container runs the meshcraft runtime image; `upstream`: real Envoy and the course's images. */
  images?: ImageFlavour;
  /** Tag of the meshcraft runtime image. */
  runtimeImage?: string;
  /**
   * The console's control plane, where the lab's proxies reach it: every proxy that does not
   * demonstrate a configuration mechanism of its own (see `RenderedProxy.ownDelivery`) then takes
   * its listeners, routes, clusters and endpoints from it over ADS (`RenderedProxy.xds`), so the
   * console can change them while the lab runs. Without it, configuration is static (as exported).
   */
  xds?: { host: string; port: number };
}

export const DEFAULT_RUNTIME_IMAGE = 'meshcraft-runtime:latest';
export const UPSTREAM_IMAGES = {
  proxy: 'envoyproxy/envoy:v1.29-latest',
  demoapp: 'ikubernetes/demoapp',
  servicemeshApp: 'ikubernetes/servicemesh-app:latest',
  toolbox: 'ikubernetes/admin-toolbox:v1.0',
  xds: 'ikubernetes/envoy-xds-server:v0.1',
} as const;

/** A file or directory of the project bound into a container. */
export interface Mount {
  /** Project-relative path; directories end with `/`. */
  source: string;
  /** Path inside the container. */
  target: string;
  directory: boolean;
}

export interface RenderedContainer {
  name: string;
  node: string;
  replica: number;
  namespace: string;
  role: ContainerRole;
  image: string;
  /** Absent: the image's own command (upstream images). Program names (`meshcraft-proxy`) are resolved by the driver. */
  command?: string[];
  env: Record<string, string>;
  hostname?: string;
  network: { owner: true; ip?: string; aliases: string[] } | { owner: false; joins: string };
  mounts: Mount[];
  /** When the container is ready: an HTTP 200 from `path`, or an open TCP port. `address` is the namespace's address when the plan knows it. */
  readiness?:
    | { kind: 'http'; port: number; path: string; address?: string; insideNamespace: boolean }
    | { kind: 'tcp'; port: number; address?: string };
  /** Ports the console needs reachable from the host (docker: publish them on 127.0.0.1). */
  publish: { port: number; protocol: 'tcp' | 'udp'; purpose: PortPurpose; name: string }[];
  /** Fixed host ports the lab asks for (compose `ports:`). */
  hostPorts: { host: number; container: number; protocol: 'tcp' | 'udp' }[];
  dependsOn: string[];
  /** Set when the image has no meshcraft equivalent and cannot run offline. */
  external?: { image: string; why: string };
  /** Local driver: meshcraft-proxy's `--dns-hosts` file (project-relative). */
  dnsHostsFile?: string;
  /** Local driver: project directories the container writes files into (logs), to create before it starts. */
  workDirs?: string[];
}

export interface RenderedProxy {
  node: string;
  namespace: string;
  container: string;
  /** The Envoy bootstrap as a JSON value, and as the YAML file written for it. */
  bootstrap: Json;
  yaml: string;
  /** Project-relative path of the YAML file. */
  file: string;
  /** With `options.xds`: the node id the proxy is known by at the console's control plane, and what it serves it. */
  xds?: { nodeId: string; resources: XdsResources };
  /** With `options.xds`, for a proxy that keeps its own way of getting its configuration: why. */
  ownDelivery?: string;
}

export interface PkiRequest {
  caCommonName: string;
  /** `certs/CA/ca.crt` and `certs/CA/ca.key`. */
  caDir: string;
  certificates: { name: string; commonName: string; server: boolean; client: boolean; dir: string }[];
}

export interface RenderResult {
  layout: LabLayout;
  plan: AddressPlan;
  proxies: RenderedProxy[];
  containers: RenderedContainer[];
  /** Every generated text file of the project, by project-relative path. */
  files: Record<string, string>;
  /** Certificates the project needs under `certs/` (generated by the driver or by gencerts.sh). */
  pki?: PkiRequest;
  /** docker-compose.yaml text, for docker plans. */
  compose?: string;
  warnings: Issue[];
}

/** Renders a valid lab for a plan. Throws LabError for an invalid lab and PlanError for a plan that does not fit it. */
export function render(lab: Lab, plan: AddressPlan, options: RenderOptions = {}): RenderResult {
  const checked = parseLabObject(lab);
  if (errorsOf(checked.issues).length > 0)
    throw new LabError(errorsOf(checked.issues), `cannot render lab '${lab.metadata?.name}'`);
  const warnings = [...checked.issues];
  const index = new LabIndex(lab);
  const layout = buildLayout(index);
  checkPlan(layout, plan);
  const flavour = options.images ?? 'meshcraft';
  const runtimeImage = options.runtimeImage ?? DEFAULT_RUNTIME_IMAGE;
  const files: Record<string, string> = {};
  const proxies: RenderedProxy[] = [];
  const containers: RenderedContainer[] = [];
  const local = plan.driver === 'local';

  for (const ns of layout.namespaces) {
    const node = index.nodes.get(ns.node)!;
    const proxy = index.proxyByNode.get(ns.node);
    for (const c of ns.containers) {
      const mounts: Mount[] = [];
      const files_ = new FileSink(files, c.name, proxy?.spec.tlsFiles, plan);
      const base = baseContainer(c, ns, plan);
      if (c.role === 'proxy' && proxy) {
        if (local && proxy.spec.raw) {
          warnings.push(
            warning(
              [...proxy.path, 'raw'],
              `the raw Envoy config of '${proxy.node.id}' is used as written, so on the local driver the addresses and ports in it are not moved to the namespace's loopback address and the lab's mapped ports`,
            ),
          );
        }
        const ownDelivery = options.xds ? ownDeliveryOf(index, proxy) : undefined;
        const consoleXds: ConsoleDelivery | undefined =
          options.xds && !ownDelivery
            ? { ...options.xds, nodeId: `${lab.metadata.name}/${ns.id}` }
            : undefined;
        const ctx = proxyContext(index, proxy, ns, plan, files_, consoleXds);
        const rendered = renderEnvoy(ctx);
        const yaml = stringifyConfig(rendered.bootstrap);
        const file = files_.put(ENVOY_CONFIG_PATH, yaml, mounts, false);
        for (const [path, content] of rendered.files)
          files_.put(path, stringifyConfig(content), mounts, true);
        mounts.push(...files_.pkiMounts());
        proxies.push({
          node: ns.node,
          namespace: ns.id,
          container: c.name,
          bootstrap: rendered.bootstrap,
          yaml,
          file,
          ...(consoleXds ? { xds: { nodeId: consoleXds.nodeId, resources: rendered.xds! } } : {}),
          ...(ownDelivery ? { ownDelivery } : {}),
        });
        if (rendered.dynamic) {
          const cpId = proxy.spec.delivery!.controlPlane!;
          const cp = index.nodes.get(cpId) as ControlPlaneNode;
          const cpContainer = layout.namespaces.find((n) => n.node === cpId)!.containers[0]!.name;
          const { text, lost } = controlPlaneConfig(lab, ctx);
          files[`${cpContainer}/config.yaml`] = text;
          for (const what of lost) {
            warnings.push(
              warning(
                [...proxy.path, 'delivery'],
                `the control plane '${cp.id}' serves the course's simple format, which cannot carry ${what}; it is left out of what '${proxy.node.id}' receives`,
              ),
            );
          }
          base.dependsOn.push(cpContainer);
        }
        if (local) {
          const hostsFile = `${c.name}/hosts`;
          files[hostsFile] = hostsFileText(plan.hosts ?? {});
          base.dnsHostsFile = hostsFile;
          if (files_.workDirs.size) base.workDirs = [...files_.workDirs].sort();
        }
        const adminPort = proxy.spec.admin?.port ?? DEFAULT_ADMIN_PORT;
        containers.push(
          finishProxy(base, proxy, c, plan, flavour, runtimeImage, mounts, ctx.port(adminPort), {
            config: local ? `${plan.fileRoot}/${file}` : ENVOY_CONFIG_PATH,
            hosts: base.dnsHostsFile ? `${plan.fileRoot}/${base.dnsHostsFile}` : undefined,
          }),
        );
      } else if (node.kind === 'service') {
        containers.push(finishApp(base, node, c, ns, plan, flavour, runtimeImage));
      } else if (node.kind === 'controlPlane') {
        containers.push(finishControlPlane(base, node, c, plan, flavour, runtimeImage, index, files));
      } else {
        containers.push(finishClient(base, flavour, runtimeImage));
      }
    }
  }
  if (flavour === 'upstream') {
    foldServicemeshSidecars(containers, index, warnings);
    for (const s of lab.spec.nodes) {
      if (s.kind === 'service' && appUdpPort(s) !== undefined)
        warnings.push(
          warning(
            ['spec', 'nodes', index.nodeIndex.get(s.id)!, 'app', 'udpPort'],
            `ikubernetes/demoapp has no UDP listener; '${s.id}' answers on UDP port ${appUdpPort(s)} only with meshcraft's runtime image`,
          ),
        );
    }
  }
  const pki = pkiRequest(lab);
  return {
    layout,
    plan,
    proxies,
    containers,
    files,
    pki,
    compose: plan.driver === 'docker' ? renderCompose(lab, plan, containers) : undefined,
    warnings,
  };
}

function warning(path: (string | number)[], message: string): Issue {
  return { severity: 'warning', path, at: path.join('.'), message };
}

function checkPlan(layout: LabLayout, plan: AddressPlan): void {
  if (plan.driver === 'local') {
    const missingPorts = layout.ports.filter((p) => plan.ports[p] === undefined);
    if (missingPorts.length)
      throw new PlanError(
        `the plan maps no host port for lab port${missingPorts.length > 1 ? 's' : ''} ${missingPorts.join(', ')}`,
      );
    const missing = layout.namespaces.filter((n) => !plan.addresses[n.id]);
    if (missing.length)
      throw new PlanError(`the plan gives no address to ${missing.map((n) => `'${n.id}'`).join(', ')}`);
    if (!plan.fileRoot)
      throw new PlanError('a local plan needs fileRoot, the directory the lab files live in');
  }
}

/** YAML as Envoy reads it, deterministic: keys in the order the renderer built them, no line folding. */
export function stringifyConfig(value: unknown): string {
  return stringify(value, { lineWidth: 0, indent: 2, aliasDuplicateObjects: false });
}

/** Where a container's files go in the project, and the paths its config uses for them. */
class FileSink {
  private readonly pki: Mount[] = [];

  constructor(
    private readonly files: Record<string, string>,
    private readonly container: string,
    tlsFiles: ProxyView['spec']['tlsFiles'],
    private readonly plan: AddressPlan,
  ) {
    const tf = tlsFiles;
    if (tf?.identity)
      this.pki.push({ source: `certs/${tf.identity}/`, target: '/etc/envoy/certs/', directory: true });
    if (tf?.ca)
      this.pki.push({ source: 'certs/CA/ca.crt', target: '/etc/envoy/ca/ca.crt', directory: false });
  }

  /** Project path of a file the container sees at `path`. */
  projectPath(path: string): string | undefined {
    for (const m of this.pki) {
      if (m.directory ? path.startsWith(m.target) : path === m.target)
        return m.directory ? m.source + path.slice(m.target.length) : m.source;
    }
    if (path.startsWith('/dev/')) return undefined;
    return `${this.container}/${path.startsWith('/etc/envoy/') ? path.slice('/etc/envoy/'.length) : path.slice(1)}`;
  }

  /** The path the proxy's config uses for a container path: itself in a container, under fileRoot locally. */
  configPath(path: string): string {
    if (this.plan.driver !== 'local') return path;
    const p = this.projectPath(path);
    return p === undefined ? path : `${this.plan.fileRoot}/${p}`;
  }

  /** Writes a generated file; mounts it (or, for watched files, its directory, so renames inside it are seen). */
  put(path: string, content: string, mounts: Mount[], mountDirectory: boolean): string {
    const project = this.projectPath(path)!;
    this.files[project] = content;
    const source = mountDirectory ? project.slice(0, project.lastIndexOf('/') + 1) : project;
    const target = mountDirectory ? path.slice(0, path.lastIndexOf('/') + 1) : path;
    if (!mounts.some((m) => m.target === target)) mounts.push({ source, target, directory: mountDirectory });
    return project;
  }

  pkiMounts(): Mount[] {
    return this.pki;
  }

  readonly workDirs = new Set<string>();

  /** A path the proxy writes to; locally its directory is recorded so the driver can create it. */
  writablePath(path: string): string {
    const p = this.plan.driver === 'local' ? this.projectPath(path) : undefined;
    if (p !== undefined) this.workDirs.add(p.slice(0, p.lastIndexOf('/')));
    return this.configPath(path);
  }
}

/**
 * Why a proxy keeps its own way of getting its configuration when the console could serve it: the
 * lab demonstrates that way (files it watches, its own control plane) or states the bootstrap
 * itself. Undefined for the others.
 */
export function ownDeliveryOf(index: LabIndex, proxy: ProxyView): string | undefined {
  const id = proxy.node.id;
  const d = proxy.spec.delivery;
  if (proxy.spec.raw) return `'${id}' runs a raw Envoy bootstrap (raw), which the console does not rewrite`;
  if (d?.mode === 'filesystem')
    return `'${id}' reads its listeners and clusters from files it watches (delivery: filesystem)`;
  if (d?.mode === 'grpc' || d?.mode === 'ads')
    return `'${id}' takes its configuration from the lab's control plane '${d.controlPlane}' (delivery: ${d.mode})`;
  const eds = index.clustersOfProxy(proxy).find((c) => c.discovery === 'EDS');
  if (eds)
    return `'${id}' reads the endpoints of cluster '${eds.id}' from a file it watches (discovery: EDS)`;
  return undefined;
}

function proxyContext(
  index: LabIndex,
  proxy: ProxyView,
  ns: NamespaceLayout,
  plan: AddressPlan,
  sink: FileSink,
  consoleXds: ConsoleDelivery | undefined,
): ProxyContext {
  const local = plan.driver === 'local';
  const cpId = proxy.spec.delivery?.controlPlane;
  return {
    index,
    proxy,
    namespace: ns.id,
    bindAddress: (labAddress) => (local ? plan.addresses[ns.id]! : labAddress),
    port: (p) => plan.ports[p] ?? p,
    namespaceAddress: (nsId, why) => {
      const a = plan.addresses[nsId];
      if (!a)
        throw new PlanError(
          `${why}, so it needs the address of '${nsId}', but the plan has none; give the lab a subnet (spec.network.subnet)`,
        );
      return a;
    },
    filePath: (p) => sink.configPath(p),
    writablePath: (p) => sink.writablePath(p),
    controlPlaneHost: cpId,
    console: consoleXds,
  };
}

function baseContainer(c: ContainerLayout, ns: NamespaceLayout, plan: AddressPlan): RenderedContainer {
  const owner = ns.containers.find((x) => x.owner)!;
  return {
    name: c.name,
    node: c.node,
    replica: c.replica,
    namespace: ns.id,
    role: c.role,
    image: '',
    env: {},
    hostname: c.owner ? ns.hostname : undefined,
    network: c.owner
      ? { owner: true, ip: plan.addresses[ns.id], aliases: ns.aliases }
      : { owner: false, joins: owner.name },
    mounts: [],
    publish: [],
    hostPorts: [],
    dependsOn: c.owner ? [] : [owner.name],
  };
}

function finishProxy(
  base: RenderedContainer,
  proxy: ProxyView,
  c: ContainerLayout,
  plan: AddressPlan,
  flavour: ImageFlavour,
  runtimeImage: string,
  mounts: Mount[],
  adminPort: number,
  paths: { config: string; hosts?: string },
): RenderedContainer {
  const out = { ...base, mounts };
  if (flavour === 'upstream') {
    out.image = UPSTREAM_IMAGES.proxy;
    // The envoy image drops to uid 101; mounted certificates and watched directories belong to the host user.
    out.env = { ENVOY_UID: '0', ENVOY_GID: '0' };
  } else {
    out.image = runtimeImage;
    out.command = [
      'meshcraft-proxy',
      '-c',
      paths.config,
      ...(paths.hosts ? ['--dns-hosts', paths.hosts] : []),
    ];
  }
  out.readiness = {
    kind: 'http',
    port: adminPort,
    path: '/ready',
    address: plan.addresses[c.namespace],
    insideNamespace: false,
  };
  const port = (p: number) => plan.ports[p] ?? p;
  out.publish = [{ port: adminPort, protocol: 'tcp', purpose: 'admin', name: 'admin' }];
  for (const l of proxy.listeners) {
    if (l.address === '127.0.0.1') continue;
    out.publish.push({
      port: port(l.spec.port),
      protocol: l.protocol === 'udp' ? 'udp' : 'tcp',
      purpose: 'listener',
      name: l.spec.name,
    });
  }
  if (proxy.node.kind === 'frontProxy' || base.network.owner) out.hostPorts = hostPortsOf(proxy.node);
  return out;
}

function hostPortsOf(node: {
  hostPorts?: { host: number; container: number; protocol?: 'tcp' | 'udp' }[];
}): RenderedContainer['hostPorts'] {
  return (node.hostPorts ?? []).map((h) => ({
    host: h.host,
    container: h.container,
    protocol: h.protocol ?? 'tcp',
  }));
}

function finishApp(
  base: RenderedContainer,
  s: ServiceNode,
  c: ContainerLayout,
  ns: NamespaceLayout,
  plan: AddressPlan,
  flavour: ImageFlavour,
  runtimeImage: string,
): RenderedContainer {
  const out = { ...base };
  const local = plan.driver === 'local';
  const labPort = appPort(s);
  const port = plan.ports[labPort] ?? labPort;
  const host = local ? plan.addresses[ns.id]! : appHost(s);
  if (base.network.owner) out.hostPorts = hostPortsOf(s);
  if (s.app.role === 'image') {
    out.image = s.app.image;
    if (s.app.command) out.command = s.app.command;
    out.env = { ...s.app.env };
    out.external = {
      image: s.app.image,
      why: s.app.why ?? 'meshcraft has no work-alike of it, and no registry is reachable offline',
    };
    return out;
  }
  const app = s.app;
  let env: Record<string, string> = { ...app.env, PORT: String(port), HOST: host };
  const udpPort = appUdpPort(s);
  if (udpPort !== undefined) env.UDP_PORT = String(plan.ports[udpPort] ?? udpPort);
  if (flavour === 'upstream') {
    out.image = app.serviceName
      ? UPSTREAM_IMAGES.servicemeshApp
      : `${UPSTREAM_IMAGES.demoapp}:${app.version ?? 'v1.0'}`;
    // servicemesh-app listens where its image says (its own Envoy on 80, the app on 127.0.0.1:8080).
    if (app.serviceName) env = { ...app.env, SERVICE_NAME: app.serviceName };
  } else {
    out.image = runtimeImage;
    out.command = ['meshcraft-demoapp'];
    env.VERSION = app.version ?? 'v1.0';
    if (app.serviceName) env.SERVICE_NAME = app.serviceName;
    if (local) {
      // No container hostname or interface address locally: tell the app what to print.
      env.SERVER_NAME = ns.hostname ?? ns.id;
      env.SERVER_IP = plan.addresses[ns.id]!;
    }
  }
  out.env = sortKeys(env);
  out.readiness = {
    kind: 'http',
    port,
    path: '/livez',
    address: plan.addresses[c.namespace],
    insideNamespace: host === '127.0.0.1',
  };
  if (host !== '127.0.0.1') out.publish = [{ port, protocol: 'tcp', purpose: 'app', name: 'app' }];
  return out;
}

function finishControlPlane(
  base: RenderedContainer,
  cp: ControlPlaneNode,
  c: ContainerLayout,
  plan: AddressPlan,
  flavour: ImageFlavour,
  runtimeImage: string,
  index: LabIndex,
  files: Record<string, string>,
): RenderedContainer {
  const out = { ...base };
  const port = plan.ports[cp.port ?? DEFAULT_XDS_PORT] ?? cp.port ?? DEFAULT_XDS_PORT;
  const served = index.proxies.find((p) => p.spec.delivery?.controlPlane === cp.id);
  const configDir = '/etc/envoy-xds-server/config/';
  const configFile = `${c.name}/config.yaml`;
  if (!(configFile in files))
    files[configFile] = stringifyConfig({
      name: index.lab.metadata.name,
      spec: { listeners: [], clusters: [] },
    });
  out.mounts = [{ source: `${c.name}/`, target: configDir, directory: true }];
  const resources = plan.driver === 'local' ? `${plan.fileRoot}/${configFile}` : `${configDir}config.yaml`;
  out.env = {
    NODE_ID: served?.spec.envoyNode?.id ?? served?.node.id ?? cp.id,
    RESOURCES_FILE: resources,
    SERVER_PORT: String(port),
  };
  if (flavour === 'upstream') out.image = UPSTREAM_IMAGES.xds;
  else {
    out.image = runtimeImage;
    out.command = ['meshcraft-xds'];
  }
  out.readiness = { kind: 'tcp', port, address: plan.addresses[c.namespace] };
  out.publish = [{ port, protocol: 'tcp', purpose: 'xds', name: 'xds' }];
  return out;
}

function finishClient(
  base: RenderedContainer,
  flavour: ImageFlavour,
  runtimeImage: string,
): RenderedContainer {
  const out = { ...base };
  if (flavour === 'upstream') out.image = UPSTREAM_IMAGES.toolbox;
  else {
    out.image = runtimeImage;
    // A shell to `exec` into: the container only has to stay up, and stop at once on `docker stop`.
    out.command = ['node', '-e', "process.on('SIGTERM',()=>process.exit(0));setInterval(()=>{},1<<30)"];
  }
  return out;
}

/**
 * On upstream images, a servicemesh-app service with a sidecar runs as the course ran it: one
 * container of `ikubernetes/servicemesh-app` (which has an Envoy inside) with the sidecar's config
 * mounted, since a second Envoy in the same namespace would fight the image's own for its ports.
 */
function foldServicemeshSidecars(containers: RenderedContainer[], index: LabIndex, warnings: Issue[]): void {
  for (const s of index.lab.spec.nodes) {
    if (s.kind !== 'service' || !s.sidecar || s.app.role !== 'demoapp' || !s.app.serviceName) continue;
    const ns = containers.filter((c) => c.node === s.id);
    for (let r = 1; r <= (s.replicas ?? 1); r++) {
      const pair = ns.filter((c) => c.replica === r);
      const sidecar = pair.find((c) => c.role === 'proxy');
      const app = pair.find((c) => c.role === 'demoapp');
      if (!sidecar || !app) continue;
      const owner = sidecar.network.owner ? sidecar : app;
      const merged: RenderedContainer = {
        ...app,
        network: owner.network,
        hostname: owner.hostname,
        mounts: sidecar.mounts,
        publish: [...sidecar.publish, ...app.publish],
        hostPorts: owner.hostPorts,
        dependsOn: [...sidecar.dependsOn, ...app.dependsOn].filter(
          (d) => d !== sidecar.name && d !== app.name,
        ),
        readiness: sidecar.readiness,
      };
      containers.splice(containers.indexOf(app), 1);
      containers.splice(containers.indexOf(sidecar), 1, merged);
      for (const c of containers) {
        c.dependsOn = c.dependsOn.map((d) => (d === sidecar.name || d === app.name ? merged.name : d));
        if (!c.network.owner && (c.network.joins === sidecar.name || c.network.joins === app.name))
          c.network = { owner: false, joins: merged.name };
      }
    }
    if (appPort(s) !== 8080) {
      warnings.push(
        warning(
          ['spec', 'nodes', index.nodeIndex.get(s.id)!, 'app', 'port'],
          `ikubernetes/servicemesh-app serves on 127.0.0.1:8080 inside; this lab's app port ${appPort(s)} will not match on upstream images`,
        ),
      );
    }
  }
}

function sortKeys(o: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(o).sort(([a], [b]) => a.localeCompare(b)));
}

/** The certificates a lab asks for (`spec.pki`), in the shape `generateLabCertificates` and gencerts.sh take. */
export function pkiRequest(lab: Lab): PkiRequest | undefined {
  const pki = lab.spec.pki;
  if (!pki) return undefined;
  return {
    caCommonName: pki.caCommonName ?? 'envoy-ca',
    caDir: 'certs/CA/',
    certificates: pki.certificates.map((c) => ({
      name: c.name,
      commonName: c.commonName ?? c.name,
      server: c.server ?? false,
      client: c.client ?? false,
      dir: `certs/${c.name}/`,
    })),
  };
}

/**
 * The course's control-plane file (`name`, `spec.listeners[].routes[].{name,prefix,clusters}`,
 * `spec.clusters[].endpoints[].{address,port}`) for what a proxy receives over xDS. That format
 * carries prefix routes and endpoint lists only; the rest is reported as lost.
 */
function controlPlaneConfig(lab: Lab, ctx: ProxyContext): { text: string; lost: string[] } {
  const lost = new Set<string>();
  const listeners = ctx.proxy.listeners.map((l) => {
    if (l.protocol !== 'http') lost.add(`the ${l.protocol.toUpperCase()} listener '${l.spec.name}'`);
    if (l.spec.tls) lost.add(`TLS on listener '${l.spec.name}'`);
    const routes = routesOf(l).flatMap((r) => {
      const m = r.spec.match;
      if (routeAction(r.spec) !== 'forward' || m.prefix === undefined || m.headers || m.queryParameters) {
        lost.add(`route '${r.spec.id}' (only prefix routes to clusters)`);
        return [];
      }
      const edges = ctx.index.edgesFrom(ctx.proxy.node.id, { route: r.spec.id });
      return [
        {
          name: l.spec.routeConfigName ?? 'local_route',
          prefix: m.prefix,
          clusters: edges.map((e) => clusterName(ctx.index.cluster(e.to)!)),
        },
      ];
    });
    return { name: l.spec.name, address: ctx.bindAddress(l.address), port: ctx.port(l.spec.port), routes };
  });
  const clusters = ctx.index.clustersOfProxy(ctx.proxy).map((c) => {
    for (const f of [
      'healthChecks',
      'outlierDetection',
      'circuitBreakers',
      'subsets',
      'tls',
      'ringHash',
    ] as const) {
      if (c[f] !== undefined) lost.add(`${f} of cluster '${c.id}'`);
    }
    if ((c.lbPolicy ?? 'ROUND_ROBIN') !== 'ROUND_ROBIN')
      lost.add(`lbPolicy ${c.lbPolicy} of cluster '${c.id}'`);
    const resolved = { ...c, discovery: 'STATIC' as const };
    const endpoints = clusterEndpoints(ctx, resolved).flatMap((g) =>
      ((g as { lb_endpoints: Json[] }).lb_endpoints ?? []).map((lb) => {
        const sa = ((lb.endpoint as Json).address as Json).socket_address as Json;
        return { address: sa.address, port: sa.port_value };
      }),
    );
    return { name: clusterName(c), endpoints };
  });
  return {
    text: stringifyConfig({ name: lab.metadata.name, spec: { listeners, clusters } }),
    lost: [...lost],
  };
}

/** The project file a rendered container sees at `path` through its mounts, if the project has it. */
export function containerFile(result: RenderResult, container: string, path: string): string | undefined {
  const c = result.containers.find((x) => x.name === container);
  if (!c) return undefined;
  let best: Mount | undefined;
  for (const m of c.mounts) {
    const hit = m.directory ? path.startsWith(m.target) : path === m.target;
    if (hit && (!best || m.target.length > best.target.length)) best = m;
  }
  if (!best) return undefined;
  return best.directory ? best.source + path.slice(best.target.length) : best.source;
}
