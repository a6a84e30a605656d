/**
 * The local driver, the embedded default when no Docker engine answers: every container of a
 * lab is a child process (meshcraft-proxy, meshcraft-demoapp) bound to its namespace's loopback
 * address and the lab's allocated ports; STRICT_DNS names resolve through the hosts file the
 * renderer writes for each proxy. Each process leads its own process group, so `down` kills whole
 * trees; everything about a lab is kept under the state directory, so a restarted console adopts
 * its labs and `down` still cleans them.
 */
import { mkdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { mergeAsync } from '../async.js';
import type { ControlPlaneHook, Deployment, Driver, LabJob, NodeAction } from '../driver.js';
import { type ContainerLogs, RuntimeError } from '../errors.js';
import { gatewayOf } from '../gateway.js';
import type { ContainerView, RenderedView } from '../lab.js';
import { programNamed, programScript } from '../programs.js';
import { httpReady, type Probe, tcpReady, waitReady } from '../readiness.js';
import { selectMembers, startOrder, withNamespaceMates } from '../targets.js';
import type {
  ContainerStatus,
  DownResult,
  LabStatus,
  LabSummary,
  LogLine,
  LogsOptions,
  OnProgress,
} from '../types.js';
import { startAsReady } from '../waves.js';
import { allocatePorts, chooseLoopbackBlock } from './allocate.js';
import { lastLogLines, logFileLines } from './logfile.js';
import { CONTAINER_ENV, killTree, LAB_ENV, labProcesses, processAlive, spawnProcess } from './processes.js';
import { type LocalLab, type LocalProcess, StateStore, stateDirNamed } from './state.js';

export interface LocalDriverOptions {
  /** Where labs' state, files and logs live; default $XDG_STATE_HOME/meshcraft/local-labs. */
  stateDir?: string;
  readyTimeoutMs?: number;
  /** How long `stop` waits after SIGTERM before SIGKILL. */
  stopGraceMs?: number;
}

const LOG_LINES_ON_FAILURE = 30;

export class LocalDriver implements Driver {
  readonly kind = 'local' as const;
  readonly livePublish = true;
  readonly store: StateStore;
  private readonly readyTimeoutMs: number;
  private readonly stopGraceMs: number;
  /** Per lab: the tail of a chain of state changes, so concurrent actions on one lab do not interleave. */
  private readonly locks = new Map<string, Promise<unknown>>();

  constructor(options: LocalDriverOptions = {}) {
    this.store = new StateStore(options.stateDir ?? stateDirNamed('local-labs'));
    this.readyTimeoutMs = options.readyTimeoutMs ?? 30_000;
    this.stopGraceMs = options.stopGraceMs ?? 3000;
  }

  async available(): Promise<void> {}

  up(job: LabJob, progress: OnProgress, controlPlane?: ControlPlaneHook): Promise<LabStatus> {
    return this.locked(job.id, async () => {
      if (await this.holds(job.id)) {
        throw new RuntimeError(
          'LAB_RUNNING',
          `lab '${job.id}' is already up on the local driver`,
          `bring it down first: meshcraft down ${job.id}`,
        );
      }
      const notes: string[] = [];
      const block = await this.allocateBlock(job, notes, progress);
      const fileRoot = this.store.filesDir(job.id);
      // Addresses depend only on the block; a first plan with the lab's own port numbers tells them.
      const identity = Object.fromEntries(job.layout.ports.map((p) => [p, p]));
      const addresses = [
        ...new Set(Object.values(job.localPlan({ block, ports: identity, fileRoot }).addresses)),
      ];
      const ports = await allocatePorts(job.layout.ports, addresses);
      progress({
        step: 'allocate',
        message: `${job.id} runs on ${block}; ports ${Object.entries(ports)
          .map(([l, h]) => `${l}→${h}`)
          .join(', ')}`,
      });
      const plan = job.localPlan({ block, ports, fileRoot });
      const xds = controlPlane && {
        host: gatewayOf(block),
        port: await controlPlane.listen(job.id, gatewayOf(block)),
      };
      const rendered = job.render(plan, { xds });
      const processes = rendered.containers.map((c) =>
        this.processOf(job.id, c, plan.addresses[c.namespace]!),
      );
      const lab: LocalLab = {
        labId: job.id,
        network: { name: plan.network.name, subnet: block },
        ports,
        notes,
        processes,
        document: job.document,
        ...(xds ? { controlPlane: xds } : {}),
      };
      await this.store.write(lab);
      try {
        await controlPlane?.serve(job.id, rendered);
        progress({
          step: 'files',
          message: `writing ${Object.keys(rendered.files).length} files to ${fileRoot}`,
        });
        for (const [rel, content] of Object.entries(rendered.files)) {
          const file = path.join(fileRoot, rel);
          await mkdir(path.dirname(file), { recursive: true });
          await writeFile(file, content);
        }
        await this.startProcesses(lab, processes, progress);
      } catch (err) {
        progress({ step: 'rollback', message: `stopping and removing what was started for ${job.id}` });
        await this.removeLab(job.id, () => {});
        throw err;
      }
      return this.statusOf(lab);
    });
  }

  down(labId: string, progress: OnProgress): Promise<DownResult> {
    return this.locked(labId, () => this.removeLab(labId, progress));
  }

  /** Whether anything of the lab is here: its state directory, or processes carrying its name. */
  async holds(labId: string): Promise<boolean> {
    return (await this.store.labIds()).includes(labId) || labProcesses(labId).length > 0;
  }

  async status(labId: string): Promise<LabStatus | undefined> {
    const lab = await this.store.read(labId);
    return lab ? this.statusOf(lab) : undefined;
  }

  async list(): Promise<LabSummary[]> {
    const out: LabSummary[] = [];
    for (const labId of await this.store.labIds()) {
      const status = await this.status(labId);
      out.push({
        labId,
        driver: 'local',
        state: status?.state ?? 'stopped',
        containers: status?.containers.length ?? 0,
      });
    }
    return out;
  }

  nodeAction(labId: string, target: string, action: NodeAction, progress: OnProgress): Promise<LabStatus> {
    return this.locked(labId, async () => {
      const lab = await this.mustRead(labId);
      const affected = withNamespaceMates(lab.processes, selectMembers(labId, lab.processes, target));
      if (action !== 'start') {
        for (const group of [...startOrder(affected)].reverse()) {
          await Promise.all(
            group.map(async (p) => {
              progress({
                step: 'container',
                action: 'stop',
                container: p.name,
                message: `stopping ${p.name}`,
              });
              if (p.pid !== undefined) await killTree(p.pid, p.startTime, this.stopGraceMs);
              p.pid = undefined;
              p.startTime = undefined;
            }),
          );
        }
        await this.store.write(lab);
      }
      if (action !== 'stop') {
        await this.startProcesses(
          lab,
          affected.filter((p) => p.pid === undefined || !processAlive(p.pid, p.startTime)),
          progress,
        );
      }
      return this.statusOf(lab);
    });
  }

  async deployment(labId: string): Promise<Deployment | undefined> {
    const lab = await this.store.read(labId);
    if (lab?.document === undefined) return undefined;
    const fileRoot = this.store.filesDir(labId);
    return {
      document: lab.document,
      controlPlane: lab.controlPlane,
      plan: (job) => job.localPlan({ block: lab.network.subnet, ports: lab.ports, fileRoot }),
    };
  }

  recordEdit(labId: string, document: unknown, rendered: RenderedView): Promise<void> {
    return this.locked(labId, async () => {
      const lab = await this.mustRead(labId);
      lab.document = document;
      // A listener added on a port the lab already maps is reached like the others: status lists it.
      for (const p of lab.processes) {
        const c = rendered.containers.find((x) => x.name === p.name);
        if (c) p.publish = c.publish;
      }
      await this.store.write(lab);
    });
  }

  async *logs(labId: string, target: string | undefined, options: LogsOptions): AsyncIterable<LogLine> {
    const lab = await this.mustRead(labId);
    const chosen = selectMembers(labId, lab.processes, target);
    // Followed files are polled until this signal aborts: when the caller's does, or when the caller stops reading.
    const stop = new AbortController();
    const signal = options.signal ? AbortSignal.any([options.signal, stop.signal]) : stop.signal;
    try {
      yield* mergeAsync(
        chosen.map((p) =>
          (async function* (file: string) {
            for await (const text of logFileLines(file, { ...options, signal }))
              yield { container: p.name, text };
          })(this.store.logFile(labId, p.name)),
        ),
      );
    } finally {
      stop.abort();
    }
  }

  // -------------------------------------------------------------------------------------------

  private async locked<T>(labId: string, fn: () => Promise<T>): Promise<T> {
    const before = this.locks.get(labId) ?? Promise.resolve();
    const run = before.then(fn, fn);
    const tail = run.catch(() => {});
    this.locks.set(labId, tail);
    try {
      return await run;
    } finally {
      if (this.locks.get(labId) === tail) this.locks.delete(labId);
    }
  }

  private async mustRead(labId: string): Promise<LocalLab> {
    const lab = await this.store.read(labId);
    if (!lab)
      throw new RuntimeError(
        'LAB_NOT_FOUND',
        `lab '${labId}' is not up on the local driver`,
        'see the labs that are: meshcraft ls',
      );
    return lab;
  }

  private async allocateBlock(job: LabJob, notes: string[], progress: OnProgress): Promise<string> {
    const wanted = job.loopbackBlockFor(job.layout.network.subnet);
    const taken: { block: string; labId: string }[] = [];
    for (const id of await this.store.labIds()) {
      const other = await this.store.read(id);
      if (other) taken.push({ block: other.network.subnet, labId: id });
    }
    const block = chooseLoopbackBlock(
      wanted,
      taken.map((t) => t.block),
    );
    if (block !== wanted) {
      const by = taken.find((t) => t.block === wanted)?.labId;
      const note = `loopback block ${wanted} is used by ${by ? `lab '${by}'` : 'another lab'}; this lab runs on ${block} instead`;
      notes.push(note);
      progress({ step: 'allocate', message: note });
    }
    return block;
  }

  private processOf(labId: string, c: ContainerView, address: string): LocalProcess {
    if (c.external) {
      throw new RuntimeError(
        'UNSUPPORTED',
        `${c.name} runs image ${c.image}, which the local driver cannot run: ${c.external.why}`,
        'run this lab on Docker (--driver docker), or replace the node with a demoapp',
      );
    }
    const [program, ...args] = c.command ?? [];
    let argv: string[];
    if (program === 'node') argv = [process.execPath, ...args];
    else {
      const known = program ? programNamed(program) : undefined;
      if (!known) {
        throw new RuntimeError(
          'UNSUPPORTED',
          `${c.name} runs '${program ?? '(the image default)'}', which the local driver has no program for`,
          'run this lab on Docker (--driver docker)',
        );
      }
      argv = [process.execPath, programScript(known), ...args];
    }
    const owner = c.network.owner;
    return {
      name: c.name,
      node: c.node,
      namespace: c.namespace,
      role: c.role,
      owner,
      argv,
      // Only what the program needs: the console's own environment (NODE_OPTIONS, tokens) stays out.
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...c.env, [LAB_ENV]: labId, [CONTAINER_ENV]: c.name },
      address,
      publish: c.publish,
      readiness: c.readiness,
      dependsOn: c.dependsOn,
    };
  }

  /** Starts each process once those it depends on are ready (see waves.ts); rejects when one exits first. */
  private async startProcesses(
    lab: LocalLab,
    processes: LocalProcess[],
    progress: OnProgress,
  ): Promise<void> {
    let settled = false;
    let fail: (err: Error) => void = () => {};
    const exited = new Promise<never>((_, reject) => {
      fail = reject;
    });
    exited.catch(() => {});
    try {
      await startAsReady(processes, async (p, cancelled) => {
        progress({ step: 'container', action: 'start', container: p.name, message: `starting ${p.name}` });
        const s = spawnProcess({
          argv: p.argv,
          env: p.env,
          cwd: this.store.filesDir(lab.labId),
          logFile: this.store.logFile(lab.labId, p.name),
        });
        p.pid = s.pid;
        p.startTime = s.startTime;
        p.exit = undefined;
        await this.store.write(lab);
        s.exited.then(async (exit) => {
          if (settled) return;
          p.exit = exit;
          fail(
            new RuntimeError(
              'EXITED',
              `${p.name} exited with ${exit.signal ? `signal ${exit.signal}` : `code ${exit.code}`} while lab '${lab.labId}' was coming up`,
              'its last log lines say why; fix the lab (or the program) and run up again',
              { logs: await this.logsOf(lab.labId, [p.name]) },
            ),
          );
        });
        if (!p.readiness) return;
        await waitReady([probe(p)], {
          timeoutMs: this.readyTimeoutMs,
          onProgress: progress,
          failure: Promise.race([exited, cancelled]),
          logsOf: (names) => this.logsOf(lab.labId, names),
        });
      });
    } finally {
      settled = true;
    }
  }

  private async removeLab(labId: string, progress: OnProgress): Promise<DownResult> {
    const lab = await this.store.read(labId);
    const known = lab?.processes.filter((p) => p.pid !== undefined) ?? [];
    await Promise.all(
      known.map(async (p) => {
        progress({ step: 'container', action: 'remove', container: p.name, message: `stopping ${p.name}` });
        await killTree(p.pid!, p.startTime, 0);
      }),
    );
    // Processes the state does not know (a console killed between spawn and write): found by their environment.
    const strays = labProcesses(labId);
    await Promise.all(strays.map((pid) => killTree(pid, undefined, 0)));
    const existed = (await this.store.labIds()).includes(labId);
    await rm(this.store.labDir(labId), { recursive: true, force: true });
    return {
      labId,
      driver: 'local',
      removed: {
        containers: existed || strays.length ? (lab?.processes.length ?? strays.length) : 0,
        networks: 0,
        volumes: 0,
      },
    };
  }

  private statusOf(lab: LocalLab): LabStatus {
    const containers: ContainerStatus[] = lab.processes.map((p) => {
      const running = p.pid !== undefined && processAlive(p.pid, p.startTime);
      return {
        name: p.name,
        node: p.node,
        namespace: p.namespace,
        role: p.role,
        state: running ? 'running' : 'exited',
        id: p.pid !== undefined ? String(p.pid) : '',
        address: p.address,
        ...(p.exit?.code != null ? { exitCode: p.exit.code } : {}),
        ports: p.publish.map((x) => ({ ...x, host: p.address, hostPort: x.port })),
      };
    });
    const running = containers.filter((c) => c.state === 'running').length;
    return {
      labId: lab.labId,
      driver: 'local',
      state:
        running === containers.length && running > 0 ? 'running' : running === 0 ? 'stopped' : 'degraded',
      network: lab.network,
      containers,
      notes: lab.notes,
    };
  }

  private async logsOf(labId: string, names: string[]): Promise<ContainerLogs[]> {
    return Promise.all(
      names.map(async (name) => ({
        container: name,
        lines: await lastLogLines(this.store.logFile(labId, name), LOG_LINES_ON_FAILURE),
      })),
    );
  }
}

function probe(p: LocalProcess): Probe {
  const r = p.readiness!;
  const host = r.address ?? p.address;
  return r.kind === 'http'
    ? {
        container: p.name,
        what: `GET ${r.path} on ${host}:${r.port}`,
        check: () => httpReady(host, r.port, r.path),
      }
    : { container: p.name, what: `TCP ${host}:${r.port}`, check: () => tcpReady(host, r.port) };
}
