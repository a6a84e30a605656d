import { describe, expect, it } from 'vitest';
import { commandFor } from './shortcuts.js';

const key = (k: string, m: Partial<{ ctrl: boolean; shift: boolean; meta: boolean }> = {}) => ({
  key: k,
  ctrlKey: m.ctrl ?? false,
  metaKey: m.meta ?? false,
  shiftKey: m.shift ?? false,
  altKey: false,
});

describe('commandFor', () => {
  it('maps keys with and without modifiers', () => {
    expect(commandFor(key('z', { ctrl: true }), false)).toBe('undo');
    expect(commandFor(key('Z', { ctrl: true, shift: true }), false)).toBe('redo');
    expect(commandFor(key('z', { meta: true }), false)).toBe('undo');
    expect(commandFor(key('c', { ctrl: true }), false)).toBe('copy');
    expect(commandFor(key('c'), false)).toBe('toggleConfig');
    expect(commandFor(key('?', { shift: true }), false)).toBe('help');
    expect(commandFor(key('Delete'), false)).toBe('delete');
    expect(commandFor(key('q'), false)).toBeUndefined();
  });

  it('leaves typing alone, except save', () => {
    expect(commandFor(key('z', { ctrl: true }), true)).toBeUndefined();
    expect(commandFor(key('Backspace'), true)).toBeUndefined();
    expect(commandFor(key('s', { ctrl: true }), true)).toBe('save');
  });
});
