/**
 * The console drives Docker, so it is probed here as an attacker would: a rebound DNS name, a
 * page of another origin, a missing token, a lab name that climbs out of the workspace, an
 * oversized body. Each refusal has a positive control, so a guard that lets nothing through
 * (or everything) fails.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { BIN, type ServerProcess, startServerProcess } from './server-process.js';

interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

function send(
  port: number,
  method: string,
  urlPath: string,
  headers: Record<string, string> = {},
  body?: string | Buffer,
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method, path: urlPath, headers }, (res) => {
      let text = '';
      res.on('data', (d: Buffer) => {
        text += d.toString();
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** Opens a WebSocket to /trpc; resolves with the HTTP status of a refusal, or 101 when it opened. */
function upgrade(port: number, headers: Record<string, string>): Promise<number> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/trpc`, { headers });
    ws.on('open', () => {
      ws.close();
      resolve(101);
    });
    ws.on('unexpected-response', (_req, res) => {
      resolve(res.statusCode ?? 0);
      res.resume();
    });
    ws.on('error', (err) => {
      if (!String(err.message).includes('Unexpected server response')) reject(err);
    });
  });
}

const json = { 'content-type': 'application/json' };

describe('without a token (loopback)', () => {
  let server: ServerProcess;
  beforeAll(async () => {
    server = await startServerProcess();
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('answers 403 to a Host that is not its address (DNS rebinding)', async () => {
    const evil = await send(server.port, 'GET', '/trpc/labs.list', { host: 'evil.example' });
    expect(evil.status).toBe(403);
    expect(evil.body).toContain("Host 'evil.example' is not this console's address");
    const rebound = await send(server.port, 'GET', '/trpc/labs.list', {
      host: `evil.example:${server.port}`,
    });
    expect(rebound.status).toBe(403);
    for (const host of [`127.0.0.1:${server.port}`, `localhost:${server.port}`]) {
      expect((await send(server.port, 'GET', '/trpc/labs.list', { host })).status).toBe(200);
    }
  });

  it('refuses a WebSocket from another origin, and a Host it does not know, but takes its own', async () => {
    expect(await upgrade(server.port, { origin: 'http://evil.example' })).toBe(403);
    expect(
      await upgrade(server.port, { origin: `http://127.0.0.1:${server.port}`, host: 'evil.example' }),
    ).toBe(403);
    expect(await upgrade(server.port, { origin: `http://127.0.0.1:${server.port}` })).toBe(101);
    expect(await upgrade(server.port, { origin: `http://localhost:${server.port}` })).toBe(101);
  });

  it('refuses mutations from another origin', async () => {
    const body = JSON.stringify({ name: 'any' });
    const evil = await send(
      server.port,
      'POST',
      '/trpc/labs.delete',
      { ...json, origin: 'http://evil.example' },
      body,
    );
    expect(evil.status).toBe(403);
    const own = await send(server.port, 'POST', '/trpc/labs.delete', { ...json, origin: server.base }, body);
    expect(own.status).toBe(404); // reached the API: there is no lab 'any'
  });

  it("refuses the lab name '../../etc/passwd' everywhere a name goes, and writes nothing outside the workspace", async () => {
    const name = '../../etc/passwd';
    const get = await send(
      server.port,
      'GET',
      `/trpc/labs.get?input=${encodeURIComponent(JSON.stringify({ name }))}`,
    );
    expect(get.status).toBe(400);
    expect(JSON.parse(get.body).error.data.details.code).toBe('BAD_NAME');
    const lab = {
      apiVersion: 'meshcraft.io/v1alpha1',
      kind: 'Lab',
      metadata: { name, title: 'traversal' },
      spec: { nodes: [], edges: [] },
    };
    const save = await send(server.port, 'POST', '/trpc/labs.save', json, JSON.stringify({ lab }));
    expect(save.status).toBe(422);
    expect(JSON.stringify(JSON.parse(save.body).error.data.details.issues)).toContain('metadata.name');
    for (const [proc, input] of [
      ['labs.duplicate', { from: { name: 'traffic-split', source: 'library' }, to: name }],
      ['labs.rename', { from: 'traffic-split', to: name }],
      ['labs.delete', { name }],
      ['lifecycle.up', { name, driver: 'local' }],
      ['labs.import', { source: { kind: 'yaml', text: 'kind: Lab' }, name }],
    ] as const) {
      const r = await send(server.port, 'POST', `/trpc/${proc}`, json, JSON.stringify(input));
      expect(r.status, proc).toBe(400);
      expect(JSON.parse(r.body).error.data.details.code, proc).toBe('BAD_NAME');
    }
    // A legitimate duplicate lands in the workspace, and only there.
    const ok = await send(
      server.port,
      'POST',
      '/trpc/labs.duplicate',
      json,
      JSON.stringify({ from: { name: 'traffic-split', source: 'library' }, to: 'my-split' }),
    );
    expect(ok.status).toBe(200);
    expect(readdirSync(path.join(server.home, 'workspace'))).toEqual(['my-split.lab.yaml']);
    expect(existsSync(path.join(server.home, 'etc'))).toBe(false);
  });

  it('refuses a zip whose entries climb out of the archive', async () => {
    const { zip } = await import('@meshcraft/topology');
    const archive = Buffer.from(zip({ '../evil.lab.yaml': 'kind: Lab\n' })).toString('base64');
    const r = await send(
      server.port,
      'POST',
      '/trpc/labs.import',
      json,
      JSON.stringify({ source: { kind: 'zip', base64: archive } }),
    );
    expect(r.status).toBe(400);
    expect(JSON.parse(r.body).error.message).toContain('points outside the archive');
  });

  it('refuses a body over the limit with 413', async () => {
    const big = Buffer.alloc(13 * 1024 * 1024, 'a');
    const r = await send(server.port, 'POST', '/trpc/labs.validate', json, big);
    expect(r.status).toBe(413);
  });

  it('serves a plain page when the web app is not built', async () => {
    const page = await send(server.port, 'GET', '/');
    expect(page.status).toBe(200);
    expect(page.headers['x-frame-options']).toBe('DENY');
  });
});

