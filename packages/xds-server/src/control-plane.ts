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
import { GrpcTransport } from './grpc.js';
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

/**
 * Validates resources as `setSnapshot` does (throwing the same ConfigError) and returns the version
 * `setSnapshot` would give them, pushing nothing: to check every proxy's part of a change before
 * any proxy gets its own, and to tell which proxies it changes.
 */
export function checkResources(resources: Resources): string {
  return Snapshot.build(resources).version;
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

/** A node's NACK of the version `waitForAck` waited for. */
export class RejectedError extends Error {
  constructor(readonly nack: NackEvent) {
    super(`node '${nack.nodeId}' rejected version ${nack.version} of ${nack.typeUrl}: ${nack.message}`);
    this.name = 'RejectedError';
  }
}

export class ControlPlane extends EventEmitter<ControlPlaneEvents> {
  private readonly discovery = new DiscoveryServer();
  private readonly grpc = new GrpcTransport(this.discovery);
  private rest: { port: number; close(): Promise<void> } | undefined;

  /** A control plane that listens nowhere yet: give it addresses with `listen()`. */
  constructor() {
    super();
    for (const event of ['ack', 'nack', 'push', 'connect', 'disconnect'] as const) {
      this.discovery.on(event, (e) => this.emit(event, e));
    }
  }

  /** Listens for gRPC (and REST, when asked) and resolves once bound. */
  static async start(options: ControlPlaneOptions = {}): Promise<ControlPlane> {
    const host = options.host ?? '0.0.0.0';
    const cp = new ControlPlane();
    try {
      await cp.listen(host, options.grpcPort ?? 18000);
      if (options.restPort !== undefined)
        cp.rest = await startRestServer(cp.discovery, host, options.restPort);
    } catch (err) {
      await cp.close();
      throw err;
    }
    return cp;
  }

  /** The gRPC port of the first address it listens on (the one `start` bound). */
  get grpcPort(): number | undefined {
    return this.grpc.addresses()[0]?.port;
  }

  get restPort(): number | undefined {
    return this.rest?.port;
  }

  /**
   * Serves gRPC on `host:port` as well (port 0: any free one) and resolves with the bound port.
   * Rejects when the address cannot be bound (in use, not an address of this machine).
   */
  listen(host: string, port: number): Promise<number> {
    return this.grpc.listen(host, port);
  }

  /** Stops serving on `host:port` (as `listen` resolved it); the streams that came in there end. */
  unlisten(host: string, port: number): void {
    this.grpc.unlisten(host, port);
  }

  /** Every gRPC address it listens on. */
  addresses(): { host: string; port: number }[] {
    return this.grpc.addresses();
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
   * the types it has been sent that version of so far) — the last response of each carried that
   * version and was ACKed; rejects with a RejectedError carrying the
   * node's error_detail if it rejects it, or with an Error on timeout.
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
        // Accepted means the last response of the type carried this version and was ACKed: an
        // earlier ACK of the same version says nothing while another version is still on its way.
        const accepted = (t: string) =>
          types[t]?.sent?.version === version && types[t]?.acked?.version === version;
        return wanted.length === 0 ? undefined : wanted.filter((t) => !accepted(t));
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
        if (e.nodeId === nodeId && e.version === version) done(new RejectedError(e));
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
    await Promise.all([this.grpc.close(), this.rest?.close()]);
  }
}
