/**
 * What every driver does. The runtime (`runtime.ts`) picks a driver and hands it a `LabJob`: the
 * lab's layout and the topology steps that turn an address plan into containers and files.
 */
import type { AddressPlanView, ControlPlaneAddress, LayoutView, RenderedView } from './lab.js';
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
  /** The lab document (JSON), recorded with what runs so that an edit can be compared with it. */
  document: unknown;
  layout: LayoutView;
  dockerPlan(options: { subnet?: string; networkName: string }): AddressPlanView;
  localPlan(options: { block: string; ports: Record<number, number>; fileRoot: string }): AddressPlanView;
  loopbackBlockFor(subnet: string | undefined): string;
  /** With `xds`, proxies take their configuration from the console's control plane there. */
  render(plan: AddressPlanView, options?: { xds?: ControlPlaneAddress }): RenderedView;
}

/**
 * How `up` hands a lab's proxies to the console's control plane: once the lab's network exists,
 * the control plane listens on this machine's address there; once rendered, and before any
 * container starts, it is given each proxy's resources, so proxies find their configuration the
 * moment they connect.
 */
export interface ControlPlaneHook {
  /** Listen on `host` (this machine's address on the lab's network) and resolve with the port. */
  listen(labId: string, host: string): Promise<number>;
  serve(labId: string, rendered: RenderedView): Promise<void>;
}

/** What a running lab runs, as the driver recorded it at `up` and at each edit since. */
export interface Deployment {
  /** The lab document last brought up or edited into the running lab. */
  document: unknown;
  /** Where its proxies reach the console's control plane, when it serves them. */
  controlPlane?: ControlPlaneAddress;
  /** The running lab's address plan (its addresses, ports and files), for a job of this document or an edited one. */
  plan(job: LabJob): AddressPlanView;
}

export type NodeAction = 'stop' | 'start' | 'restart';

export interface Driver {
  readonly kind: DriverKind;
  /** Resolves when the driver can run labs here; otherwise throws a RuntimeError saying why. */
  available(): Promise<void>;
  /** Creates and starts everything, and resolves when all is ready; on failure, removes what it created. */
  up(job: LabJob, onProgress: OnProgress, controlPlane?: ControlPlaneHook): Promise<LabStatus>;
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
  /** What the lab runs, if it is up and was brought up with a record of it. */
  deployment(labId: string): Promise<Deployment | undefined>;
  /** Records `document`, rendered as `rendered` for the lab's plan, as what the running lab now runs. */
  recordEdit(labId: string, document: unknown, rendered: RenderedView): Promise<void>;
  /**
   * Whether a container's published ports can change without recreating it: Docker publishes
   * them when it creates a container; locally they are only what the console knows of it.
   */
  readonly livePublish: boolean;
}
