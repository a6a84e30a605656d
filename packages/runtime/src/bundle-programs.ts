/**
 * Bundles meshcraft-proxy and meshcraft-demoapp into one ESM file each, with the files they load
 * at run time beside them, under `dist/programs/`: what the runtime image carries, and what the
 * local driver runs. Part of the package build (`node dist/bundle-programs.js`); it bundles the
 * packages' bin scripts, so the proxy and demoapp must be built first (pnpm's workspace order does).
 */
import { access, copyFile, mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { build } from 'esbuild';
import { RuntimeError } from './errors.js';
import { BUNDLE_DIR, PROGRAMS, type Program, packageDir } from './programs.js';

// CommonJS dependencies bundled into ESM still expect require, __filename and __dirname.
const ESM_CJS_SHIM = [
  "import { createRequire as __meshcraftCreateRequire } from 'node:module';",
  "import { fileURLToPath as __meshcraftFileURLToPath } from 'node:url';",
  "import { dirname as __meshcraftDirname } from 'node:path';",
  'const require = __meshcraftCreateRequire(import.meta.url);',
  'const __filename = __meshcraftFileURLToPath(import.meta.url);',
  'const __dirname = __meshcraftDirname(__filename);',
].join('\n');

export async function bundleProgram(program: Program, outDir: string): Promise<void> {
  const pkg = packageDir(program.package);
  const ownFiles = [program.bin, ...program.assets.filter((a) => !a.from.package).map((a) => a.from.path)];
  for (const file of ownFiles) {
    try {
      await access(path.join(pkg, file));
    } catch {
      throw new RuntimeError(
        'PROGRAMS_MISSING',
        `${program.package} is not built: ${path.join(pkg, file)} does not exist`,
        `build it first: pnpm --filter ${program.package} build`,
      );
    }
  }
  await build({
    entryPoints: [path.join(pkg, program.bin)],
    outfile: path.join(outDir, program.bundle),
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    banner: { js: ESM_CJS_SHIM },
    logLevel: 'warning',
  });
  for (const asset of program.assets) {
    const base = asset.from.package ? packageDir(asset.from.package, pkg) : pkg;
    const target = path.join(outDir, asset.to);
    await mkdir(path.dirname(target), { recursive: true });
    await copyFile(path.join(base, asset.from.path), target);
  }
}

export async function bundlePrograms(outDir = BUNDLE_DIR): Promise<void> {
  await rm(outDir, { recursive: true, force: true });
  for (const program of PROGRAMS) await bundleProgram(program, outDir);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  bundlePrograms().then(
    () => process.stdout.write(`bundled ${PROGRAMS.map((p) => p.name).join(', ')} into ${BUNDLE_DIR}\n`),
    (err: Error) => {
      process.stderr.write(`${err.message}\n`);
      process.exit(1);
    },
  );
}
