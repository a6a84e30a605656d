import { describe, expect, it } from 'vitest';
import { buildLayout } from './layout.js';
import { LabIndex } from './model.js';
import { dockerAddressPlan, hostsFileText, localAddressPlan, loopbackBlockFor, PlanError } from './plan.js';
import { API_VERSION, type Lab, type LabNode } from './schema.js';

function lab(nodes: LabNode[], subnet?: string): Lab {
  return {
    apiVersion: API_VERSION,
    kind: 'Lab',
    metadata: { name: 'p', title: 'P' },
    spec: { network: subnet ? { subnet } : undefined, nodes, edges: [] },
  };
}

const nodes: LabNode[] = [
  { kind: 'frontProxy', id: 'front', listeners: [] },
  { kind: 'service', id: 'web', ip: '172.31.18.3', aliases: ['myservice'], app: { role: 'demoapp' } },
  { kind: 'service', id: 'pool', replicas: 2, aliases: ['myservice'], app: { role: 'demoapp', port: 8080 } },
];

describe('address plans', () => {
  const layout = buildLayout(new LabIndex(lab(nodes, '172.31.18.0/24')));

  it('docker: keeps the lab addresses and gives the others the lowest free ones, as Docker would', () => {
    const plan = dockerAddressPlan(layout);
    expect(plan.addresses).toEqual({
      front: '172.31.18.2',
      web: '172.31.18.3',
      'pool-1': '172.31.18.4',
      'pool-2': '172.31.18.5',
    });
    expect(plan.ports).toEqual({});
    expect(plan.network).toEqual({ name: 'envoymesh', subnet: '172.31.18.0/24' });
  });

  it('docker: moves every address to another block with the same host offsets when the lab subnet is taken', () => {
    const plan = dockerAddressPlan(layout, { subnet: '10.9.4.0/24', networkName: 'meshcraft-p' });
    expect(plan.addresses.web).toBe('10.9.4.3');
    expect(plan.network).toEqual({ name: 'meshcraft-p', subnet: '10.9.4.0/24' });
    expect(() => dockerAddressPlan(layout, { subnet: '10.9.4.0/30' })).toThrow(PlanError);
  });

  it('docker: leaves addresses to Docker when the lab has no subnet', () => {
    expect(dockerAddressPlan(buildLayout(new LabIndex(lab(nodes.slice(2))))).addresses).toEqual({});
  });

  it('local: one loopback address per namespace, one host port per lab port, DNS through a hosts map', () => {
    expect(layout.ports).toEqual([80, 8080, 9901]);
    const plan = localAddressPlan(layout, {
      block: '127.31.18.0/24',
      ports: { 80: 40080, 8080: 48080, 9901: 49901 },
      fileRoot: '/tmp/lab/',
    });
    expect(plan.addresses).toEqual({
      front: '127.31.18.2',
      web: '127.31.18.3',
      'pool-1': '127.31.18.4',
      'pool-2': '127.31.18.5',
    });
    expect(plan.hosts).toEqual({
      front: ['127.31.18.2'],
      web: ['127.31.18.3'],
      myservice: ['127.31.18.3', '127.31.18.4', '127.31.18.5'],
      'pool-1': ['127.31.18.4'],
      pool: ['127.31.18.4', '127.31.18.5'],
      'pool-2': ['127.31.18.5'],
    });
    expect(plan.fileRoot).toBe('/tmp/lab');
    expect(hostsFileText(plan.hosts!)).toContain('127.31.18.4 myservice pool pool-1\n');
  });

  it('local: says what is wrong with a plan that does not fit', () => {
    const ok = {
      block: '127.31.18.0/24',
      ports: { 80: 40080, 8080: 48080, 9901: 49901 },
      fileRoot: '/tmp/lab',
    };
    expect(() => localAddressPlan(layout, { ...ok, ports: { 80: 40080 } })).toThrow(
      /no host port was allocated for lab ports 8080, 9901/,
    );
    expect(() => localAddressPlan(layout, { ...ok, ports: { 80: 40080, 8080: 40080, 9901: 49901 } })).toThrow(
      /lab ports 80 and 8080 were both mapped to host port 40080/,
    );
    expect(() => localAddressPlan(layout, { ...ok, block: '10.0.0.0/24' })).toThrow(
      /must be a loopback CIDR block/,
    );
    expect(() => localAddressPlan(layout, { ...ok, fileRoot: 'relative' })).toThrow(
      /must be an absolute path/,
    );
  });

  it('mirrors a lab subnet into loopback', () => {
    expect(loopbackBlockFor('172.31.18.0/24')).toBe('127.31.18.0/24');
    expect(loopbackBlockFor('10.1.0.0/16')).toBe('127.1.0.0/16');
    expect(loopbackBlockFor('10.0.0.0/8')).toBe('127.0.0.0/16');
    expect(loopbackBlockFor(undefined)).toBe('127.77.0.0/24');
  });
});
