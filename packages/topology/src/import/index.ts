/**
 * Importing a directory laid out like the course's labs — a docker-compose file plus the Envoy
 * configs it mounts — as a Lab.
 *
 * Containers sharing a network namespace (`network_mode: service:<x>`) become one node: a
 * service (app + sidecar, either one owning the namespace), a client, a front proxy or a control
 * plane. Envoy configs are mapped onto structured fields, clusters become cluster nodes, their
 * endpoints membership edges (found by address, or by DNS name through aliases), routes become
 * route and egress edges. Each mapping is checked by rendering it back and comparing its
 * behaviour with the original; a proxy whose config cannot be mapped exactly is kept raw, with
 * a warning saying what could not be mapped. Images meshcraft has no equivalent for are kept
 * and flagged. Browser-safe: the caller reads the files.
 */
import { LineCounter, parseDocument } from 'yaml';
import { enumName, isObj, type J, list, num, obj, objList, str } from '../envoy-read.js';
import { type Issue, IssueList } from '../issues.js';
import { buildLayout } from '../layout.js';
import { LabIndex, servicePort } from '../model.js';
import { DNS_NAME_PATTERN, ID_PATTERN, isIPv4, LAB_NAME_PATTERN } from '../names.js';
import { parseLab, parseLabObject } from '../parse.js';
import { dockerAddressPlan } from '../plan.js';
import { TYPES } from '../render/envoy.js';
import { containerFile, render } from '../render/index.js';
import {
  API_VERSION,
  type ClientNode,
  type ClusterNode,
  type ControlPlaneNode,
  type FrontProxyNode,
  type Lab,
  type LabEdge,
  type LabNode,
  type MembershipEdge,
  type ServiceNode,
  type SidecarSpec,
} from '../schema.js';
import { summarizeBootstrap } from '../summary.js';
import { type ComposeService, mountedFile, readCompose } from './compose.js';
import {
  type EndpointRef,
  endpointPort,
  endpointsOf,
  isLoopbackCluster,
  type MappedListener,
  mapAdmin,
  mapCluster,
  mapListener,
  mapLocalCluster,
  mapRuntime,
  mapSecrets,
  Unmapped,
} from './envoy.js';

export interface ImportOptions {
  /** Lab name (default: `imported-lab`); sanitised to a valid lab name. */
  name?: string;
  title?: string;
  /** When the directory holds a meshcraft lab file (`*.lab.yaml`), read that instead (default true). */
  preferLabFile?: boolean;
}

export interface ImportResult {
  lab?: Lab;
  issues: Issue[];
}

const MAX_FILES = 1000;
const MAX_FILE_BYTES = 1024 * 1024;
const COMPOSE_NAMES = ['docker-compose.yaml', 'docker-compose.yml', 'compose.yaml', 'compose.yml'];

type Role = 'proxy' | 'demoapp' | 'servicemesh' | 'toolbox' | 'xds' | 'external';

