/**
 * The gRPC transport: Envoy's AggregatedDiscoveryService (ADS) and the per-type discovery services
 * (StreamListeners, StreamRoutes, StreamClusters, StreamEndpoints), state of the world, on
 * @grpc/grpc-js with Envoy's messages encoded by meshcraft-proxy's codec. Delta (incremental)
 * methods are not registered, so clients asking for them get UNIMPLEMENTED.
 */

import * as grpc from '@grpc/grpc-js';
import {
  ADS_PATH,
  CLUSTER,
  CLUSTER_LOAD_ASSIGNMENT,
  DISCOVERY_REQUEST,
  DISCOVERY_RESPONSE,
  decodeMessage,
  encodeMessage,
  grpcPath,
  LISTENER,
  ROUTE_CONFIGURATION,
} from '@meshcraft/proxy';
import {
  type DiscoveryRequest,
  type DiscoveryResponse,
  type DiscoveryServer,
  ProtocolError,
} from './discovery.js';

type Call = grpc.ServerDuplexStream<DiscoveryRequest, DiscoveryResponse>;

function method(path: string): grpc.MethodDefinition<DiscoveryRequest, DiscoveryResponse> {
  return {
    path,
    requestStream: true,
    responseStream: true,
    requestDeserialize: (bytes: Buffer) => decodeMessage(DISCOVERY_REQUEST, bytes) as DiscoveryRequest,
    requestSerialize: (request: DiscoveryRequest) => Buffer.from(encodeMessage(DISCOVERY_REQUEST, request)),
    responseSerialize: (response: DiscoveryResponse) =>
      Buffer.from(
        encodeMessage(DISCOVERY_RESPONSE, {
          version_info: response.version_info,
          resources: response.resources.map((r) => r.packed()),
          type_url: response.type_url,
          nonce: response.nonce,
        }),
      ),
    responseDeserialize: () => {
      throw new Error('the control plane does not read responses');
    },
  };
}

/** Serves one bidirectional stream: requests in, responses out, until either side ends it. */
function serveStream(discovery: DiscoveryServer, kind: string, call: Call): void {
  // Headers now: the client knows the stream is up before the first response (connected_state).
  call.sendMetadata(new grpc.Metadata());
  const stream = discovery.openStream(kind, (response) => call.write(response));
  call.on('data', (request: DiscoveryRequest) => {
    try {
      stream.handle(request);
    } catch (err) {
      if (!(err instanceof ProtocolError)) throw err;
      call.emit('error', { code: grpc.status.INVALID_ARGUMENT, details: err.message });
      call.end();
    }
  });
  const done = () => stream.close();
  call.on('end', () => {
    done();
    call.end();
  });
  call.on('cancelled', done);
  call.on('close', done);
  call.on('error', done);
}

/**
 * A gRPC server with the discovery services, listening on any number of addresses: the console
 * adds one per running lab (the address its proxies reach this machine at) and drops it when the
 * lab goes down, while the streams of other labs carry on.
 */
export class GrpcTransport {
  private readonly server = new grpc.Server({ 'grpc.max_send_message_length': -1 });
  private readonly bound: { host: string; port: number }[] = [];

  constructor(discovery: DiscoveryServer) {
    this.server.addService(
      { StreamAggregatedResources: method(ADS_PATH) },
      { StreamAggregatedResources: (call: Call) => serveStream(discovery, 'ads', call) },
    );
    for (const typeName of [LISTENER, ROUTE_CONFIGURATION, CLUSTER, CLUSTER_LOAD_ASSIGNMENT]) {
      const path = grpcPath(typeName);
      const name = path.slice(path.lastIndexOf('/') + 1);
      this.server.addService(
        { [name]: method(path) },
        { [name]: (call: Call) => serveStream(discovery, typeName, call) },
      );
    }
  }

  /** Listens on `host:port` as well (port 0: any); resolves with the bound port. */
  listen(host: string, port: number): Promise<number> {
    if (this.bound.some((b) => b.host === host && b.port === port)) return Promise.resolve(port);
    return new Promise<number>((resolve, reject) => {
      this.server.bindAsync(target(host, port), grpc.ServerCredentials.createInsecure(), (err, p) => {
        if (err) reject(err);
        else {
          this.bound.push({ host, port: p });
          resolve(p);
        }
      });
    });
  }

  /** Stops listening on `host:port` (the bound port, not 0) and ends the streams that came in there. */
  unlisten(host: string, port: number): void {
    const i = this.bound.findIndex((b) => b.host === host && b.port === port);
    if (i < 0) return;
    this.bound.splice(i, 1);
    // Unbinding alone closes sessions gracefully, which never ends: discovery streams are endless.
    this.server.drain(target(host, port), 0);
    this.server.unbind(target(host, port));
  }

  addresses(): { host: string; port: number }[] {
    return this.bound.map((b) => ({ ...b }));
  }

  close(): Promise<void> {
    // Streams are endless: end them rather than wait for clients to leave.
    this.server.forceShutdown();
    this.bound.length = 0;
    return Promise.resolve();
  }
}

function target(host: string, port: number): string {
  return `${host.includes(':') ? `[${host}]` : host}:${port}`;
}
