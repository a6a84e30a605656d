/**
 * Export round trips: every library lab exported as a project and imported back is the same lab
 * (exactly, through the lab file the export carries; equivalently, from the compose file and
 * configs alone), and the zip holds exactly the exported files.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inflateRawSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { exportLab, importProject, type Lab, type RenderResult } from '../src/index.js';
import {
  exportToDirectory,
  exportZip,
  importDirectory,
  loadLibrary,
  readProjectDirectory,
} from '../src/node.js';
import { behaviour, LIBRARY_DIR, renderDocker, renderedReader } from './helpers.js';

const labs = loadLibrary(LIBRARY_DIR).map((e) => e.lab as Lab);

/** What a running lab is: its containers (role, namespace, address, names) and what each proxy does. */
function running(result: RenderResult) {
  return {
    containers: result.containers
      .map((c) => ({
        name: c.name,
        role: c.role,
        image: c.image,
        hostname: c.hostname,
        network: c.network.owner ? { ip: c.network.ip, aliases: [...c.network.aliases].sort() } : c.network,
        env: c.env,
        hostPorts: c.hostPorts,
      }))
      .sort((a, b) => a.name.localeCompare(b.name)),
    proxies: Object.fromEntries(
      result.proxies.map((p) => [p.container, behaviour(p.bootstrap, renderedReader(result, p.container))]),
    ),
    controlPlanes: Object.fromEntries(
      Object.entries(result.files).filter(([f]) => f.endsWith('/config.yaml')),
    ),
  };
}

/** Reads the entries of a zip written by our writer (local headers in order, stored or deflated). */
function unzip(data: Uint8Array): Record<string, string> {
  const out: Record<string, string> = {};
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  let at = 0;
  while (view.getUint32(at, true) === 0x04034b50) {
    const method = view.getUint16(at + 8, true);
    const size = view.getUint32(at + 18, true);
    const nameLength = view.getUint16(at + 26, true);
    const name = new TextDecoder().decode(data.subarray(at + 30, at + 30 + nameLength));
    const body = data.subarray(at + 30 + nameLength, at + 30 + nameLength + size);
    out[name] = new TextDecoder().decode(method === 8 ? inflateRawSync(body) : body);
    at += 30 + nameLength + size;
  }
  return out;
}

describe('export and import back', () => {
  for (const lab of labs) {
    it(`${lab.metadata.name}: the export's lab file gives the same lab`, () => {
      const { files } = exportLab(lab);
      const back = importProject(files);
      expect(back.lab).toEqual(lab);
    });

    it(`${lab.metadata.name}: the compose project alone imports to an equivalent lab`, () => {
      const { files } = exportLab(lab, { includeLab: false });
      const back = importProject(files, { name: lab.metadata.name });
      expect(back.issues.filter((i) => i.severity === 'error')).toEqual([]);
      expect(back.lab).toBeDefined();
      expect(running(renderDocker(back.lab!))).toEqual(running(renderDocker(lab)));
    });
  }

  it('also imports an export made for real Envoy and the course images', () => {
    const lab = labs.find((l) => l.metadata.name === 'circuit-breaker')!;
    const back = importProject(exportLab(lab, { images: 'upstream', includeLab: false }).files, {
      name: 'cb',
    });
    expect(running(renderDocker(back.lab!)).proxies).toEqual(running(renderDocker(lab)).proxies);
  });

  it('writes a README with how to run it, what to try and what to observe', () => {
    const readme = exportLab(labs.find((l) => l.metadata.name === 'tls-static')!).files['README.md']!;
    expect(readme).toMatch(/^# Static TLS/);
    expect(readme).toContain('sh gencerts.sh');
    expect(readme).toContain('docker compose up');
    expect(readme).toContain('## What to try');
    expect(readme).toContain('curl -k https://172.31.90.10/service/gray');
    expect(readme).toContain('## What to observe');
    expect(readme).toContain('| front-envoy | proxy | 172.31.90.10 |');
  });

  it('writes a certificate script for labs with a PKI', () => {
    const script = exportLab(labs.find((l) => l.metadata.name === 'tls-static')!).files['gencerts.sh']!;
    expect(script).toContain("-subj '/CN=envoy-ca'");
    expect(script).toContain("leaf certs/front-envoy server 'front-envoy' serverAuth");
    expect(script).toContain("leaf certs/front-envoy client 'front-envoy' clientAuth");
    expect(
      exportLab(labs.find((l) => l.metadata.name === 'strict-dns')!).files['gencerts.sh'],
    ).toBeUndefined();
  });
});

describe('export to disk', () => {
  const dir = mkdtempSync(join(tmpdir(), 'meshcraft-export-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('writes a directory that imports back', () => {
    const lab = labs.find((l) => l.metadata.name === 'lds-cds-grpc')!;
    const target = join(dir, 'lds-cds-grpc');
    const { files } = exportToDirectory(lab, target);
    expect(files).toContain('docker-compose.yaml');
    expect(readFileSync(join(target, 'xdsserver', 'config.yaml'), 'utf8')).toContain('webcluster');
    expect(importDirectory(target).lab).toEqual(lab);
    expect(importDirectory(target, { preferLabFile: false }).lab?.metadata.name).toBe('lds-cds-grpc');
  });

  it('writes a zip holding exactly the exported files under the lab name', () => {
    const lab = labs.find((l) => l.metadata.name === 'health-check-with-http')!;
    const { zip } = exportZip(lab);
    const entries = unzip(zip);
    const { files } = exportLab(lab);
    expect(entries).toEqual(
      Object.fromEntries(Object.entries(files).map(([p, c]) => [`health-check-with-http/${p}`, c])),
    );
    expect(exportZip(lab).zip, 'the same bytes every time').toEqual(zip);
  });

  it('reads a directory without following symbolic links or reading binaries', () => {
    const project = join(dir, 'links');
    mkdirSync(join(project, 'conf'), { recursive: true });
    writeFileSync(join(project, 'conf', 'envoy.yaml'), 'admin: {}\n');
    writeFileSync(join(project, 'image.png'), Buffer.from([0x89, 0x50, 0x00, 0x01]));
    symlinkSync('/etc/passwd', join(project, 'passwd'));
    expect(readProjectDirectory(project)).toEqual({ 'conf/envoy.yaml': 'admin: {}\n' });
  });

  it('reports an unreadable directory instead of throwing', () => {
    const r = importDirectory(join(dir, 'does-not-exist'));
    expect(r.lab).toBeUndefined();
    expect(r.issues[0]!.message).toMatch(/cannot read .*does-not-exist/);
  });
});
