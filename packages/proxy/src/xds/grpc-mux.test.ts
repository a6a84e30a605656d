/**
 * The client side of the xDS protocol against a scripted management server: what each request
 * carries (node, version_info, response_nonce, resource_names, error_detail), and what happens when
 * the stream goes away.
 */
import * as grpc from '@grpc/grpc-js';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { initHashing } from '../common/hash.js';
import { LogRegistry } from '../common/logger.js';
import { Store } from '../stats/store.js';
import type { ClusterManager } from '../upstream/cluster-manager.js';
import { GrpcMux } from './grpc-mux.js';
import {
  ADS_PATH,
  CLUSTER,
  CLUSTER_LOAD_ASSIGNMENT,
  type DecodedResource,
  DISCOVERY_REQUEST,
  DISCOVERY_RESPONSE,
  typeUrl,
} from './resources.js';
import { SubscriptionStats } from './subscription.js';
import { decodeMessage, encodeMessage } from './wire.js';

type Request = Record<string, unknown> & { error_detail?: { code: number; message: string } };

/** A management server whose test decides each response; requests queue up for the test to read. */
class ScriptedServer {
  private readonly server = new grpc.Server();
  private waiting: ((r: Request) => void) | undefined;
  private readonly queued: Request[] = [];
  call: grpc.ServerDuplexStream<Request, Record<string, unknown>> | undefined;
  streams = 0;
  port = 0;

  async start(): Promise<void> {
    this.server.addService(
      {
        StreamAggregatedResources: {
          path: ADS_PATH,
          requestStream: true,
          responseStream: true,
          requestDeserialize: (b: Buffer) => decodeMessage(DISCOVERY_REQUEST, b) as Request,
          requestSerialize: (r: Request) => Buffer.from(encodeMessage(DISCOVERY_REQUEST, r)),
          responseSerialize: (r: Record<string, unknown>) =>
            Buffer.from(encodeMessage(DISCOVERY_RESPONSE, r)),
          responseDeserialize: (b: Buffer) => decodeMessage(DISCOVERY_RESPONSE, b) as Record<string, unknown>,
        },
      },
      {
        StreamAggregatedResources: (call: grpc.ServerDuplexStream<Request, Record<string, unknown>>) => {
          this.call = call;
          this.streams++;
          call.on('data', (r: Request) => {
            const w = this.waiting;
            this.waiting = undefined;
            if (w) w(r);
            else this.queued.push(r);
          });
          call.on('error', () => {});
        },
      },
    );
    this.port = await new Promise((resolve, reject) =>
      this.server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) =>
        e ? reject(e) : resolve(p),
      ),
    );
  }

  next(): Promise<Request> {
    const queued = this.queued.shift();
    if (queued) return Promise.resolve(queued);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no request within 5 s')), 5000);
      this.waiting = (r) => {
        clearTimeout(timer);
        resolve(r);
      };
    });
  }

  respond(typeName: string, version: string, nonce: string, resources: Record<string, unknown>[]): void {
    this.call!.write({
      version_info: version,
      type_url: typeUrl(typeName),
      nonce,
      resources: resources.map((r) => ({ '@type': typeUrl(typeName), ...r })),
    });
  }

  close(): void {
    this.server.forceShutdown();
  }
}

const cluster = (name: string, connectTimeout = '1s') => ({
  name,
  type: 'STATIC',
  connect_timeout: connectTimeout,
  load_assignment: { cluster_name: name },
});

beforeAll(initHashing);

let server: ScriptedServer | undefined;
let mux: GrpcMux | undefined;
afterEach(() => {
  mux?.shutdown();
  server?.close();
});

function setup(setNodeOnFirstMessageOnly: boolean) {
  const store = new Store();
  const clusterManager = {
    get: () => ({
      prioritySet: {
        allHosts: () => [{ address: '127.0.0.1', port: server!.port, coarseHealth: () => 'healthy' }],
      },
    }),
  } as unknown as ClusterManager;
  mux = new GrpcMux({
    source: {
      api_type: 'GRPC',
      grpc_services: [{ envoy_grpc: { cluster_name: 'xds_cluster' } }],
      set_node_on_first_message_only: setNodeOnFirstMessageOnly,
    },
    method: ADS_PATH,
    node: { id: 'front', cluster: 'web' },
    clusterManager,
    controlPlaneScope: store.scope('control_plane.'),
    log: new LogRegistry('off').get('config', 'test'),
    random: () => 0.5,
  });
  const updates: { names: string[]; version: string }[] = [];
  const callbacks = {
    onConfigUpdate: (resources: DecodedResource[], version: string) => {
      updates.push({ names: resources.map((r) => r.name), version });
    },
    onConfigUpdateFailed: () => {},
  };
  return { store, updates, callbacks, stats: new SubscriptionStats(store.scope('cluster_manager.cds.')) };
}

