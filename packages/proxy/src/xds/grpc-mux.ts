/**
 * State-of-the-world xDS over a gRPC stream — Envoy's GrpcMuxImpl. One mux owns one stream: the
 * shared ADS stream (`StreamAggregatedResources`, every type multiplexed by type URL) or, for a
 * plain gRPC config source, a stream of one type's own service (`StreamClusters`, ...).
 *
 * Protocol, per type URL: the first request carries the last version accepted (empty at start) and
 * no nonce; every response is answered with a request carrying its nonce and either its version
 * (ACK) or the previous version plus `error_detail` (NACK); `node` goes on the stream's first
 * request (or every request without `set_node_on_first_message_only`). LDS and CDS are wildcard
 * (no names); RDS and EDS name their resources, and only watches whose resources a response
 * carries are updated. When the stream fails, watches keep their config, `connected_state` drops
 * to 0, and the mux reconnects with Envoy's jittered exponential back-off (0.5 s doubling to 30 s),
 * re-sending every type's request with the version it holds.
 */

import * as grpc from '@grpc/grpc-js';
import type { Logger } from '../common/logger.js';
import type { ApiConfigSource, Node } from '../config/types.js';
import type { Gauge, Scope } from '../stats/store.js';
import type { ClusterManager } from '../upstream/cluster-manager.js';
import { managementCluster, managementServer } from './management-server.js';
import {
  type DecodedResource,
  DISCOVERY_REQUEST,
  DISCOVERY_RESPONSE,
  decodeResources,
  type RawResource,
  typeNameOf,
  typeUrl,
  XDS_TYPES,
} from './resources.js';
import { NACK_CODE } from './rest.js';
import {
  deliver,
  type InitialFetchTimer,
  type Subscription,
  type SubscriptionCallbacks,
  type SubscriptionStats,
} from './subscription.js';
import { decodeEnvelope, encodeMessage } from './wire.js';

const RETRY_INITIAL_DELAY_MS = 500;
const RETRY_MAX_DELAY_MS = 30_000;
/** Envoy truncates a NACK's message to what a gRPC status comfortably carries. */
const MAX_ERROR_DETAIL = 4096;

interface DiscoveryResponse {
  version_info?: string;
  resources?: RawResource[];
  type_url?: string;
  nonce?: string;
}

interface Watch {
  /** Empty for a wildcard watch (LDS, CDS). */
  names: Set<string>;
  callbacks: SubscriptionCallbacks;
  stats: SubscriptionStats;
  /** Responses delivered to it so far. */
  updates: number;
}

interface TypeState {
  typeName: string;
  watches: Set<Watch>;
  /** version_info of the last accepted response. */
  version: string;
  /** Nonce of the last response received on the current stream. */
  nonce: string;
  errorDetail: { code: number; message: string } | undefined;
  paused: number;
  /** A request is owed but held back (paused). */
  pending: boolean;
  /** The last accepted resources, so a watch added later gets those it asks for at once. */
  accepted: Map<string, DecodedResource>;
}

/** Envoy's JitteredExponentialBackOffStrategy: a random delay below a doubling ceiling. */
class BackOff {
  private ceiling = RETRY_INITIAL_DELAY_MS;
  constructor(private readonly random: () => number) {}
  next(): number {
    const delay = Math.floor(this.random() * this.ceiling);
    this.ceiling = Math.min(this.ceiling * 2, RETRY_MAX_DELAY_MS);
    return delay;
  }
  reset(): void {
    this.ceiling = RETRY_INITIAL_DELAY_MS;
  }
}

export interface GrpcMuxOptions {
  source: ApiConfigSource;
  /** gRPC method path: the ADS method, or a type's own service. */
  method: string;
  node: Node;
  clusterManager: ClusterManager;
  /** `control_plane.` for ADS; `<subscription scope>.control_plane.` for a type's own stream. */
  controlPlaneScope: Scope;
  log: Logger;
  random: () => number;
}

type Call = grpc.ClientDuplexStream<Record<string, unknown>, DiscoveryResponse>;

export class GrpcMux {
  /** In the order types were first watched, the order their first requests go out in. */
  private readonly types = new Map<string, TypeState>();
  private client: grpc.Client | undefined;
  private call: Call | undefined;
  private nodeSent = false;
  private connectAttempt = 0;
  private retryTimer: NodeJS.Timeout | undefined;
  private readonly backOff: BackOff;
  private readonly connectedState: Gauge;
  private readonly methodName: string;
  private started = false;
  private shutDown = false;

  constructor(private readonly options: GrpcMuxOptions) {
    this.backOff = new BackOff(options.random);
    this.connectedState = options.controlPlaneScope.gauge('connected_state', 'NeverImport');
    this.connectedState.set(0);
    this.methodName = options.method.slice(options.method.lastIndexOf('/') + 1);
  }

