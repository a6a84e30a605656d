import { parseLab } from '@meshcraft/topology';
import { describe, expect, it } from 'vitest';
import healthCheckText from '../../../../labs/health-check-with-http.lab.yaml?raw';
import splitText from '../../../../labs/traffic-split.lab.yaml?raw';
import type { EndpointStats, StatsFrame } from '../api/types.js';
import { deriveOverlay, shareSeries, shareSubjects } from './derive.js';

function endpoint(node: string, namespace: string, rps: number, failed = false): EndpointStats {
  return {
    address: '127.0.0.1',
    port: 80,
    node,
    namespace,
    rps,
    share: null,
    healthy: !failed,
    flags: failed ? ['failed_active_hc'] : [],
    weight: 1,
    priority: 0,
    locality: {},
    activeRequests: 0,
  };
}

function cluster(name: string, rps: number, endpoints: EndpointStats[]) {
  return {
    name,
    rps,
    responses: { '2xx': rps, '3xx': 0, '4xx': 0, '5xx': 0 },
    membership: {
      total: endpoints.length,
      healthy: endpoints.filter((e) => e.healthy).length,
      degraded: 0,
      excluded: 0,
    },
    ejectionsActive: 0,
    activeRequests: 0,
    pendingRequests: 0,
    counters: {},
    deltas: {},
    endpoints,
  };
}

function frame(at: number, proxies: { node: string; clusters: ReturnType<typeof cluster>[] }[]): StatsFrame {
  return {
    at,
    intervalMs: 1000,
    proxies: proxies.map((p) => ({ ...p, container: p.node, reachable: true, listeners: [] })),
  };
}

describe('deriveOverlay', () => {
  const lab = parseLab(healthCheckText).lab!;
  const containers = ['envoy', 'webserver01', 'webserver02'].map((n) => ({
    node: n,
    namespace: n,
    state: 'running',
  }));

  it('gives each member edge its share of the cluster and colours a failed endpoint', () => {
    const f = frame(1, [
      {
        node: 'envoy',
        clusters: [
          cluster('web_cluster_01', 10, [
            endpoint('webserver01', 'webserver01', 0, true),
            endpoint('webserver02', 'webserver02', 10),
          ]),
        ],
      },
    ]);
    const o = deriveOverlay(lab, f, containers);
    expect(o.edges.get('web_cluster_01-webserver01')).toEqual({ rps: 0, share: 0 });
    expect(o.edges.get('web_cluster_01-webserver02')).toEqual({ rps: 10, share: 1 });
    expect(o.edges.get('envoy-webservice-web_cluster_01')).toEqual({ rps: 10, share: 1 });
    expect(o.nodes.get('webserver01')).toMatchObject({ endpoints: ['failedActiveHc'], running: true });
    expect(o.nodes.get('webserver02')).toEqual({ endpoints: ['healthy'], running: true });
  });

  it('marks a stopped replica and a node with no data', () => {
    const o = deriveOverlay(lab, undefined, [
      { node: 'envoy', namespace: 'envoy', state: 'running' },
      { node: 'webserver01', namespace: 'webserver01', state: 'exited' },
    ]);
    expect(o.nodes.get('webserver01')).toMatchObject({ endpoints: ['stopped'], running: false });
    expect(o.nodes.get('webserver02')).toMatchObject({ endpoints: ['unknown'], running: false });
  });
});

describe('shareSeries', () => {
  const lab = parseLab(splitText).lab!;

  it('charts a weighted split as the share of each cluster', () => {
    const subjects = shareSubjects(lab);
    expect(subjects[0]).toMatchObject({ kind: 'split', node: 'front-envoy', route: 'split' });
    const frames = [
      frame(1, [
        { node: 'front-envoy', clusters: [cluster('demoapp-v10', 5, []), cluster('demoapp-v11', 5, [])] },
      ]),
      frame(2, [
        { node: 'front-envoy', clusters: [cluster('demoapp-v10', 2, []), cluster('demoapp-v11', 8, [])] },
      ]),
      frame(3, [{ node: 'front-envoy', clusters: [] }]),
    ];
    const s = shareSeries(lab, frames, subjects[0]!);
    expect(s.keys).toEqual(['demoapp-v10', 'demoapp-v11']);
    expect(s.points.map((p) => p.values)).toEqual([[0.5, 0.5], [0.2, 0.8], null]);
  });

  it('charts a cluster as the share of each endpoint replica', () => {
    const frames = [
      frame(1, [
        {
          node: 'front-envoy',
          clusters: [
            cluster('demoapp-v10', 4, [
              endpoint('demoapp-v1-0', 'demoapp-v1-0-2', 1),
              endpoint('demoapp-v1-0', 'demoapp-v1-0-1', 3),
            ]),
          ],
        },
      ]),
    ];
    const s = shareSeries(lab, frames, { kind: 'cluster', cluster: 'demoapp-v10', title: '' });
    expect(s.keys).toEqual(['demoapp-v1-0-1', 'demoapp-v1-0-2']);
    expect(s.points[0]!.values).toEqual([0.75, 0.25]);
  });
});
