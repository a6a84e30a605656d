import {
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { type Lab, stringifyLab } from '@meshcraft/topology';
import { exportZip } from '@meshcraft/topology/node';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConsoleError } from '../errors.js';
import { Workspace } from './store.js';

let dir: string;
let ws: Workspace;

beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'meshcraft-workspace-test-'));
  ws = new Workspace(path.join(dir, 'workspace'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

async function libraryLab(name: string): Promise<Lab> {
  return (await ws.lab({ name, source: 'library' })) as Lab;
}

function code(p: Promise<unknown>): Promise<string> {
  return p.then(
    () => 'resolved',
    (err) => (err instanceof ConsoleError ? err.code : String(err)),
  );
}

describe('Workspace', () => {
  it('lists the library, and a saved lab first, with the workspace copy winning over the library’s', async () => {
    const split = await libraryLab('traffic-split');
    const before = await ws.list();
    expect(before.filter((e) => e.source === 'library').length).toBeGreaterThanOrEqual(29);
    expect(before.every((e) => e.valid)).toBe(true);
    const saved = await ws.save({ ...split, metadata: { ...split.metadata, title: 'Mine' } });
    expect(saved).toMatchObject({ name: 'traffic-split', created: true });
    expect((await ws.list())[0]).toMatchObject({ name: 'traffic-split', source: 'workspace', title: 'Mine' });
    expect((await ws.get({ name: 'traffic-split' })).source).toBe('workspace');
    expect((await ws.get({ name: 'traffic-split', source: 'library' })).lab?.metadata.title).not.toBe('Mine');
  });

  it('never writes an invalid lab, and keeps the saved one intact', async () => {
    const split = await libraryLab('traffic-split');
    await ws.save(split);
    const file = path.join(ws.dir, 'traffic-split.lab.yaml');
    const text = readFileSync(file, 'utf8');
    const broken = {
      ...split,
      spec: {
        ...split.spec,
        edges: [
          ...split.spec.edges,
          { kind: 'route', id: 'x', from: { node: 'nope', route: 'r' }, to: 'missing' },
        ],
      },
    };
    const err = await ws.save(broken).catch((e: ConsoleError) => e);
    expect(err).toBeInstanceOf(ConsoleError);
    expect((err as ConsoleError).code).toBe('INVALID_LAB');
    expect((err as ConsoleError).issues.length).toBeGreaterThan(0);
    expect(readFileSync(file, 'utf8')).toBe(text);
    expect(readdirSync(ws.dir)).toEqual(['traffic-split.lab.yaml']);
  });

  it('refuses a save based on a revision someone else replaced', async () => {
    const split = await libraryLab('traffic-split');
    const first = await ws.save(split);
    await ws.save(
      { ...split, metadata: { ...split.metadata, title: 'Theirs' } },
      { baseRevision: first.revision },
    );
    expect(
      await code(
        ws.save(
          { ...split, metadata: { ...split.metadata, title: 'Mine' } },
          { baseRevision: first.revision },
        ),
      ),
    ).toBe('CONFLICT');
    expect((await ws.get({ name: 'traffic-split' })).lab?.metadata.title).toBe('Theirs');
  });

  it('renames, duplicates and deletes only within the workspace', async () => {
    await ws.duplicate({ name: 'traffic-split', source: 'library' }, 'split-copy');
    expect((await ws.get({ name: 'split-copy' })).lab?.metadata).toMatchObject({
      name: 'split-copy',
      title: expect.stringContaining('(copy)'),
    });
    expect(await code(ws.duplicate({ name: 'traffic-split' }, 'split-copy'))).toBe('EXISTS');
    await ws.rename('split-copy', 'split-two');
    expect(readdirSync(ws.dir)).toEqual(['split-two.lab.yaml']);
    expect(await code(ws.remove('traffic-split'))).toBe('READ_ONLY');
    await ws.remove('split-two');
    expect(readdirSync(ws.dir)).toEqual([]);
    expect(await code(ws.remove('split-two'))).toBe('NOT_FOUND');
  });

  it('refuses names that leave the workspace', async () => {
    for (const name of ['../../etc/passwd', '..', '.hidden', 'a/b', 'UPPER', '']) {
      expect(await code(ws.get({ name })), name).toBe('BAD_NAME');
    }
  });

  it('opens a hand-edited file whose metadata.name differs under its file name, with a warning', async () => {
    const split = await libraryLab('traffic-split');
    await ws.ensure();
    writeFileSync(path.join(ws.dir, 'renamed.lab.yaml'), stringifyLab(split));
    const doc = await ws.get({ name: 'renamed' });
    expect(doc.lab?.metadata.name).toBe('renamed');
    expect(doc.issues.map((i) => i.at)).toContain('metadata.name');
  });

  it('imports what export wrote (a zip), YAML text and a course directory, and saves nothing on errors', async () => {
    const hc = await libraryLab('health-check-with-http');
    const { zip } = exportZip(hc);
    const fromZip = await ws.import({ kind: 'zip', base64: Buffer.from(zip).toString('base64') });
    expect(fromZip.name).toBe('health-check-with-http');
    expect((await ws.lab({ name: fromZip.name, source: 'workspace' })).spec).toEqual(hc.spec);
    expect(await code(ws.import({ kind: 'zip', base64: Buffer.from(zip).toString('base64') }))).toBe(
      'EXISTS',
    );
    const fromYaml = await ws.import({ kind: 'yaml', text: stringifyLab(hc) }, { name: 'hc-yaml' });
    expect(fromYaml.name).toBe('hc-yaml');
    expect(await code(ws.import({ kind: 'yaml', text: 'kind: Lab\nspec: [' }, { name: 'broken' }))).toBe(
      'INVALID_LAB',
    );
    expect(await code(ws.import({ kind: 'zip', base64: Buffer.from('not a zip').toString('base64') }))).toBe(
      'BAD_INPUT',
    );
    expect(readdirSync(ws.dir).sort()).toEqual(['hc-yaml.lab.yaml', 'health-check-with-http.lab.yaml']);
  });

  it('warm() parses every lab ahead, so the first list reads none of them', async () => {
    const library = path.join(dir, 'library');
    mkdirSync(library);
    const file = path.join(library, 'traffic-split.lab.yaml');
    const original = await libraryLab('traffic-split');
    writeFileSync(file, stringifyLab(original));
    // A whole second: the file's time can be set back to exactly this after it is rewritten.
    const mtime = new Date(2026, 0, 1);
    utimesSync(file, mtime, mtime);
    const other = 'Read again'.padEnd(original.metadata.title.length, '.');
    const title = async (w: Workspace) => (await w.list()).find((e) => e.name === 'traffic-split')?.title;

    const warmed = new Workspace(path.join(dir, 'workspace'), library);
    const cold = new Workspace(path.join(dir, 'workspace'), library);
    await warmed.warm();
    // Another title of the same length, the modification time kept: only a parse can see it.
    writeFileSync(file, readFileSync(file, 'utf8').replace(original.metadata.title, other));
    utimesSync(file, mtime, mtime);
    expect(await title(cold)).toBe(other);
    expect(await title(warmed)).toBe(original.metadata.title);
  });
});
