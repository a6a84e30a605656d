/**
 * meshcraft-demoapp: a work-alike of the course's `ikubernetes/demoapp` image.
 *
 * Bodies and status codes are byte-exact with what the course notes show, because learners
 * compare their terminal with the notes: `GET /` ends in "!\n", `/livez` answers `OK` or `FAIL`
 * with no newline, and a failed probe is `506 Variant Also Negotiates`.
 */
import dgram from 'node:dgram';
import http from 'node:http';
import os from 'node:os';

export interface DemoappOptions {
  /** Port to listen on (env PORT, default 80). */
  port: number;
  /** Bind address (env HOST, default 0.0.0.0). `127.0.0.1` makes it reachable only through a sidecar. */
  host: string;
  /** Version shown in the body (env VERSION, default v1.0), as the image tag did. */
  version: string;
  /** Name shown as ServerName (env SERVER_NAME, default the hostname). */
  serverName: string;
  /** Address shown as ServerIP: the namespace's interface address, even when bound to loopback. */
  serverIp: string;
  /** Service name for the servicemesh-app style `/service/*` pages (env SERVICE_NAME). */
  serviceName?: string;
  /**
   * When set (env UDP_PORT), also listen for UDP datagrams and log each payload on its own line,
   * as the UDP service of the course's udp-proxy example does.
   */
  udpPort?: number;
  /** Where werkzeug-style access log lines go. */
  log: (line: string) => void;
}

type Probe = 'livez' | 'readyz';

const HTML = 'text/html; charset=utf-8';

export function optionsFromEnv(env: NodeJS.ProcessEnv = process.env): DemoappOptions {
  const port = env.PORT === undefined || env.PORT === '' ? 80 : Number(env.PORT);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new Error(`PORT must be a TCP port number (0-65535), got '${env.PORT}'`);
  }
  const host = env.HOST || '0.0.0.0';
  const udpPort = env.UDP_PORT ? Number(env.UDP_PORT) : undefined;
  if (udpPort !== undefined && (!Number.isInteger(udpPort) || udpPort < 0 || udpPort > 65535)) {
    throw new Error(`UDP_PORT must be a port number (0-65535), got '${env.UDP_PORT}'`);
  }
  return {
    port,
    host,
    version: env.VERSION || 'v1.0',
    serverName: env.SERVER_NAME || os.hostname(),
    serverIp: env.SERVER_IP || interfaceAddress(host),
    serviceName: env.SERVICE_NAME || undefined,
    udpPort,
    log: (line) => process.stdout.write(`${line}\n`),
  };
}

/**
 * The address a client of this "container" would use: the bind address when it is a specific
 * non-loopback one, otherwise the first external IPv4 of the network namespace (what the real
 * image prints even when bound to 127.0.0.1 behind a sidecar), otherwise the bind address.
 */
export function interfaceAddress(host: string): string {
  const wildcard = host === '0.0.0.0' || host === '::' || host === '127.0.0.1' || host === 'localhost';
  if (!wildcard) return host;
  for (const addrs of Object.values(os.networkInterfaces())) {
    for (const a of addrs ?? []) {
      if (a.family === 'IPv4' && !a.internal) return a.address;
    }
  }
  return host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host;
}

