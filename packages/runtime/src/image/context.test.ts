import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { parseLdd, sharedLibraries } from './context.js';

describe('parseLdd', () => {
  it('takes resolved libraries and the loader, not the vDSO', () => {
    const out = [
      '\tlinux-vdso.so.1 (0x00007ffd2b5f2000)',
      '\tlibdl.so.2 => /lib/x86_64-linux-gnu/libdl.so.2 (0x00007f9471901000)',
      '\tlibc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x00007f94713fe000)',
      '\t/lib64/ld-linux-x86-64.so.2 (0x00007f947191a000)',
    ].join('\n');
    expect(parseLdd(out)).toEqual([
      '/lib/x86_64-linux-gnu/libdl.so.2',
      '/lib/x86_64-linux-gnu/libc.so.6',
      '/lib64/ld-linux-x86-64.so.2',
    ]);
  });
});

describe('sharedLibraries', () => {
  it("lists what ldd lists for this machine's node, including the dynamic loader", async () => {
    const libs = await sharedLibraries(process.execPath);
    const ldd = execFileSync('ldd', [process.execPath], { encoding: 'utf8' });
    expect(libs).toEqual(parseLdd(ldd));
    expect(libs.some((l) => /\/ld-linux[^/]*\.so/.test(l))).toBe(true);
    expect(libs.some((l) => /\/libc\.so/.test(l))).toBe(true);
  });
});
