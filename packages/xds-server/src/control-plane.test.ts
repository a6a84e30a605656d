import { describe, expect, it } from 'vitest';
import { ControlPlane, checkResources } from './control-plane.js';

const cluster = (connectTimeout: string) => ({
  clusters: [{ name: 'web', type: 'STATIC' as const, connect_timeout: connectTimeout }],
});

describe('checkResources', () => {
  it('gives the version setSnapshot gives, and refuses what it refuses, pushing nothing', async () => {
    const cp = new ControlPlane();
    try {
      const pushes: unknown[] = [];
      cp.on('push', (e) => pushes.push(e));
      const version = checkResources(cluster('1s'));
      expect(cp.snapshot('node')).toBeUndefined();
      expect(cp.setSnapshot('node', cluster('1s'))).toBe(version);
      expect(checkResources(cluster('2s'))).not.toBe(version);
      expect(() => checkResources(cluster('-1s'))).toThrow(/clusters\[0\]\.connect_timeout/);
      expect(cp.snapshot('node')?.version).toBe(version);
      expect(pushes).toEqual([]);
      expect(cp.addresses()).toEqual([]);
    } finally {
      await cp.close();
    }
  });
});
