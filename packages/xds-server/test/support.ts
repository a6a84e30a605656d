/**
 * Running the control plane next to meshcraft-proxy's scenario harness: the `meshcraft-xds` program
 * as the course runs its image (environment variables), and the course's control-plane files
 * mapped onto a lab's loopback addresses.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import YAML from 'yaml';
import { type AddressMap, until } from '../../proxy/test/scenarios/harness.js';

const here = path.dirname(fileURLToPath(import.meta.url));
export const XDS_BIN = path.resolve(here, '../bin/meshcraft-xds.js');

export function courseFile(name: string): string {
  return fs.readFileSync(path.join(here, 'fixtures', name), 'utf8');
}

interface CourseConfig {
  spec: {
    listeners?: { address: string; port: number }[];
    clusters?: { endpoints?: { address: string; port: number }[] }[];
  };
}

/**
 * The course's control-plane file with the lab's addresses on loopback: `labPrefix` is the lab's
 * subnet as the file has it (172.31.15.), endpoints move to their mapped address and port, and a
 * listener on 0.0.0.0 to the front proxy's own address.
 */
export function remapCourseConfig(map: AddressMap, text: string, labPrefix: string, front: string): string {
  const doc = YAML.parse(text) as CourseConfig;
  const ip = (a: string) => map.ip(a.startsWith(labPrefix) ? map.labPrefix + a.slice(labPrefix.length) : a);
  for (const l of doc.spec.listeners ?? []) {
    l.address = l.address === '0.0.0.0' ? map.ip(front) : ip(l.address);
    l.port = map.port(l.port);
  }
  for (const c of doc.spec.clusters ?? []) {
    for (const e of c.endpoints ?? []) {
      e.address = ip(e.address);
      e.port = map.port(e.port);
    }
  }
  return YAML.stringify(doc);
}

export class XdsProcess {
  private output = '';
  private exited = false;

  private constructor(readonly child: ChildProcess) {
    child.stdout?.on('data', (d: Buffer) => {
      this.output += d.toString();
    });
    child.stderr?.on('data', (d: Buffer) => {
      this.output += d.toString();
    });
    child.on('exit', () => {
      this.exited = true;
    });
  }

  /** Starts `meshcraft-xds` with the course's environment and waits until it listens. */
  static async start(env: Record<string, string>, args: string[] = []): Promise<XdsProcess> {
    const child = spawn(process.execPath, [XDS_BIN, ...args], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const p = new XdsProcess(child);
    await until('the control plane to listen', async () => {
      if (p.exited) throw new Error(`meshcraft-xds exited:\n${p.output}`);
      return p.output.includes('management server listening on');
    });
    return p;
  }

  logs(): string {
    return this.output;
  }

  /** The `sent <Type> version <v> ...` lines, in order. */
  pushes(): string[] {
    return this.output.split('\n').filter((l) => / sent \w+ version /.test(l));
  }

  /** The version of the snapshot served last. */
  version(): string {
    const all = [...this.output.matchAll(/will serve snapshot version (\d+)/g)];
    return all.at(-1)?.[1] ?? '';
  }

  kill(): Promise<void> {
    return new Promise((resolve) => {
      if (this.exited) return resolve();
      this.child.once('exit', () => resolve());
      this.child.kill('SIGKILL');
    });
  }
}
