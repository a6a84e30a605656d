/**
 * The docker driver: one bridge network per lab, one container per rendered container, the
 * rendered files copied into each container before it starts, every resource labelled with the
 * lab. Everything it knows about a running lab it reads back from the engine, so a restarted
 * process adopts labs that are still running and `down` removes whatever carries the label.
 */
import os from 'node:os';
import type { Readable } from 'node:stream';
import type Docker from 'dockerode';
import { linesOf, mergeAsync } from '../async.js';
import type { ControlPlaneHook, Deployment, Driver, LabJob, NodeAction } from '../driver.js';
import { type ContainerLogs, lastLines, RuntimeError } from '../errors.js';
import { gatewayOf } from '../gateway.js';
import { ensureImage, RUNTIME_IMAGE } from '../image/build.js';
import type { ImageFlavour } from '../image/context.js';
import type { ContainerRoleView, ContainerView, PublishView, ReadinessView, RenderedView } from '../lab.js';
import { stateDirNamed } from '../local/state.js';
import { portFree } from '../ports.js';
import { waitReady } from '../readiness.js';
import { type LabMember, selectMembers, startOrder, withNamespaceMates } from '../targets.js';
import type {
  ContainerState,
  ContainerStatus,
  DownResult,
  LabStatus,
  LabSummary,
  LogLine,
  LogsOptions,
  OnProgress,
} from '../types.js';
import { startAsReady } from '../waves.js';
import { containerArchive } from './archive.js';
import { engineUnavailable, isNotFound, pingEngine } from './engine.js';
import { demuxFrames } from './frames.js';
import { LABELS, labFilter, resourceName } from './labels.js';
import { dockerProbe } from './probes.js';
import { DockerRecords } from './records.js';
import { chooseSubnet, interfaceBlocks, type UsedBlock } from './subnets.js';

export interface DockerDriverOptions {
  /** Tag of the runtime image rendered labs use; built when missing or out of date. */
  image?: string;
  imageFlavour?: ImageFlavour;
  /** How long `up` and `start` wait for readiness. */
  readyTimeoutMs?: number;
  /** Seconds `stop` gives a container before killing it. */
  stopTimeoutS?: number;
  /** Where the records of what running labs run are kept (see records.ts); default $XDG_STATE_HOME/meshcraft/docker-labs. */
  stateDir?: string;
}

/** A container of a running lab, as read back from the engine. */
interface LabContainer extends LabMember {
  id: string;
  role: ContainerRoleView;
  state: ContainerState;
  exitCode?: number;
  publish: PublishView[];
  readiness?: ReadinessView;
  dependsOn: string[];
  address?: string;
}

const LOG_LINES_ON_FAILURE = 30;

export class DockerDriver implements Driver {
  readonly kind = 'docker' as const;
  readonly livePublish = false;
  private readonly image: string;
  private readonly readyTimeoutMs: number;
  private readonly records: DockerRecords;

  constructor(
    readonly docker: Docker,
    private readonly options: DockerDriverOptions = {},
  ) {
    this.image = options.image ?? RUNTIME_IMAGE;
    this.readyTimeoutMs = options.readyTimeoutMs ?? 60_000;
    this.records = new DockerRecords(options.stateDir ?? stateDirNamed('docker-labs'));
  }

  available(): Promise<void> {
    return pingEngine(this.docker);
  }

  async up(job: LabJob, progress: OnProgress, controlPlane?: ControlPlaneHook): Promise<LabStatus> {
    await this.available();
    await ensureImage(this.docker, {
      tag: this.image,
      flavour: this.options.imageFlavour,
      onProgress: progress,
    });
    const notes: string[] = [];
    const networkName = resourceName(job.id);
    const subnet = await this.allocateSubnet(job.layout.network.subnet, notes, progress);
    const plan = job.dockerPlan({ subnet, networkName });
    // What can refuse a lab (images, fixed host ports) does not depend on where the control plane
    // is, so it is refused before anything is created.
    const statically = job.render(plan);
    await this.checkRunnable(job.id, statically);

    try {
      progress({
        step: 'network',
        message: `creating network ${networkName}${subnet ? ` (${subnet})` : ''}`,
      });
      const network = await this.createNetwork(job.id, networkName, subnet, notes);
      // The proxies reach the console's control plane at the network's gateway, this machine.
      const xds = controlPlane && {
        host: network.gateway,
        port: await controlPlane.listen(job.id, network.gateway),
      };
      const rendered = xds ? job.render(plan, { xds }) : statically;
      await controlPlane?.serve(job.id, rendered);
      await this.records.write(job.id, {
        networkId: network.id,
        subnet,
        document: job.document,
        ...(xds ? { controlPlane: xds } : {}),
      });
      const ids = await this.createContainers(job.id, networkName, rendered, progress);
      const deaths = await this.watchDeaths(job.id);
      try {
        const items = rendered.containers.map((c) => ({
          name: c.name,
          id: ids.get(c.name)!,
          dependsOn: c.dependsOn,
          readiness: c.readiness,
        }));
        await this.startInWaves(job.id, items, deaths.failure, progress);
      } finally {
        deaths.close();
      }
    } catch (err) {
      progress({ step: 'rollback', message: `removing what was created for ${job.id}` });
      await this.down(job.id, () => {});
      throw err;
    }
    return (await this.status(job.id))!;
  }