  /** Watches resources of `typeName` (none named: all of them); starts the stream on first use. */
  addWatch(
    typeName: string,
    names: readonly string[],
    callbacks: SubscriptionCallbacks,
    stats: SubscriptionStats,
  ): { update(names: readonly string[]): void; remove(): void } {
    const state = this.state(typeName);
    const watch: Watch = { names: new Set(names), callbacks, stats, updates: 0 };
    state.watches.add(watch);
    this.replayAccepted(state, watch);
    if (!this.started) {
      this.started = true;
      this.connect();
    } else {
      this.queueRequest(state);
    }
    return {
      update: (next) => {
        watch.names = new Set(next);
        this.replayAccepted(state, watch);
        this.queueRequest(state);
      },
      remove: () => {
        state.watches.delete(watch);
        // With no watch left there is nothing to ask for; an empty name list would mean "all".
        if (state.watches.size > 0) this.queueRequest(state);
      },
    };
  }

  /** Holds back requests of `typeName` until the returned function runs (see SubscriptionFactory.pauseAds). */
  pause(typeName: string): () => void {
    const state = this.state(typeName);
    state.paused++;
    let resumed = false;
    return () => {
      if (resumed) return;
      resumed = true;
      state.paused--;
      if (state.paused === 0 && state.pending) this.queueRequest(state);
    };
  }

  shutdown(): void {
    this.shutDown = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    const call = this.call;
    this.call = undefined;
    call?.cancel();
    this.client?.close();
    this.client = undefined;
    this.connectedState.set(0);
  }

  private state(typeName: string): TypeState {
    let state = this.types.get(typeName);
    if (!state) {
      state = {
        typeName,
        watches: new Set(),
        version: '',
        nonce: '',
        errorDetail: undefined,
        paused: 0,
        pending: false,
        accepted: new Map(),
      };
      this.types.set(typeName, state);
    }
    return state;
  }

  /**
   * A watch that names resources this mux already has gets them now: the server will not resend
   * what it already sent at this version (a cluster replaced by CDS re-watches its endpoints).
   */
  private replayAccepted(state: TypeState, watch: Watch): void {
    if (watch.names.size === 0) return;
    const updates = watch.updates;
    setImmediate(() => {
      // Not if a response reached the watch meanwhile: what it got is newer.
      if (!state.watches.has(watch) || watch.updates !== updates) return;
      const known = [...watch.names].flatMap((n) => state.accepted.get(n) ?? []);
      if (known.length > 0) deliver(watch.callbacks, watch.stats, known, state.version);
    });
  }

  private connect(): void {
    this.retryTimer = undefined;
    if (this.shutDown) return;
    const { source, clusterManager, log } = this.options;
    const clusterName = managementCluster(source);
    const server = managementServer(clusterManager, clusterName, this.connectAttempt++);
    if (!server) {
      log.warn(`${this.methodName} gRPC config stream to ${clusterName}: no host to connect to`);
      this.onStreamFailed();
      return;
    }
    const target = `${server.address.includes(':') ? `[${server.address}]` : server.address}:${server.port}`;
    // A fresh channel per attempt: a failed one would add grpc-js' own reconnect back-off to ours.
    this.client = new grpc.Client(target, grpc.credentials.createInsecure(), {
      'grpc.max_receive_message_length': -1,
    });
    const call = this.client!.makeBidiStreamRequest(
      this.options.method,
      (request: Record<string, unknown>) => Buffer.from(encodeMessage(DISCOVERY_REQUEST, request)),
      (bytes: Buffer) => decodeEnvelope(DISCOVERY_RESPONSE, bytes) as DiscoveryResponse,
    );
    this.call = call;
    this.nodeSent = false;
    const established = () => {
      if (this.call !== call || this.connectedState.value === 1) return;
      this.connectedState.set(1);
      log.debug(`${this.methodName} gRPC config stream to ${clusterName} (${target}) established`);
    };
    // Envoy counts a stream as connected once it is open on a connection, before any response.
    const channel = this.client!.getChannel();
    const whenReady = () => {
      if (this.call !== call) return;
      const state = channel.getConnectivityState(true);
      if (state === grpc.connectivityState.READY) established();
      else if (state !== grpc.connectivityState.SHUTDOWN) {
        channel.watchConnectivityState(state, Date.now() + 60_000, whenReady);
      }
    };
    whenReady();
    call.on('metadata', established);
    call.on('data', (response: DiscoveryResponse) => {
      if (this.call !== call) return;
      established();
      // As Envoy: only a server that answers resets the back-off (one that accepts and drops
      // streams is retried ever more slowly).
      this.backOff.reset();
      this.onResponse(response);
    });
    // Every end of the stream is reported by 'status'; 'error' repeats it for failures.
    call.on('error', () => {});
    call.on('status', (status: grpc.StatusObject) => {
      if (this.call !== call) return;
      this.call = undefined;
      log.warn(
        `${this.methodName} gRPC config stream to ${clusterName} closed: ${status.code}, ${status.details}`,
      );
      this.onStreamFailed();
    });
    // The stream is up to the server now: (re)send every type's request, with the version it holds.
    for (const state of this.types.values()) {
      state.nonce = '';
      if (state.watches.size > 0) this.queueRequest(state);
    }
  }

