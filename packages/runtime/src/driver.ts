/**
 * What every driver does. The runtime (`runtime.ts`) picks a driver and hands it a `LabJob`: the
 * lab's layout and the topology steps that turn an address plan into containers and files.
 */
import type { AddressPlanView, LayoutView, RenderedView } from './lab.js';
import type {
  DownResult,
  DriverKind,
  LabStatus,
  LabSummary,
  LogLine,
  LogsOptions,
  OnProgress,
} from './types.js';

export interface LabJob {
  id: string;
  layout: LayoutView;
  dockerPlan(options: { subnet?: string; networkName: string }): AddressPlanView;
  localPlan(options: { block: string; ports: Record<number, number>; fileRoot: string }): AddressPlanView;
  loopbackBlockFor(subnet: string | undefined): string;
  render(plan: AddressPlanView): RenderedView;
}

export type NodeAction = 'stop' | 'start' | 'restart';

export interface Driver {
  readonly kind: DriverKind;
  /** Resolves when the driver can run labs here; otherwise throws a RuntimeError saying why. */
  available(): Promise<void>;
  /** Creates and starts everything, and resolves when all is ready; on failure, removes what it created. */
  up(job: LabJob, onProgress: OnProgress): Promise<LabStatus>;
  /** Removes everything of the lab, including what an earlier process created. Resolves with counts (zero: nothing there). */
  down(labId: string, onProgress: OnProgress): Promise<DownResult>;
  status(labId: string): Promise<LabStatus | undefined>;
  list(): Promise<LabSummary[]>;
  /**
   * Acts on the containers `target` names: a node id (all its containers and replicas), a
   * namespace id or a container name. Stopping a namespace's owner stops the containers that share
   * its network namespace too, and starting it starts them again. Resolves when started ones are ready.
   */
  nodeAction(labId: string, target: string, action: NodeAction, onProgress: OnProgress): Promise<LabStatus>;
  logs(labId: string, target: string | undefined, options: LogsOptions): AsyncIterable<LogLine>;
}