  async down(labId: string, progress: OnProgress): Promise<DownResult> {
    const filters = labFilter(labId);
    const containers = await this.docker.listContainers({ all: true, filters }).catch((err) => {
      throw engineUnavailableOr(this.docker, err);
    });
    await Promise.all(
      containers.map(async (c) => {
        const name = c.Labels[LABELS.container] ?? c.Id;
        progress({ step: 'container', action: 'remove', container: name, message: `removing ${name}` });
        await this.docker
          .getContainer(c.Id)
          .remove({ force: true, v: true })
          .catch((err) => {
            if (!isNotFound(err)) throw err;
          });
      }),
    );
    const networks = await this.docker.listNetworks({ filters });
    for (const n of networks) {
      progress({ step: 'network', message: `removing network ${n.Name}` });
      await this.docker
        .getNetwork(n.Id)
        .remove()
        .catch((err) => {
          if (!isNotFound(err)) throw err;
        });
    }
    const volumes = (await this.docker.listVolumes({ filters })).Volumes ?? [];
    for (const v of volumes) await this.docker.getVolume(v.Name).remove({ force: true });
    await this.records.remove(labId);
    return {
      labId,
      driver: 'docker',
      removed: { containers: containers.length, networks: networks.length, volumes: volumes.length },
    };
  }

  async status(labId: string): Promise<LabStatus | undefined> {
    const filters = labFilter(labId);
    const [infos, networks] = await Promise.all([
      this.docker.listContainers({ all: true, filters }).catch((err) => {
        throw engineUnavailableOr(this.docker, err);
      }),
      this.docker.listNetworks({ filters }),
    ]);
    if (infos.length === 0 && networks.length === 0) return undefined;
    const network = networks[0];
    const containers = infos.map(toLabContainer).sort(byName);
    // Ports are published on the namespace's owner; the containers joining it are reached through them.
    const ownerPorts = new Map<string, Docker.Port[]>();
    for (const info of infos)
      if (!info.HostConfig.NetworkMode.startsWith('container:'))
        ownerPorts.set(info.Labels[LABELS.namespace]!, info.Ports);
    const addresses = new Map(containers.filter((c) => c.owner).map((c) => [c.namespace, c.address]));
    const statuses: ContainerStatus[] = containers.map((c) => ({
      name: c.name,
      node: c.node,
      namespace: c.namespace,
      role: c.role,
      state: c.state,
      id: c.id,
      address: addresses.get(c.namespace),
      exitCode: c.exitCode,
      ports: c.publish.flatMap((p) => {
        const bound = ownerPorts
          .get(c.namespace)
          ?.find((x) => x.PrivatePort === p.port && x.Type === p.protocol && x.PublicPort);
        return bound ? [{ ...p, host: bound.IP || '127.0.0.1', hostPort: bound.PublicPort }] : [];
      }),
    }));
    const running = statuses.filter((c) => c.state === 'running').length;
    return {
      labId,
      driver: 'docker',
      state: running === statuses.length && running > 0 ? 'running' : running === 0 ? 'stopped' : 'degraded',
      network: { name: network?.Name ?? resourceName(labId), subnet: network?.IPAM?.Config?.[0]?.Subnet },
      containers: statuses,
      notes: JSON.parse(network?.Labels?.[LABELS.notes] ?? '[]') as string[],
    };
  }

