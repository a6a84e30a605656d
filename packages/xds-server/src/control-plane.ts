/**
 * The control plane as a library: the console starts one in-process, sets each proxy's resources
 * (a snapshot per node id) as a lab is edited, and the change reaches the proxies over their open
 * xDS streams at once — nothing restarts. `meshcraft-xds` (cli.ts) is the same object fed from the
 * course's YAML file.
 */

import { EventEmitter } from 'node:events';
import {
  type AckEvent,
  DiscoveryServer,
  type NackEvent,
  type NodeStatus,
  type PushEvent,
} from './discovery.js';
import { startGrpcServer } from './grpc.js';
import { startRestServer } from './rest.js';
import { type Resources, Snapshot } from './snapshot.js';

export interface ControlPlaneOptions {
  /** Address to listen on (default 0.0.0.0). */
  host?: string;
  /** gRPC port (SotW and ADS); 0 picks a free one (default 18000, the course's). */
  grpcPort?: number;
  /** REST-JSON port; 0 picks a free one; leave it out for no REST. The course's example uses 18001. */
  restPort?: number;
}

export interface SetSnapshotOptions {
  /** The snapshot's version_info; by default a digest of the resources (see Snapshot.build). */
  version?: string;
  /**
   * Validate the resources against Envoy's protos first (default). `false` sends them as given —
   * for testing how proxies reject a bad resource.
   */
  validate?: boolean;
}

export interface ControlPlaneEvents {
  /** A node accepted a version of a type. */
  ack: [AckEvent];
  /** A node rejected a version of a type; `message` is its error_detail. */
  nack: [NackEvent];
  /** A response went to a node. */
  push: [PushEvent];
  connect: [{ nodeId: string; stream: string }];
  disconnect: [{ nodeId: string; stream: string }];
}

export class ControlPlane extends EventEmitter<ControlPlaneEvents> {
  private constructor(
    readonly grpcPort: number,
    readonly restPort: number | undefined,
    private readonly closers: (() => Promise<void>)[],
    private readonly discovery: DiscoveryServer,
  ) {
    super();
    for (const event of ['ack', 'nack', 'push', 'connect', 'disconnect'] as const) {
      discovery.on(event, (e) => this.emit(event, e));
    }
  }

  /** Listens for gRPC (and REST, when asked) and resolves once bound. */
  static async start(options: ControlPlaneOptions = {}): Promise<ControlPlane> {
    const host = options.host ?? '0.0.0.0';
    const discovery = new DiscoveryServer();
    const grpc = await startGrpcServer(discovery, host, options.grpcPort ?? 18000);
    const closers = [grpc.close];
    let restPort: number | undefined;
    if (options.restPort !== undefined) {
      try {
        const rest = await startRestServer(discovery, host, options.restPort);
        closers.push(rest.close);
        restPort = rest.port;
      } catch (err) {
        await grpc.close();
        throw err;
      }
    }
    return new ControlPlane(grpc.port, restPort, closers, discovery);
  }

  /**
   * Replaces what node `nodeId` gets with `resources` (Envoy v3 listeners, routes, clusters and
   * endpoints); its proxies receive the change over their open streams now (nothing, if the
   * resources are the ones they have). Returns the version. Throws a ConfigError naming the bad
   * resource and field (nothing is pushed then).
   */
  setSnapshot(nodeId: string, resources: Resources, options: SetSnapshotOptions = {}): string {
    const snapshot = Snapshot.build(resources, options.version, { validate: options.validate });
    this.discovery.setSnapshot(nodeId, snapshot);
    return snapshot.version;
  }

  /** The node's current resources and version, as last set. */
  snapshot(nodeId: string): { version: string; resources: Resources } | undefined {
    const s = this.discovery.snapshotOf(nodeId);
    return s && { version: s.version, resources: s.source };
  }

  /** Stops serving a node (its proxies keep what they have). */
  deleteSnapshot(nodeId: string): void {
    this.discovery.deleteSnapshot(nodeId);
  }

  /** Every node seen: open streams, and per type URL the last push, ACK and NACK. */
  nodes(): NodeStatus[] {
    return this.discovery.nodes();
  }

  /**
   * Resolves when node `nodeId` has accepted `version` of every type URL in `typeUrls` (default:
   * the types it has been sent that version of so far); rejects with the node's error_detail if it
   * rejects it, or on timeout.
   */
  waitForAck(
    nodeId: string,
    version: string,
    { typeUrls, timeoutMs = 10_000 }: { typeUrls?: string[]; timeoutMs?: number } = {},
  ): Promise<void> {
    return new Promise((resolve, reject) => {
      const pending = (): string[] | undefined => {
        const types = this.discovery.nodeStatus(nodeId)?.types ?? {};
        const wanted = typeUrls ?? Object.keys(types).filter((t) => types[t]?.sent?.version === version);
        return wanted.length === 0 ? undefined : wanted.filter((t) => types[t]?.acked?.version !== version);
      };
      const done = (err?: Error) => {
        clearTimeout(timer);
        this.off('ack', onAck);
        this.off('nack', onNack);
        if (err) reject(err);
        else resolve();
      };
      const onAck = (e: AckEvent) => {
        if (e.nodeId === nodeId && pending()?.length === 0) done();
      };
      const onNack = (e: NackEvent) => {
        if (e.nodeId === nodeId && e.version === version) {
          done(new Error(`node '${nodeId}' rejected version ${version} of ${e.typeUrl}: ${e.message}`));
        }
      };
      const timer = setTimeout(() => {
        const missing = pending()?.join(', ') ?? 'anything';
        done(new Error(`node '${nodeId}' has not accepted version ${version} of ${missing}`));
      }, timeoutMs);
      this.on('ack', onAck);
      this.on('nack', onNack);
      if (pending()?.length === 0) done();
    });
  }

  /** Stops listening and ends every stream (proxies keep their config and reconnect with back-off). */
  async close(): Promise<void> {
    await Promise.all(this.closers.map((c) => c()));
  }
}