function classify(s: ComposeService): Role {
  const image = (s.image ?? '').toLowerCase();
  const cmd = s.command?.[0] ?? '';
  if (
    cmd === 'meshcraft-proxy' ||
    cmd === 'envoy' ||
    /(^|\/)envoy(-alpine)?(-dev)?(:|$)/.test(image.replace(/^envoyproxy\//, 'x/'))
  )
    return 'proxy';
  if (/^(docker\.io\/)?envoyproxy\//.test(image)) return 'proxy';
  if (cmd === 'meshcraft-demoapp') return s.environment.SERVICE_NAME ? 'servicemesh' : 'demoapp';
  if (cmd === 'meshcraft-xds' || /(^|\/)envoy-xds-server(:|$)/.test(image)) return 'xds';
  if (/(^|\/)ikubernetes\/demoapp(:|$)/.test(image)) return 'demoapp';
  if (/(^|\/)ikubernetes\/servicemesh-app(:|$)/.test(image)) return 'servicemesh';
  if (/(^|\/)ikubernetes\/admin-toolbox(:|$)/.test(image) || cmd === 'node' || cmd === 'sleep')
    return 'toolbox';
  return 'external';
}

function looksLikeBootstrap(v: unknown): boolean {
  return isObj(v) && (isObj(v.static_resources) || isObj(v.dynamic_resources)) && !('resources' in v);
}

function safeId(s: string, fallback: string): string {
  const cleaned = s
    .replace(/[^A-Za-z0-9_.-]/g, '-')
    .replace(/^[^A-Za-z0-9]+/, '')
    .slice(0, 63);
  return ID_PATTERN.test(cleaned) ? cleaned : fallback;
}

function labName(s: string | undefined): string {
  const cleaned = (s ?? 'imported-lab')
    .toLowerCase()
    .replace(/[^a-z0-9_.-]/g, '-')
    .replace(/^[^a-z0-9]+/, '')
    .slice(0, 63);
  return LAB_NAME_PATTERN.test(cleaned) ? cleaned : 'imported-lab';
}

interface Group {
  owner: ComposeService;
  members: ComposeService[];
  /** The container carrying an Envoy, and where its config is. */
  proxy?: { service: ComposeService; configFile: string; config: J; colocated: boolean };
  app?: ComposeService;
  appRole?: Role;
  toolbox?: ComposeService;
  xds?: ComposeService;
  node?: LabNode;
}

interface PendingCluster {
  proxyNode: string;
  json: J;
  /** Its endpoints: from its load_assignment, its EDS file, or the control plane. */
  endpoints: EndpointRef[];
  edsPath?: string;
}

class Importer {
  readonly issues = new IssueList();
  private readonly parsed = new Map<string, unknown>();

  constructor(
    private readonly files: Record<string, string>,
    private readonly opts: ImportOptions,
  ) {}

  problem(file: string, message: string, severity: 'error' | 'warning' = 'warning'): void {
    this.issues.items.push({ severity, path: [], at: file, message });
  }

  yaml(file: string): unknown {
    if (this.parsed.has(file)) return this.parsed.get(file);
    const text = this.files[file];
    let value: unknown;
    if (text === undefined) {
      this.problem(file, `is mounted by the compose file but is not in the directory`);
    } else {
      const lines = new LineCounter();
      const doc = parseDocument(text, { uniqueKeys: false, prettyErrors: false, lineCounter: lines });
      if (doc.errors.length) {
        const e = doc.errors[0]!;
        const pos = lines.linePos(e.pos[0]);
        this.problem(
          file,
          `is not valid YAML (${e.message.split('\n')[0]}) at line ${pos.line}, column ${pos.col}`,
          'error',
        );
      } else {
        try {
          value = doc.toJS({ maxAliasCount: 200 });
        } catch (err) {
          this.problem(file, `could not be read: ${(err as Error).message}`, 'error');
        }
      }
    }
    this.parsed.set(file, value);
    return value;
  }

  run(): ImportResult {
    const names = Object.keys(this.files);
    if (names.length > MAX_FILES) {
      this.problem(
        '(directory)',
        `holds ${names.length} files, more than a lab directory has (at most ${MAX_FILES}); pick the lab's own directory`,
        'error',
      );
      return { issues: this.issues.items };
    }
    for (const n of names) {
      if (this.files[n]!.length > MAX_FILE_BYTES) {
        this.problem(
          n,
          `is larger than ${MAX_FILE_BYTES / 1024 / 1024} MB; lab files are small, so it is not read`,
          'error',
        );
        return { issues: this.issues.items };
      }
    }
    if (this.opts.preferLabFile !== false) {
      const labFile = names.find((n) => !n.includes('/') && n.endsWith('.lab.yaml'));
      if (labFile) {
        const r = parseLab(this.files[labFile]!);
        return { lab: r.lab, issues: r.issues.map((i) => ({ ...i, at: `${labFile}: ${i.at}` })) };
      }
    }
    const composeFile = COMPOSE_NAMES.find((n) => n in this.files);
    if (!composeFile) {
      this.problem(
        '(directory)',
        `has no docker-compose.yaml (or compose.yaml); a course lab directory has one next to its Envoy configs`,
        'error',
      );
      return { issues: this.issues.items };
    }
    const doc = this.yaml(composeFile);
    if (!isObj(doc) || !isObj(doc.services)) {
      if (this.issues.items.length === 0) this.problem(composeFile, `has no services`, 'error');
      return { issues: this.issues.items };
    }
    const project = readCompose(doc, new Set(names));
    for (const p of project.problems) this.problem(composeFile, p);
    const groups = this.group(project.services, composeFile);
    if (!groups) return { issues: this.issues.items };
    const lab = this.build(groups, project.network, composeFile);
    if (!lab) return { issues: this.issues.items };
    const checked = parseLabObject(lab);
    for (const i of checked.issues) this.issues.items.push({ ...i, message: i.message });
    return { lab: checked.lab, issues: this.issues.items };
  }

  private group(services: ComposeService[], composeFile: string): Group[] | undefined {
    const byName = new Map(services.map((s) => [s.name, s]));
    const ownerOf = (s: ComposeService): ComposeService | undefined => {
      let cur = s;
      for (let i = 0; i < 16 && cur.joins; i++) {
        const next = byName.get(cur.joins);
        if (!next) {
          this.problem(
            composeFile,
            `service '${cur.name}' joins the network namespace of '${cur.joins}', which is not a service of the project`,
            'error',
          );
          return undefined;
        }
        cur = next;
      }
      if (cur.joins) {
        this.problem(
          composeFile,
          `services joining each other's network namespace form a cycle at '${cur.name}'`,
          'error',
        );
        return undefined;
      }
      return cur;
    };
    const groups = new Map<string, Group>();
    for (const s of services) {
      const owner = ownerOf(s);
      if (!owner) return undefined;
      const g = groups.get(owner.name) ?? { owner, members: [] };
      g.members.push(s);
      groups.set(owner.name, g);
    }
    for (const g of groups.values()) {
      g.members.sort((a, b) => (a === g.owner ? -1 : b === g.owner ? 1 : 0));
      for (const s of g.members) {
        const role = classify(s);
        const config = this.envoyConfigOf(s, role);
        if (role === 'proxy' || config) {
          if (g.proxy) {
            this.problem(
              composeFile,
              `'${s.name}' is a second Envoy in the network namespace of '${g.owner.name}'; a lab node has one, so it is left out`,
            );
            continue;
          }
          if (!config) {
            this.problem(
              composeFile,
              `Envoy container '${s.name}' mounts no config at /etc/envoy/envoy.yaml (or the path its command gives)`,
              'error',
            );
            return undefined;
          }
          g.proxy = {
            service: s,
            configFile: config.file,
            config: config.value,
            colocated: role !== 'proxy',
          };
        }
        if (role === 'demoapp' || role === 'servicemesh' || role === 'external') {
          if (g.app)
            this.problem(
              composeFile,
              `'${s.name}' is a second app in the network namespace of '${g.owner.name}'; it is left out`,
            );
          else {
            g.app = s;
            g.appRole = role;
          }
        } else if (role === 'toolbox') g.toolbox = s;
        else if (role === 'xds') g.xds = s;
      }
    }
    return [...groups.values()];
  }

  private envoyConfigOf(s: ComposeService, role: Role): { file: string; value: J } | undefined {
    const cmd = s.command ?? [];
    const flag = cmd.findIndex((c) => c === '-c' || c === '--config-path');
    const explicit = flag >= 0 ? cmd[flag + 1] : undefined;
    const candidates = explicit
      ? [explicit]
      : role === 'proxy' || role === 'servicemesh'
        ? ['/etc/envoy/envoy.yaml']
        : [];
    for (const path of candidates) {
      const file = mountedFile(s, path);
      if (file && file in this.files) {
        const v = this.yaml(file);
        if (isObj(v)) return { file, value: v };
      }
    }
    if (role === 'external') {
      // An image of unknown make that mounts an Envoy bootstrap runs an Envoy beside its app.
      for (const v of s.volumes) {
        if (v.source.endsWith('/') || !/\.(ya?ml|json)$/.test(v.source) || !(v.source in this.files))
          continue;
        const value = this.yaml(v.source);
        if (looksLikeBootstrap(value)) return { file: v.source, value: value as J };
      }
    }
    return undefined;
  }

  private build(
    groups: Group[],
    network: { name: string; subnet?: string } | undefined,
    composeFile: string,
  ): Lab | undefined {
    const nodes: LabNode[] = [];
    const edges: LabEdge[] = [];
    const usedIds = new Set<string>();
    const nodeId = (want: string, fallback: string): string => {
      let id = safeId(want, fallback);
      let n = 1;
      while (usedIds.has(id.toLowerCase())) id = `${safeId(want, fallback).slice(0, 58)}-${++n}`;
      usedIds.add(id.toLowerCase());
      return id;
    };
    // DNS and address tables of the lab network.
    const byName = new Map<string, Group[]>();
    const byIp = new Map<string, Group>();
    for (const g of groups) {
      for (const n of new Set([g.owner.name, ...g.owner.aliases].map((x) => x.toLowerCase()))) {
        byName.set(n, [...(byName.get(n) ?? []), g]);
      }
      if (g.owner.ip) byIp.set(g.owner.ip, g);
    }
    const pki = new Map<string, { server: boolean; client: boolean }>();
    let usesCa = false;

    // Nodes first (services need their sidecar listeners before clusters can pick default ports).
    const pendingClusters: PendingCluster[] = [];
    const pendingTargets: { node: string; listener: MappedListener }[] = [];
    const proxyClusters = new Map<string, string[]>();
    const originals = new Map<string, { config: J; service: ComposeService }>();
    for (const g of groups) {
      const ns = namespaceFields(g.owner);
      if (g.xds) {
        const cp: ControlPlaneNode = { kind: 'controlPlane', id: nodeId(g.xds.name, 'control-plane'), ...ns };
        const port = num(g.xds.environment.SERVER_PORT);
        if (port !== undefined && port !== 18000) cp.port = port;
        if (g.xds.name !== cp.id) cp.containerName = safeId(g.xds.name, cp.id);
        g.node = cp;
        nodes.push(cp);
        continue;
      }
      const main = g.app ?? g.toolbox ?? g.proxy?.service ?? g.owner;
      const id = nodeId(main.name, 'node');
      let node: LabNode;
      if (g.app) {
        const s: ServiceNode = {
          kind: 'service',
          id,
          ...ns,
          app: this.appOf(g, g.app, g.appRole!),
        };
        node = s;
      } else if (g.toolbox) {
        const c: ClientNode = { kind: 'client', id, ...ns, tool: 'toolbox' };
        if (g.toolbox.name !== id) c.containerName = safeId(g.toolbox.name, id);
        node = c;
      } else if (g.proxy) {
        const f: FrontProxyNode = { kind: 'frontProxy', id, ...ns, listeners: [] };
        node = f;
      } else {
        this.problem(
          composeFile,
          `service '${g.owner.name}' runs no app, proxy, client or control plane meshcraft knows; it is left out`,
        );
        continue;
      }
      g.node = node;
      nodes.push(node);
    }

    for (const g of groups) {
      if (!g.proxy || !g.node || g.node.kind === 'cluster' || g.node.kind === 'controlPlane') continue;
      const node = g.node;
      const sidecar = node.kind !== 'frontProxy';
      const u = new Unmapped();
      const config = g.proxy.config;
      originals.set(node.id, { config, service: g.proxy.service });
      u.rest(
        config,
        ['node', 'admin', 'layered_runtime', 'static_resources', 'dynamic_resources'],
        'bootstrap',
      );
      const sr = obj(config.static_resources);
      u.rest(sr, ['listeners', 'clusters', 'secrets'], 'static_resources');
      let listeners = objList(sr.listeners);
      let clusters = objList(sr.clusters);
      const fields: Record<string, unknown> = {};
      if (isObj(config.admin)) fields.admin = mapAdmin(config.admin, u);
      if (isObj(config.node)) {
        u.rest(config.node, ['id', 'cluster'], 'node');
        const envoyNode: Record<string, string> = {};
        if (str(config.node.id)) envoyNode.id = str(config.node.id)!;
        if (str(config.node.cluster)) envoyNode.cluster = str(config.node.cluster)!;
        fields.envoyNode = envoyNode;
      }
      if (isObj(config.layered_runtime)) fields.runtime = mapRuntime(config.layered_runtime, u);
      const secrets = mapSecrets(sr.secrets, u);
      if (secrets.length) fields.secrets = secrets;
      let fromControlPlane: (EndpointRef[] | undefined)[] | undefined;
      if (isObj(config.dynamic_resources)) {
        const d = this.dynamic(g, config.dynamic_resources, clusters, byName, byIp, u);
        if (d) {
          fields.delivery = d.delivery;
          listeners = [...listeners, ...d.listeners];
          clusters = d.clusters;
          fromControlPlane = d.endpoints;
        }
      }
      const localJson = sidecar ? clusters.find(isLoopbackCluster) : undefined;
      const localName = str(localJson?.name);
      const routeIds = new Set<string>();
      const mapped = listeners.map((l, i) =>
        mapListener(l, i, { sidecar, localCluster: localName, routeIds }, u),
      );
      const tf = this.tlsFiles(g.proxy.service, config, pki, composeFile);
      if (tf.ca) usesCa = true;
      if (tf.identity || tf.ca) fields.tlsFiles = tf;
      if (sidecar && !g.proxy.colocated && g.proxy.service.name !== `${node.id}-sidecar`) {
        fields.containerName = safeId(g.proxy.service.name, `${node.id}-sidecar`);
      }
      if (node.kind === 'frontProxy') {
        Object.assign(node, fields);
        node.listeners = mapped.map((m) => m.spec);
        if (g.proxy.service.name !== node.id) node.containerName = safeId(g.proxy.service.name, node.id);
      } else {
        const sc: SidecarSpec = { ...(fields as SidecarSpec) };
        const ingress = mapped.filter((m) => m.direction === 'ingress').map((m) => m.spec);
        const egress = mapped.filter((m) => m.direction === 'egress').map((m) => m.spec);
        if (ingress.length) sc.ingress = ingress;
        if (egress.length) sc.egress = egress;
        if (localJson) sc.localCluster = mapLocalCluster(localJson, 'local cluster', u);
        node.sidecar = sc;
        if (g.owner !== g.proxy.service && g.owner === g.app) node.netnsOwner = 'app';
        if (node.kind === 'client' && g.owner === g.toolbox) node.netnsOwner = 'app';
        if (node.kind === 'service' && localJson) this.alignAppPort(node, localJson, composeFile);
      }
      const mine: PendingCluster[] = [];
      clusters.forEach((c, i) => {
        if (c === localJson) return;
        const edsPath = this.edsPathOf(c);
        const name = str(c.name) ?? '';
        let endpoints = fromControlPlane?.[i];
        if (!endpoints && edsPath) {
          const file = mountedFile(g.proxy!.service, edsPath);
          const cla = objList(obj(file ? this.yaml(file) : undefined).resources)[0];
          if (!cla) u.add(`cluster '${name}' (its EDS file ${edsPath} is not in the project)`);
          endpoints = cla ? endpointsOf(cla, `${edsPath}`, u) : [];
        }
        if (!endpoints)
          endpoints = endpointsOf(obj(c.load_assignment), `cluster '${name}'.load_assignment`, u);
        mine.push({ proxyNode: node.id, json: c, endpoints, edsPath });
      });
      if (u.paths.length) {
        this.keepRaw(node, config, u.paths);
        continue;
      }
      for (const m of mapped) pendingTargets.push({ node: node.id, listener: m });
      pendingClusters.push(...mine);
      proxyClusters.set(
        node.id,
        mine.map((p) => str(p.json.name) ?? ''),
      );
    }

    // Clusters: one node per Envoy name; the same name defined differently by two proxies cannot share one.
    const clusterIds = new Map<string, string>();
    const clusterJson = new Map<string, string>();
    for (const p of pendingClusters) {
      const name = str(p.json.name) ?? '';
      const key = JSON.stringify(summarizeBootstrap({ static_resources: { clusters: [p.json] } }).clusters);
      if (clusterIds.has(name)) {
        if (clusterJson.get(name) !== key) {
          const node = nodes.find((n) => n.id === p.proxyNode);
          const orig = originals.get(p.proxyNode);
          if (node && orig && node.kind !== 'cluster' && node.kind !== 'controlPlane') {
            this.keepRaw(node, orig.config, [
              `cluster '${name}' differs from the cluster of the same name in another proxy`,
            ]);
          }
        }
        continue;
      }
      const u = new Unmapped();
      const m = mapCluster(p.json, `cluster '${name}'`, u);
      const id = nodeId(usedIds.has(name.toLowerCase()) ? `${name}-cluster` : name, 'cluster');
      const cluster = { kind: 'cluster', id, ...m.fields } as ClusterNode;
      if (id !== name) cluster.name = name;
      if (m.extra) cluster.extra = m.extra;
      if (p.edsPath && p.edsPath !== `/etc/envoy/eds.conf.d/${name}.yaml`) cluster.edsPath = p.edsPath;
      edges.push(...this.membership(cluster, p.endpoints, byName, byIp));
      if (u.paths.length)
        this.problem(
          `cluster '${name}'`,
          `has fields meshcraft does not model (${u.paths.slice(0, 5).join(', ')}); they are kept as they are`,
        );
      clusterIds.set(name, id);
      clusterJson.set(name, key);
      nodes.push(cluster);
    }

    // Route and egress edges; clusters a proxy defines but does not route to are listed on it.
    const edgeIds = new Set<string>();
    const edgeId = (want: string): string => {
      let id = safeId(want, 'edge').slice(0, 58);
      let n = 1;
      while (edgeIds.has(id)) id = `${safeId(want, 'edge').slice(0, 55)}-${++n}`;
      edgeIds.add(id);
      return id;
    };
    for (const e of edges) edgeIds.add(e.id);
    for (const { node, listener } of pendingTargets) {
      const owner = nodes.find((n) => n.id === node);
      if (!owner || owner.kind === 'cluster' || owner.kind === 'controlPlane' || isRaw(owner)) continue;
      for (const t of listener.targets) {
        for (const to of t.to) {
          const cid = clusterIds.get(to.cluster);
          if (!cid) {
            this.problem(
              composeFile,
              `'${node}' routes to cluster '${to.cluster}', which its config does not define`,
            );
            continue;
          }
          const edge: Extract<LabEdge, { kind: 'route' | 'egress' }> = {
            kind: listener.direction === 'egress' ? 'egress' : 'route',
            id: edgeId(`${node}-${t.route ?? t.listener}-${cid}`),
            from: t.route ? { node, route: t.route } : { node, listener: t.listener },
            to: cid,
          };
          if (t.to.length > 1 || to.weight !== undefined) edge.weight = to.weight ?? 1;
          if (to.metadataMatch) edge.metadataMatch = to.metadataMatch;
          edges.push(edge);
        }
      }
    }
    for (const [proxyId, names] of proxyClusters) {
      const owner = nodes.find((n) => n.id === proxyId);
      if (!owner || owner.kind === 'cluster' || owner.kind === 'controlPlane' || isRaw(owner)) continue;
      const routed = new Set(
        edges.filter((e) => e.kind !== 'membership' && e.from.node === proxyId).map((e) => e.to),
      );
      const extra = names.map((n) => clusterIds.get(n)).filter((id): id is string => !!id && !routed.has(id));
      if (extra.length === 0) continue;
      const spec = owner.kind === 'frontProxy' ? owner : (owner as ServiceNode | ClientNode).sidecar!;
      spec.clusters = extra;
    }

    const lab: Lab = {
      apiVersion: API_VERSION,
      kind: 'Lab',
      metadata: {
        name: labName(this.opts.name),
        title: this.opts.title ?? `Imported: ${labName(this.opts.name)}`,
        description: `Imported from a docker-compose project (${composeFile} and the Envoy configs it mounts).`,
      },
      spec: { nodes, edges },
    };
    if (network && (network.subnet || network.name !== 'envoymesh')) {
      lab.spec.network = {};
      if (network.name !== 'envoymesh' && DNS_NAME_PATTERN.test(network.name))
        lab.spec.network.name = network.name;
      if (network.subnet) lab.spec.network.subnet = network.subnet;
    }
    if (pki.size || usesCa) {
      lab.spec.pki = {
        certificates: [...pki].map(([name, u]) => ({
          name,
          ...(u.server ? { server: true } : {}),
          ...(u.client ? { client: true } : {}),
        })),
      };
    }
    this.verify(lab, originals);
    pruneUnused(lab);
    place(lab);
    return lab;
  }

  private appOf(g: Group, s: ComposeService, role: Role): ServiceNode['app'] {
    const env = { ...s.environment };
    const sidecar = g.proxy !== undefined;
    if (role === 'external') {
      const why = s.build
        ? `it is built from a Dockerfile in the project ('build:'), which meshcraft does not build`
        : 'meshcraft has no work-alike of it, and no registry is reachable offline';
      const image = (s.image ?? `${s.name}:local`).toLowerCase().replace(/[^a-z0-9._/:@-]/g, '-');
      return {
        role: 'image',
        image,
        ...(s.command ? { command: s.command } : {}),
        // Behind a sidecar the exposed port is the sidecar's; the app's comes from its local cluster.
        ...(!sidecar && s.expose[0] !== undefined && s.expose[0] !== 80 ? { port: s.expose[0] } : {}),
        ...(Object.keys(env).length ? { env } : {}),
        why,
      };
    }
    const app: Extract<ServiceNode['app'], { role: 'demoapp' }> = { role: 'demoapp' };
    const tag = /:(v\d+(?:\.\d+){0,2})$/.exec(s.image ?? '')?.[1];
    const version = env.VERSION ?? tag;
    if (version && /^v\d+(\.\d+){0,2}$/.test(version)) app.version = version;
    if (role === 'servicemesh') {
      app.serviceName = env.SERVICE_NAME ?? s.name;
      if (g.proxy?.colocated) {
        // servicemesh-app's app listens on loopback behind its own Envoy: the course's sidecar pattern.
        delete env.PORT;
        delete env.HOST;
      }
    }
    const port = num(env.PORT) ?? 80;
    const host = env.HOST ?? '0.0.0.0';
    if (!(role === 'servicemesh' && g.proxy?.colocated)) {
      if (port !== (sidecar ? 8080 : 80)) app.port = port;
      if (host !== (sidecar ? '127.0.0.1' : '0.0.0.0') && isIPv4(host)) app.host = host;
    }
    for (const k of [
      'PORT',
      'HOST',
      'VERSION',
      'SERVICE_NAME',
      'SERVER_NAME',
      'SERVER_IP',
      'ENVOY_UID',
      'ENVOY_GID',
    ])
      delete env[k];
    if (Object.keys(env).length) app.env = env;
    return app;
  }

  /** The app port follows the sidecar's local endpoint, which is where the course's app listened. */
  private alignAppPort(node: ServiceNode, local: J, composeFile: string): void {
    const port = endpointPort(local);
    const current = node.app.port ?? 8080;
    if (port !== undefined && port !== current) {
      if (node.app.port !== undefined)
        this.problem(
          composeFile,
          `the sidecar of '${node.id}' forwards to port ${port} but the app listens on ${current}; the lab uses ${port}`,
        );
      node.app.port = port === 8080 ? undefined : port;
      if (node.app.port === undefined) delete node.app.port;
    }
  }

  private tlsFiles(
    s: ComposeService,
    config: J,
    pki: Map<string, { server: boolean; client: boolean }>,
    composeFile: string,
  ): { identity?: string; ca?: boolean } {
    const out: { identity?: string; ca?: boolean } = {};
    const text = JSON.stringify(config);
    for (const v of s.volumes) {
      if (v.target === '/etc/envoy/certs/') {
        const dir = v.source.replace(/\/$/, '');
        const identity = safeId(dir.split('/').pop() ?? 'proxy', 'proxy');
        const has = (f: string) => `${v.source}${f}` in this.files || text.includes(`/etc/envoy/certs/${f}`);
        const cur = pki.get(identity) ?? { server: false, client: false };
        pki.set(identity, {
          server: cur.server || has('server.crt'),
          client: cur.client || has('client.crt'),
        });
        out.identity = identity;
      } else if (v.target === '/etc/envoy/ca/' || v.target === '/etc/envoy/ca/ca.crt') {
        out.ca = true;
      } else if (v.target.startsWith('/etc/envoy/certs') || v.target.startsWith('/etc/envoy/ca')) {
        this.problem(
          composeFile,
          `'${s.name}' mounts certificates at ${v.target}; labs mount them at /etc/envoy/certs/ and /etc/envoy/ca/, so this mount is not kept`,
        );
      }
    }
    return out;
  }

  private edsPathOf(c: J): string | undefined {
    if (enumName(c.type) !== 'EDS') return undefined;
    const ec = obj(obj(c.eds_cluster_config).eds_config);
    return str(ec.path) ?? str(obj(ec.path_config_source).path);
  }

  /** Listeners and clusters of a proxy fed by files or by a control plane. */
  private dynamic(
    g: Group,
    d: J,
    staticClusters: J[],
    byName: Map<string, Group[]>,
    byIp: Map<string, Group>,
    u: Unmapped,
  ):
    | {
        delivery: { mode: 'filesystem' | 'grpc' | 'ads'; controlPlane?: string };
        listeners: J[];
        clusters: J[];
        endpoints?: (EndpointRef[] | undefined)[];
      }
    | undefined {
    u.rest(d, ['lds_config', 'cds_config', 'ads_config'], 'dynamic_resources');
    const lds = obj(d.lds_config);
    const cds = obj(d.cds_config);
    const pathOf = (c: J) => str(c.path) ?? str(obj(c.path_config_source).path);
    const svc = g.proxy!.service;
    if (pathOf(lds) || pathOf(cds)) {
      const read = (p: string | undefined) => {
        if (!p) return [];
        const file = mountedFile(svc, p);
        if (!file) {
          u.add(`dynamic_resources (${p} is not mounted from the project)`);
          return [];
        }
        // Resources of a discovery file carry their type; the listener or cluster is the rest.
        return objList(obj(this.yaml(file)).resources).map(({ '@type': _type, ...rest }) => rest);
      };
      const clusters = [...staticClusters, ...read(pathOf(cds))];
      return { delivery: { mode: 'filesystem' }, listeners: read(pathOf(lds)), clusters };
    }
    const grpcServices = objList(obj(lds.api_config_source).grpc_services).concat(
      objList(obj(d.ads_config).grpc_services),
    );
    const xdsName = str(obj(grpcServices[0]?.envoy_grpc).cluster_name);
    const xds = staticClusters.find((c) => str(c.name) === xdsName);
    if (!xds) {
      u.add('dynamic_resources (no static cluster for the control plane)');
      return undefined;
    }
    const ep = endpointsOf(obj(xds.load_assignment), 'xds cluster', new Unmapped())[0];
    const target = ep ? (byIp.get(ep.address) ?? byName.get(ep.address.toLowerCase())?.[0]) : undefined;
    if (target?.node?.kind !== 'controlPlane') {
      u.add(
        `dynamic_resources (the control plane '${ep?.address}' is not a control plane service of the project)`,
      );
      return undefined;
    }
    const mode = isObj(d.ads_config) ? 'ads' : 'grpc';
    const resourcesPath =
      target.xds!.environment.RESOURCES_FILE ?? '/etc/envoy-xds-server/config/config.yaml';
    const file = mountedFile(target.xds!, resourcesPath);
    const cfg = obj(file ? this.yaml(file) : undefined);
    const spec = obj(cfg.spec);
    const listeners = objList(spec.listeners).map((l) => courseListener(l));
    const clusters = objList(spec.clusters).map((c) => ({ name: str(c.name) ?? '', type: 'EDS' }) as J);
    const endpoints = objList(spec.clusters).map((c) =>
      objList(c.endpoints).map(
        (e): EndpointRef => ({ address: str(e.address) ?? '', port: num(e.port) ?? 80, priority: 0 }),
      ),
    );
    const others = staticClusters.filter((c) => c !== xds);
    return {
      delivery: { mode, controlPlane: target.node.id },
      listeners,
      clusters: [...others, ...clusters],
      endpoints: [...others.map(() => undefined), ...endpoints],
    };
  }

  private membership(
    cluster: ClusterNode,
    eps: EndpointRef[],
    byName: Map<string, Group[]>,
    byIp: Map<string, Group>,
  ): MembershipEdge[] {
    const out: MembershipEdge[] = [];
    const dns = cluster.discovery === 'STRICT_DNS' || cluster.discovery === 'LOGICAL_DNS';
    const external: NonNullable<ClusterNode['endpoints']> = [];
    eps.forEach((ep) => {
      const targets = (
        dns
          ? (byName.get(ep.address.toLowerCase()) ?? (byIp.has(ep.address) ? [byIp.get(ep.address)!] : []))
          : byIp.has(ep.address)
            ? [byIp.get(ep.address)!]
            : []
      ).filter((g) => g.node?.kind === 'service');
      if (targets.length === 0) {
        const e: NonNullable<ClusterNode['endpoints']>[number] = { address: ep.address, port: ep.port };
        if (ep.weight !== undefined) e.weight = ep.weight;
        if (ep.priority) e.priority = ep.priority;
        external.push(e);
        return;
      }
      for (const g of targets) {
        const svc = g.node as ServiceNode;
        const edge: MembershipEdge = { kind: 'membership', id: '', from: cluster.id, to: svc.id };
        if (ep.port !== servicePort(svc)) edge.port = ep.port;
        if (dns && ep.address.toLowerCase() !== svc.id.toLowerCase()) edge.dnsName = ep.address;
        if (ep.weight !== undefined) edge.weight = ep.weight;
        if (ep.priority) edge.priority = ep.priority;
        if (ep.locality) edge.locality = ep.locality;
        if (ep.localityWeight !== undefined) edge.localityWeight = ep.localityWeight;
        if (ep.metadata) edge.metadata = ep.metadata;
        edge.id = safeId(
          `${cluster.id}-${svc.id}${out.some((x) => x.to === svc.id) ? `-${out.length + 1}` : ''}`,
          `member-${out.length + 1}`,
        );
        out.push(edge);
      }
    });
    if (external.length) cluster.endpoints = external;
    return out;
  }

  /** Keeps a proxy's original bootstrap as is, for what the structured fields cannot express. */
  private keepRaw(
    node: Exclude<LabNode, { kind: 'cluster' | 'controlPlane' }>,
    config: J,
    why: string[],
  ): void {
    const raw = { mode: 'replace' as const, bootstrap: config };
    if (node.kind === 'frontProxy') {
      for (const k of Object.keys(node))
        if (
          !['kind', 'id', 'hostname', 'aliases', 'ip', 'hostPorts', 'containerName', 'tlsFiles'].includes(k)
        )
          delete (node as Record<string, unknown>)[k];
      node.listeners = [];
      node.raw = raw;
    } else if (node.sidecar) {
      node.sidecar = {
        raw,
        ...(node.sidecar.containerName ? { containerName: node.sidecar.containerName } : {}),
        ...(node.sidecar.tlsFiles ? { tlsFiles: node.sidecar.tlsFiles } : {}),
      };
    }
    this.problem(
      `node '${node.id}'`,
      `its Envoy config is kept raw because it uses what the lab's fields do not express: ${why.slice(0, 6).join('; ')}${why.length > 6 ? '; …' : ''}`,
    );
  }

  /** Renders each mapped proxy back and compares its behaviour with the original; any difference keeps it raw. */
  private verify(lab: Lab, originals: Map<string, { config: J; service: ComposeService }>): void {
    const checked = parseLabObject(lab);
    if (!checked.lab) return;
    let result: ReturnType<typeof render>;
    try {
      result = render(checked.lab, dockerAddressPlan(buildLayout(new LabIndex(checked.lab))));
    } catch {
      return;
    }
    for (const [nodeId, orig] of originals) {
      const node = lab.spec.nodes.find((n) => n.id === nodeId);
      if (!node || node.kind === 'cluster' || node.kind === 'controlPlane' || isRaw(node)) continue;
      const mode = (node.kind === 'frontProxy' ? node.delivery : node.sidecar?.delivery)?.mode;
      if (mode === 'grpc' || mode === 'ads') continue;
      const rendered = result.proxies.find((p) => p.node === nodeId);
      if (!rendered) continue;
      const readOriginal = (path: string) => {
        const f = mountedFile(orig.service, path);
        return f ? this.yaml(f) : undefined;
      };
      const readRendered = (path: string) => {
        const file = containerFile(result, rendered.container, path);
        const text = file === undefined ? undefined : result.files[file];
        return text === undefined ? undefined : parseDocument(text).toJS();
      };
      const a = summarizeBootstrap(orig.config, { readFile: readOriginal });
      const b = summarizeBootstrap(rendered.bootstrap, { readFile: readRendered });
      const diff = firstDifference(
        { listeners: a.listeners, clusters: a.clusters },
        { listeners: b.listeners, clusters: b.clusters },
      );
      if (diff) {
        this.keepRaw(node, orig.config, [`mapping it changed ${diff}`]);
        lab.spec.edges = lab.spec.edges.filter((e) => e.kind === 'membership' || e.from.node !== nodeId);
      }
    }
  }
}

function isRaw(n: LabNode): boolean {
  if (n.kind === 'frontProxy') return n.raw !== undefined;
  if (n.kind === 'service' || n.kind === 'client') return n.sidecar?.raw !== undefined;
  return false;
}

function namespaceFields(
  owner: ComposeService,
): Pick<ServiceNode, 'hostname' | 'aliases' | 'ip' | 'hostPorts'> {
  const out: Pick<ServiceNode, 'hostname' | 'aliases' | 'ip' | 'hostPorts'> = {};
  if (owner.hostname && DNS_NAME_PATTERN.test(owner.hostname)) out.hostname = owner.hostname;
  const aliases = owner.aliases.filter((a) => a !== owner.name && DNS_NAME_PATTERN.test(a));
  if (aliases.length) out.aliases = [...new Set(aliases)];
  if (owner.ip && isIPv4(owner.ip)) out.ip = owner.ip;
  if (owner.ports.length)
    out.hostPorts = owner.ports.map((p) => ({
      host: p.host,
      container: p.container,
      ...(p.protocol === 'udp' ? { protocol: 'udp' as const } : {}),
    }));
  return out;
}

/** A listener of the course's control-plane format as the Envoy listener its server generates. */
function courseListener(l: J): J {
  const routes = objList(l.routes);
  return {
    name: str(l.name),
    address: { socket_address: { address: str(l.address) ?? '0.0.0.0', port_value: num(l.port) ?? 80 } },
    filter_chains: [
      {
        filters: [
          {
            name: 'envoy.filters.network.http_connection_manager',
            typed_config: {
              '@type': TYPES.hcm,
              route_config: {
                name: str(routes[0]?.name) ?? 'local_route',
                virtual_hosts: [
                  {
                    name: 'local_service',
                    domains: ['*'],
                    routes: routes.map((r) => {
                      const clusters = list(r.clusters).map(String);
                      return {
                        match: { prefix: str(r.prefix) ?? '/' },
                        route:
                          clusters.length === 1
                            ? { cluster: clusters[0] }
                            : {
                                weighted_clusters: {
                                  clusters: clusters.map((name) => ({ name, weight: 1 })),
                                },
                              },
                      };
                    }),
                  },
                ],
              },
              http_filters: [{ name: 'envoy.filters.http.router' }],
            },
          },
        ],
      },
    ],
  };
}

function firstDifference(a: unknown, b: unknown, path = ''): string | undefined {
  if (JSON.stringify(a) === JSON.stringify(b)) return undefined;
  if (isObj(a) && isObj(b)) {
    for (const k of new Set([...Object.keys(a), ...Object.keys(b)])) {
      const d = firstDifference(a[k], b[k], path ? `${path}.${k}` : k);
      if (d) return d;
    }
  }
  if (Array.isArray(a) && Array.isArray(b)) {
    for (let i = 0; i < Math.max(a.length, b.length); i++) {
      const d = firstDifference(a[i], b[i], `${path}[${i}]`);
      if (d) return d;
    }
  }
  return `${path || 'the config'} (${JSON.stringify(a)?.slice(0, 80)} became ${JSON.stringify(b)?.slice(0, 80)})`;
}

/** Drops cluster nodes no proxy uses any more (after raw fallbacks), with their membership edges. */
function pruneUnused(lab: Lab): void {
  const index = new LabIndex(lab);
  const used = new Set(index.proxies.flatMap((p) => index.clustersOfProxy(p).map((c) => c.id)));
  lab.spec.nodes = lab.spec.nodes.filter((n) => n.kind !== 'cluster' || used.has(n.id));
  lab.spec.edges = lab.spec.edges.filter((e) =>
    e.kind === 'membership' ? used.has(e.from) : used.has(e.to),
  );
}

/** Columns by role: clients, front proxies, clusters, services; control planes under the clusters. */
function place(lab: Lab): void {
  const column: Record<LabNode['kind'], number> = {
    client: 0,
    frontProxy: 1,
    cluster: 2,
    controlPlane: 2,
    service: 3,
  };
  const rows = [0, 0, 0, 0];
  const ordered = [...lab.spec.nodes].sort(
    (a, b) => Number(a.kind === 'controlPlane') - Number(b.kind === 'controlPlane'),
  );
  for (const n of ordered) {
    const c = column[n.kind];
    n.position = { x: 80 + c * 280, y: 80 + rows[c]! * 140 };
    rows[c]!++;
  }
}

/** Imports a course-style lab directory given as its files (project-relative path → text). */
export function importProject(files: Record<string, string>, opts: ImportOptions = {}): ImportResult {
  try {
    return new Importer(files, opts).run();
  } catch (err) {
    const issues = new IssueList();
    issues.error([], `the directory could not be imported: ${(err as Error).message}`);
    return { issues: issues.items };
  }
}
