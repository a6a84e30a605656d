/**
 * The state-of-the-world xDS protocol, server side, independent of the transport (gRPC streams,
 * REST polls): per node a snapshot; per stream and type URL what was asked for and sent.
 *
 * As go-control-plane does it: a request whose `response_nonce` is not the last one sent on the
 * stream is stale and ignored; one with `error_detail` is a NACK (recorded, and the rejected
 * version is not resent — the next snapshot is); one with the version and nonce just sent is an
 * ACK. A response goes out when the node's snapshot has a version the stream has not been sent for
 * that type, or a named type (RDS, EDS) asks for other names; the first request on a stream gets
 * none if it already holds the snapshot's version. Responses are held while one of the same type
 * awaits its ACK/NACK. On a new snapshot, ADS streams get the types in Envoy's recommended order:
 * clusters, endpoints, listeners, routes.
 */

import { EventEmitter } from 'node:events';
import { type Node, typeNameOf, typeUrl, XDS_TYPES } from '@meshcraft/proxy';
import { PUSH_ORDER, type Snapshot, type SnapshotResource } from './snapshot.js';

export interface DiscoveryRequest {
  version_info?: string;
  node?: Node;
  resource_names?: string[];
  type_url?: string;
  response_nonce?: string;
  error_detail?: { code?: number; message?: string };
}

export interface DiscoveryResponse {
  version_info: string;
  resources: SnapshotResource[];
  type_url: string;
  nonce: string;
}

/** A protocol violation; the transport ends the stream with it (gRPC INVALID_ARGUMENT, HTTP 400). */
export class ProtocolError extends Error {}

/** What the control plane knows of one type URL of a node. */
export interface TypeStatus {
  /** The last response sent. */
  sent?: { version: string; nonce: string; at: string };
  /** The last version the node accepted. */
  acked?: { version: string; at: string };
  /** The last rejection: the version rejected and the node's error_detail message. */
  nacked?: { version: string; message: string; at: string };
}

export interface NodeStatus {
  id: string;
  cluster: string;
  /** Open gRPC streams of the node. */
  streams: number;
  /** By type URL. */
  types: Record<string, TypeStatus>;
}

export interface AckEvent {
  nodeId: string;
  typeUrl: string;
  version: string;
}
export interface NackEvent extends AckEvent {
  message: string;
}
export interface PushEvent extends AckEvent {
  names: string[];
  nonce: string;
  /** `ads`, the type's own service (its type name), or `rest`. */
  stream: string;
}

interface StreamType {
  names: string[];
  /** Version and nonce of the last response on this stream. */
  sentVersion?: string;
  sentNonce?: string;
  /** The last response has not been answered yet. */
  awaiting: boolean;
}

export class DiscoveryStream {
  node: Node | undefined;
  private readonly types = new Map<string, StreamType>();

  constructor(
    private readonly server: DiscoveryServer,
    /** `ads`, or the only type name a type's own service carries. */
    readonly kind: string,
    private readonly send: (response: DiscoveryResponse) => void,
  ) {}

  get nodeId(): string {
    return this.node?.id ?? '';
  }

  handle(request: DiscoveryRequest): void {
    if (!this.node) {
      if (!request.node?.id) throw new ProtocolError('the first request on a stream must carry node.id');
      this.node = request.node;
      this.server.attach(this);
    }
    const url = request.type_url || (this.kind === 'ads' ? '' : typeUrl(this.kind));
    const typeName = typeNameOf(url);
    if (!XDS_TYPES[typeName]) throw new ProtocolError(`unsupported type URL '${url}'`);
    if (this.kind !== 'ads' && typeName !== this.kind) {
      throw new ProtocolError(`type URL '${url}' on the ${this.kind} stream`);
    }
    const state = this.types.get(typeName);
    const nonce = request.response_nonce ?? '';
    if (state && nonce !== '' && nonce !== state.sentNonce) return; // stale: answers an older response
    const names = [...(request.resource_names ?? [])].sort();
    if (state && nonce !== '') {
      state.awaiting = false;
      if (request.error_detail) {
        this.server.record(
          this,
          'nack',
          typeName,
          state.sentVersion ?? '',
          request.error_detail.message ?? '',
        );
      } else if (request.version_info === state.sentVersion) {
        this.server.record(this, 'ack', typeName, request.version_info ?? '', '');
      }
    }
    const namesChanged = !state || names.join('\0') !== state.names.join('\0');
    const current = state ?? { names, awaiting: false };
    current.names = names;
    this.types.set(typeName, current);
    const snapshot = this.server.snapshotOf(this.nodeId);
    if (!snapshot) return;
    if (!state) {
      // A (re)connecting client that holds this version already gets nothing until it changes.
      if (request.version_info !== snapshot.version) this.respond(typeName, current, snapshot);
      else current.sentVersion = snapshot.version;
      return;
    }
    const named = !XDS_TYPES[typeName]!.wildcard;
    if (snapshot.version !== current.sentVersion || (named && namesChanged)) {
      this.respond(typeName, current, snapshot);
    }
  }

