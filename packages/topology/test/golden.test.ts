/**
 * Golden files: the project every library lab renders to (compose file, Envoy configs, EDS/LDS/CDS
 * and control-plane files, certificate script) is compared byte for byte with testdata/golden/.
 * After an intended change, regenerate with `UPDATE_GOLDEN=1 npx vitest run test/golden.test.ts`
 * and review the diff.
 */
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildLayout, exportLab, type Lab, LabIndex, localAddressPlan, render } from '../src/index.js';
import { loadLibrary, readProjectDirectory } from '../src/node.js';
import { COURSE_DIR, LIBRARY_DIR } from './helpers.js';

const GOLDEN = join(COURSE_DIR, '..', 'golden');
const update = process.env.UPDATE_GOLDEN === '1';
const labs = loadLibrary(LIBRARY_DIR).map((e) => e.lab as Lab);

/** The rendered project without the parts that only restate the lab (README, the lab file). */
function project(lab: Lab, opts: Parameters<typeof exportLab>[1] = {}): Record<string, string> {
  const { files } = exportLab(lab, { ...opts, includeLab: false });
  delete files['README.md'];
  return files;
}

function check(dir: string, files: Record<string, string>): void {
  if (update) {
    rmSync(dir, { recursive: true, force: true });
    for (const [path, content] of Object.entries(files)) {
      mkdirSync(dirname(join(dir, path)), { recursive: true });
      writeFileSync(join(dir, path), content);
    }
    return;
  }
  const golden = readProjectDirectory(dir);
  expect(Object.keys(files).sort()).toEqual(Object.keys(golden).sort());
  for (const [path, content] of Object.entries(files)) expect(content, path).toBe(golden[path]);
}

describe('rendering matches the golden files', () => {
  for (const lab of labs) {
    it(`${lab.metadata.name} (docker, meshcraft runtime image)`, () => {
      const files = project(lab);
      expect(project(lab), 'rendering twice gives the same bytes').toEqual(files);
      check(join(GOLDEN, 'docker', lab.metadata.name), files);
    });
  }

  it('tls-static on real Envoy and the course images', () => {
    check(
      join(GOLDEN, 'upstream', 'tls-static'),
      project(labs.find((l) => l.metadata.name === 'tls-static')!, { images: 'upstream' }),
    );
  });

  it('health-check-with-http for the local driver', () => {
    const lab = labs.find((l) => l.metadata.name === 'health-check-with-http')!;
    const layout = buildLayout(new LabIndex(lab));
    const ports = { 80: 30080, 8080: 30880, 9901: 30901 };
    const result = render(
      lab,
      localAddressPlan(layout, { block: '127.31.18.0/24', ports, fileRoot: '/var/lib/meshcraft/labs/hc' }),
    );
    const files = { ...result.files, 'containers.json': `${JSON.stringify(result.containers, null, 2)}\n` };
    check(join(GOLDEN, 'local', 'health-check-with-http'), files);
  });

  it('has no golden directory for a lab that is gone', () => {
    const names = new Set(labs.map((l) => l.metadata.name));
    for (const d of readdirSync(join(GOLDEN, 'docker'))) expect(names.has(d), d).toBe(true);
  });
});
