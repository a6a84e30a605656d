/**
 * Global setup of the process tests: builds this package's dist/ (what `bin/meshcraft.js` runs),
 * once per vitest run. The packages it depends on are built by the workspace build
 * (`pnpm -r --filter @meshcraft/server... run build`), which also bundles the lab programs.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const packageDir = fileURLToPath(new URL('..', import.meta.url));
const key = Symbol.for('meshcraft.server.test-build');

async function build(): Promise<void> {
  const require = createRequire(import.meta.url);
  const runtimeEntry = require.resolve('@meshcraft/runtime');
  const bundle = fileURLToPath(new URL('./programs/proxy/bin/meshcraft-proxy.mjs', `file://${runtimeEntry}`));
  if (!existsSync(bundle)) {
    throw new Error(
      `the runtime's lab programs are not built (${bundle}); run: pnpm -r --filter @meshcraft/server... run build`,
    );
  }
  const tsc = require.resolve('typescript/bin/tsc');
  await promisify(execFile)(process.execPath, [tsc, '-p', 'tsconfig.build.json'], { cwd: packageDir });
}

export default async function setup(): Promise<void> {
  const g = globalThis as { [key]?: Promise<void> };
  g[key] ??= build();
  await g[key];
}
