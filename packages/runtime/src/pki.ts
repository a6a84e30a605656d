/**
 * Certificates for labs that use TLS. A lab's `spec.pki` asks for a CA and server/client leaves
 * (what the course's gencerts.sh makes); they are generated once per lab with meshcraft-proxy's
 * generator and kept on disk, so every rendering of the lab — at `up`, and again for live edits,
 * in this process or a restarted console — mounts the same files. `down` removes them.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { generateLabCertificates } from '@meshcraft/proxy';
import type { PkiRequest } from '@meshcraft/topology';

const REQUEST_FILE = 'request.json';

export function defaultPkiDir(): string {
  const state = process.env.XDG_STATE_HOME || path.join(os.homedir(), '.local', 'state');
  return path.join(state, 'meshcraft', 'pki');
}

export class LabPkiStore {
  constructor(readonly dir: string = defaultPkiDir()) {}

  private labDir(labId: string): string {
    return path.join(this.dir, labId);
  }

  /** Makes sure the lab's certificates exist for exactly this request; generates them if not. */
  async ensure(labId: string, request: PkiRequest): Promise<void> {
    const dir = this.labDir(labId);
    const wanted = JSON.stringify(request);
    try {
      if (fs.readFileSync(path.join(dir, REQUEST_FILE), 'utf8') === wanted) return;
    } catch {
      // none yet
    }
    const pki = await generateLabCertificates(request);
    fs.rmSync(dir, { recursive: true, force: true });
    for (const [file, pem] of Object.entries(pki.files)) {
      const target = path.join(dir, file);
      fs.mkdirSync(path.dirname(target), { recursive: true });
      fs.writeFileSync(target, pem, { mode: file.endsWith('.key') ? 0o600 : 0o644 });
    }
    // Written last: a request file means the certificates next to it are complete.
    fs.writeFileSync(path.join(dir, REQUEST_FILE), wanted);
  }

  /** The lab's certificate files by project-relative path (`certs/CA/ca.crt`, ...); empty when none. */
  files(labId: string): Record<string, string> {
    const dir = this.labDir(labId);
    const out: Record<string, string> = {};
    const walk = (abs: string) => {
      for (const e of fs.readdirSync(abs, { withFileTypes: true })) {
        const p = path.join(abs, e.name);
        if (e.isDirectory()) walk(p);
        else if (e.name !== REQUEST_FILE)
          out[path.relative(dir, p).split(path.sep).join('/')] = fs.readFileSync(p, 'utf8');
      }
    };
    if (fs.existsSync(dir)) walk(dir);
    return out;
  }

  remove(labId: string): void {
    fs.rmSync(this.labDir(labId), { recursive: true, force: true });
  }
}
