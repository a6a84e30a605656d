/**
 * The console's state and services, shared by the API, the WebSocket subscriptions and the
 * CLI: the workspace, the runtime, lifecycle operations, the stats collector and the load
 * generators. It holds no lab state of its own beyond what is in flight: what runs is always
 * read from the runtime, so a restarted console picks up where the last one left.
 */
import {
  type DriverChoice,
  type LabStatus,
  Runtime,
  RuntimeError,
  type RuntimeOptions,
} from '@meshcraft/runtime';
import type { Lab } from '@meshcraft/topology';
import { ConsoleError } from './errors.js';
import { Operations } from './lifecycle/operations.js';
import { LiveConfig, type LiveEdit } from './live/config.js';
import { LoadGenerators } from './loadgen/registry.js';
import { Collector } from './stats/collector.js';
import { type SaveResult, Workspace } from './workspace/store.js';

export interface ConsoleOptions {
  workspaceDir: string;
  /** Default: the repository's `labs/`. */
  libraryDir?: string;
  /** The driver `up` uses when the caller names none (default `auto`). */
  driver?: DriverChoice;
  runtime?: RuntimeOptions;
  /**
   * Bring labs up with their proxies served by the console's control plane, so that saving a
   * running lab changes it while it runs. Only for a console that keeps running (`serve`): the
   * proxies keep what they have when it stops, but a one-shot command's control plane is gone
   * the moment its process ends.
   */
  liveEdits?: boolean;
}

export interface SaveOutcome extends SaveResult {
  /** When the lab is up: what became of the saved version in the running lab. */
  live: LiveEdit | null;
}

export class ConsoleApp {
  readonly workspace: Workspace;
  readonly runtime: Runtime;
  readonly operations: Operations;
  readonly collector: Collector;
  readonly loadgens = new LoadGenerators();
  readonly live: LiveConfig;
  readonly defaultDriver: DriverChoice;
  private readonly liveEdits: boolean;

  constructor(options: ConsoleOptions) {
    this.workspace = new Workspace(options.workspaceDir, options.libraryDir);
    this.runtime = new Runtime(options.runtime);
    this.collector = new Collector(this.runtime);
    this.operations = new Operations((labId) => this.collector.invalidate(labId));
    this.live = new LiveConfig(this.runtime, (labId) => this.operations.running(labId)?.kind);
    this.liveEdits = options.liveEdits ?? false;
    this.defaultDriver = options.driver ?? 'auto';
  }

  async up(lab: Lab, driver: DriverChoice = this.defaultDriver): Promise<LabStatus> {
    const labId = lab.metadata.name;
    const controlPlane = this.liveEdits ? this.live.hook() : undefined;
    const status = await this.operations.run(labId, 'up', undefined, (onProgress) =>
      this.runtime.up(lab, { driver, onProgress, controlPlane }).catch((err: unknown) => {
        // LAB_RUNNING: what runs came up before, and stays served.
        if (!(err instanceof RuntimeError && err.code === 'LAB_RUNNING')) this.live.release(labId);
        throw err;
      }),
    );
    return status!;
  }

  /** Saves a lab to the workspace and, when it is up, applies it to the running lab (see LiveConfig). */
  async save(value: unknown, options: { baseRevision?: string; overwrite?: boolean }): Promise<SaveOutcome> {
    const saved = await this.workspace.save(value, options);
    const lab = await this.workspace.lab({ name: saved.name, source: 'workspace' });
    return { ...saved, live: await this.live.apply(saved.name, lab) };
  }

  async down(labId: string): Promise<void> {
    await this.loadgens.stopLab(labId);
    await this.operations.run(labId, 'down', undefined, async (onProgress) => {
      await this.runtime.down(labId, { onProgress });
      this.live.release(labId);
      return null;
    });
  }

  async nodeAction(labId: string, target: string, action: 'stop' | 'start' | 'restart'): Promise<LabStatus> {
    const status = await this.operations.run(labId, action, target, (onProgress) => {
      const options = { onProgress };
      if (action === 'stop') return this.runtime.stopNode(labId, target, options);
      if (action === 'start') return this.runtime.startNode(labId, target, options);
      return this.runtime.restartNode(labId, target, options);
    });
    return status!;
  }

  /** The lab's status; a ConsoleError when it is not up. */
  async runningStatus(labId: string): Promise<LabStatus> {
    const status = await this.runtime.status(labId);
    if (!status) {
      throw new ConsoleError(
        'LAB_STATE',
        `lab '${labId}' is not up`,
        `bring it up first: meshcraft up ${labId}`,
      );
    }
    return status;
  }

  /** Refuses when the lab runs: renaming or deleting it would orphan what runs under its name. */
  async mustBeDown(labId: string, doing: string): Promise<void> {
    if (this.operations.running(labId) || (await this.runtime.status(labId))) {
      throw new ConsoleError(
        'LAB_STATE',
        `cannot ${doing} lab '${labId}' while it is up`,
        `bring it down first: meshcraft down ${labId}`,
      );
    }
  }

  async close(): Promise<void> {
    this.collector.close();
    await this.loadgens.close();
    await this.live.close();
  }
}
