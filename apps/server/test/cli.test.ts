/**
 * The `meshcraft` command as a person or a script runs it: the real bin, a workspace and runtime
 * state of its own, human output and --json, and exit codes that say what went wrong.
 */
import { type SpawnSyncReturns, spawnSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Runtime } from '@meshcraft/runtime';
import { afterAll, describe, expect, it } from 'vitest';
import { splitLab, uniqueName } from './scenario.js';
import { BIN } from './server-process.js';

const home = mkdtempSync(path.join(os.tmpdir(), 'meshcraft-cli-test-'));
const env = { ...process.env, MESHCRAFT_HOME: home, XDG_STATE_HOME: path.join(home, 'state') };
const labName = uniqueName('it-cli');

function meshcraft(...args: string[]): SpawnSyncReturns<string> {
  return spawnSync(process.execPath, [BIN, ...args], { env, encoding: 'utf8', timeout: 120_000, cwd: home });
}

afterAll(async () => {
  const runtime = new Runtime({ local: { stateDir: path.join(home, 'state', 'meshcraft', 'local-labs') } });
  if (await runtime.status(labName)) await runtime.down(labName);
  rmSync(home, { recursive: true, force: true });
});

describe('meshcraft', () => {
  it('validates labs by name or file, with exit codes 0, 3 and 4', () => {
    const ok = meshcraft('validate', 'traffic-split');
    expect(ok.status).toBe(0);
    expect(ok.stdout).toContain('traffic-split.lab.yaml (library) is valid');
    const broken = path.join(home, 'broken.lab.yaml');
    writeFileSync(
      broken,
      'apiVersion: meshcraft.io/v1alpha1\nkind: Lab\nmetadata:\n  name: broken\n  title: x\nspec:\n  nodes: [ {kind: cluster} ]\n  edges: []\n',
    );
    const bad = meshcraft('validate', broken, '--json');
    expect(bad.status).toBe(3);
    const report = JSON.parse(bad.stdout) as { valid: boolean; issues: { at: string; line?: number }[] };
    expect(report.valid).toBe(false);
    expect(report.issues[0]!.at).toMatch(/^spec\.nodes\[0\]/);
    expect(report.issues[0]!.line).toBe(7);
    expect(meshcraft('validate', 'no-such-lab').status).toBe(4);
    // A lab *name* never leaves the workspace (a path is a file the person names, and is read as one).
    const traversal = meshcraft('export', '..', '-o', path.join(home, 'x.zip'));
    expect(traversal.status).toBe(2);
    expect(traversal.stderr).toContain("'..' is not an allowed lab name");
    expect(meshcraft('frobnicate').status).toBe(2);
  });

  it('renders into a new directory and will not write over one that has files', () => {
    const out = path.join(home, 'rendered');
    const r = meshcraft('render', 'health-check-with-http', '-o', out);
    expect(r.status).toBe(0);
    expect(readdirSync(out)).toContain('docker-compose.yaml');
    expect(readFileSync(path.join(out, 'docker-compose.yaml'), 'utf8')).toContain('services:');
    const again = meshcraft('render', 'health-check-with-http', '-o', out);
    expect(again.status).toBe(6);
    expect(again.stderr).toContain('is not empty');
  });

  it('exports a zip and imports it back into the workspace; ls --saved shows it', () => {
    const zip = path.join(home, 'hc.zip');
    expect(meshcraft('export', 'health-check-with-http', '-o', zip).status).toBe(0);
    const imported = meshcraft('import', zip, '--name', 'hc-again', '--json');
    expect(imported.status).toBe(0);
    expect(JSON.parse(imported.stdout)).toMatchObject({ ok: true, name: 'hc-again' });
    expect(existsSync(path.join(home, 'workspace', 'hc-again.lab.yaml'))).toBe(true);
    expect(meshcraft('import', zip, '--name', 'hc-again').status).toBe(6);
    const saved = JSON.parse(meshcraft('ls', '--saved', '--json').stdout) as {
      name: string;
      source: string;
    }[];
    expect(saved[0]).toMatchObject({ name: 'hc-again', source: 'workspace' });
  });

  it('brings a lab file up on the local driver with progress, shows it in ls and status, and brings it down', () => {
    const dir = path.join(home, 'labs');
    mkdirSync(dir, { recursive: true });
    const file = path.join(dir, `${labName}.lab.yaml`);
    writeFileSync(file, JSON.stringify(splitLab(labName)));
    const up = meshcraft('up', file, '--driver', 'local');
    expect(up.status, up.stderr).toBe(0);
    expect(up.stderr).toContain('using the local driver');
    expect(up.stderr).toMatch(/✓ front is ready/);
    expect(up.stdout).toContain(`lab ${labName}: running on the local driver`);
    const ls = JSON.parse(meshcraft('ls', '--json').stdout) as { labId: string; driver: string }[];
    expect(ls).toContainEqual(expect.objectContaining({ labId: labName, driver: 'local' }));
    const status = JSON.parse(meshcraft('status', labName, '--json').stdout) as { containers: unknown[] };
    expect(status.containers).toHaveLength(4);
    expect(meshcraft('up', file, '--driver', 'local').status).toBe(6);
    const down = meshcraft('down', labName);
    expect(down.status).toBe(0);
    expect(down.stdout).toContain(`lab ${labName} is down`);
    expect(meshcraft('down', labName).status).toBe(4);
    expect(meshcraft('status', labName).status).toBe(4);
  });
});
