import { describe, expect, it } from 'vitest';
import { portFree } from '../ports.js';
import { allocatePorts, chooseLoopbackBlock } from './allocate.js';

describe('chooseLoopbackBlock', () => {
  it('keeps the wanted block when no other lab uses it', () => {
    expect(chooseLoopbackBlock('127.31.18.0/24', ['127.31.20.0/24'])).toBe('127.31.18.0/24');
  });

  it('takes the next free block when another lab has the wanted one', () => {
    expect(chooseLoopbackBlock('127.31.18.0/24', ['127.31.18.0/24', '127.31.19.0/24'])).toBe(
      '127.31.20.0/24',
    );
  });

  it('never hands out the block of 127.0.0.1', () => {
    expect(chooseLoopbackBlock('127.255.255.0/24', ['127.255.255.0/24'])).toBe('127.0.1.0/24');
  });
});

describe('allocatePorts', () => {
  it('gives each lab port a distinct port free on every address of the lab, and releases them', async () => {
    const addresses = ['127.31.250.2', '127.31.250.11', '127.31.250.12'];
    const ports = await allocatePorts([80, 8080, 9901], addresses);
    const chosen = Object.values(ports);
    expect(Object.keys(ports)).toEqual(['80', '8080', '9901']);
    expect(new Set(chosen).size).toBe(3);
    for (const p of chosen) for (const a of addresses) expect(await portFree(a, p)).toBe(true);
  });
});
