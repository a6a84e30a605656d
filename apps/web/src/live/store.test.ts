import { describe, expect, it } from 'vitest';
import { type EdgeLive, KeyedStore, sameEdgeLive } from './store.js';

describe('KeyedStore', () => {
  it('notifies only the keys whose shown value changed, and keeps the others identical', () => {
    const store = new KeyedStore<EdgeLive>();
    const calls: string[] = [];
    for (const k of ['a', 'b', 'c']) store.subscribe(k, () => calls.push(k));
    store.replace(
      new Map([
        ['a', { rps: 10, share: 0.5 }],
        ['b', { rps: 10, share: 0.5 }],
      ]),
      sameEdgeLive,
    );
    expect(calls.sort()).toEqual(['a', 'b']);
    const b = store.get('b');

    calls.length = 0;
    // a moves visibly; b moves by less than what is shown (0.1 rq/s, 1 %); c appears.
    const changed = store.replace(
      new Map([
        ['a', { rps: 12, share: 0.6 }],
        ['b', { rps: 10.01, share: 0.501 }],
        ['c', { rps: 1, share: 1 }],
      ]),
      sameEdgeLive,
    );
    expect(changed).toBe(2);
    expect(calls.sort()).toEqual(['a', 'c']);
    expect(store.get('b')).toBe(b);

    calls.length = 0;
    store.replace(new Map([['a', { rps: 12, share: 0.6 }]]), sameEdgeLive);
    expect(calls.sort()).toEqual(['b', 'c']);
    expect(store.get('b')).toBeUndefined();
  });
});
