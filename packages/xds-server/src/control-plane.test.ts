import * as grpc from '@grpc/grpc-js';
import {
  ADS_PATH,
  DISCOVERY_REQUEST,
  DISCOVERY_RESPONSE,
  decodeMessage,
  encodeMessage,
} from '@meshcraft/proxy';
import { describe, expect, it } from 'vitest';
import { ControlPlane, checkResources } from './control-plane.js';

const cluster = (connectTimeout: string) => ({
  clusters: [{ name: 'web', type: 'STATIC' as const, connect_timeout: connectTimeout }],
});

describe('checkResources', () => {
  it('gives the version setSnapshot gives, and refuses what it refuses, pushing nothing', async () => {
    const cp = new ControlPlane();
    try {
      const pushes: unknown[] = [];
      cp.on('push', (e) => pushes.push(e));
      const version = checkResources(cluster('1s'));
      expect(cp.snapshot('node')).toBeUndefined();
      expect(cp.setSnapshot('node', cluster('1s'))).toBe(version);
      expect(checkResources(cluster('2s'))).not.toBe(version);
      expect(() => checkResources(cluster('-1s'))).toThrow(/clusters\[0\]\.connect_timeout/);
      expect(cp.snapshot('node')?.version).toBe(version);
      expect(pushes).toEqual([]);
      expect(cp.addresses()).toEqual([]);
    } finally {
      await cp.close();
    }
  });
});

describe('waitForAck', () => {
  it('waits out a response of another version still on its way, though that version was ACKed before', async () => {
    const cp = new ControlPlane();
    const client = new AdsClient();
    try {
      const port = await cp.listen('127.0.0.1', 0);
      const a = cp.setSnapshot('node', { ...cluster('1s'), listeners: [] });
      const stream = await client.open(port);
      for (const type of [CDS, LDS]) {
        stream.write({ node: { id: 'node', cluster: 'c' }, type_url: type });
        const r = await stream.next(type);
        stream.write({ type_url: type, version_info: r.version_info, response_nonce: r.nonce });
      }
      await cp.waitForAck('node', a);
      // An edit: both types get it; the client rejects the clusters and has not answered the listeners yet.
      cp.setSnapshot('node', { ...cluster('2s'), listeners: [] });
      const rejectedClusters = await stream.next(CDS);
      const pendingListeners = await stream.next(LDS);
      stream.write({
        type_url: CDS,
        version_info: a,
        response_nonce: rejectedClusters.nonce,
        error_detail: { code: 3, message: 'no' },
      });
      await until(() => cp.nodes()[0]!.types[CDS]?.nacked !== undefined);
      // Rolled back: the clusters get the old version again; the listeners' response waits for their answer.
      cp.setSnapshot('node', { ...cluster('1s'), listeners: [] });
      const settled = cp
        .waitForAck('node', a, { typeUrls: [CDS, LDS], timeoutMs: 5000 })
        .then(() => 'settled');
      const again = await stream.next(CDS);
      expect(again.version_info).toBe(a);
      stream.write({ type_url: CDS, version_info: a, response_nonce: again.nonce });
      stream.write({
        type_url: LDS,
        version_info: pendingListeners.version_info,
        response_nonce: pendingListeners.nonce,
      });
      const last = await stream.next(LDS);
      expect(last.version_info).toBe(a);
      expect(await Promise.race([settled, new Promise((r) => setTimeout(() => r('waiting'), 200))])).toBe(
        'waiting',
      );
      stream.write({ type_url: LDS, version_info: a, response_nonce: last.nonce });
      expect(await settled).toBe('settled');
    } finally {
      client.close();
      await cp.close();
    }
  });
});

const CDS = 'type.googleapis.com/envoy.config.cluster.v3.Cluster';
const LDS = 'type.googleapis.com/envoy.config.listener.v3.Listener';

async function until(test: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !test(); i++) await new Promise((r) => setTimeout(r, 10));
  expect(test()).toBe(true);
}

interface Response {
  version_info: string;
  type_url: string;
  nonce: string;
}

/** An ADS client speaking the protocol by hand, to hold back or reject answers as a test needs. */
class AdsClient {
  private readonly Client = grpc.makeGenericClientConstructor(
    {
      StreamAggregatedResources: {
        path: ADS_PATH,
        requestStream: true,
        responseStream: true,
        requestSerialize: (r: object) => Buffer.from(encodeMessage(DISCOVERY_REQUEST, r)),
        requestDeserialize: (b: Buffer) => decodeMessage(DISCOVERY_REQUEST, b),
        responseSerialize: (r: object) => Buffer.from(encodeMessage(DISCOVERY_RESPONSE, r)),
        responseDeserialize: (b: Buffer) => decodeMessage(DISCOVERY_RESPONSE, b),
      },
    },
    'ADS',
  );
  private client: grpc.Client | undefined;

  async open(port: number) {
    this.client = new this.Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
    const call = (
      this.client as unknown as { StreamAggregatedResources(): grpc.ClientDuplexStream<object, Response> }
    ).StreamAggregatedResources();
    const received: Response[] = [];
    call.on('data', (r: Response) => received.push(r));
    call.on('error', () => {});
    return {
      write: (request: object) => call.write(request),
      /** The next response of a type not taken yet. */
      next: async (type: string): Promise<Response> => {
        await until(() => received.some((r) => r.type_url === type));
        return received.splice(
          received.findIndex((r) => r.type_url === type),
          1,
        )[0]!;
      },
    };
  }

  close(): void {
    this.client?.close();
  }
}