describe('GrpcMux (state of the world)', () => {
  it('sends node and empty version first, ACKs with version and nonce, NACKs with the previous version and error_detail', async () => {
    server = new ScriptedServer();
    await server.start();
    const { store, updates, callbacks, stats } = setup(true);
    mux!.addWatch(CLUSTER, [], callbacks, stats);

    const first = await server.next();
    expect(first).toMatchObject({ node: { id: 'front', cluster: 'web' }, type_url: typeUrl(CLUSTER) });
    expect(first.version_info).toBeUndefined(); // empty string: proto3 leaves it out
    expect(first.response_nonce).toBeUndefined();
    expect(first.resource_names).toBeUndefined(); // wildcard

    server.respond(CLUSTER, 'v1', 'n1', [cluster('a'), cluster('b')]);
    const ack = await server.next();
    expect(ack).toEqual({ version_info: 'v1', type_url: typeUrl(CLUSTER), response_nonce: 'n1' });
    expect(updates).toEqual([{ names: ['a', 'b'], version: 'v1' }]);
    expect(store.gauge('control_plane.connected_state').value).toBe(1);

    server.respond(CLUSTER, 'v2', 'n2', [cluster('a', '-1s')]);
    const nack = await server.next();
    expect(nack.version_info).toBe('v1');
    expect(nack.response_nonce).toBe('n2');
    expect(nack.error_detail?.code).toBe(13);
    expect(nack.error_detail?.message).toMatch(/resources\[0\]\.connect_timeout: .*\(in Cluster 'a'\)/);
    expect(updates).toHaveLength(1);
    expect(stats.update_rejected.value).toBe(1);
    expect(stats.update_success.value).toBe(1);

    // The next valid version is accepted.
    server.respond(CLUSTER, 'v3', 'n3', [cluster('a')]);
    expect(await server.next()).toMatchObject({ version_info: 'v3', response_nonce: 'n3' });
    expect(updates.at(-1)).toEqual({ names: ['a'], version: 'v3' });
  });

  it('names what it watches for RDS/EDS, hands a new watch what it already has, and asks once after a pause', async () => {
    server = new ScriptedServer();
    await server.start();
    const { updates, callbacks, stats } = setup(false);
    const eds = CLUSTER_LOAD_ASSIGNMENT;
    const a = mux!.addWatch(eds, ['a'], callbacks, stats);
    expect(await server.next()).toMatchObject({ resource_names: ['a'], node: { id: 'front' } });
    server.respond(eds, '1', 'x', [{ cluster_name: 'a' }, { cluster_name: 'b' }]);
    // Without set_node_on_first_message_only every request carries the node.
    expect(await server.next()).toMatchObject({
      version_info: '1',
      resource_names: ['a'],
      node: { id: 'front' },
    });
    expect(updates).toEqual([{ names: ['a'], version: '1' }]);

    const resume = mux!.pause(eds);
    const second = {
      ...callbacks,
      onConfigUpdate: (r: DecodedResource[], v: string) =>
        updates.push({ names: r.map((x) => `second:${x.name}`), version: v }),
    };
    mux!.addWatch(eds, ['a', 'c'], second, stats);
    a.update(['a', 'd']);
    await new Promise((r) => setTimeout(r, 100));
    // The new watch got the 'a' this mux accepted, without a round trip.
    expect(updates).toContainEqual({ names: ['second:a'], version: '1' });
    resume();
    const asked = await server.next();
    expect(asked.resource_names).toEqual(['a', 'c', 'd']);
    await expect(
      Promise.race([server.next(), new Promise((r) => setTimeout(() => r('none'), 300))]),
    ).resolves.toBe('none');
  });

  it('reconnects after the stream fails and resends the version it holds, with no nonce', async () => {
    server = new ScriptedServer();
    await server.start();
    const { store, callbacks, stats } = setup(true);
    mux!.addWatch(CLUSTER, [], callbacks, stats);
    await server.next();
    server.respond(CLUSTER, 'v1', 'n1', [cluster('a')]);
    await server.next();
    server.call!.emit('error', { code: grpc.status.UNAVAILABLE, details: 'going away' });
    server.call!.end();
    const again = await server.next();
    expect(server.streams).toBe(2);
    expect(again).toMatchObject({ version_info: 'v1', node: { id: 'front' } });
    expect(again.response_nonce).toBeUndefined();
    expect(stats.update_failure.value).toBe(1);
    await expect.poll(() => store.gauge('control_plane.connected_state').value).toBe(1);
    // With the server gone for good, the state stays disconnected while retries back off.
    server.close();
    await expect.poll(() => store.gauge('control_plane.connected_state').value).toBe(0);
  });
});
