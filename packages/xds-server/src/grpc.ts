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

/** Starts a gRPC server with the discovery services on `host:port` (port 0: any); resolves with the bound port. */
export async function startGrpcServer(
  discovery: DiscoveryServer,
  host: string,
  port: number,
): Promise<{ port: number; close(): Promise<void> }> {
  const server = new grpc.Server({ 'grpc.max_send_message_length': -1 });
  server.addService(
    { StreamAggregatedResources: method(ADS_PATH) },
    { StreamAggregatedResources: (call: Call) => serveStream(discovery, 'ads', call) },
  );
  for (const typeName of [LISTENER, ROUTE_CONFIGURATION, CLUSTER, CLUSTER_LOAD_ASSIGNMENT]) {
    const path = grpcPath(typeName);
    const name = path.slice(path.lastIndexOf('/') + 1);
    server.addService(
      { [name]: method(path) },
      { [name]: (call: Call) => serveStream(discovery, typeName, call) },
    );
  }
  const bound = await new Promise<number>((resolve, reject) => {
    server.bindAsync(
      `${host.includes(':') ? `[${host}]` : host}:${port}`,
      grpc.ServerCredentials.createInsecure(),
      (err, p) => (err ? reject(err) : resolve(p)),
    );
  });
  return {
    port: bound,
    close: () =>
      new Promise<void>((resolve) => {
        // Streams are endless: end them rather than wait for clients to leave.
        server.forceShutdown();
        resolve();
      }),
  };
}
