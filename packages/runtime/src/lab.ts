/**
 * What the runtime needs from `@meshcraft/topology`, named here as the narrow shapes it reads.
 *
 * A lab runs in three steps: the lab's layout (namespaces, ports) → an address plan the driver
 * allocates for it (free subnet, loopback block and ports) → `render(lab, plan)`, whose containers
 * and files the driver then creates (see `LabJob` in driver.ts). These interfaces are structural
 * subsets of topology's `LabLayout`, `AddressPlan` and `RenderResult`, so topology's values
 * satisfy them as they are (`topology-job.ts` checks that at compile time).
 */

export interface LayoutView {
  network: { name: string; subnet?: string };
  namespaces: { id: string; ip?: string }[];
  /** Every distinct port the lab binds (what the local driver maps to free host ports). */
  ports: number[];
}

export interface AddressPlanView {
  driver: 'docker' | 'local';
  network: { name: string; subnet?: string };
  addresses: Record<string, string>;
  ports: Record<number, number>;
  hosts?: Record<string, string[]>;
  fileRoot?: string;
}

export interface MountView {
  /** Project-relative path; directories end with `/`. */
  source: string;
  target: string;
  directory: boolean;
}

export type ReadinessView =
  | { kind: 'http'; port: number; path: string; address?: string; insideNamespace: boolean }
  | { kind: 'tcp'; port: number; address?: string };

export type ContainerRoleView = 'proxy' | 'demoapp' | 'client' | 'xds' | 'image';
export type PortPurposeView = 'admin' | 'listener' | 'app' | 'xds';

export interface PublishView {
  port: number;
  protocol: 'tcp' | 'udp';
  purpose: PortPurposeView;
  name: string;
}

export interface ContainerView {
  name: string;
  node: string;
  replica: number;
  namespace: string;
  role: ContainerRoleView;
  image: string;
  /** Absent: the image's own command. Program names (`meshcraft-proxy`) are on the runtime image's PATH. */
  command?: string[];
  env: Record<string, string>;
  hostname?: string;
  network: { owner: true; ip?: string; aliases: string[] } | { owner: false; joins: string };
  mounts: MountView[];
  readiness?: ReadinessView;
  publish: PublishView[];
  hostPorts: { host: number; container: number; protocol: 'tcp' | 'udp' }[];
  /** Containers that must be ready before this one starts. */
  dependsOn: string[];
  external?: { image: string; why: string };
}

/** Where a lab's proxies reach the console's control plane: this machine's address on the lab's network. */
export interface ControlPlaneAddress {
  host: string;
  port: number;
}

/** Envoy v3 resources of each xDS type, as JSON (topology's `XdsResources`). */
export interface XdsResourcesView {
  listeners: Record<string, unknown>[];
  routes: Record<string, unknown>[];
  clusters: Record<string, unknown>[];
  endpoints: Record<string, unknown>[];
}

export interface RenderedProxyView {
  node: string;
  namespace: string;
  container: string;
  /** Project-relative path of its bootstrap. */
  file: string;
  /** When the console's control plane serves it: its node id there, and its resources. */
  xds?: { nodeId: string; resources: XdsResourcesView };
  /** When it keeps a configuration mechanism of its own although a control plane was given: why. */
  ownDelivery?: string;
}

export interface RenderedView {
  proxies: RenderedProxyView[];
  containers: ContainerView[];
  /** Every generated file of the project, by project-relative path. */
  files: Record<string, string>;
  /** The exported docker-compose.yaml (docker plans). */
  compose?: string;
}