describe('with --token', () => {
  const token = 's3cret-token-for-the-test';
  let server: ServerProcess;
  beforeAll(async () => {
    server = await startServerProcess(['--token', token]);
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('answers 401 to requests and upgrades without the token, and serves those that carry it', async () => {
    expect((await send(server.port, 'GET', '/trpc/labs.list')).status).toBe(401);
    expect((await send(server.port, 'GET', '/')).status).toBe(401);
    expect(
      (await send(server.port, 'GET', '/trpc/labs.list', { authorization: 'Bearer wrong' })).status,
    ).toBe(401);
    expect(await upgrade(server.port, {})).toBe(401);
    expect(
      (await send(server.port, 'GET', '/trpc/labs.list', { authorization: `Bearer ${token}` })).status,
    ).toBe(200);
    expect(await upgrade(server.port, { authorization: `Bearer ${token}` })).toBe(101);
  });

  it('trades ?token= for a cookie that then opens pages and WebSockets', async () => {
    const first = await send(server.port, 'GET', `/?token=${token}`);
    expect(first.status).toBe(303);
    expect(first.headers.location).toBe('/');
    const cookie = String(first.headers['set-cookie']).split(';')[0]!;
    expect(cookie).toBe(`meshcraft_token=${token}`);
    expect(String(first.headers['set-cookie'])).toContain('HttpOnly');
    expect((await send(server.port, 'GET', '/', { cookie })).status).toBe(200);
    expect(await upgrade(server.port, { cookie, origin: server.base })).toBe(101);
    expect(await upgrade(server.port, { cookie, origin: 'http://evil.example' })).toBe(403);
  });
});

describe('binding beyond loopback', () => {
  it('refuses to start without --token, saying why and what to do', () => {
    const r = spawnSync(process.execPath, [BIN, 'serve', '--host', '0.0.0.0', '--port', '0'], {
      encoding: 'utf8',
      timeout: 20_000,
    });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('pass --token');
  });
});
