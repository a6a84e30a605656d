import { describe, expect, it } from 'vitest';
import type { ConfigEvent, LiveConfigStatus } from '../api/types.js';
import { applied, CLUSTER, needsUp, proxyStatus, ref, rejected, status } from '../test/liveFixtures.js';
import {
  configBadges,
  EMPTY_CONFIG,
  headline,
  type LiveConfigState,
  outcomeText,
  reduceConfig,
  withEdit,
  withStatus,
} from './liveConfig.js';

const running = (s: LiveConfigStatus = status([proxyStatus('front')])): LiveConfigState =>
  withStatus(EMPTY_CONFIG, s);

describe('headline', () => {
  it('says nothing before the first status, then in sync', () => {
    expect(headline(EMPTY_CONFIG)).toBeNull();
    expect(headline(running())).toEqual({ tone: 'ok', text: 'live: in sync' });
  });

  it('counts the proxies a save updated, and how long it took', () => {
    expect(headline(withEdit(running(), applied))).toEqual({
      tone: 'ok',
      text: '3 proxies updated in 84 ms',
    });
  });

  it('names who rejected a save, and that the previous config serves', () => {
    expect(headline(withEdit(running(), rejected))).toEqual({
      tone: 'error',
      text: 'rejected by front: previous config still serving',
    });
  });

  it('gives the first reason a save needs Up, and how many more', () => {
    expect(headline(withEdit(running(), needsUp))).toEqual({
      tone: 'warn',
      text: 'needs Up: app-1 gets another environment (VERSION=v1.2) (+1 more)',
    });
  });

  it('puts proxies out of sync before an older success', () => {
    const behind = withStatus(
      withEdit(running(), applied),
      status([proxyStatus('front', { inSync: false })]),
    );
    expect(headline(behind)).toEqual({ tone: 'warn', text: 'live: 1 proxy out of sync' });
  });

  it('says why saving does not reach a lab the console does not serve', () => {
    expect(headline(running(status([], { live: false, problem: 'could not listen again' })))).toEqual({
      tone: 'warn',
      text: 'not live: could not listen again',
    });
  });
});

describe('edits and events', () => {
  it('takes the same edit once, from the save and from the stream, and never an older one', () => {
    const once = withEdit(running(), applied);
    expect(withEdit(once, applied)).toBe(once);
    const streamed = reduceConfig(once, { type: 'edit', at: applied.at, edit: applied });
    expect(streamed).toBe(once);
    const later = withEdit(once, rejected);
    expect(withEdit(later, applied).lastEdit).toBe(rejected);
    expect(later.log.map((e) => e.tone)).toEqual(['ok', 'error']);
  });

  it('keeps a newer edit when a status read before it was applied arrives', () => {
    const state = withEdit(running(), rejected);
    expect(withStatus(state, status([proxyStatus('front')])).lastEdit).toBe(rejected);
    expect(withStatus(state, status([proxyStatus('front')], { lastEdit: needsUp })).lastEdit).toBe(needsUp);
  });

  it('follows connects, disconnects and NACKs per proxy, and logs them', () => {
    const events: ConfigEvent[] = [
      { type: 'disconnect', at: 1, proxy: ref('front') },
      { type: 'connect', at: 2, proxy: ref('front') },
      { type: 'nack', at: 3, proxy: ref('front'), typeUrl: CLUSTER, version: 'v3', message: 'bad' },
      { type: 'ack', at: 4, proxy: ref('front'), typeUrl: CLUSTER, version: 'v1' },
    ];
    const seen: boolean[] = [];
    let state = running();
    for (const e of events) {
      state = reduceConfig(state, e);
      seen.push(state.status!.proxies[0]!.connected);
    }
    expect(seen).toEqual([false, true, true, true]);
    expect(state.status!.proxies[0]!.lastNack).toMatchObject({ version: 'v3', message: 'bad' });
    expect(state.log.map((e) => e.text)).toEqual([
      'front disconnected from the control plane',
      'front connected to the control plane',
      'front rejected Cluster v3: bad',
      'front accepted Cluster v1',
    ]);
  });
});

describe('configBadges', () => {
  it('marks the proxies that rejected the last save, not those given their config back', () => {
    const badges = configBadges(withEdit(running(), rejected));
    expect([...badges.keys()]).toEqual(['front']);
    expect(badges.get('front')).toMatchObject({ kind: 'rejected' });
    expect(badges.get('front')!.title).toMatch(/ca\.crt not found; it keeps serving its previous config/);
  });

  it('clears them when a later save is taken', () => {
    const later = { ...applied, at: 5000 };
    expect(configBadges(withEdit(withEdit(running(), rejected), later)).size).toBe(0);
  });

  it('marks proxies behind what they are served, one badge per node', () => {
    const state = running(
      status([
        proxyStatus('a-1', { node: 'a', inSync: false, connected: false, version: 'v4' }),
        proxyStatus('a-2', { node: 'a', inSync: false, version: 'v4' }),
        proxyStatus('b', { inSync: true }),
      ]),
    );
    const badges = configBadges(state);
    expect([...badges.keys()]).toEqual(['a']);
    expect(badges.get('a')).toEqual({
      kind: 'outOfSync',
      title: 'a-1 is not connected: gets v4 when it starts\na-2 has not accepted v4 yet',
    });
  });
});

describe('outcomeText', () => {
  it('says what happened to one proxy', () => {
    expect(outcomeText({ state: 'applied', version: 'v2', ms: 40, at: 0 })).toBe('applied v2 in 40 ms');
    expect(outcomeText({ state: 'rejected', version: 'v3', typeUrl: CLUSTER, message: 'no' })).toBe(
      'rejected v3 (Cluster): no',
    );
    expect(outcomeText({ state: 'pending', version: 'v2' })).toBe('not connected: gets v2 when it starts');
  });
});
