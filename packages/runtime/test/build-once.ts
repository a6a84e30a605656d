/**
 * Global setup of the local and docker projects: builds this package (dist/, which the
 * child-process tests import) and bundles the programs (which the image and the local driver
 * run) from the current proxy and demoapp builds — once per vitest run, for both projects.
 */
import { execFile } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { bundlePrograms } from '../src/bundle-programs.js';

const packageDir = fileURLToPath(new URL('..', import.meta.url));
const key = Symbol.for('meshcraft.runtime.test-build');

async function build(): Promise<void> {
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  await promisify(execFile)(process.execPath, [tsc, '-p', 'tsconfig.build.json'], { cwd: packageDir });
  await bundlePrograms();
}

export default async function setup(): Promise<void> {
  const g = globalThis as { [key]?: Promise<void> };
  g[key] ??= build();
  await g[key];
}