  async list(): Promise<LabSummary[]> {
    const [infos, networks] = await Promise.all([
      this.docker.listContainers({ all: true, filters: labFilter() }),
      this.docker.listNetworks({ filters: labFilter() }),
    ]);
    const labs = new Set([...infos, ...networks].flatMap((r) => r.Labels?.[LABELS.lab] ?? []));
    return [...labs].sort().map((labId) => {
      const mine = infos.filter((i) => i.Labels[LABELS.lab] === labId);
      const running = mine.filter((i) => i.State === 'running').length;
      return {
        labId,
        driver: 'docker' as const,
        state: running === mine.length && running > 0 ? 'running' : running === 0 ? 'stopped' : 'degraded',
        containers: mine.length,
      };
    });
  }

  async nodeAction(
    labId: string,
    target: string,
    action: NodeAction,
    progress: OnProgress,
  ): Promise<LabStatus> {
    const all = await this.labContainers(labId);
    const affected = withNamespaceMates(all, selectMembers(labId, all, target));
    if (action !== 'start') {
      for (const group of startOrder(affected).reverse()) {
        await Promise.all(
          group.map(async (c) => {
            progress({ step: 'container', action: 'stop', container: c.name, message: `stopping ${c.name}` });
            await this.docker
              .getContainer(c.id)
              .stop({ t: this.options.stopTimeoutS ?? 5 })
              .catch((err) => {
                // 304: already stopped.
                if ((err as { statusCode?: number }).statusCode !== 304) throw err;
              });
          }),
        );
      }
    }
    if (action !== 'stop') {
      const deaths = await this.watchDeaths(labId);
      try {
        await this.startInWaves(labId, affected, deaths.failure, progress);
      } finally {
        deaths.close();
      }
    }
    return (await this.status(labId))!;
  }

  async deployment(labId: string): Promise<Deployment | undefined> {
    const network = await this.labNetwork(labId);
    const record = network && (await this.records.read(labId, network.Id));
    if (!record) return undefined;
    return {
      document: record.document,
      controlPlane: record.controlPlane,
      plan: (job) => job.dockerPlan({ subnet: record.subnet, networkName: network!.Name }),
    };
  }

  async recordEdit(labId: string, document: unknown): Promise<void> {
    const network = await this.labNetwork(labId);
    const record = network && (await this.records.read(labId, network.Id));
    if (!record)
      throw new RuntimeError(
        'LAB_NOT_FOUND',
        `lab '${labId}' is not up on Docker, or was brought up without a record of what it runs`,
        `bring it up again: meshcraft up ${labId}`,
      );
    await this.records.write(labId, { ...record, document });
  }

  private async labNetwork(labId: string): Promise<Docker.NetworkInspectInfo | undefined> {
    const networks = await this.docker.listNetworks({ filters: labFilter(labId) }).catch((err) => {
      throw engineUnavailableOr(this.docker, err);
    });
    return networks[0];
  }

  async *logs(labId: string, target: string | undefined, options: LogsOptions): AsyncIterable<LogLine> {
    const chosen = selectMembers(labId, await this.labContainers(labId), target);
    // Followed streams are open until this signal aborts: when the caller's does, or when the caller stops reading.
    const stop = new AbortController();
    const signal = options.signal ? AbortSignal.any([options.signal, stop.signal]) : stop.signal;
    try {
      yield* mergeAsync(chosen.map((c) => this.containerLogs(c, { ...options, signal })));
    } finally {
      stop.abort();
    }
  }

  // -------------------------------------------------------------------------------------------

  private async *containerLogs(c: LabContainer, options: LogsOptions): AsyncIterable<LogLine> {
    const container = this.docker.getContainer(c.id);
    const common = {
      stdout: true,
      stderr: true,
      ...(options.tail !== undefined ? { tail: options.tail } : {}),
    };
    let chunks: AsyncIterable<Buffer> | Buffer[];
    if (options.follow) {
      const stream = (await container.logs({ ...common, follow: true })) as unknown as Readable;
      options.signal?.addEventListener('abort', () => stream.destroy(), { once: true });
      if (options.signal?.aborted) stream.destroy();
      chunks = stream;
    } else {
      chunks = [(await container.logs({ ...common, follow: false })) as unknown as Buffer];
    }
    try {
      for await (const text of linesOf(demuxFrames(chunks))) yield { container: c.name, text };
    } catch (err) {
      // A followed stream ends by abort (or by the container's removal): that is its end, not an error.
      if (!options.signal?.aborted && (err as NodeJS.ErrnoException).code !== 'ERR_STREAM_PREMATURE_CLOSE')
        throw err;
    }
  }