  private onStreamFailed(): void {
    this.connectedState.set(0);
    this.client?.close();
    this.client = undefined;
    for (const state of this.types.values()) {
      for (const watch of state.watches) {
        watch.stats.update_attempt.inc();
        watch.stats.update_failure.inc();
      }
    }
    if (this.shutDown) return;
    const delay = this.backOff.next();
    this.retryTimer = setTimeout(() => this.connect(), delay);
    this.retryTimer.unref();
  }

  private queueRequest(state: TypeState): void {
    if (state.paused > 0) {
      state.pending = true;
      return;
    }
    state.pending = false;
    if (!this.call) return; // sent when the stream is (re)established
    const wildcard = XDS_TYPES[state.typeName]?.wildcard ?? false;
    const names = wildcard ? [] : [...new Set([...state.watches].flatMap((w) => [...w.names]))].sort();
    const sendNode = !this.nodeSent || !this.options.source.set_node_on_first_message_only;
    const request: Record<string, unknown> = {
      version_info: state.version,
      ...(sendNode ? { node: this.options.node } : {}),
      resource_names: names,
      type_url: typeUrl(state.typeName),
      response_nonce: state.nonce,
      ...(state.errorDetail ? { error_detail: state.errorDetail } : {}),
    };
    state.errorDetail = undefined;
    this.nodeSent = true;
    this.call.write(request);
  }

  private onResponse(response: DiscoveryResponse): void {
    const { log } = this.options;
    const url = response.type_url ?? '';
    const state = this.types.get(typeNameOf(url));
    if (!state) {
      log.warn(`Ignoring the message for type URL ${url} as it has no current subscribers`);
      return;
    }
    state.nonce = response.nonce ?? '';
    // Nobody watches this type any more (e.g. the last EDS cluster was removed): nothing to apply or ask.
    if (state.watches.size === 0) return;
    const version = response.version_info ?? '';
    const failures: string[] = [];
    let resources: DecodedResource[] | undefined;
    try {
      resources = decodeResources(state.typeName, response.resources ?? []);
    } catch (err) {
      failures.push((err as Error).message);
      for (const watch of state.watches) {
        watch.stats.rejected();
        watch.callbacks.onConfigUpdateFailed('UpdateRejected', err as Error);
      }
    }
    if (resources) {
      for (const watch of [...state.watches]) {
        const mine = watch.names.size === 0 ? resources : resources.filter((r) => watch.names.has(r.name));
        // A named watch whose resources this response does not carry keeps what it has.
        if (watch.names.size > 0 && mine.length === 0) continue;
        watch.updates++;
        const error = deliver(watch.callbacks, watch.stats, mine, version);
        if (error) failures.push(error.message);
      }
    }
    if (failures.length > 0) {
      const message = failures.join('; ').slice(0, MAX_ERROR_DETAIL);
      log.warn(`gRPC config for ${url} rejected: ${message}`);
      state.errorDetail = { code: NACK_CODE, message };
    } else {
      log.debug(
        `gRPC config for ${url} accepted with ${resources!.length} resources with version ${version}`,
      );
      state.version = version;
      if (XDS_TYPES[state.typeName]?.wildcard) state.accepted.clear();
      for (const r of resources!) state.accepted.set(r.name, r);
    }
    this.queueRequest(state);
  }
}

/** A subscription on a mux: one watch, with `initial_fetch_timeout`. */
export class GrpcSubscription implements Subscription {
  private watch: ReturnType<GrpcMux['addWatch']> | undefined;

  constructor(
    private readonly mux: GrpcMux,
    /** Whether this subscription has the mux to itself (a type's own stream), so stopping it ends the stream. */
    private readonly ownsMux: boolean,
    private readonly typeName: string,
    private readonly callbacks: SubscriptionCallbacks,
    private readonly stats: SubscriptionStats,
    private readonly initialFetch: InitialFetchTimer,
  ) {}

  start(resourceNames: readonly string[]): void {
    this.initialFetch.start();
    const disarmFirst: SubscriptionCallbacks = {
      onConfigUpdate: (resources, version) => {
        this.initialFetch.disarm();
        this.callbacks.onConfigUpdate(resources, version);
      },
      onConfigUpdateFailed: (reason, error) => {
        this.initialFetch.disarm();
        this.callbacks.onConfigUpdateFailed(reason, error);
      },
    };
    this.watch = this.mux.addWatch(this.typeName, resourceNames, disarmFirst, this.stats);
  }

  updateResourceInterest(resourceNames: readonly string[]): void {
    this.watch?.update(resourceNames);
  }

  stop(): void {
    this.initialFetch.disarm();
    this.watch?.remove();
    this.watch = undefined;
    if (this.ownsMux) this.mux.shutdown();
  }
}
