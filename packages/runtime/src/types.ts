import type { ContainerRoleView, PortPurposeView } from './lab.js';

export type DriverKind = 'docker' | 'local';

/**
 * One step of `up`, `down` or a node action, for a progress view. `message` is the sentence to
 * show; the other fields let a UI group events (per container, per step).
 */
export type ProgressEvent =
  | { step: 'driver'; driver: DriverKind; message: string }
  | { step: 'image'; phase: 'check' | 'build' | 'ready'; message: string }
  | { step: 'allocate'; message: string }
  | { step: 'network'; message: string }
  | { step: 'files'; message: string }
  | { step: 'container'; action: 'create' | 'start' | 'stop' | 'remove'; container: string; message: string }
  | { step: 'ready'; container: string; ready: boolean; message: string }
  | { step: 'rollback'; message: string }
  | { step: 'done'; message: string; ms: number };

export type OnProgress = (event: ProgressEvent) => void;

/** A port of the lab reachable from the machine the runtime runs on. */
export interface PublishedPort {
  purpose: PortPurposeView;
  /** Listener name, `admin` or `app`. */
  name: string;
  protocol: 'tcp' | 'udp';
  /** The port inside the lab (the container's port; locally the allocated port). */
  port: number;
  /** Where to connect from this machine: a loopback address and port. */
  host: string;
  hostPort: number;
}

export type ContainerState = 'running' | 'exited' | 'created' | 'restarting' | 'paused' | 'missing';

export interface ContainerStatus {
  /** The container's name in the lab (e.g. `webserver01-sidecar`). */
  name: string;
  node: string;
  namespace: string;
  role: ContainerRoleView;
  state: ContainerState;
  /** Docker container id, or the local process id. */
  id: string;
  /** The namespace's address on the lab's network (docker: the container IP; local: its loopback address). */
  address?: string;
  ports: PublishedPort[];
  /** Exit code when it has exited. */
  exitCode?: number;
}

export interface LabStatus {
  labId: string;
  driver: DriverKind;
  /** `running` when every container runs; `degraded` when some are stopped; `stopped` when none run. */
  state: 'running' | 'degraded' | 'stopped';
  network: { name: string; subnet?: string };
  containers: ContainerStatus[];
  /** The progress messages that explain choices made during `up` (another subnet, a rebuilt image). */
  notes: string[];
}

export interface LabSummary {
  labId: string;
  driver: DriverKind;
  state: LabStatus['state'];
  containers: number;
}

export interface LogLine {
  container: string;
  text: string;
}

export interface LogsOptions {
  follow?: boolean;
  /** Lines from the end to start with (default: all). */
  tail?: number;
  /** Ends a followed stream. */
  signal?: AbortSignal;
}

export interface DownResult {
  labId: string;
  driver: DriverKind;
  /** What was removed: containers/processes, networks, volumes, files. */
  removed: { containers: number; networks: number; volumes: number };
}