  private async labContainers(labId: string): Promise<LabContainer[]> {
    const infos = await this.docker.listContainers({ all: true, filters: labFilter(labId) }).catch((err) => {
      throw engineUnavailableOr(this.docker, err);
    });
    if (infos.length === 0)
      throw new RuntimeError(
        'LAB_NOT_FOUND',
        `lab '${labId}' is not up on Docker`,
        'see the labs that are: meshcraft ls',
      );
    return infos.map(toLabContainer).sort(byName);
  }

  private async allocateSubnet(
    wanted: string | undefined,
    notes: string[],
    progress: OnProgress,
  ): Promise<string | undefined> {
    if (!wanted) return undefined;
    const networks = await this.docker.listNetworks();
    const used: UsedBlock[] = [
      ...networks.flatMap((n) =>
        (n.IPAM?.Config ?? []).flatMap((c) =>
          c.Subnet ? [{ subnet: c.Subnet, by: `docker network '${n.Name}'` }] : [],
        ),
      ),
      ...interfaceBlocks(os.networkInterfaces()),
    ];
    const choice = chooseSubnet(wanted, used);
    if (!choice) {
      throw new RuntimeError(
        'SUBNET_IN_USE',
        `the lab's subnet ${wanted} is in use, and no free block of its size is left in 172.16.0.0/12`,
        'remove Docker networks you no longer need (docker network prune), or give the lab another subnet',
      );
    }
    if (choice.moved) {
      const note = `subnet ${choice.moved.from} is in use by ${choice.moved.by}; this lab runs on ${choice.subnet} instead (same host numbers)`;
      notes.push(note);
      progress({ step: 'allocate', message: note });
    }
    return choice.subnet;
  }

  /** Refuses, before anything is created, what cannot run: images that are not here, fixed host ports that are taken. */
  private async checkRunnable(labId: string, rendered: RenderedView): Promise<void> {
    for (const c of rendered.containers) {
      if (!c.external) continue;
      const present = await this.docker
        .getImage(c.image)
        .inspect()
        .then(() => true)
        .catch(() => false);
      if (!present) {
        throw new RuntimeError(
          'UNSUPPORTED',
          `lab '${labId}' needs image ${c.image} for ${c.name}, which is not on this machine: ${c.external.why}`,
          `pull or load ${c.image} (docker pull ${c.image}) where a registry is reachable, or replace the node with a demoapp`,
        );
      }
    }
    for (const c of rendered.containers) {
      for (const h of c.hostPorts) {
        if (h.protocol === 'tcp' && !(await portFree('127.0.0.1', h.host))) {
          throw new RuntimeError(
            'PORT_IN_USE',
            `host port ${h.host} that ${c.name} publishes (to its port ${h.container}) is already in use on 127.0.0.1`,
            `stop what listens on ${h.host} (ss -ltnp 'sport = :${h.host}' shows it), or remove that host port from node '${c.node}'`,
          );
        }
      }
    }
  }

  /** Creates the lab's network; resolves with its id and gateway (this machine's address on it). */
  private async createNetwork(
    labId: string,
    name: string,
    subnet: string | undefined,
    notes: string[],
  ): Promise<{ id: string; gateway: string }> {
    let network: Docker.Network;
    try {
      network = await this.docker.createNetwork({
        Name: name,
        Driver: 'bridge',
        CheckDuplicate: true,
        Labels: { [LABELS.lab]: labId, [LABELS.role]: 'network', [LABELS.notes]: JSON.stringify(notes) },
        ...(subnet
          ? { IPAM: { Driver: 'default', Config: [{ Subnet: subnet, Gateway: gatewayOf(subnet) }] } }
          : {}),
      });
    } catch (err) {
      const message = (err as Error).message;
      if (/overlap|already exists/i.test(message)) {
        throw new RuntimeError(
          'SUBNET_IN_USE',
          `Docker refused network ${name}${subnet ? ` on ${subnet}` : ''}: ${message.replace(/^\(HTTP code \d+\)[^:]*:\s*/, '')}`,
          'another network took that block meanwhile; run up again, or remove the clashing network (docker network ls)',
          { cause: err },
        );
      }
      throw err;
    }
    const info = await network.inspect();
    const gateway = info.IPAM?.Config?.[0]?.Gateway;
    if (!gateway) throw new Error(`Docker gave network ${name} no gateway address`);
    return { id: info.Id, gateway };
  }

