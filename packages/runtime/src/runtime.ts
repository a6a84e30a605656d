/**
 * The lab runtime: `up`, `down`, `status`, `logs`, node actions and `list` over the docker and
 * local drivers. It keeps no state of its own — each driver reads what runs from the engine or
 * from its state directory — so any number of Runtime instances, in any process, agree on it.
 */
import { type Lab, PlanError, pkiRequest } from '@meshcraft/topology';
import type Docker from 'dockerode';
import { DockerDriver, type DockerDriverOptions } from './docker/driver.js';
import { dockerClient, type EngineOptions, pingEngine } from './docker/engine.js';
import type { ControlPlaneHook, Driver, LabJob } from './driver.js';
import { type RestartReason, restartReasons } from './edit.js';
import { RuntimeError } from './errors.js';
import type { ControlPlaneAddress, RenderedView } from './lab.js';
import { LocalDriver, type LocalDriverOptions } from './local/driver.js';
import { LabPkiStore } from './pki.js';
import { topologyJob } from './topology-job.js';
import type {
  DownResult,
  DriverKind,
  LabStatus,
  LabSummary,
  LogLine,
  LogsOptions,
  OnProgress,
} from './types.js';

export type DriverChoice = DriverKind | 'auto';

export interface RuntimeOptions {
  docker?: DockerDriverOptions & EngineOptions & { client?: Docker };
  local?: LocalDriverOptions;
  /** Turns a lab document into a job for a driver; default: topology's rendering of a `Lab`. */
  prepare?: (lab: Lab) => LabJob;
  /** Where labs' generated certificates are kept; default $XDG_STATE_HOME/meshcraft/pki. */
  pkiDir?: string;
}

export interface UpOptions {
  driver?: DriverChoice;
  onProgress?: OnProgress;
  /** The console's control plane: the lab's proxies then take their configuration from it (see ControlPlaneHook). */
  controlPlane?: ControlPlaneHook;
}

/** What a running lab runs. */
export interface LabDeployment {
  labId: string;
  driver: DriverKind;
  /** The lab document brought up, or the last edit committed since. */
  lab: Lab;
  /** Where its proxies reach the console's control plane, when it serves them. */
  controlPlane?: ControlPlaneAddress;
  /** The lab rendered for its plan, as it runs. */
  rendered: RenderedView;
}

/** An edit of a running lab, worked out but not applied (see `Runtime.planEdit`). */
export interface EditPlan extends LabDeployment {
  /** The edited lab rendered for the running lab's plan; undefined when it does not fit that plan. */
  next?: RenderedView;
  /** Why the lab cannot take the edit without restarting containers; empty when it can. */
  restart: RestartReason[];
  /** Records the edited lab as what runs, once its proxies have taken it; refused while `restart` has reasons. */
  commit(): Promise<void>;
}

export interface ActionOptions {
  onProgress?: OnProgress;
}

const quiet: OnProgress = () => {};

export class Runtime {
  readonly docker: DockerDriver;
  readonly local: LocalDriver;
  private readonly prepare: (lab: Lab) => LabJob;
  private readonly pingTimeoutMs: number;
  private readonly pki: LabPkiStore;

  constructor(options: RuntimeOptions = {}) {
    const { client, socketPath, pingTimeoutMs, ...dockerOptions } = options.docker ?? {};
    this.docker = new DockerDriver(client ?? dockerClient({ socketPath }), dockerOptions);
    this.local = new LocalDriver(options.local);
    this.pki = new LabPkiStore(options.pkiDir);
    this.prepare = options.prepare ?? ((lab) => topologyJob(lab, this.pki));
    this.pingTimeoutMs = pingTimeoutMs ?? 1500;
  }

  /** Brings a lab up and resolves when every container is ready; on failure nothing of it is left. */
  async up(lab: Lab, options: UpOptions = {}): Promise<LabStatus> {
    const progress = options.onProgress ?? quiet;
    const started = performance.now();
    const job = this.prepare(lab);
    const driver = await this.pick(options.driver ?? 'auto', progress);
    const existing = await this.find(job.id);
    if (existing) {
      throw new RuntimeError(
        'LAB_RUNNING',
        `lab '${job.id}' is already up on the ${existing.kind} driver`,
        `bring it down first: meshcraft down ${job.id}`,
      );
    }
    await this.ensureCertificates(lab, progress);
    const status = await driver.up(job, progress, options.controlPlane);
    const ms = Math.round(performance.now() - started);
    progress({ step: 'done', ms, message: `lab '${job.id}' is up on ${driver.kind} (${ms} ms)` });
    return status;
  }

  async down(labId: string, options: ActionOptions = {}): Promise<DownResult> {
    const progress = options.onProgress ?? quiet;
    const started = performance.now();
    const driver = await this.find(labId);
    if (!driver)
      throw new RuntimeError(
        'LAB_NOT_FOUND',
        `lab '${labId}' is not up`,
        'see the labs that are: meshcraft ls',
      );
    const result = await driver.down(labId, progress);
    this.pki.remove(labId);
    const ms = Math.round(performance.now() - started);
    progress({ step: 'done', ms, message: `lab '${labId}' is down (${ms} ms)` });
    return result;
  }

  async status(labId: string): Promise<LabStatus | undefined> {
    return (await this.find(labId))?.status(labId);
  }

  /** Every lab that is up (or half up), on either driver. */
  async list(): Promise<LabSummary[]> {
    const local = await this.local.list();
    const docker = (await this.dockerAnswers()) ? await this.docker.list() : [];
    return [...docker, ...local];
  }

