/** Config states as the server reports them, for the live-config tests. */
import type { LiveConfigStatus, LiveEdit, ProxyEdit } from '../api/types.js';

export const CLUSTER = 'type.googleapis.com/envoy.config.cluster.v3.Cluster';

export const ref = (container: string, node = container) => ({
  node,
  namespace: node,
  container,
  nodeId: `lab/${node}`,
});

export function proxyStatus(
  container: string,
  patch: Partial<LiveConfigStatus['proxies'][number]> = {},
): LiveConfigStatus['proxies'][number] {
  return { ...ref(container), connected: true, version: 'v1', inSync: true, lastNack: null, ...patch };
}

export function status(
  proxies: LiveConfigStatus['proxies'],
  patch: Partial<LiveConfigStatus> = {},
): LiveConfigStatus {
  return {
    labId: 'lab',
    live: true,
    controlPlane: { host: '127.0.0.1', port: 1 },
    problem: null,
    proxies,
    lastEdit: null,
    ...patch,
  };
}

export const edited = (container: string, outcome: ProxyEdit['outcome']): ProxyEdit => ({
  ...ref(container),
  changes: [{ kind: 'route', name: 'local_route', change: 'changed' }],
  outcome,
});

export const applied: LiveEdit = {
  result: 'applied',
  labId: 'lab',
  at: 1000,
  ms: 84,
  proxies: [
    edited('front', { state: 'applied', version: 'v2', ms: 40, at: 1000 }),
    edited('edge', { state: 'applied', version: 'v2', ms: 38, at: 1000 }),
    edited('side', { state: 'applied', version: 'v2', ms: 41, at: 1000 }),
  ],
};

export const rejected: LiveEdit = {
  result: 'rejected',
  labId: 'lab',
  at: 2000,
  ms: 30,
  message: "front rejected the change: cluster 'v10': ca.crt not found. Every proxy keeps what it had",
  proxies: [
    edited('front', { state: 'rejected', version: 'v3', typeUrl: CLUSTER, message: 'ca.crt not found' }),
    edited('side', { state: 'restored', version: 'v2' }),
  ],
};

export const needsUp: LiveEdit = {
  result: 'needsUp',
  labId: 'lab',
  at: 3000,
  reasons: [
    { container: 'app-1', message: 'app-1 gets another environment (VERSION=v1.2)' },
    { container: 'app-2', message: 'app-2 gets another environment (VERSION=v1.2)' },
  ],
};
