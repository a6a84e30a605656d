import { describe, expect, it } from 'vitest';
import type { LifecycleEvent } from '../api/types.js';
import { rowState, summarise } from './RunProgress.js';

const operation = { id: 1, labId: 'l', kind: 'up' as const, startedAt: 0 };
const progress = (event: Extract<LifecycleEvent, { type: 'progress' }>['event']): LifecycleEvent => ({
  type: 'progress',
  operation,
  at: 0,
  event,
});

describe('summarise', () => {
  it('groups events into steps and one row per container, the overall wait as a step', () => {
    const s = summarise([
      { type: 'started', operation },
      progress({ step: 'driver', driver: 'docker', message: 'using docker' }),
      progress({ step: 'image', phase: 'check', message: 'checking the image' }),
      progress({ step: 'image', phase: 'ready', message: 'image is up to date' }),
      progress({ step: 'container', action: 'create', container: 'a', message: 'creating a' }),
      progress({ step: 'container', action: 'start', container: 'a', message: 'starting a' }),
      progress({ step: 'ready', container: '', ready: false, message: 'waiting for a to be ready' }),
      progress({ step: 'ready', container: 'a', ready: true, message: 'a is ready' }),
      progress({ step: 'done', message: 'up', ms: 10 }),
    ]);
    expect(s.driver).toBe('docker');
    expect(s.steps.map((x) => x.message)).toEqual(['image is up to date', 'waiting for a to be ready']);
    expect(s.containers).toEqual([{ name: 'a', action: 'start', ready: true, message: 'a is ready' }]);
    expect(s.done).toEqual({ message: 'up', ms: 10 });
  });

  it('marks rows done, waiting or failed', () => {
    expect(rowState({ ready: true }, false, true)).toBe('ok');
    expect(rowState({}, true, false)).toBe('ok');
    expect(rowState({ ready: false }, false, false)).toBe('busy');
    expect(rowState({}, false, true)).toBe('bad');
  });
});