  logs(labId: string, node: string | undefined, options: LogsOptions = {}): AsyncIterable<LogLine> {
    const self = this;
    return (async function* () {
      yield* (await self.mustFind(labId)).logs(labId, node, options);
    })();
  }

  async stopNode(labId: string, node: string, options: ActionOptions = {}): Promise<LabStatus> {
    return (await this.mustFind(labId)).nodeAction(labId, node, 'stop', options.onProgress ?? quiet);
  }

  async startNode(labId: string, node: string, options: ActionOptions = {}): Promise<LabStatus> {
    return (await this.mustFind(labId)).nodeAction(labId, node, 'start', options.onProgress ?? quiet);
  }

  async restartNode(labId: string, node: string, options: ActionOptions = {}): Promise<LabStatus> {
    return (await this.mustFind(labId)).nodeAction(labId, node, 'restart', options.onProgress ?? quiet);
  }

  /** What a running lab runs; undefined when it is not up, or was brought up without a record of it. */
  async deployment(labId: string): Promise<LabDeployment | undefined> {
    const driver = await this.find(labId);
    const deployment = await driver?.deployment(labId);
    if (!driver || !deployment) return undefined;
    const lab = deployment.document as Lab;
    const job = this.prepare(lab);
    return {
      labId,
      driver: driver.kind,
      lab,
      controlPlane: deployment.controlPlane,
      rendered: job.render(deployment.plan(job), { xds: deployment.controlPlane }),
    };
  }

  /**
   * Works out whether the running lab can become `lab` without restarting anything: `lab`
   * rendered for the running lab's plan (its addresses, ports, control plane) against what runs.
   * Changes nothing until `commit()`. Throws LAB_NOT_FOUND when the lab is not up with a record
   * of what it runs.
   */
  async planEdit(labId: string, lab: Lab): Promise<EditPlan> {
    const driver = await this.mustFind(labId);
    const deployment = await driver.deployment(labId);
    if (!deployment) {
      throw new RuntimeError(
        'LAB_NOT_FOUND',
        `lab '${labId}' was brought up without a record of what it runs (by an older meshcraft)`,
        `bring it down and up again to change it while it runs: meshcraft down ${labId}`,
      );
    }
    const runningJob = this.prepare(deployment.document as Lab);
    const xds = deployment.controlPlane;
    const current = runningJob.render(deployment.plan(runningJob), { xds });
    const base = {
      labId,
      driver: driver.kind,
      lab: deployment.document as Lab,
      controlPlane: xds,
      rendered: current,
    };
    await this.ensureCertificates(lab, quiet);
    const job = this.prepare(lab);
    let next: RenderedView | undefined;
    let restart: RestartReason[];
    try {
      next = job.render(deployment.plan(job), { xds });
      restart = restartReasons(current, next, { livePublish: driver.livePublish });
    } catch (err) {
      if (!(err instanceof PlanError)) throw err;
      restart = [
        { message: `the edited lab does not fit the running lab's addresses and ports: ${err.message}` },
      ];
    }
    return {
      ...base,
      next,
      restart,
      commit: () =>
        next && restart.length === 0
          ? driver.recordEdit(labId, lab, next)
          : Promise.reject(new Error(`lab '${labId}' cannot take this edit while it runs`)),
    };
  }

  /** Generates the certificates a TLS lab asks for, once (see LabPkiStore). */
  private async ensureCertificates(lab: Lab, progress: OnProgress): Promise<void> {
    const request = pkiRequest(lab);
    if (!request) return;
    progress({
      step: 'files',
      message: `certificates for lab '${lab.metadata.name}' (CA and ${request.certificates.length} leaves)`,
    });
    await this.pki.ensure(lab.metadata.name, request);
  }

  /** The driver `choice` means here; `auto` is docker when an engine answers, local otherwise. */
  async pick(choice: DriverChoice, progress: OnProgress = quiet): Promise<Driver> {
    if (choice === 'local') {
      progress({
        step: 'driver',
        driver: 'local',
        message: 'using the local driver (child processes on loopback addresses)',
      });
      return this.local;
    }
    if (choice === 'docker') {
      await this.docker.available();
      progress({ step: 'driver', driver: 'docker', message: 'using the docker driver' });
      return this.docker;
    }
    try {
      await pingEngine(this.docker.docker, this.pingTimeoutMs);
      progress({
        step: 'driver',
        driver: 'docker',
        message: 'using the docker driver: a Docker engine answers',
      });
      return this.docker;
    } catch (err) {
      const why = err instanceof RuntimeError ? err.message.split('\n')[0] : String(err);
      progress({ step: 'driver', driver: 'local', message: `using the local driver: ${why}` });
      return this.local;
    }
  }

  private async dockerAnswers(): Promise<boolean> {
    return pingEngine(this.docker.docker, this.pingTimeoutMs).then(
      () => true,
      () => false,
    );
  }

  /** The driver a lab is up on, if any. */
  private async find(labId: string): Promise<Driver | undefined> {
    if (await this.local.holds(labId)) return this.local;
    if ((await this.dockerAnswers()) && (await this.docker.status(labId))) return this.docker;
    return undefined;
  }

  private async mustFind(labId: string): Promise<Driver> {
    const driver = await this.find(labId);
    if (!driver)
      throw new RuntimeError(
        'LAB_NOT_FOUND',
        `lab '${labId}' is not up`,
        'see the labs that are: meshcraft ls',
      );
    return driver;
  }
}
