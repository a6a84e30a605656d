/**
 * The build context of the runtime image, and its content hash.
 *
 * Two flavours share one layout: `programs/` (the bundles, copied to /opt/meshcraft/) and `bin/`
 * (launchers on PATH). `scratch` adds `host/`, a root filesystem taken from this machine: its own
 * `node`, a shell and curl, and every shared library `ldd` reports for them — so the image builds
 * with no registry. `slim` starts from `node:<lts>-slim` instead, for machines that have one.
 * The Dockerfiles are `docker/Dockerfile` and `docker/Dockerfile.slim` in the repository.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readdir, readFile, realpath, stat } from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import tar from 'tar-stream';
import { RuntimeError } from '../errors.js';
import { BUNDLE_DIR, PROGRAMS } from '../programs.js';

export type ImageFlavour = 'scratch' | 'slim';

export const DOCKER_DIR = fileURLToPath(new URL('../../../../docker/', import.meta.url));
export const PROGRAMS_PREFIX = '/opt/meshcraft';

export interface ContextEntry {
  /** Path inside the build context. */
  name: string;
  type: 'file' | 'directory';
  mode: number;
  /** A file's bytes come from a file of this machine, or are given. */
  source?: string;
  content?: string;
}

export interface ImageContext {
  flavour: ImageFlavour;
  entries: ContextEntry[];
  /** sha256 over every entry's name, mode and content: the image is rebuilt when it changes. */
  hash: string;
}

const execFileAsync = promisify(execFile);

/** Programs of this machine the scratch image carries, and where they go in it. */
const HOST_PROGRAMS: { find: string; to: string }[] = [
  { find: process.execPath, to: 'usr/local/bin/node' },
  { find: 'sh', to: 'bin/sh' },
  { find: 'curl', to: 'usr/bin/curl' },
];

const ETC_FILES: Record<string, string> = {
  'etc/passwd': 'root:x:0:0:root:/root:/bin/sh\n',
  'etc/group': 'root:x:0:\n',
  // getaddrinfo: /etc/hosts first, then Docker's embedded DNS (which answers the lab's aliases).
  'etc/nsswitch.conf': 'hosts: files dns\n',
};

/** `programsDir`: where the bundles are (dist/programs/ of this package). */
export async function imageContext(flavour: ImageFlavour, programsDir = BUNDLE_DIR): Promise<ImageContext> {
  const dockerfile = flavour === 'scratch' ? 'Dockerfile' : 'Dockerfile.slim';
  const entries: ContextEntry[] = [
    {
      name: 'Dockerfile',
      type: 'file',
      mode: 0o644,
      content: await readFile(path.join(DOCKER_DIR, dockerfile), 'utf8'),
    },
    ...(await programEntries(programsDir)),
    ...launcherEntries(),
  ];
  if (flavour === 'scratch') entries.push(...(await hostEntries()));
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const hash = createHash('sha256');
  for (const e of entries) {
    hash.update(`${e.name}\0${e.type}\0${e.mode.toString(8)}\0`);
    if (e.type === 'file') hash.update(await contentHash(e));
    hash.update('\n');
  }
  return { flavour, entries, hash: hash.digest('hex') };
}

async function programEntries(dir: string): Promise<ContextEntry[]> {
  const files = await walk(dir).catch((): string[] => []);
  const missing = PROGRAMS.filter((p) => !files.includes(path.join(dir, p.bundle)));
  if (missing.length > 0) {
    throw new RuntimeError(
      'PROGRAMS_MISSING',
      `the runtime image needs the bundled ${missing.map((p) => p.name).join(' and ')}, which ${dir} does not hold`,
      'build them: pnpm --filter @meshcraft/runtime build (after building @meshcraft/proxy and @meshcraft/demoapp)',
    );
  }
  return files.map((f) => ({
    name: `programs/${path.relative(dir, f)}`,
    type: 'file',
    mode: 0o644,
    source: f,
  }));
}

/** `meshcraft-proxy` and `meshcraft-demoapp` on PATH: the commands rendered labs and exported compose projects use. */
function launcherEntries(): ContextEntry[] {
  return PROGRAMS.map((p) => ({
    name: `bin/${p.name}`,
    type: 'file',
    mode: 0o755,
    content: `#!/bin/sh\nexec node ${PROGRAMS_PREFIX}/${p.bundle} "$@"\n`,
  }));
}

