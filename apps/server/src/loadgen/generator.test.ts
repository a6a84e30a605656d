import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LoadGenerator, type LoadSettings } from './generator.js';

/** An upstream that answers like the demoapp: its name in the body, and 503 for /fail. */
let upstream: http.Server;
let port: number;
const seenAgents: string[] = [];

beforeAll(async () => {
  let i = 0;
  upstream = http.createServer((req, res) => {
    seenAgents.push(String(req.headers['user-agent']));
    if (req.url === '/fail') return res.writeHead(503).end('upstream connect error\n');
    const name = ['red', 'blue'][i++ % 2];
    res
      .writeHead(200, { 'content-type': 'text/html' })
      .end(`iKubernetes demoapp v1.0 !! ClientIP: 127.0.0.1, ServerName: ${name}, ServerIP: 127.0.0.1!\n`);
  });
  await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
  port = (upstream.address() as AddressInfo).port;
});
afterAll(async () => {
  await new Promise((r) => upstream.close(r));
});

const base: LoadSettings = {
  method: 'GET',
  path: '/',
  headers: {},
  vary: [],
  rate: 0,
  concurrency: 3,
  durationSeconds: 30,
};

function run(settings: Partial<LoadSettings>, to = port): Promise<LoadGenerator> {
  return new Promise((resolve) => {
    const g: LoadGenerator = new LoadGenerator(
      'g',
      'lab',
      { node: 'front', host: '127.0.0.1', port: to },
      { ...base, ...settings },
      () => {
        void g.finished().then(() => resolve(g));
      },
    );
  });
}

describe('LoadGenerator', () => {
  it('sends exactly `count` requests, one per iteration, and tallies each by status and ServerName once', async () => {
    const s = (await run({ count: 200 })).snapshot();
    expect(s).toMatchObject({
      state: 'finished',
      sent: 200,
      completed: 200,
      byStatus: { '200': 200 },
      errors: {},
    });
    expect(s.byServerName).toEqual({ red: 100, blue: 100 });
  });

  it('counts failures by status or cause instead of as "the other version"', async () => {
    const bad = (await run({ count: 10, path: '/fail' })).snapshot();
    expect(bad.byStatus).toEqual({ '503': 10 });
    expect(bad.byServerName).toEqual({});
    const closed = http.createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const deadPort = (closed.address() as AddressInfo).port;
    await new Promise((r) => closed.close(r));
    const refused = (await run({ count: 5, concurrency: 1 }, deadPort)).snapshot();
    expect(refused).toMatchObject({ sent: 5, completed: 0, errors: { ECONNREFUSED: 5 } });
  });

  it('paces to the rate and rotates a header per request', async () => {
    seenAgents.length = 0;
    const started = performance.now();
    const g = await run({
      count: 30,
      rate: 100,
      vary: [{ header: 'User-Agent', values: ['Chrome', 'Firefox', '360'], mode: 'cycle' }],
    });
    const elapsed = performance.now() - started;
    expect(elapsed).toBeGreaterThanOrEqual(280);
    expect(elapsed).toBeLessThan(2000);
    expect(g.snapshot().completed).toBe(30);
    expect(seenAgents.filter((a) => a === 'Chrome')).toHaveLength(10);
    expect(seenAgents.filter((a) => a === 'Firefox')).toHaveLength(10);
  });

  it('stops when asked, with every started request answered', async () => {
    let g!: LoadGenerator;
    const ended = new Promise<void>((resolve) => {
      g = new LoadGenerator(
        's',
        'lab',
        { node: 'front', host: '127.0.0.1', port },
        { ...base, rate: 50 },
        () => resolve(),
      );
    });
    await new Promise((r) => setTimeout(r, 300));
    await g.stop();
    await ended;
    const s = g.snapshot();
    expect(s.state).toBe('stopped');
    expect(s.completed).toBe(s.sent);
    expect(s.sent).toBeGreaterThan(5);
  });
});
