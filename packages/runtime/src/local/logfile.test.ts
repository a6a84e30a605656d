import { appendFile, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { logFileLines } from './logfile.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'meshcraft-logs-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function take(it: AsyncIterable<string>, n: number): Promise<string[]> {
  const out: string[] = [];
  for await (const line of it) {
    out.push(line);
    if (out.length === n) break;
  }
  return out;
}

describe('logFileLines', () => {
  it('gives the last lines, or all', async () => {
    const file = path.join(dir, 'a.log');
    await writeFile(file, 'one\ntwo\nthree\n');
    expect(await take(logFileLines(file, { tail: 2 }), 10)).toEqual(['two', 'three']);
    expect(await take(logFileLines(file, {}), 10)).toEqual(['one', 'two', 'three']);
    expect(await take(logFileLines(path.join(dir, 'missing.log'), {}), 10)).toEqual([]);
  });

  it('follows appended lines, joining a line written in two parts, until aborted', async () => {
    const file = path.join(dir, 'b.log');
    await writeFile(file, 'old\npart');
    const abort = new AbortController();
    const lines = logFileLines(file, { follow: true, signal: abort.signal });
    const got = take(lines, 3);
    await appendFile(file, 'ial\n');
    await new Promise((r) => setTimeout(r, 250));
    await appendFile(file, 'new\n');
    expect(await got).toEqual(['old', 'partial', 'new']);
    abort.abort();
  });
});