async function hostEntries(): Promise<ContextEntry[]> {
  const files = new Map<string, string>();
  for (const p of HOST_PROGRAMS) {
    const binary = await which(p.find);
    files.set(p.to, binary);
    for (const lib of await sharedLibraries(binary)) files.set(lib.slice(1), lib);
  }
  const entries: ContextEntry[] = [];
  for (const [to, from] of files) {
    const mode = (await stat(from)).mode & 0o777;
    entries.push({ name: `host/${to}`, type: 'file', mode, source: await realpath(from) });
  }
  for (const [name, content] of Object.entries(ETC_FILES))
    entries.push({ name: `host/${name}`, type: 'file', mode: 0o644, content });
  entries.push(
    { name: 'host/tmp', type: 'directory', mode: 0o1777 },
    { name: 'host/root', type: 'directory', mode: 0o700 },
  );
  return entries;
}

async function which(program: string): Promise<string> {
  if (program.includes('/')) return program;
  for (const dir of (process.env.PATH ?? '/usr/bin:/bin').split(':')) {
    const candidate = path.join(dir, program);
    if (
      await stat(candidate).then(
        (s) => s.isFile(),
        () => false,
      )
    )
      return candidate;
  }
  throw new RuntimeError(
    'IMAGE_BUILD_FAILED',
    `the runtime image takes '${program}' from this machine, and it is not on PATH`,
    `install it (on Debian: apt-get install ${program === 'sh' ? 'dash' : program}), or build the slim image where a registry is reachable`,
  );
}

/** The libraries `ldd` says a binary loads, with the dynamic loader itself. */
export async function sharedLibraries(binary: string): Promise<string[]> {
  let out: string;
  try {
    out = (await execFileAsync('ldd', [binary])).stdout;
  } catch (err) {
    // ldd exits non-zero for static binaries ("not a dynamic executable"): nothing to add.
    const stdout = (err as { stdout?: string }).stdout ?? '';
    if (
      /not a dynamic executable|statically linked/.test(stdout + String((err as { stderr?: string }).stderr))
    )
      return [];
    throw new RuntimeError(
      'IMAGE_BUILD_FAILED',
      `ldd ${binary} failed: ${(err as Error).message}`,
      'the scratch image needs ldd (Debian: apt-get install libc-bin)',
    );
  }
  return parseLdd(out);
}

export function parseLdd(output: string): string[] {
  const libs: string[] = [];
  for (const line of output.split('\n')) {
    const m = /=>\s*(\/\S+)/.exec(line) ?? /^\s*(\/\S+)\s+\(0x/.exec(line);
    if (m && !libs.includes(m[1]!)) libs.push(m[1]!);
  }
  return libs;
}

async function walk(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const d of await readdir(dir, { withFileTypes: true })) {
    const p = path.join(dir, d.name);
    if (d.isDirectory()) out.push(...(await walk(p)));
    else if (d.isFile()) out.push(p);
  }
  return out.sort();
}

// Hashing node (~100 MB) takes ~0.4 s; a file keeps its hash while its inode, size and mtime do.
const hashCache = new Map<string, string>();

async function contentHash(e: ContextEntry): Promise<string> {
  if (e.content !== undefined) return createHash('sha256').update(e.content).digest('hex');
  const s = await stat(e.source!);
  const key = `${e.source}\0${s.ino}\0${s.size}\0${s.mtimeMs}`;
  const cached = hashCache.get(key);
  if (cached) return cached;
  const h = createHash('sha256');
  for await (const chunk of createReadStream(e.source!)) h.update(chunk as Buffer);
  const digest = h.digest('hex');
  hashCache.set(key, digest);
  return digest;
}

/** The context as the tar stream Docker's build endpoint takes. */
export function packContext(entries: ContextEntry[]): Readable {
  const pack = tar.pack();
  (async () => {
    for (const e of entries) {
      if (e.type === 'directory') {
        pack.entry({ name: e.name, type: 'directory', mode: e.mode });
        continue;
      }
      if (e.content !== undefined) {
        pack.entry({ name: e.name, mode: e.mode }, e.content);
        continue;
      }
      const size = (await stat(e.source!)).size;
      await new Promise<void>((resolve, reject) => {
        const sink = pack.entry({ name: e.name, mode: e.mode, size }, (err) =>
          err ? reject(err) : resolve(),
        );
        createReadStream(e.source!).on('error', reject).pipe(sink);
      });
    }
    pack.finalize();
  })().catch((err: Error) => pack.destroy(err));
  return pack as unknown as Readable;
}
