import { describe, expect, it } from 'vitest';
import { nodeHealth } from './LabNodeView.js';

describe('nodeHealth', () => {
  it('shows the worst endpoint, stopped nodes as stopped, and running proxies as healthy', () => {
    expect(nodeHealth(['healthy', 'failedActiveHc'], true)).toBe('failedActiveHc');
    expect(nodeHealth(['healthy', 'ejected'], true)).toBe('ejected');
    expect(nodeHealth(['unknown'], true)).toBe('unknown');
    expect(nodeHealth([], true)).toBe('healthy');
    expect(nodeHealth(['healthy'], false)).toBe('stopped');
  });
});
