import { readFileSync } from 'node:fs';
import { type Lab, parseLab } from '@meshcraft/topology';
import { describe, expect, it } from 'vitest';
import { restartReasons } from './edit.js';
import type { RenderedView } from './lab.js';
import { topologyJob } from './topology-job.js';

const XDS = { host: '172.31.18.1', port: 18500 };

function library(name: string): Lab {
  const r = parseLab(readFileSync(new URL(`../../../labs/${name}.lab.yaml`, import.meta.url), 'utf8'));
  return r.lab!;
}

/** The lab rendered as the docker driver runs it, with the console's control plane. */
function docker(lab: Lab): RenderedView {
  const job = topologyJob(lab);
  return job.render(job.dockerPlan({ subnet: lab.spec.network?.subnet, networkName: 'n' }), { xds: XDS });
}

function edited(lab: Lab, edit: (copy: Lab) => void): Lab {
  const copy = structuredClone(lab);
  edit(copy);
  return copy;
}

// biome-ignore lint/suspicious/noExplicitAny: edits reach into nodes by kind.
const node = (lab: Lab, id: string) => lab.spec.nodes.find((n) => n.id === id) as any;

const reasons = (a: Lab, b: Lab, livePublish = false) =>
  restartReasons(docker(a), docker(b), { livePublish });

describe('restartReasons', () => {
  const hc = library('health-check-with-http');

  it('has none for what the control plane serves: LB policy, endpoints, routes, weights', () => {
    expect(reasons(hc, hc)).toEqual([]);
    const edits = edited(hc, (l) => {
      node(l, 'web_cluster_01').lbPolicy = 'RANDOM';
      l.spec.edges = l.spec.edges.filter((e) => e.id !== 'web_cluster_01-webserver02');
      node(l, 'envoy').listeners[0].virtualHosts[0].routes.unshift({
        id: 'hello',
        match: { path: '/hello' },
        directResponse: { status: 200, body: 'hello' },
      });
    });
    expect(reasons(hc, edits)).toEqual([]);
  });

  it('names the container whose environment changes, and what it gets', () => {
    const v2 = edited(hc, (l) => {
      node(l, 'webserver02').app.version = 'v2.0';
    });
    expect(reasons(hc, v2)).toEqual([
      {
        container: 'webserver02',
        message: 'webserver02 gets another environment (VERSION=v2.0), which a process reads when it starts',
      },
    ]);
  });

  it('a new service needs containers created; a removed one would keep running', () => {
    const more = edited(hc, (l) => {
      l.spec.nodes.push({ kind: 'service', id: 'webserver03', ip: '172.31.18.13', app: { role: 'demoapp' } });
    });
    expect(reasons(hc, more)).toEqual([
      {
        container: 'webserver03',
        message: "webserver03 of 'webserver03' is new; containers are created when the lab comes up",
      },
    ]);
    expect(reasons(more, hc)).toEqual([
      {
        container: 'webserver03',
        message: "webserver03 of 'webserver03' is no longer in the lab; it would keep running",
      },
    ]);
  });

  it('a proxy bootstrap change (admin port) needs the proxy started again', () => {
    const admin = edited(hc, (l) => {
      node(l, 'envoy').admin.port = 9902;
    });
    const messages = reasons(hc, admin, true).map((r) => `${r.container}: ${r.message}`);
    expect(messages).toEqual([
      'envoy: the bootstrap of envoy changes (its admin, runtime layers, node or secrets), which a proxy reads only when it starts',
    ]);
  });

  it('a new listener port is published by Docker at creation only; where publishing is bookkeeping it is live', () => {
    const listener = edited(hc, (l) => {
      node(l, 'envoy').listeners.push({
        name: 'listener_1',
        port: 8081,
        virtualHosts: [
          {
            name: 'status',
            domains: ['*'],
            routes: [{ id: 'status', match: { prefix: '/' }, directResponse: { status: 200 } }],
          },
        ],
      });
    });
    expect(reasons(hc, listener)).toEqual([
      {
        container: 'envoy',
        message:
          'envoy would publish port 8081/tcp (listener_1), which Docker publishes only when it creates the container',
      },
    ]);
    expect(reasons(hc, listener, true)).toEqual([]);
  });

  it('says why a proxy with its own configuration mechanism needs the lab up again', () => {
    const eds = library('eds-filesystem');
    const both = edited(eds, (l) => {
      l.spec.edges.push({
        kind: 'membership',
        id: 'webcluster-webserver02',
        from: 'webcluster',
        to: 'webserver02',
      });
    });
    expect(reasons(eds, both)).toEqual([
      {
        container: 'envoy',
        message:
          "'envoy' reads the endpoints of cluster 'webcluster' from a file it watches (discovery: EDS), and its file envoy/eds.conf.d/eds.yaml changes; files are written when the lab comes up",
      },
    ]);
  });
});
