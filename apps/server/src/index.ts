export type { RestartReason } from '@meshcraft/runtime';
export type { ActionResult, ProbeStates, RuntimeEntries } from './actions/admin.js';
export { ConsoleApp, type ConsoleOptions, type SaveOutcome } from './app.js';
export { EXIT } from './cli/exit-codes.js';
export { run } from './cli/main.js';
export { DEFAULT_HOST, DEFAULT_PORT, defaultWorkspaceDir } from './defaults.js';
export { ConsoleError, type ConsoleErrorCode, type ErrorDetails } from './errors.js';
export { Guard, type GuardOptions } from './http/guard.js';
export { MAX_BODY_BYTES, type RunningServer, type ServeOptions, startServer } from './http/server.js';
export type { ExportedZip, RenderPreview, Validation } from './labs/preview.js';
export type { LifecycleEvent, OperationInfo, OperationKind } from './lifecycle/operations.js';
export type { ResourceChange, ResourceKind } from './live/changes.js';
export type {
  ConfigEvent,
  LiveConfigStatus,
  LiveEdit,
  ProxyConfigStatus,
  ProxyEdit,
  ProxyOutcome,
  ProxyRef,
} from './live/config.js';
export type { HeaderVariation, LoadSettings, LoadSnapshot } from './loadgen/generator.js';
export { CLUSTERS_PATH, POLL_INTERVAL, STATS_PATH, type StatsMessage, WINDOW_MS } from './stats/collector.js';
export type { ClusterStats, EndpointStats, ListenerStats, ProxyStats, StatsFrame } from './stats/frames.js';
export type { AppRouter } from './trpc/router.js';
export type {
  ImportOutcome,
  ImportSource,
  LabDocument,
  LabEntry,
  LabRef,
  LabSource,
  SaveResult,
} from './workspace/store.js';
