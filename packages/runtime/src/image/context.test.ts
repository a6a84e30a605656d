import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROGRAMS } from '../programs.js';
import { imageContext, parseLdd, sharedLibraries } from './context.js';

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

describe('imageContext', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'meshcraft-context-'));
    for (const p of PROGRAMS) {
      await mkdir(path.dirname(path.join(dir, p.bundle)), { recursive: true });
      await writeFile(path.join(dir, p.bundle), `// ${p.name}\n`);
    }
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("scratch: this machine's node, sh and curl with their libraries and loader, the launchers and the programs", async () => {
    const ctx = await imageContext('scratch', dir);
    const names = ctx.entries.map((e) => e.name);
    expect(names).toEqual(
      expect.arrayContaining([
        'Dockerfile',
        'host/usr/local/bin/node',
        'host/bin/sh',
        'host/usr/bin/curl',
        'host/tmp',
        'bin/meshcraft-proxy',
        'programs/proxy/bin/meshcraft-proxy.mjs',
      ]),
    );
    for (const lib of await sharedLibraries(process.execPath)) expect(names).toContain(`host${lib}`);
    expect(ctx.entries.find((e) => e.name === 'bin/meshcraft-demoapp')?.content).toBe(
      '#!/bin/sh\nexec node /opt/meshcraft/demoapp/bin/meshcraft-demoapp.mjs "$@"\n',
    );
  });

  it('slim: no host files; the hash follows every input', async () => {
    const slim = await imageContext('slim', dir);
    expect(slim.entries.some((e) => e.name.startsWith('host/'))).toBe(false);
    expect((await imageContext('slim', dir)).hash).toBe(slim.hash);
    await writeFile(path.join(dir, PROGRAMS[0]!.bundle), '// changed\n');
    expect((await imageContext('slim', dir)).hash).not.toBe(slim.hash);
  });

  it('says how to build the programs when they are missing', async () => {
    await expect(imageContext('slim', path.join(dir, 'nothing-here'))).rejects.toThrow(
      /pnpm --filter @meshcraft\/runtime build/,
    );
  });
});