  /** Creates every container (owners first, since the others join their namespace) with its files in place. */
  private async createContainers(
    labId: string,
    networkName: string,
    rendered: RenderedView,
    progress: OnProgress,
  ): Promise<Map<string, string>> {
    const ids = new Map<string, string>();
    const byName = new Map(rendered.containers.map((c) => [c.name, c]));
    for (const group of startOrder(rendered.containers.map(member))) {
      await Promise.all(
        group.map(async (m) => {
          const c = byName.get(m.name)!;
          progress({ step: 'container', action: 'create', container: c.name, message: `creating ${c.name}` });
          const container = await this.docker.createContainer(
            this.createOptions(labId, networkName, c, rendered.containers, ids),
          );
          ids.set(c.name, container.id);
          const archive = await containerArchive(c, rendered.files);
          if (archive) await container.putArchive(archive, { path: '/' });
        }),
      );
    }
    return ids;
  }

  private createOptions(
    labId: string,
    networkName: string,
    c: ContainerView,
    all: ContainerView[],
    ids: Map<string, string>,
  ): Docker.ContainerCreateOptions {
    const labels = {
      [LABELS.lab]: labId,
      [LABELS.node]: c.node,
      [LABELS.role]: c.role,
      [LABELS.container]: c.name,
      [LABELS.namespace]: c.namespace,
      [LABELS.publish]: JSON.stringify(c.publish),
      [LABELS.dependsOn]: JSON.stringify(c.dependsOn),
      ...(c.readiness ? { [LABELS.readiness]: JSON.stringify(c.readiness) } : {}),
    };
    const base: Docker.ContainerCreateOptions = {
      name: resourceName(labId, c.name),
      Image: c.image,
      ...(c.command ? { Cmd: c.command } : {}),
      Env: Object.entries(c.env).map(([k, v]) => `${k}=${v}`),
      Labels: labels,
    };
    if (!c.network.owner) {
      return { ...base, HostConfig: { NetworkMode: `container:${ids.get(c.network.joins)}` } };
    }
    // The namespace's ports are published on its owner, the only container with its own network settings.
    const mates = all.filter((x) => x.namespace === c.namespace);
    const bindings: Record<string, { HostIp: string; HostPort: string }[]> = {};
    for (const p of mates.flatMap((x) => x.publish))
      bindings[`${p.port}/${p.protocol}`] = [{ HostIp: '127.0.0.1', HostPort: '' }];
    for (const h of mates.flatMap((x) => x.hostPorts)) {
      const key = `${h.container}/${h.protocol}`;
      bindings[key] = [...(bindings[key] ?? []), { HostIp: '127.0.0.1', HostPort: String(h.host) }];
    }
    return {
      ...base,
      ...(c.hostname ? { Hostname: c.hostname } : {}),
      ExposedPorts: Object.fromEntries(Object.keys(bindings).map((k) => [k, {}])),
      HostConfig: { NetworkMode: networkName, PortBindings: bindings },
      NetworkingConfig: {
        EndpointsConfig: {
          [networkName]: {
            ...(c.network.ip ? { IPAMConfig: { IPv4Address: c.network.ip } } : {}),
            // The lab's own container name resolves too, as it does in a compose project.
            Aliases: [c.name, ...c.network.aliases],
          },
        },
      },
    };
  }

  /** Starts each container once those it depends on are ready (see waves.ts); resolves when all are ready. */
  private async startInWaves(
    labId: string,
    items: { name: string; id: string; dependsOn: string[]; readiness?: ReadinessView }[],
    deaths: Promise<never>,
    progress: OnProgress,
  ): Promise<void> {
    await startAsReady(items, async (c, cancelled) => {
      progress({ step: 'container', action: 'start', container: c.name, message: `starting ${c.name}` });
      await this.docker
        .getContainer(c.id)
        .start()
        .catch((err) => {
          // 304: already running.
          if ((err as { statusCode?: number }).statusCode !== 304) throw this.startError(c.name, err);
        });
      const status = (await this.status(labId))!;
      await this.waitReady(labId, status.containers, [c], Promise.race([deaths, cancelled]), progress);
    });
  }

  private startError(container: string, err: unknown): Error {
    const message = (err as Error).message;
    const port =
      /(?:Bind for [\d.]+:(\d+) failed|listen tcp4? [\d.]+:(\d+): bind: address already in use)/.exec(
        message,
      );
    if (port) {
      const p = port[1] ?? port[2];
      return new RuntimeError(
        'PORT_IN_USE',
        `${container} could not publish host port ${p}: it is already in use`,
        `stop what listens on ${p}, or remove that host port from the lab`,
        { cause: err },
      );
    }
    return err as Error;
  }

