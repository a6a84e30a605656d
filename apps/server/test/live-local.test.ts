import http from 'node:http';
import type { LabStatus } from '@meshcraft/runtime';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LiveEdit } from '../src/live/config.js';
import { EDIT_BOUND_MS, edited, libraryLab, node, report, runLiveEdits } from './live-edits.js';
import { uniqueName } from './scenario.js';
import { type ServerProcess, startServerProcess } from './server-process.js';

function get(p: { host: string; hostPort: number }, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    http
      .get({ host: p.host, port: p.hostPort, path, agent: false }, (res) => {
        let body = '';
        res.on('data', (d: Buffer) => {
          body += d.toString();
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      })
      .on('error', reject);
  });
}

function listener(status: LabStatus, container: string) {
  return status.containers.find((c) => c.name === container)!.ports.find((p) => p.purpose === 'listener')!;
}

const ids = (s: LabStatus) => Object.fromEntries(s.containers.map((c) => [c.name, c.id]));

describe('live edits on the local driver', () => {
  let server: ServerProcess;
  beforeAll(async () => {
    server = await startServerProcess(['--driver', 'local']);
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('a weight, a route, an endpoint and an LB policy reach the running proxies over xDS; a NACK and an edit needing up are reported', async () => {
    const timings = await runLiveEdits(server, 'local');
    report('local', timings);
    for (const t of timings) expect(t.ms, t.edit).toBeLessThan(EDIT_BOUND_MS);
  });

  it('all or nothing: when one proxy rejects its part, the others that took theirs get the previous config back', async () => {
    const name = uniqueName('it-live-hc');
    server.labs.add(name);
    const v0 = libraryLab('health-check-with-http', name);
    await server.client.labs.save.mutate({ lab: v0 });
    const status = await server.client.lifecycle.up.mutate({ name, driver: 'local' });
    const sidecar = listener(status, 'webserver01-sidecar');
    expect((await get(sidecar, '/hello')).body).not.toBe('hello from the sidecar');
    // webserver01's sidecar answers /hello itself; the front proxy's cluster gets TLS, which its proxy refuses.
    const both = edited(v0, (l) => {
      node(l, 'webserver01').sidecar.ingress[0].virtualHosts[0].routes.unshift({
        id: 'hello',
        match: { path: '/hello' },
        directResponse: { status: 200, body: 'hello from the sidecar' },
      });
      node(l, 'web_cluster_01').tls = { trustedCa: { file: '/etc/envoy/ca/ca.crt' } };
    });
    const live = (await server.client.labs.save.mutate({ lab: both })).live as Extract<
      LiveEdit,
      { result: 'rejected' }
    >;
    expect(live.result).toBe('rejected');
    expect(Object.fromEntries(live.proxies.map((p) => [p.container, p.outcome.state]))).toEqual({
      envoy: 'rejected',
      'webserver01-sidecar': 'restored',
      'webserver02-sidecar': 'unchanged',
    });
    expect(live.message).toMatch(/^envoy rejected the change: .*'web_cluster_01'/);
    expect((await get(sidecar, '/hello')).body).not.toBe('hello from the sidecar');
    const config = await server.client.lifecycle.config.query({ labId: name });
    expect(config.proxies.map((p) => [p.container, p.inSync])).toEqual([
      ['envoy', true],
      ['webserver01-sidecar', true],
      ['webserver02-sidecar', true],
    ]);
    // The saved version is not what runs, and the status says so to whoever looks later.
    expect(config.lastEdit).toEqual(live);

    // Without the TLS, the same change of the sidecar is taken.
    const hello = edited(both, (l) => {
      delete node(l, 'web_cluster_01').tls;
    });
    const applied = (await server.client.labs.save.mutate({ lab: hello })).live!;
    expect(applied).toMatchObject({
      result: 'applied',
      proxies: [
        { container: 'envoy', outcome: { state: 'unchanged' } },
        {
          container: 'webserver01-sidecar',
          changes: [{ kind: 'route', name: 'local_route', change: 'changed' }],
          outcome: { state: 'applied' },
        },
        { container: 'webserver02-sidecar', outcome: { state: 'unchanged' } },
      ],
    });
    expect(await get(sidecar, '/hello')).toEqual({ status: 200, body: 'hello from the sidecar' });
    expect((await server.client.lifecycle.config.query({ labId: name })).lastEdit).toEqual(applied);

    // A listener moved to another port the lab maps: the proxy would have to let go of its socket.
    const moved = edited(hello, (l) => {
      node(l, 'envoy').listeners[0].port = 8080;
    });
    const refused = (await server.client.labs.save.mutate({ lab: moved })).live!;
    expect(refused).toMatchObject({ result: 'needsUp', reasons: [{ container: 'envoy' }] });
    expect((refused as Extract<LiveEdit, { result: 'needsUp' }>).reasons[0]!.message).toMatch(
      /^listener 'listener_0' moves from 127\.31\.18\.2:\d+ to 127\.31\.18\.2:\d+ on envoy; a running proxy does not move a listener to another address \(Envoy refuses that too\)$/,
    );

    // A stopped proxy gets its part when it starts again.
    await server.client.lifecycle.nodeAction.mutate({ labId: name, target: 'webserver02', action: 'stop' });
    const bye = edited(hello, (l) => {
      node(l, 'webserver02').sidecar.ingress[0].virtualHosts[0].routes.unshift({
        id: 'bye',
        match: { path: '/bye' },
        directResponse: { status: 200, body: 'bye' },
      });
    });
    const pending = (await server.client.labs.save.mutate({ lab: bye })).live!;
    expect(pending).toMatchObject({
      result: 'applied',
      proxies: [
        { outcome: { state: 'unchanged' } },
        { outcome: { state: 'unchanged' } },
        { outcome: { state: 'pending' } },
      ],
    });
    const started = await server.client.lifecycle.nodeAction.mutate({
      labId: name,
      target: 'webserver02',
      action: 'start',
    });
    expect(await get(listener(started, 'webserver02-sidecar'), '/bye')).toEqual({ status: 200, body: 'bye' });

    await server.client.lifecycle.down.mutate({ labId: name });
    server.labs.delete(name);
  });

  it('a restarted console serves the running lab again, and takes edits to it', async () => {
    const name = uniqueName('it-live-restart');
    server.labs.add(name);
    const v0 = libraryLab('traffic-split', name);
    await server.client.labs.save.mutate({ lab: v0 });
    const status = await server.client.lifecycle.up.mutate({ name, driver: 'local' });
    const before = await server.client.lifecycle.config.query({ labId: name });

    await server.restart();
    const after = await server.client.lifecycle.config.query({ labId: name });
    expect(after).toMatchObject({ live: true, controlPlane: before.controlPlane, problem: null });
    // The proxy reconnects (with back-off) holding the version the new console serves: nothing new is sent.
    for (
      let i = 0;
      i < 100 && !(await server.client.lifecycle.config.query({ labId: name })).proxies[0]?.connected;
      i++
    )
      await new Promise((r) => setTimeout(r, 200));
    const reconnected = await server.client.lifecycle.config.query({ labId: name });
    expect(reconnected.proxies[0]).toMatchObject({ connected: true, version: before.proxies[0]!.version });

    const v11 = edited(v0, (l) => {
      for (const e of l.spec.edges) if (e.kind === 'route') e.weight = e.to === 'demoapp-v11' ? 100 : 0;
    });
    expect((await server.client.labs.save.mutate({ lab: v11 })).live).toMatchObject({
      result: 'applied',
      proxies: [{ outcome: { state: 'applied' } }],
    });
    const front = listener(status, 'front-envoy');
    for (let i = 0; i < 10; i++)
      expect((await get(front, '/hostname')).body).toMatch(/ServerName: demoapp-v1-1-[12]/);
    expect(ids((await server.client.lifecycle.status.query({ labId: name })).status!)).toEqual(ids(status));
    await server.client.lifecycle.down.mutate({ labId: name });
    server.labs.delete(name);
  });
});
