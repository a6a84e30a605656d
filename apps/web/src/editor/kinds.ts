/**
 * The node kinds a person can drag from the palette, each with the smallest document that
 * renders: a new front proxy listens on :80 with one catch-all route waiting for an edge, a service
 * runs the demo app (behind a sidecar that forwards to it, for the sidecar variant), a cluster
 * resolves its members by DNS so it needs no addresses.
 */
import type { LabNode, NodeKind } from '@meshcraft/topology';

export type PaletteKind = 'frontProxy' | 'serviceSidecar' | 'service' | 'cluster' | 'client';

export interface PaletteEntry {
  kind: PaletteKind;
  title: string;
  hint: string;
}

export const PALETTE: readonly PaletteEntry[] = [
  { kind: 'frontProxy', title: 'Front proxy', hint: 'Envoy at the edge: listeners and routes' },
  { kind: 'cluster', title: 'Cluster', hint: 'Upstream endpoints, LB policy, health checks' },
  { kind: 'serviceSidecar', title: 'Service + sidecar', hint: 'Demo app behind its own Envoy' },
  { kind: 'service', title: 'Service', hint: 'Demo app, reached directly' },
  { kind: 'client', title: 'Client', hint: 'Where load is sent from' },
];

/** The MIME type a palette drag carries, so drops of other things onto the canvas are ignored. */
export const PALETTE_MIME = 'application/x-meshcraft-node';

const ID_BASE: Record<PaletteKind, string> = {
  frontProxy: 'front-proxy',
  serviceSidecar: 'service',
  service: 'service',
  cluster: 'cluster',
  client: 'client',
};

export function idBase(kind: PaletteKind): string {
  return ID_BASE[kind];
}

export function templateNode(kind: PaletteKind, id: string, position: { x: number; y: number }): LabNode {
  switch (kind) {
    case 'frontProxy':
      return {
        kind: 'frontProxy',
        id,
        listeners: [
          {
            name: 'listener_0',
            port: 80,
            virtualHosts: [
              { name: 'default', domains: ['*'], routes: [{ id: 'root', match: { prefix: '/' } }] },
            ],
          },
        ],
        position,
      };
    case 'serviceSidecar':
      return {
        kind: 'service',
        id,
        app: { role: 'demoapp', version: 'v1.0' },
        sidecar: {
          ingress: [
            {
              name: 'ingress',
              port: 80,
              virtualHosts: [
                {
                  name: 'local',
                  domains: ['*'],
                  routes: [{ id: 'local', match: { prefix: '/' }, local: true }],
                },
              ],
            },
          ],
        },
        position,
      };
    case 'service':
      return { kind: 'service', id, app: { role: 'demoapp', version: 'v1.0' }, position };
    case 'cluster':
      return {
        kind: 'cluster',
        id,
        discovery: 'STRICT_DNS',
        lbPolicy: 'ROUND_ROBIN',
        connectTimeout: '0.25s',
        position,
      };
    case 'client':
      return { kind: 'client', id, tool: 'loadgen', position };
  }
}

export const KIND_TITLE: Record<NodeKind, string> = {
  frontProxy: 'Front proxy',
  service: 'Service',
  cluster: 'Cluster',
  client: 'Client',
  controlPlane: 'Control plane',
};

export function isPaletteKind(value: string): value is PaletteKind {
  return PALETTE.some((p) => p.kind === value);
}
