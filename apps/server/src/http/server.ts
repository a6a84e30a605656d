/**
 * The console's one port: tRPC over HTTP at `/trpc/*` for queries and mutations, tRPC over
 * WebSocket at `/trpc` for subscriptions, and the built web app everywhere else. Every request
 * and upgrade passes the guard (Host, token, Origin) first.
 */
import http from 'node:http';
import type { Duplex } from 'node:stream';
import { createHTTPHandler } from '@trpc/server/adapters/standalone';
import { applyWSSHandler } from '@trpc/server/adapters/ws';
import { WebSocketServer } from 'ws';
import { ConsoleApp, type ConsoleOptions } from '../app.js';
import { ConsoleError } from '../errors.js';
import { appRouter } from '../trpc/router.js';
import { Guard, isLoopback, TOKEN_COOKIE } from './guard.js';
import { DEFAULT_WEB_DIR, StaticFiles } from './static.js';

/** The largest request body: an imported lab directory or zip (base64) of a few MB. */
export const MAX_BODY_BYTES = 12 * 1024 * 1024;
/** Subscription messages from the client are tiny; queries and mutations go over HTTP. */
const MAX_WS_MESSAGE_BYTES = 1024 * 1024;

export interface ServeOptions extends ConsoleOptions {
  host: string;
  /** 0: any free port. */
  port: number;
  token?: string;
  webDir?: string;
  allowHosts?: string[];
  allowOrigins?: string[];
  /** Where the server reports internal errors (default: stderr). */
  log?: (line: string) => void;
}

export interface RunningServer {
  url: string;
  host: string;
  port: number;
  app: ConsoleApp;
  close(): Promise<void>;
}

export async function startServer(options: ServeOptions): Promise<RunningServer> {
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  if (!isLoopback(options.host) && !options.token) {
    throw new ConsoleError(
      'BAD_INPUT',
      `binding ${options.host} would let anyone on the network drive this machine's Docker engine through the console`,
      'pass --token <secret> (and give the secret only to those who may use it), or bind 127.0.0.1',
    );
  }
  const app = new ConsoleApp({ ...options, liveEdits: true });
  await app.workspace.ensure();
  // Labs a previous console brought up get their control plane back; edits wait for it.
  app.live
    .restore()
    .catch((err: unknown) => log(`could not serve running labs again: ${(err as Error).message}`));
  const files = new StaticFiles(options.webDir ?? DEFAULT_WEB_DIR);
  const trpc = createHTTPHandler({
    router: appRouter,
    basePath: '/trpc/',
    maxBodySize: MAX_BODY_BYTES,
    createContext: () => ({ app }),
    onError: ({ error, path }) => {
      if (error.code === 'INTERNAL_SERVER_ERROR')
        log(`meshcraft: ${path ?? '(no procedure)'}: ${error.cause?.stack ?? error.stack}`);
    },
  });
  let guard: Guard | undefined;

  const server = http.createServer((req, res) => {
    const verdict = guard!.check(req, !['GET', 'HEAD', 'OPTIONS'].includes(req.method ?? 'GET'));
    if (!verdict.ok) {
      res
        .writeHead(verdict.status, { 'content-type': 'text/plain; charset=utf-8' })
        .end(`${verdict.message}\n`);
      req.resume();
      return;
    }
    setSecurityHeaders(res);
    const url = new URL(req.url ?? '/', 'http://console');
    const queryToken = guard!.tokenFromQuery(req);
    if (queryToken !== undefined && req.method === 'GET' && !url.pathname.startsWith('/trpc')) {
      // Trade the token in the address for a cookie, and drop it from the address bar.
      url.searchParams.delete('token');
      res.writeHead(303, {
        'set-cookie': `${TOKEN_COOKIE}=${encodeURIComponent(queryToken)}; HttpOnly; SameSite=Strict; Path=/`,
        location: url.pathname + url.search,
      });
      res.end();
      return;
    }
    if (url.pathname === '/trpc' || url.pathname.startsWith('/trpc/')) {
      trpc(req, res);
      return;
    }
    if (url.pathname === '/healthz') {
      res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' }).end('ok\n');
      return;
    }
    files.serve(req, res).catch((err: Error) => {
      log(`meshcraft: serving ${url.pathname}: ${err.stack}`);
      if (!res.headersSent) res.writeHead(500).end();
    });
  });
  // Image builds can keep `up` going for minutes; its HTTP request waits that long.
  server.requestTimeout = 0;

  const wss = new WebSocketServer({ noServer: true, maxPayload: MAX_WS_MESSAGE_BYTES });
  const wsHandler = applyWSSHandler({
    wss,
    router: appRouter,
    createContext: () => ({ app }),
    keepAlive: { enabled: true, pingMs: 30_000, pongWaitMs: 10_000 },
  });
  server.on('upgrade', (req, socket: Duplex, head) => {
    const verdict = guard!.check(req, true);
    const { pathname } = new URL(req.url ?? '/', 'http://console');
    if (!verdict.ok || pathname !== '/trpc') {
      const [status, text] = verdict.ok
        ? [404, 'WebSockets are served at /trpc']
        : [verdict.status, verdict.message];
      socket.end(
        `HTTP/1.1 ${status} ${http.STATUS_CODES[status]}\r\ncontent-type: text/plain; charset=utf-8\r\nconnection: close\r\n\r\n${text}\n`,
      );
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws, req));
  });

  await listen(server, options.host, options.port);
  // The first lab list would otherwise parse the whole library while a person waits for it.
  app.workspace
    .warm()
    .catch((err: unknown) => log(`could not read the labs ahead: ${(err as Error).message}`));
  const port = (server.address() as { port: number }).port;
  guard = new Guard({
    host: options.host,
    port,
    token: options.token,
    allowHosts: options.allowHosts,
    allowOrigins: options.allowOrigins,
  });
  const shownHost = options.host.includes(':') ? `[${options.host}]` : options.host;
  return {
    url: `http://${shownHost}:${port}/`,
    host: options.host,
    port,
    app,
    async close() {
      wsHandler.broadcastReconnectNotification();
      for (const client of wss.clients) client.terminate();
      wss.close();
      await app.close();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}

function setSecurityHeaders(res: http.ServerResponse): void {
  res.setHeader('x-content-type-options', 'nosniff');
  res.setHeader('x-frame-options', 'DENY');
  res.setHeader('referrer-policy', 'no-referrer');
  res.setHeader('cross-origin-resource-policy', 'same-origin');
}

function listen(server: http.Server, host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException) => {
      server.off('listening', onListening);
      if (err.code === 'EADDRINUSE') {
        reject(
          new ConsoleError(
            'BAD_INPUT',
            `port ${port} on ${host} is already in use (another meshcraft serve, or something else)`,
            'stop what holds it, or pass --port with a free port',
          ),
        );
      } else if (err.code === 'EADDRNOTAVAIL') {
        reject(
          new ConsoleError(
            'BAD_INPUT',
            `${host} is not an address of this machine`,
            'pass --host with one of its addresses, e.g. 127.0.0.1',
          ),
        );
      } else if (err.code === 'EACCES') {
        reject(
          new ConsoleError(
            'BAD_INPUT',
            `no permission to listen on port ${port}`,
            'pass --port with a port above 1023',
          ),
        );
      } else reject(err);
    };
    const onListening = () => {
      server.off('error', onError);
      resolve();
    };
    server.once('error', onError);
    server.once('listening', onListening);
    server.listen(port, host);
  });
}