  /** A new snapshot for this stream's node. */
  update(snapshot: Snapshot): void {
    for (const [, typeName] of PUSH_ORDER) {
      const state = this.types.get(typeName);
      if (state && !state.awaiting && state.sentVersion !== snapshot.version) {
        this.respond(typeName, state, snapshot);
      }
    }
  }

  private respond(typeName: string, state: StreamType, snapshot: Snapshot): void {
    const nonce = this.server.nextNonce();
    state.sentVersion = snapshot.version;
    state.sentNonce = nonce;
    state.awaiting = true;
    const resources = snapshot.select(typeName, state.names);
    const response = { version_info: snapshot.version, resources, type_url: typeUrl(typeName), nonce };
    this.server.pushed(this, typeName, response);
    this.send(response);
  }

  close(): void {
    this.server.detach(this);
  }
}

export class DiscoveryServer extends EventEmitter {
  private readonly snapshots = new Map<string, Snapshot>();
  private readonly streams = new Set<DiscoveryStream>();
  private readonly status = new Map<string, NodeStatus>();
  private nonces = 0;

  snapshotOf(nodeId: string): Snapshot | undefined {
    return this.snapshots.get(nodeId);
  }

  setSnapshot(nodeId: string, snapshot: Snapshot): void {
    this.snapshots.set(nodeId, snapshot);
    for (const stream of this.streams) if (stream.nodeId === nodeId) stream.update(snapshot);
  }

  deleteSnapshot(nodeId: string): void {
    this.snapshots.delete(nodeId);
  }

  openStream(kind: string, send: (response: DiscoveryResponse) => void): DiscoveryStream {
    return new DiscoveryStream(this, kind, send);
  }

  nodes(): NodeStatus[] {
    return [...this.status.values()].map((s) => ({ ...s, types: structuredClone(s.types) }));
  }

  nodeStatus(nodeId: string): NodeStatus | undefined {
    return this.nodes().find((n) => n.id === nodeId);
  }

  /** @internal */
  nextNonce(): string {
    return String(++this.nonces);
  }

  /** @internal a stream learnt its node. */
  attach(stream: DiscoveryStream): void {
    this.streams.add(stream);
    const node = this.nodeEntry(stream);
    node.streams++;
    node.cluster = stream.node?.cluster ?? '';
    this.emit('connect', { nodeId: stream.nodeId, stream: stream.kind });
  }

  /** @internal */
  detach(stream: DiscoveryStream): void {
    if (!this.streams.delete(stream)) return;
    this.nodeEntry(stream).streams--;
    this.emit('disconnect', { nodeId: stream.nodeId, stream: stream.kind });
  }

  /** @internal */
  pushed(stream: { nodeId: string; kind: string }, typeName: string, response: DiscoveryResponse): void {
    const url = typeUrl(typeName);
    const types = this.nodeEntry(stream).types;
    types[url] = {
      ...types[url],
      sent: { version: response.version_info, nonce: response.nonce, at: now() },
    };
    const event: PushEvent = {
      nodeId: stream.nodeId,
      typeUrl: url,
      version: response.version_info,
      names: response.resources.map((r) => r.name),
      nonce: response.nonce,
      stream: stream.kind,
    };
    this.emit('push', event);
  }

  /** @internal an ACK or NACK (REST polls report them too). */
  record(
    stream: { nodeId: string },
    kind: 'ack' | 'nack',
    typeName: string,
    version: string,
    message: string,
  ): void {
    const url = typeUrl(typeName);
    const types = this.nodeEntry(stream).types;
    const entry = types[url] ?? {};
    types[url] = entry;
    if (kind === 'ack') {
      entry.acked = { version, at: now() };
      this.emit('ack', { nodeId: stream.nodeId, typeUrl: url, version } satisfies AckEvent);
    } else {
      entry.nacked = { version, message, at: now() };
      this.emit('nack', { nodeId: stream.nodeId, typeUrl: url, version, message } satisfies NackEvent);
    }
  }

  /** @internal a REST poll: the node shows up in nodes() though it holds no stream. */
  seen(node: Node): void {
    const entry = this.nodeEntry({ nodeId: node.id ?? '' });
    entry.cluster = node.cluster ?? '';
  }

  private nodeEntry(stream: { nodeId: string }): NodeStatus {
    let entry = this.status.get(stream.nodeId);
    if (!entry) {
      entry = { id: stream.nodeId, cluster: '', streams: 0, types: {} };
      this.status.set(stream.nodeId, entry);
    }
    return entry;
  }
}

function now(): string {
  return new Date().toISOString();
}