/** `27/Jun/2022 16:21:16`, the timestamp werkzeug puts in its access log. */
function werkzeugTime(d: Date): string {
  const months = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
  const p = (n: number) => String(n).padStart(2, '0');
  return `${p(d.getDate())}/${months[d.getMonth()]}/${d.getFullYear()} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

function peerAddress(req: http.IncomingMessage): string {
  const addr = req.socket.remoteAddress ?? '';
  return addr.startsWith('::ffff:') ? addr.slice(7) : addr;
}

async function readBody(req: http.IncomingMessage, limit = 64 * 1024): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > limit) throw new Error('body too large');
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

export class Demoapp {
  readonly server: http.Server;
  private udp: dgram.Socket | undefined;
  private readonly state: Record<Probe, 'OK' | 'FAIL'> = { livez: 'OK', readyz: 'OK' };

  constructor(readonly options: DemoappOptions) {
    this.server = http.createServer((req, res) => {
      this.handle(req, res).catch((err: Error) => {
        if (!res.headersSent) this.send(req, res, 400, `${err.message}\n`);
      });
    });
    // Keep connections from proxies' pools open as long as they like, like werkzeug with keep-alive.
    this.server.keepAliveTimeout = 60_000;
  }

  listen(): Promise<{ address: string; port: number }> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.options.port, this.options.host, () => {
        this.server.off('error', reject);
        const a = this.server.address();
        const port = typeof a === 'object' && a ? a.port : this.options.port;
        this.options.log(` * Running on http://${this.options.host}:${port}/ (Press CTRL+C to quit)`);
        resolve({ address: this.options.host, port });
      });
    });
  }

  /** Starts the UDP listener when `udpPort` is set; resolves with its bound port. */
  listenUdp(): Promise<number | undefined> {
    const port = this.options.udpPort;
    if (port === undefined) return Promise.resolve(undefined);
    const host = this.options.host;
    const udp = dgram.createSocket(host.includes(':') ? 'udp6' : 'udp4');
    this.udp = udp;
    udp.on('message', (msg) => this.options.log(msg.toString('utf8')));
    return new Promise((resolve, reject) => {
      udp.once('error', reject);
      udp.bind(port, host, () => {
        udp.off('error', reject);
        const bound = udp.address().port;
        this.options.log(`Listening on UDP port ${bound}`);
        resolve(bound);
      });
    });
  }

  close(): Promise<void> {
    this.udp?.close();
    return new Promise((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://demoapp');
    const path = url.pathname;
    const method = req.method ?? 'GET';
    const { version, serverName, serverIp, serviceName } = this.options;

    if (path === '/livez' || path === '/readyz') {
      const probe = path.slice(1) as Probe;
      if (method === 'POST') {
        const form = new URLSearchParams(await readBody(req));
        const value = form.get(probe);
        if (value !== 'OK' && value !== 'FAIL') {
          return this.send(req, res, 400, `form field '${probe}' must be OK or FAIL\n`);
        }
        this.state[probe] = value;
        return this.send(req, res, 200, '');
      }
      if (method === 'GET' || method === 'HEAD') {
        const ok = this.state[probe] === 'OK';
        return this.send(req, res, ok ? 200 : 506, this.state[probe]);
      }
      return this.send(req, res, 405, 'Method Not Allowed\n');
    }
    if (method !== 'GET' && method !== 'HEAD' && path !== '/echo') {
      return this.send(req, res, 405, 'Method Not Allowed\n');
    }
    if (path === '/') {
      return this.send(
        req,
        res,
        200,
        `iKubernetes demoapp ${version} !! ClientIP: ${peerAddress(req)}, ServerName: ${serverName}, ServerIP: ${serverIp}!\n`,
      );
    }
    if (path === '/hostname') {
      return this.send(req, res, 200, `ServerName: ${serverName}\n`);
    }
    if (path === '/echo') {
      const body = await readBody(req);
      const lines = [`Method: ${method}`, `Path: ${req.url ?? '/'}`, 'Headers:'];
      for (let i = 0; i < req.rawHeaders.length; i += 2) {
        lines.push(`  ${req.rawHeaders[i]}: ${req.rawHeaders[i + 1]}`);
      }
      if (body) lines.push('Body:', body);
      return this.send(req, res, 200, `${lines.join('\n')}\n`, 'text/plain; charset=utf-8');
    }
    if (serviceName && (path === '/service' || path.startsWith('/service/'))) {
      // The course's servicemesh-app (and Envoy's front-proxy sandbox service.py) answer this way.
      return this.send(
        req,
        res,
        200,
        `Hello from App behind Envoy (service ${serviceName})! hostname: ${serverName} resolved hostname: ${serverIp}\n`,
      );
    }
    return this.send(
      req,
      res,
      404,
      '<!DOCTYPE HTML PUBLIC "-//W3C//DTD HTML 3.2 Final//EN">\n<title>404 Not Found</title>\n<h1>Not Found</h1>\n' +
        '<p>The requested URL was not found on the server. If you entered the URL manually please check your spelling and try again.</p>\n',
    );
  }

  private send(
    req: http.IncomingMessage,
    res: http.ServerResponse,
    status: number,
    body: string,
    contentType = HTML,
  ): void {
    const payload = Buffer.from(body, 'utf8');
    res.writeHead(status, {
      'content-type': contentType,
      'content-length': String(payload.length),
      server: 'meshcraft-demoapp',
    });
    res.end(req.method === 'HEAD' ? undefined : payload);
    this.options.log(
      `${peerAddress(req)} - - [${werkzeugTime(new Date())}] "${req.method} ${req.url} HTTP/${req.httpVersion}" ${status} -`,
    );
  }
}
