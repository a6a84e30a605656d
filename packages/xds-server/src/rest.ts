/**
 * The REST-JSON transport: `POST /v3/discovery:<listeners|routes|clusters|endpoints>` with a
 * DiscoveryRequest as proto3 JSON, answered at once — 200 with a DiscoveryResponse when the node's
 * snapshot has a version the request does not hold, 304 when it does, 503 while the node has no
 * snapshot. Polls report ACKs (the version just served) and NACKs (`error_detail`) like streams.
 */

import http from 'node:http';
import { typeUrl, XDS_TYPES } from '@meshcraft/proxy';
import type { DiscoveryRequest, DiscoveryServer } from './discovery.js';

const TYPE_BY_PATH = new Map(Object.entries(XDS_TYPES).map(([typeName, t]) => [t.rest, typeName]));
const MAX_BODY = 1024 * 1024;

export async function startRestServer(
  discovery: DiscoveryServer,
  host: string,
  port: number,
): Promise<{ port: number; close(): Promise<void> }> {
  /** Per node and type: what was last served, to tell ACKs and NACKs. */
  const served = new Map<string, { version: string; nonce: string; names: string }>();
  const server = http.createServer((req, res) => {
    const reply = (status: number, body?: unknown) => {
      const text = body === undefined ? '' : `${JSON.stringify(body)}\n`;
      res.writeHead(status, { 'content-type': 'application/json' }).end(text);
    };
    const typeName = TYPE_BY_PATH.get(req.url ?? '');
    if (req.method !== 'POST' || !typeName) {
      reply(404, {
        message: `no discovery service at ${req.method} ${req.url}; POST to ${[...TYPE_BY_PATH.keys()].join(', ')}`,
      });
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY) req.destroy();
      else chunks.push(c);
    });
    req.on('end', () => {
      let request: DiscoveryRequest;
      try {
        request = JSON.parse(Buffer.concat(chunks).toString('utf8')) as DiscoveryRequest;
      } catch (err) {
        reply(400, { message: `the body is not a JSON DiscoveryRequest: ${(err as Error).message}` });
        return;
      }
      const nodeId = request.node?.id;
      if (!nodeId) {
        reply(400, { message: 'the request must carry node.id' });
        return;
      }
      discovery.seen(request.node!);
      const key = `${nodeId}\0${typeName}`;
      const last = served.get(key);
      const stream = { nodeId, kind: 'rest' };
      if (last && request.response_nonce === last.nonce) {
        if (request.error_detail)
          discovery.record(stream, 'nack', typeName, last.version, request.error_detail.message ?? '');
        else if (request.version_info === last.version)
          discovery.record(stream, 'ack', typeName, last.version, '');
      }
      const snapshot = discovery.snapshotOf(nodeId);
      if (!snapshot) {
        reply(503, { message: `no configuration for node '${nodeId}' yet` });
        return;
      }
      const names = [...(request.resource_names ?? [])].sort();
      const sameNames = last?.names === names.join('\0');
      const rejectedCurrent = request.error_detail !== undefined && last?.version === snapshot.version;
      if (sameNames && (request.version_info === snapshot.version || rejectedCurrent)) {
        reply(304);
        return;
      }
      const nonce = discovery.nextNonce();
      const resources = snapshot.select(typeName, names);
      const response = { version_info: snapshot.version, resources, type_url: typeUrl(typeName), nonce };
      served.set(key, { version: snapshot.version, nonce, names: names.join('\0') });
      discovery.pushed(stream, typeName, response);
      reply(200, { ...response, resources: resources.map((r) => r.json) });
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  return {
    port: (server.address() as { port: number }).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