  /** Rejects as soon as a container of the lab exits, with its last log lines. */
  private async watchDeaths(labId: string): Promise<{ failure: Promise<never>; close(): void }> {
    const stream = (await this.docker.getEvents({
      filters: { type: ['container'], event: ['die'], label: [`${LABELS.lab}=${labId}`] },
    })) as unknown as Readable;
    let closed = false;
    const failure = new Promise<never>((_, reject) => {
      (async () => {
        for await (const line of linesOf(stream.setEncoding('utf8'))) {
          if (!line.trim()) continue;
          const event = JSON.parse(line) as { id: string; Actor?: { Attributes?: Record<string, string> } };
          const attrs = event.Actor?.Attributes ?? {};
          const name = attrs[LABELS.container] ?? event.id.slice(0, 12);
          reject(
            new RuntimeError(
              'EXITED',
              `${name} exited with code ${attrs.exitCode ?? '?'} while lab '${labId}' was coming up`,
              'its last log lines say why; fix the lab (or the program) and run up again',
              { logs: await this.logsOf(labId, [name]) },
            ),
          );
          return;
        }
      })().catch((err) => {
        if (!closed) reject(err);
      });
    });
    failure.catch(() => {});
    return {
      failure,
      close: () => {
        closed = true;
        stream.destroy();
      },
    };
  }

  private async waitReady(
    labId: string,
    statuses: ContainerStatus[],
    targets: { name: string; readiness?: ReadinessView }[],
    failure: Promise<never>,
    progress: OnProgress,
  ): Promise<void> {
    const probes = targets.flatMap((t) => {
      const s = statuses.find((x) => x.name === t.name);
      return t.readiness && s ? [dockerProbe(this.docker, s, t.readiness)] : [];
    });
    progress({
      step: 'ready',
      container: '',
      ready: false,
      message: `waiting for ${probes.map((p) => p.container).join(', ')} to be ready`,
    });
    await waitReady(probes, {
      timeoutMs: this.readyTimeoutMs,
      onProgress: progress,
      failure,
      logsOf: (names) => this.logsOf(labId, names),
    });
  }

  private async logsOf(labId: string, names: string[]): Promise<ContainerLogs[]> {
    const infos = await this.docker.listContainers({ all: true, filters: labFilter(labId) }).catch(() => []);
    return Promise.all(
      names.map(async (name) => {
        const info = infos.find((i) => i.Labels[LABELS.container] === name);
        if (!info) return { container: name, lines: [] };
        const buf = (await this.docker
          .getContainer(info.Id)
          .logs({ stdout: true, stderr: true, follow: false, tail: LOG_LINES_ON_FAILURE })
          .catch(() => Buffer.alloc(0))) as unknown as Buffer;
        let text = '';
        for await (const t of demuxFrames([buf])) text += t;
        return { container: name, lines: lastLines(text, LOG_LINES_ON_FAILURE) };
      }),
    );
  }
}

function member(c: ContainerView): LabMember {
  return { name: c.name, node: c.node, namespace: c.namespace, owner: c.network.owner };
}

function byName(a: { name: string }, b: { name: string }): number {
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}

function toLabContainer(info: Docker.ContainerInfo): LabContainer {
  const labels = info.Labels;
  const readiness = labels[LABELS.readiness];
  const exit = /^Exited \((\d+)\)/.exec(info.Status);
  const address = Object.values(info.NetworkSettings?.Networks ?? {})[0]?.IPAddress || undefined;
  return {
    id: info.Id,
    name: labels[LABELS.container]!,
    node: labels[LABELS.node]!,
    namespace: labels[LABELS.namespace]!,
    owner: !info.HostConfig.NetworkMode.startsWith('container:'),
    role: labels[LABELS.role] as ContainerRoleView,
    state: info.State as ContainerState,
    exitCode: exit ? Number(exit[1]) : undefined,
    publish: JSON.parse(labels[LABELS.publish] ?? '[]') as PublishView[],
    readiness: readiness ? (JSON.parse(readiness) as ReadinessView) : undefined,
    dependsOn: JSON.parse(labels[LABELS.dependsOn] ?? '[]') as string[],
    address,
  };
}

function engineUnavailableOr(docker: Docker, err: unknown): unknown {
  const code = (err as NodeJS.ErrnoException).code;
  return code === 'ENOENT' || code === 'ECONNREFUSED' || code === 'EACCES'
    ? engineUnavailable(docker, err)
    : err;
}
