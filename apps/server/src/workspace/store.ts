/**
 * The workspace: the person's labs, one `<name>.lab.yaml` per lab in one directory, next to the
 * read-only lab library. Every write is atomic and only ever of a lab that validated, so a
 * crash or a bad edit never leaves a half-written or invalid file behind. Parsed files are
 * cached by modification time and size, so listing stays cheap while files change underneath.
 */
import { createHash } from 'node:crypto';
import { mkdir, readdir, readFile, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import {
  type Issue,
  importProject,
  type Lab,
  parseLab,
  parseLabObject,
  stringifyLab,
} from '@meshcraft/topology';
import { libraryDirectory } from '@meshcraft/topology/node';
import { ConsoleError } from '../errors.js';
import { writeFileAtomic } from './atomic.js';
import { checkLabName, LAB_FILE_SUFFIX, labFile, toLabName } from './names.js';
import { stripCommonDirectory, unzipText } from './unzip.js';

export type LabSource = 'workspace' | 'library';

export interface LabRef {
  name: string;
  /** Default: the workspace's lab of that name, else the library's. */
  source?: LabSource;
}

export interface LabEntry {
  name: string;
  source: LabSource;
  title: string;
  description?: string;
  tags: string[];
  valid: boolean;
  errors: number;
  warnings: number;
  /** Milliseconds since the epoch. */
  modifiedAt: number;
  revision: string;
}

export interface LabDocument {
  name: string;
  source: LabSource;
  /** Absent when the file does not validate; `text` and `issues` say why. */
  lab: Lab | null;
  text: string;
  issues: Issue[];
  revision: string;
  modifiedAt: number;
}

export interface SaveResult {
  name: string;
  revision: string;
  /** Warnings; a lab with errors is never saved. */
  issues: Issue[];
  created: boolean;
}

export type ImportSource =
  | { kind: 'yaml'; text: string }
  /** Text files of a directory laid out like the course's labs, by relative path. */
  | { kind: 'files'; files: Record<string, string> }
  | { kind: 'zip'; base64: string };

export interface ImportOutcome {
  name: string;
  revision: string;
  issues: Issue[];
}

interface Cached {
  mtimeMs: number;
  size: number;
  doc: LabDocument;
}

export function revisionOf(text: string): string {
  return createHash('sha256').update(text).digest('hex').slice(0, 16);
}

export class Workspace {
  readonly dir: string;
  readonly libraryDir: string;
  private readonly cache = new Map<string, Cached>();
  /** Per lab name: the tail of its chain of writes, so two saves of one lab never interleave. */
  private readonly writes = new Map<string, Promise<unknown>>();

  constructor(dir: string, libraryDir: string = libraryDirectory()) {
    this.dir = path.resolve(dir);
    this.libraryDir = path.resolve(libraryDir);
  }

  async ensure(): Promise<void> {
    await mkdir(this.dir, { recursive: true });
  }

  async list(): Promise<LabEntry[]> {
    await this.ensure();
    const [own, library] = await Promise.all([this.entries('workspace'), this.entries('library')]);
    return [...own, ...library];
  }

  /** The lab `ref` names; without a source, the workspace's copy wins over the library's. */
  async get(ref: LabRef): Promise<LabDocument> {
    checkLabName(ref.name);
    const sources: LabSource[] = ref.source ? [ref.source] : ['workspace', 'library'];
    for (const source of sources) {
      const doc = await this.read(source, ref.name);
      if (doc) return doc;
    }
    throw new ConsoleError(
      'NOT_FOUND',
      `there is no lab '${ref.name}'${ref.source ? ` in the ${ref.source}` : ''}`,
      'see the labs there are: meshcraft ls --saved',
    );
  }

  /** The lab `ref` names, which must be valid (to run, render or export it). */
  async lab(ref: LabRef): Promise<Lab> {
    const doc = await this.get(ref);
    if (!doc.lab) {
      throw new ConsoleError(
        'INVALID_LAB',
        `lab '${doc.name}' in the ${doc.source} has errors`,
        'fix them in the editor, or run: meshcraft validate ' + doc.name,
        { issues: doc.issues },
      );
    }
    return doc.lab;
  }

  /**
   * Validates and writes a lab under its `metadata.name`. With `baseRevision`, refuses when the
   * file changed since that revision was read (another tab or an editor saved in between).
   */
  async save(
    value: unknown,
    options: { baseRevision?: string; overwrite?: boolean } = {},
  ): Promise<SaveResult> {
    const { lab, issues } = validOrThrow(value);
    const name = checkLabName(lab.metadata.name);
    return this.serialised(name, async () => {
      const file = labFile(this.dir, name);
      const current = await this.read('workspace', name);
      if (current && options.overwrite === false) {
        throw new ConsoleError('EXISTS', `the workspace already has a lab '${name}'`, 'choose another name');
      }
      if (options.baseRevision !== undefined && current && current.revision !== options.baseRevision) {
        throw new ConsoleError(
          'CONFLICT',
          `lab '${name}' was changed by someone else since it was opened`,
          'reload it to see their changes, or save yours under another name',
        );
      }
      const text = stringifyLab(lab);
      await this.ensure();
      await writeFileAtomic(file, text);
      return { name, revision: revisionOf(text), issues, created: !current };
    });
  }

  async rename(from: string, to: string): Promise<SaveResult> {
    checkLabName(from);
    checkLabName(to);
    if (from === to)
      throw new ConsoleError('BAD_INPUT', `lab '${from}' already has that name`, 'choose a new name');
    const lab = await this.lab({ name: from, source: 'workspace' });
    const saved = await this.save(relabel(lab, to), { overwrite: false });
    await this.serialised(from, () => rm(labFile(this.dir, from), { force: true }));
    return saved;
  }

  async duplicate(ref: LabRef, to: string, title?: string): Promise<SaveResult> {
    checkLabName(to);
    const lab = await this.lab(ref);
    return this.save(relabel(lab, to, title ?? `${lab.metadata.title} (copy)`), { overwrite: false });
  }

  async remove(name: string): Promise<void> {
    const file = labFile(this.dir, name);
    if (!(await this.read('workspace', name))) {
      const inLibrary = await this.read('library', name);
      throw new ConsoleError(
        inLibrary ? 'READ_ONLY' : 'NOT_FOUND',
        inLibrary
          ? `lab '${name}' belongs to the library, which is read-only`
          : `there is no lab '${name}' in the workspace`,
        inLibrary
          ? 'only labs in the workspace can be deleted'
          : 'see the labs there are: meshcraft ls --saved',
      );
    }
    await this.serialised(name, () => rm(file, { force: true }));
  }

  /** Imports a lab from YAML, a course-style directory's files or a ZIP, and saves it to the workspace. */
  async import(
    source: ImportSource,
    options: { name?: string; overwrite?: boolean } = {},
  ): Promise<ImportOutcome> {
    if (options.name !== undefined) checkLabName(options.name);
    const result = importFrom(source, options.name);
    if (!result.lab) {
      throw new ConsoleError(
        'INVALID_LAB',
        'the import found errors, so nothing was saved',
        'fix the files and import again',
        {
          issues: result.issues,
        },
      );
    }
    const lab = options.name ? relabel(result.lab, options.name) : result.lab;
    const saved = await this.save(lab, { overwrite: options.overwrite ?? false });
    return { name: saved.name, revision: saved.revision, issues: [...result.issues, ...saved.issues] };
  }

  /**
   * Parses every lab into the cache ahead of the first list (the library's take a second or more
   * to parse cold). One file at a time, giving way between them, so requests that arrive meanwhile
   * are served; a list that arrives meanwhile parses what is left itself.
   */
  async warm(): Promise<void> {
    for (const source of ['workspace', 'library'] as const) {
      for (const name of await this.names(source)) {
        await this.readIfNamed(source, name);
        await new Promise((resolve) => setImmediate(resolve));
      }
    }
  }

  private dirOf(source: LabSource): string {
    return source === 'workspace' ? this.dir : this.libraryDir;
  }

  private async names(source: LabSource): Promise<string[]> {
    try {
      return (await readdir(this.dirOf(source)))
        .filter((f) => f.endsWith(LAB_FILE_SUFFIX))
        .sort()
        .map((f) => f.slice(0, -LAB_FILE_SUFFIX.length));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw err;
    }
  }

  private async entries(source: LabSource): Promise<LabEntry[]> {
    const docs = await Promise.all((await this.names(source)).map((n) => this.readIfNamed(source, n)));
    return docs.filter((d): d is LabDocument => d !== undefined).map(entryOf);
  }

  /** Files whose name is no valid lab name (left there by hand) are not the console's to show. */
  private async readIfNamed(source: LabSource, name: string): Promise<LabDocument | undefined> {
    try {
      return await this.read(source, name);
    } catch (err) {
      if (err instanceof ConsoleError && err.code === 'BAD_NAME') return undefined;
      throw err;
    }
  }

  private async read(source: LabSource, name: string): Promise<LabDocument | undefined> {
    const file = labFile(this.dirOf(source), name);
    let st: Awaited<ReturnType<typeof stat>>;
    try {
      st = await stat(file);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
    const cached = this.cache.get(file);
    if (cached && cached.mtimeMs === st.mtimeMs && cached.size === st.size) return cached.doc;
    const text = await readFile(file, 'utf8');
    const doc = documentOf(source, name, text, st.mtimeMs);
    this.cache.set(file, { mtimeMs: st.mtimeMs, size: st.size, doc });
    return doc;
  }

  private serialised<T>(name: string, fn: () => Promise<T>): Promise<T> {
    const previous = this.writes.get(name) ?? Promise.resolve();
    const next = previous.then(fn, fn);
    const tail = next.catch(() => {});
    this.writes.set(name, tail);
    void tail.then(() => {
      if (this.writes.get(name) === tail) this.writes.delete(name);
    });
    return next;
  }
}

function documentOf(source: LabSource, name: string, text: string, mtimeMs: number): LabDocument {
  const parsed = parseLab(text);
  const issues = [...parsed.issues];
  let lab = parsed.lab ?? null;
  if (lab && lab.metadata.name !== name) {
    // The file name is the lab's identity in the workspace (and its id when it runs).
    issues.push({
      severity: 'warning',
      path: ['metadata', 'name'],
      at: 'metadata.name',
      message: `the file is ${name}${LAB_FILE_SUFFIX} but metadata.name is '${lab.metadata.name}'; the lab is opened as '${name}'`,
    });
    lab = relabel(lab, name);
  }
  return { name, source, lab, text, issues, revision: revisionOf(text), modifiedAt: Math.round(mtimeMs) };
}

function entryOf(doc: LabDocument): LabEntry {
  const meta = doc.lab?.metadata;
  return {
    name: doc.name,
    source: doc.source,
    title: meta?.title ?? doc.name,
    description: meta?.description,
    tags: meta?.tags ?? [],
    valid: doc.lab !== null,
    errors: doc.issues.filter((i) => i.severity === 'error').length,
    warnings: doc.issues.filter((i) => i.severity === 'warning').length,
    modifiedAt: doc.modifiedAt,
    revision: doc.revision,
  };
}

function relabel(lab: Lab, name: string, title?: string): Lab {
  return { ...lab, metadata: { ...lab.metadata, name, ...(title ? { title } : {}) } };
}

function validOrThrow(value: unknown): { lab: Lab; issues: Issue[] } {
  const { lab, issues } = parseLabObject(value);
  if (!lab) {
    throw new ConsoleError(
      'INVALID_LAB',
      'the lab has errors, so it was not saved',
      'fix the listed fields and save again',
      {
        issues,
      },
    );
  }
  return { lab, issues };
}

function importFrom(source: ImportSource, name: string | undefined): { lab?: Lab; issues: Issue[] } {
  switch (source.kind) {
    case 'yaml':
      return parseLab(source.text);
    case 'files':
      return importProject(source.files, { name });
    case 'zip': {
      const files = stripCommonDirectory(unzipText(Buffer.from(source.base64, 'base64')));
      if (Object.keys(files).length === 0) {
        throw new ConsoleError(
          'BAD_INPUT',
          'the archive holds no text files',
          'import the zip that meshcraft export wrote, or a lab directory',
        );
      }
      return importProject(files, { name: name ?? guessName(files) });
    }
  }
}

function guessName(files: Record<string, string>): string | undefined {
  const labFileName = Object.keys(files).find((f) => f.endsWith(LAB_FILE_SUFFIX) && !f.includes('/'));
  return labFileName ? toLabName(labFileName) : undefined;
}
