/**
 * The Node-only side of the package (`@meshcraft/topology/node`): reading lab directories and the
 * lab library from disk, and writing exports to a directory or a zip file. Everything else lives
 * in the browser-safe main entry.
 */
import { lstatSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { deflateRawSync } from 'node:zlib';
import { type ExportOptions, exportLab } from './export.js';
import { type ImportOptions, type ImportResult, importProject } from './import/index.js';
import type { Issue } from './issues.js';
import { parseLab } from './parse.js';
import type { Lab } from './schema.js';
import { zip } from './zip.js';

/** Files a lab directory may hold; more means this is not a lab's directory. */
const MAX_DIRECTORY_FILES = 1000;
const MAX_DIRECTORY_BYTES = 16 * 1024 * 1024;

export class DirectoryError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DirectoryError';
  }
}

/**
 * The text files of a directory, by `/`-separated relative path. Symbolic links are skipped (they
 * could lead outside the directory), as are binary files; too many or too large files are refused.
 */
export function readProjectDirectory(dir: string): Record<string, string> {
  const root = resolve(dir);
  const out: Record<string, string> = {};
  let count = 0;
  let bytes = 0;
  const walk = (d: string, depth: number) => {
    if (depth > 8) return;
    for (const name of readdirSync(d).sort()) {
      if (name === 'node_modules' || name === '.git') continue;
      const p = join(d, name);
      const st = lstatSync(p);
      if (st.isSymbolicLink()) continue;
      if (st.isDirectory()) walk(p, depth + 1);
      else if (st.isFile()) {
        if (++count > MAX_DIRECTORY_FILES)
          throw new DirectoryError(
            `${dir} holds more than ${MAX_DIRECTORY_FILES} files; point at the lab's own directory`,
          );
        bytes += st.size;
        if (bytes > MAX_DIRECTORY_BYTES)
          throw new DirectoryError(
            `${dir} holds more than ${MAX_DIRECTORY_BYTES / 1024 / 1024} MB; point at the lab's own directory`,
          );
        const data = readFileSync(p);
        if (data.includes(0)) continue;
        out[relative(root, p).split(sep).join('/')] = data.toString('utf8');
      }
    }
  };
  walk(root, 0);
  return out;
}

export function importDirectory(dir: string, opts: ImportOptions = {}): ImportResult {
  let files: Record<string, string>;
  try {
    files = readProjectDirectory(dir);
  } catch (err) {
    const message =
      err instanceof DirectoryError ? err.message : `cannot read ${dir}: ${(err as Error).message}`;
    return { issues: [{ severity: 'error', path: [], at: dir, message }] };
  }
  const name = opts.name ?? resolve(dir).split(sep).pop();
  return importProject(files, { ...opts, name });
}

/** A project path that stays inside the export directory: relative, no `..`, no empty segments. */
function safeJoin(root: string, rel: string): string {
  const target = resolve(root, rel);
  if (
    rel.startsWith('/') ||
    rel.split('/').some((s) => s === '..' || s === '') ||
    !target.startsWith(root + sep)
  ) {
    throw new DirectoryError(`refusing to write '${rel}' outside ${root}`);
  }
  return target;
}

export function exportToDirectory(
  lab: Lab,
  dir: string,
  opts: ExportOptions = {},
): { files: string[]; warnings: Issue[] } {
  const root = resolve(dir);
  const { files, warnings } = exportLab(lab, opts);
  for (const [rel, content] of Object.entries(files)) {
    const target = safeJoin(root, rel);
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(target, content, { mode: rel.endsWith('.sh') ? 0o755 : 0o644 });
  }
  return { files: Object.keys(files), warnings };
}

export function exportZip(lab: Lab, opts: ExportOptions = {}): { zip: Uint8Array; warnings: Issue[] } {
  const { files, warnings } = exportLab(lab, opts);
  const prefixed = Object.fromEntries(
    Object.entries(files).map(([p, c]) => [`${lab.metadata.name}/${p}`, c]),
  );
  return { zip: zip(prefixed, { deflate: (d) => deflateRawSync(d, { level: 9 }) }), warnings };
}

/** The repository's `labs/` directory, next to `packages/`. */
export function libraryDirectory(): string {
  return fileURLToPath(new URL('../../../labs/', import.meta.url));
}

export interface LibraryEntry {
  file: string;
  lab?: Lab;
  issues: Issue[];
}

/** Every `*.lab.yaml` of a directory (default the library), parsed and validated. */
export function loadLibrary(dir: string = libraryDirectory()): LibraryEntry[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.lab.yaml'))
    .sort()
    .map((file) => {
      const r = parseLab(readFileSync(join(dir, file), 'utf8'));
      return { file, lab: r.lab, issues: r.issues };
    });
}
