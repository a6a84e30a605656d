import { beforeAll, describe, expect, it } from 'vitest';
import { combineHashes, initHashing, murmurHash2, xxHash64 } from './hash.js';

beforeAll(async () => {
  await initHashing();
});

describe('xxHash64', () => {
  it('matches the reference vectors of XXH64 with seed 0', () => {
    expect(xxHash64('')).toBe(0xef46db3751d8e999n);
    expect(xxHash64('a')).toBe(0xd24ec4f1a98c6e5bn);
  });

  it('hashes strings as their UTF-8 bytes', () => {
    expect(xxHash64('127.0.0.1:80_0')).toBe(xxHash64(new TextEncoder().encode('127.0.0.1:80_0')));
    expect(xxHash64('ü')).toBe(xxHash64(new Uint8Array([0xc3, 0xbc])));
  });

  it('takes a seed (Maglev uses seed 1 for the skip)', () => {
    expect(xxHash64('10.0.0.1:80', 1n)).not.toBe(xxHash64('10.0.0.1:80'));
  });
});

describe('murmurHash2', () => {
  // Values printed by libstdc++'s std::_Hash_bytes(data, len, 0xc70f6907), i.e. std::hash<string>.
  it.each([
    ['', 6142509188972423790n],
    ['a', 4993892634952068459n],
    ['127.0.0.1:80_0', 17613279263364193813n],
    ['10.0.0.1:8080_123', 4491253242206857999n],
    ['hello world, this is a longer key', 114552402180786181n],
  ])('std::hash(%j)', (key, expected) => {
    expect(murmurHash2(key)).toBe(expected);
  });
});

describe('combineHashes', () => {
  it('returns the first hash unchanged', () => {
    expect(combineHashes(undefined, 42n)).toBe(42n);
  });

  it('rotates the previous value left by one bit before the XOR', () => {
    expect(combineHashes(0x8000000000000001n, 0n)).toBe(0x3n);
    expect(combineHashes(1n, 1n)).toBe(3n);
  });

  it('keeps two identical policies from cancelling out', () => {
    const h = xxHash64('Chrome');
    expect(combineHashes(h, h)).not.toBe(0n);
  });
});
