import { describe, expect, it } from 'vitest';
import { startAsReady, startWaves } from './waves.js';

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

describe('startAsReady', () => {
  it('starts each item as soon as its own dependencies are ready', async () => {
    const log: string[] = [];
    const delays: Record<string, number> = { 'a-sidecar': 5, a: 5, 'b-sidecar': 60, b: 5, front: 0 };
    const items = [
      { name: 'front', dependsOn: ['a-sidecar', 'a', 'b-sidecar', 'b'] },
      { name: 'a-sidecar', dependsOn: [] },
      { name: 'a', dependsOn: ['a-sidecar'] },
      { name: 'b-sidecar', dependsOn: [] },
      { name: 'b', dependsOn: ['b-sidecar'] },
    ];
    await startAsReady(items, async (item) => {
      log.push(`start ${item.name}`);
      await new Promise((r) => setTimeout(r, delays[item.name]));
      log.push(`ready ${item.name}`);
    });
    // a is started while b-sidecar is still coming up; front only after everything.
    expect(log.indexOf('start a')).toBeLessThan(log.indexOf('ready b-sidecar'));
    expect(log.at(-2)).toBe('start front');
  });

  it('on a failure, starts nothing more, cancels the waiting ones, and rejects once all settled', async () => {
    const started: string[] = [];
    let slowCancelled = false;
    const items = [
      { name: 'bad', dependsOn: [] },
      { name: 'slow', dependsOn: [] },
      { name: 'after-bad', dependsOn: ['bad'] },
    ];
    const run = startAsReady(items, async (item, cancelled) => {
      started.push(item.name);
      if (item.name === 'bad') throw new Error('bad exited');
      await Promise.race([cancelled, new Promise((r) => setTimeout(r, 5000))]).catch(() => {
        slowCancelled = true;
      });
    });
    await expect(run).rejects.toThrow('bad exited');
    expect(started).toEqual(['bad', 'slow']);
    expect(slowCancelled).toBe(true);
  });
});
