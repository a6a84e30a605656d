import { describe, expect, it } from 'vitest';
import { startWaves } from './waves.js';

const names = (waves: { name: string }[][]) => waves.map((w) => w.map((i) => i.name));

describe('startWaves', () => {
  it('starts what a container depends on in an earlier wave', () => {
    const items = [
      { name: 'envoy', dependsOn: ['web-sidecar', 'web'] },
      { name: 'web-sidecar', dependsOn: [] },
      { name: 'web', dependsOn: ['web-sidecar'] },
    ];
    expect(names(startWaves(items))).toEqual([['web-sidecar'], ['web'], ['envoy']]);
  });

  it('counts dependencies outside the set as up, and starts a cycle together', () => {
    expect(names(startWaves([{ name: 'web', dependsOn: ['web-sidecar'] }]))).toEqual([['web']]);
    const cycle = [
      { name: 'a', dependsOn: ['b'] },
      { name: 'b', dependsOn: ['a'] },
      { name: 'c', dependsOn: [] },
    ];
    expect(names(startWaves(cycle))).toEqual([['c'], ['a', 'b']]);
  });
});
