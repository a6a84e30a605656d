export { DockerDriver, type DockerDriverOptions } from './docker/driver.js';
export { dockerClient, type EngineOptions, pingEngine } from './docker/engine.js';
export { LABELS } from './docker/labels.js';
export { dockerProbe } from './docker/probes.js';
export type { ControlPlaneHook, Deployment, Driver, LabJob, NodeAction } from './driver.js';
export type { RestartReason } from './edit.js';
export { type ContainerLogs, RuntimeError, type RuntimeErrorCode } from './errors.js';
export { type EnsureImageOptions, ensureImage, type ImageResult, RUNTIME_IMAGE } from './image/build.js';
export type { ImageFlavour } from './image/context.js';
export type * from './lab.js';
export { LocalDriver, type LocalDriverOptions } from './local/driver.js';
export { httpReady, type Probe, tcpReady, type WaitOptions, waitReady } from './readiness.js';
export {
  type ActionOptions,
  type DriverChoice,
  type EditPlan,
  type LabDeployment,
  Runtime,
  type RuntimeOptions,
  type UpOptions,
} from './runtime.js';
export { topologyJob } from './topology-job.js';
export type * from './types.js';
