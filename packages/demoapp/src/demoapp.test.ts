import { spawn } from 'node:child_process';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Demoapp } from './demoapp.js';

/** One raw HTTP/1.1 exchange, so the test sees the bytes a curl user would. */
function rawRequest(port: number, request: string, host = '127.0.0.1'): Promise<string> {
  return new Promise((resolve, reject) => {
    const sock = net.connect(port, host, () => sock.write(request));
    const chunks: Buffer[] = [];
    sock.on('data', (c) => chunks.push(c));
    sock.on('end', () => resolve(Buffer.concat(chunks).toString('latin1')));
    sock.on('error', reject);
  });
}

function split(raw: string): { status: string; headers: Record<string, string>; body: string } {
  const [head = '', body = ''] = raw.split('\r\n\r\n');
  const [status = '', ...lines] = head.split('\r\n');
  const headers: Record<string, string> = {};
  for (const l of lines) {
    const i = l.indexOf(':');
    headers[l.slice(0, i).toLowerCase()] = l.slice(i + 1).trim();
  }
  return { status, headers, body };
}

describe('demoapp', () => {
  const logs: string[] = [];
  const app = new Demoapp({
    port: 0,
    host: '127.0.0.1',
    version: 'v1.0',
    serverName: 'red',
    serverIp: '172.31.18.11',
    serviceName: 'gray',
    log: (l) => logs.push(l),
  });
  let port = 0;
  beforeAll(async () => {
    port = (await app.listen()).port;
  });
  afterAll(() => app.close());

  const get = async (path: string, method = 'GET', body = '') =>
    split(
      await rawRequest(
        port,
        `${method} ${path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n` +
          (body
            ? `Content-Type: application/x-www-form-urlencoded\r\nContent-Length: ${body.length}\r\n`
            : '') +
          `\r\n${body}`,
      ),
    );

  it('answers / with the course body byte for byte', async () => {
    const r = await get('/');
    expect(r.status).toBe('HTTP/1.1 200 OK');
    expect(r.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(r.body).toBe(
      'iKubernetes demoapp v1.0 !! ClientIP: 127.0.0.1, ServerName: red, ServerIP: 172.31.18.11!\n',
    );
    expect(r.headers['content-length']).toBe(String(r.body.length));
  });

  it('answers /hostname with its server name', async () => {
    expect((await get('/hostname?username=vip_x')).body).toBe('ServerName: red\n');
  });

  it('flips /livez to FAIL (506, no newline) and back', async () => {
    expect((await get('/livez')).body).toBe('OK');
    const post = await get('/livez', 'POST', 'livez=FAIL');
    expect(post.status).toBe('HTTP/1.1 200 OK');
    expect(post.body).toBe('');
    const failed = await get('/livez');
    expect(failed.status).toBe('HTTP/1.1 506 Variant Also Negotiates');
    expect(failed.body).toBe('FAIL');
    expect(failed.headers['content-length']).toBe('4');
    const head = await get('/livez', 'HEAD');
    expect(head.status).toBe('HTTP/1.1 506 Variant Also Negotiates');
    expect(head.body).toBe('');
    // readyz is independent of livez
    expect((await get('/readyz')).body).toBe('OK');
    await get('/livez', 'POST', 'livez=OK');
    expect((await get('/livez')).body).toBe('OK');
  });

  it('flips /readyz the same way and refuses other values', async () => {
    await get('/readyz', 'POST', 'readyz=FAIL');
    expect((await get('/readyz')).status).toContain('506');
    expect((await get('/readyz', 'POST', 'readyz=maybe')).status).toContain('400');
    await get('/readyz', 'POST', 'readyz=OK');
    expect((await get('/readyz')).status).toContain('200');
  });

  it('echoes method, path and headers', async () => {
    const r = await get('/echo?a=1');
    expect(r.body).toContain('Method: GET\nPath: /echo?a=1\nHeaders:\n  Host: x\n');
  });

  it('serves servicemesh-app style /service pages when SERVICE_NAME is set', async () => {
    expect((await get('/service/blue')).body).toBe(
      'Hello from App behind Envoy (service gray)! hostname: red resolved hostname: 172.31.18.11\n',
    );
  });

  it('logs werkzeug-style access lines', () => {
    expect(logs[0]).toMatch(/^ \* Running on http:\/\/127\.0\.0\.1:\d+\/ \(Press CTRL\+C to quit\)$/);
    expect(logs).toContainEqual(
      expect.stringMatching(
        /^127\.0\.0\.1 - - \[\d\d\/\w{3}\/\d{4} \d\d:\d\d:\d\d\] "POST \/livez HTTP\/1\.1" 200 -$/,
      ),
    );
  });
});

describe('meshcraft-demoapp bin', () => {
  it('takes PORT, HOST, VERSION and SERVER_NAME from the environment', async () => {
    const bin = fileURLToPath(new URL('../bin/meshcraft-demoapp.js', import.meta.url));
    const port = 20000 + Math.floor(Math.random() * 20000);
    const child = spawn(process.execPath, [bin], {
      env: { ...process.env, PORT: String(port), HOST: '127.0.0.7', VERSION: 'v1.1', SERVER_NAME: 'blue' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    try {
      await new Promise<void>((resolve, reject) => {
        child.stdout.on('data', (d: Buffer) => d.toString().includes('Running on') && resolve());
        child.on('exit', (code) => reject(new Error(`exited ${code}`)));
      });
      // A specific bind address is the "container" address (the local driver gives each its own 127.0.0.x).
      const r = split(
        await rawRequest(port, 'GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n', '127.0.0.7'),
      );
      expect(r.body).toBe(
        'iKubernetes demoapp v1.1 !! ClientIP: 127.0.0.1, ServerName: blue, ServerIP: 127.0.0.7!\n',
      );
    } finally {
      child.kill('SIGTERM');
    }
  });

  it('says which port is taken when it cannot listen', async () => {
    const holder = net.createServer().listen(0, '127.0.0.1');
    await new Promise((r) => holder.once('listening', r));
    const port = (holder.address() as net.AddressInfo).port;
    const bin = fileURLToPath(new URL('../bin/meshcraft-demoapp.js', import.meta.url));
    const child = spawn(process.execPath, [bin], {
      env: { ...process.env, PORT: String(port), HOST: '127.0.0.1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d) => {
      stderr += d;
    });
    const code = await new Promise((r) => child.on('exit', r));
    holder.close();
    expect(code).toBe(1);
    expect(stderr).toContain(`port ${port} on 127.0.0.1 is already in use`);
  });
});

describe('UDP listener', () => {
  it('logs each datagram payload after a banner, as the udp-proxy example service does', async () => {
    const dgram = await import('node:dgram');
    const logs: string[] = [];
    const app = new Demoapp({
      port: 0,
      host: '127.0.0.1',
      version: 'v1.0',
      serverName: 'udp',
      serverIp: '127.0.0.1',
      udpPort: 0,
      log: (l) => logs.push(l),
    });
    const udpPort = (await app.listenUdp())!;
    const client = dgram.createSocket('udp4');
    await new Promise<void>((r) => client.send('HELO', udpPort, '127.0.0.1', () => r()));
    await new Promise<void>((r) => client.send('OLEH', udpPort, '127.0.0.1', () => r()));
    for (let i = 0; i < 50 && logs.length < 3; i++) await new Promise((r) => setTimeout(r, 20));
    client.close();
    await app.close();
    expect(logs).toEqual([`Listening on UDP port ${udpPort}`, 'HELO', 'OLEH']);
  });
});
