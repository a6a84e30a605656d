import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { connectableKinds } from './model.js';
import { parseLab } from './parse.js';

const lab = (name: string) =>
  parseLab(readFileSync(new URL(`../../../labs/${name}.lab.yaml`, import.meta.url), 'utf8')).lab!;

describe('connectableKinds', () => {
  it('allows only the connections the document can express', () => {
    const hc = lab('health-check-with-http');
    expect(connectableKinds(hc, 'envoy', 'web_cluster_01')).toEqual(['route']);
    expect(connectableKinds(hc, 'web_cluster_01', 'webserver01')).toEqual(['membership']);
    expect(connectableKinds(hc, 'webserver01', 'web_cluster_01')).toEqual(['route']);
    expect(connectableKinds(hc, 'envoy', 'webserver01')).toEqual([]);
    expect(connectableKinds(hc, 'web_cluster_01', 'envoy')).toEqual([]);
    expect(connectableKinds(hc, 'ghost', 'envoy')).toEqual([]);
    const egress = lab('http-egress');
    expect(connectableKinds(egress, 'client', 'web_cluster')).toEqual(['egress']);
    expect(connectableKinds(egress, 'webserver01', 'web_cluster')).toEqual([]);
  });
});
