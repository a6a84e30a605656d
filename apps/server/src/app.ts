/**
 * The console's state and services, shared by the API, the WebSocket subscriptions and the
 * CLI: the workspace, the runtime, lifecycle operations, the stats collector and the load
 * generators. It holds no lab state of its own beyond what is in flight: what runs is always
 * read from the runtime, so a restarted console picks up where the last one left.
 */
import { type DriverChoice, type LabStatus, Runtime, type RuntimeOptions } from '@meshcraft/runtime';
import type { Lab } from '@meshcraft/topology';
import { ConsoleError } from './errors.js';
import { Operations } from './lifecycle/operations.js';
import { LoadGenerators } from './loadgen/registry.js';
import { Collector } from './stats/collector.js';
import { Workspace } from './workspace/store.js';

export interface ConsoleOptions {
  workspaceDir: string;
  /** Default: the repository's `labs/`. */
  libraryDir?: string;
  /** The driver `up` uses when the caller names none (default `auto`). */
  driver?: DriverChoice;
  runtime?: RuntimeOptions;
}

export class ConsoleApp {
  readonly workspace: Workspace;
  readonly runtime: Runtime;
  readonly operations: Operations;
  readonly collector: Collector;
  readonly loadgens = new LoadGenerators();
  readonly defaultDriver: DriverChoice;

  constructor(options: ConsoleOptions) {
    this.workspace = new Workspace(options.workspaceDir, options.libraryDir);
    this.runtime = new Runtime(options.runtime);
    this.collector = new Collector(this.runtime);
    this.operations = new Operations((labId) => this.collector.invalidate(labId));
    this.defaultDriver = options.driver ?? 'auto';
  }

  async up(lab: Lab, driver: DriverChoice = this.defaultDriver): Promise<LabStatus> {
    const status = await this.operations.run(lab.metadata.name, 'up', undefined, (onProgress) =>
      this.runtime.up(lab, { driver, onProgress }),
    );
    return status!;
  }

  async down(labId: string): Promise<void> {
    await this.loadgens.stopLab(labId);
    await this.operations.run(labId, 'down', undefined, async (onProgress) => {
      await this.runtime.down(labId, { onProgress });
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
  }
}
