import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ContainerStatus, LabStatus } from '@meshcraft/runtime';
import { afterEach, describe, expect, it } from 'vitest';
import { ConsoleError } from '../errors.js';
import { readProbes } from './admin.js';

/** A stand-in for demoapps on loopback: each path answers with the status given for it. */
async function app(answers: Record<string, number>): Promise<http.Server> {
  const server = http.createServer((req, res) => {
    const status = answers[req.url ?? ''] ?? 404;
    res.writeHead(status).end(status === 200 ? 'OK' : status === 506 ? 'FAIL' : 'nope');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  servers.push(server);
  return server;
}

const servers: http.Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
});

function demoapp(namespace: string, server: http.Server): ContainerStatus {
  const { port } = server.address() as AddressInfo;
  return {
    name: `${namespace}-app`,
    node: 'web',
    namespace,
    role: 'demoapp',
    state: 'running',
    id: '1',
    ports: [{ purpose: 'app', name: 'app', protocol: 'tcp', port, host: '127.0.0.1', hostPort: port }],
  };
}

function lab(containers: ContainerStatus[]): LabStatus {
  return {
    labId: 'l',
    driver: 'local',
    state: 'running',
    network: { name: 'n' },
    containers,
    notes: [],
  };
}

describe('readProbes', () => {
  it("reads each replica's livez and readyz: 200 is OK, 506 is FAIL", async () => {
    const status = lab([
      demoapp('web-1', await app({ '/livez': 200, '/readyz': 506 })),
      demoapp('web-2', await app({ '/livez': 506, '/readyz': 200 })),
    ]);
    expect(await readProbes(status, 'web')).toEqual([
      { container: 'web-1-app', namespace: 'web-1', livez: 'OK', readyz: 'FAIL' },
      { container: 'web-2-app', namespace: 'web-2', livez: 'FAIL', readyz: 'OK' },
    ]);
    expect(await readProbes(status, 'web-2')).toEqual([
      { container: 'web-2-app', namespace: 'web-2', livez: 'FAIL', readyz: 'OK' },
    ]);
  });

  it('says so when what answers is not a demoapp probe', async () => {
    const status = lab([demoapp('web', await app({ '/livez': 200 }))]);
    const err = await readProbes(status, 'web').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConsoleError);
    expect((err as ConsoleError).message).toMatch(/web-app .* answered GET \/readyz with 404: nope/);
  });
});
