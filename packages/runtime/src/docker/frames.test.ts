import { describe, expect, it } from 'vitest';
import { demuxFrames } from './frames.js';

function frame(stream: 1 | 2, payload: Buffer): Buffer {
  const header = Buffer.alloc(8);
  header[0] = stream;
  header.writeUInt32BE(payload.length, 4);
  return Buffer.concat([header, payload]);
}

async function collect(chunks: Buffer[]): Promise<string> {
  let out = '';
  for await (const t of demuxFrames(chunks)) out += t;
  return out;
}

describe('demuxFrames', () => {
  it('joins stdout and stderr payloads in order, across chunk boundaries', async () => {
    const all = Buffer.concat([
      frame(1, Buffer.from('out 1\n')),
      frame(2, Buffer.from('err 1\n')),
      frame(1, Buffer.from('out 2\n')),
    ]);
    expect(await collect([all])).toBe('out 1\nerr 1\nout 2\n');
    expect(await collect([all.subarray(0, 3), all.subarray(3, 17), all.subarray(17)])).toBe(
      'out 1\nerr 1\nout 2\n',
    );
  });

  it('keeps a UTF-8 character split between two frames whole', async () => {
    const snowman = Buffer.from('☃\n');
    expect(await collect([frame(1, snowman.subarray(0, 1)), frame(1, snowman.subarray(1))])).toBe('☃\n');
  });
});
