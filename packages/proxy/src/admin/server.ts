/**
 * The admin HTTP server: Envoy's admin listener (source/server/admin/admin.cc) on node:http —
 * exact-path dispatch, POST-only mutations, the 404 help answer, Envoy's admin response headers
 * and the admin access log. It is not on the data path, so node:http is enough.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from '../common/logger.js';
import type { Address } from '../config/types.js';
import { AdminAccessLog } from './access-log.js';
import type { AdminContext } from './context.js';
import {
  type AdminRequest,
  type AdminResponse,
  addressString,
  CONTENT_TYPE,
  parseQuery,
  textResponse,
  type UrlHandler,
} from './handler.js';
import { createHandlers, helpText, methodNotAllowed } from './handlers.js';

export interface AdminServerOptions {
  address: Address;
  /** `admin.access_log_path`; absent or `/dev/null` means no access log. */
  accessLogPath?: string;
}

export interface AdminServer {
  /** The bound IP (or pipe path). */
  readonly address: string;
  /** The bound port (the real one when the config asked for 0); 0 for a pipe. */
  readonly port: number;
  close(): Promise<void>;
}

/** Finds the endpoint for a path (exact match, as Envoy) and enforces POST on mutating ones. */
function dispatch(handlers: readonly UrlHandler[], request: AdminRequest, log: Logger): AdminResponse {
  const handler = handlers.find((h) => h.prefix === request.path);
  // The space keeps "invalid path." a sentence of its own before the help text.
  if (!handler) return textResponse(`invalid path. ${helpText(handlers)}`, 404);
  if (handler.mutatesState && request.method !== 'POST') return methodNotAllowed(request, log);
  try {
    return handler.handle(request);
  } catch (e) {
    log.error(`admin ${request.path}: ${(e as Error).stack ?? e}`);
    return textResponse(`error: ${(e as Error).message}\n`, 500);
  }
}

function readBody(req: http.IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function header(req: http.IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v.join(',') : v;
}

function listen(server: http.Server, address: Address): Promise<void> {
  return new Promise((resolve, reject) => {
    const where = addressString(address);
    const onError = (err: NodeJS.ErrnoException) => {
      const hint =
        err.code === 'EADDRINUSE'
          ? 'another process is using it; free it or choose another admin address'
          : 'check admin.address in the bootstrap';
      reject(new Error(`admin: cannot listen on ${where}: ${err.message}; ${hint}`));
    };
    server.once('error', onError);
    const done = () => {
      server.off('error', onError);
      resolve();
    };
    if (address.pipe) server.listen(address.pipe.path, done);
    else if (address.socket_address) {
      server.listen(
        { host: address.socket_address.address, port: address.socket_address.port_value ?? 0 },
        done,
      );
    } else reject(new Error('admin: admin.address needs a socket_address or a pipe'));
  });
}

export async function startAdminServer(
  context: AdminContext,
  options: AdminServerOptions,
): Promise<AdminServer> {
  const log = context.logs.get('admin', 'source/server/admin/admin.cc');
  const accessLog = new AdminAccessLog(options.accessLogPath, log);
  const handlers = createHandlers(context, { reopenAdminAccessLog: () => accessLog.reopen() }, log);

  const server = http.createServer(async (req, res) => {
    const startTime = new Date();
    const started = performance.now();
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const rawQuery = q < 0 ? '' : url.slice(q + 1);
    let body: Buffer;
    try {
      body = await readBody(req);
    } catch {
      return; // the client went away mid-request
    }
    const request: AdminRequest = {
      method: req.method ?? 'GET',
      path: q < 0 ? url : url.slice(0, q),
      query: parseQuery(rawQuery, true),
      rawQuery,
      contentType: header(req, 'content-type'),
      body: body.toString('utf8'),
    };
    await context.refresh?.();
    const response = dispatch(handlers, request, log);
    const payload = Buffer.from(response.body, 'utf8');
    res.on('finish', () => {
      accessLog.write({
        startTime,
        method: request.method,
        path: url,
        protocol: `HTTP/${req.httpVersion}`,
        status: response.status,
        bytesReceived: body.length,
        bytesSent: payload.length,
        durationMs: performance.now() - started,
        forwardedFor: header(req, 'x-forwarded-for'),
        userAgent: header(req, 'user-agent'),
        requestId: header(req, 'x-request-id'),
        authority: header(req, 'host'),
      });
      response.afterSend?.();
    });
    res.writeHead(response.status, {
      'content-type': response.contentType ?? CONTENT_TYPE.text,
      'cache-control': 'no-cache, max-age=0',
      'x-content-type-options': 'nosniff',
      'content-length': payload.length,
      server: 'envoy',
    });
    res.end(payload);
  });

  await listen(server, options.address);
  const bound = server.address();
  const address = typeof bound === 'string' ? bound : (bound as AddressInfo).address;
  const port = typeof bound === 'string' || bound === null ? 0 : bound.port;

  return {
    address,
    port,
    async close() {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      await accessLog.close();
    },
  };
}
