/**
 * The programs a lab runs — meshcraft-proxy and meshcraft-demoapp — and where to find them: as
 * single-file bundles under `dist/programs/` (what the runtime image carries, built by
 * `bundle-programs.ts` during the package build), or as the workspace packages' own bins.
 */
import { existsSync, realpathSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { RuntimeError } from './errors.js';

export interface ProgramAsset {
  /** Path relative to the program's package directory, or `<package>/<path>` of one of its dependencies. */
  from: { package?: string; path: string };
  /** Path relative to the program's bundle directory. */
  to: string;
}

export interface Program {
  name: string;
  /** The npm package that ships it. */
  package: string;
  /** Its bin script, relative to the package directory. */
  bin: string;
  /** The bundle, relative to the bundle directory. */
  bundle: string;
  /** Files the program loads by a path relative to its own module at run time. */
  assets: ProgramAsset[];
}

export const PROGRAMS: readonly Program[] = [
  {
    name: 'meshcraft-proxy',
    package: '@meshcraft/proxy',
    bin: 'bin/meshcraft-proxy.js',
    bundle: 'proxy/bin/meshcraft-proxy.mjs',
    assets: [
      // envoy-protos reads `new URL('../envoy-api.json', import.meta.url)` from dist/config/; the
      // bundle sits one directory below its assets in the same way.
      { from: { path: 'dist/envoy-api.json' }, to: 'proxy/envoy-api.json' },
      // re2-wasm's Emscripten loader reads `__dirname + 're2.wasm'`; in the bundle __dirname is the bundle's own.
      { from: { package: 're2-wasm', path: 'build/wasm/re2.wasm' }, to: 'proxy/bin/re2.wasm' },
    ],
  },
  {
    name: 'meshcraft-demoapp',
    package: '@meshcraft/demoapp',
    bin: 'bin/meshcraft-demoapp.js',
    bundle: 'demoapp/bin/meshcraft-demoapp.mjs',
    assets: [],
  },
];

/** `dist/programs/` of this package (the same directory from `src/` under vitest and from `dist/`). */
export const BUNDLE_DIR = fileURLToPath(new URL('../dist/programs/', import.meta.url));

export function programNamed(name: string): Program | undefined {
  return PROGRAMS.find((p) => p.name === name);
}

const RUNTIME_PACKAGE_DIR = fileURLToPath(new URL('..', import.meta.url));

/**
 * The (real) directory of a package as Node would find it from package directory `from`. Found
 * by looking, not by `require.resolve`, because the packages' `exports` do not expose package.json.
 */
export function packageDir(name: string, from = RUNTIME_PACKAGE_DIR): string {
  for (const dir of createRequire(path.join(from, 'package.json')).resolve.paths(name) ?? []) {
    const candidate = path.join(dir, name);
    if (existsSync(path.join(candidate, 'package.json'))) return realpathSync(candidate);
  }
  throw new RuntimeError(
    'PROGRAMS_MISSING',
    `package ${name} is not installed (looked from ${from})`,
    'install the workspace: pnpm install',
  );
}

/** The script to run for a program: its bundle when built, otherwise the workspace package's bin. */
export function programScript(program: Program): string {
  const bundled = path.join(BUNDLE_DIR, program.bundle);
  if (existsSync(bundled)) return bundled;
  return path.join(packageDir(program.package), program.bin);
}
