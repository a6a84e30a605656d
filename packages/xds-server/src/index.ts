/**
 * @meshcraft/xds-server: an xDS control plane for meshcraft-proxy and Envoy. Start one with
 * `ControlPlane.start()`, give each node its resources with `setSnapshot()`; `serveCourseFile()`
 * feeds it from the course's control-plane YAML instead.
 */
/** What `setSnapshot` and `checkResources` throw for a resource Envoy would refuse, naming the field. */
export { ConfigError, type ConfigSource } from '@meshcraft/proxy';
export {
  ControlPlane,
  type ControlPlaneEvents,
  type ControlPlaneOptions,
  checkResources,
  RejectedError,
  type SetSnapshotOptions,
} from './control-plane.js';
export { CourseConfigError, type CourseConfigOptions, courseResources } from './course-config.js';
export { type CourseFileOptions, serveCourseFile } from './course-file.js';
export type { AckEvent, NackEvent, NodeStatus, PushEvent, TypeStatus } from './discovery.js';
export type { Resources } from './snapshot.js';
