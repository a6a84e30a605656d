/**
 * What the local driver keeps about a lab on disk, under `<stateDir>/<labId>/`: `lab.json` (the
 * processes, their commands, addresses and ports, the lab document they run), `files/` (the rendered configs and hosts
 * files) and `logs/<container>.log`. `lab.json` is written before the first process starts and
 * after every change, so a console killed at any point can adopt the lab or remove it.
 */
import { mkdir, readdir, readFile, rename, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { ContainerRoleView, ControlPlaneAddress, PublishView, ReadinessView } from '../lab.js';

export interface LocalProcess {
  name: string;
  node: string;
  namespace: string;
  role: ContainerRoleView;
  owner: boolean;
  argv: string[];
  env: Record<string, string>;
  address: string;
  publish: PublishView[];
  readiness?: ReadinessView;
  dependsOn: string[];
  /** Set while it runs. */
  pid?: number;
  startTime?: string;
  /** Exit code or signal of the last run, once it ended. */
  exit?: { code: number | null; signal: string | null };
}

export interface LocalLab {
  labId: string;
  network: { name: string; subnet: string };
  ports: Record<number, number>;
  notes: string[];
  processes: LocalProcess[];
  /** The lab document it runs (the one brought up, or the last edit applied since). */
  document?: unknown;
  /** Where its proxies reach the console's control plane, when the console serves them. */
  controlPlane?: ControlPlaneAddress;
}

/** `$XDG_STATE_HOME/meshcraft/<name>` (XDG_STATE_HOME defaulting to ~/.local/state). */
export function stateDirNamed(name: 'local-labs' | 'docker-labs'): string {
  const base = process.env.XDG_STATE_HOME || path.join(os.homedir(), '.local', 'state');
  return path.join(base, 'meshcraft', name);
}

export class StateStore {
  private writes = 0;

  constructor(readonly dir: string) {}

  labDir(labId: string): string {
    return path.join(this.dir, labId);
  }

  filesDir(labId: string): string {
    return path.join(this.labDir(labId), 'files');
  }

  logFile(labId: string, container: string): string {
    return path.join(this.labDir(labId), 'logs', `${container}.log`);
  }

  async read(labId: string): Promise<LocalLab | undefined> {
    try {
      return JSON.parse(await readFile(path.join(this.labDir(labId), 'lab.json'), 'utf8')) as LocalLab;
    } catch {
      return undefined;
    }
  }

  /** Atomic: a reader sees the old or the new state, never half of one. */
  async write(lab: LocalLab): Promise<void> {
    const dir = this.labDir(lab.labId);
    await mkdir(path.join(dir, 'logs'), { recursive: true });
    // Unique per write: processes starting side by side record their pids concurrently.
    const tmp = path.join(dir, `.lab.json.${process.pid}.${this.writes++}.tmp`);
    await writeFile(tmp, JSON.stringify(lab, null, 2));
    await rename(tmp, path.join(dir, 'lab.json'));
  }

  /** Every lab id with a directory here (its lab.json may be missing if a console died very early). */
  async labIds(): Promise<string[]> {
    try {
      return (await readdir(this.dir, { withFileTypes: true }))
        .filter((d) => d.isDirectory())
        .map((d) => d.name)
        .sort();
    } catch {
      return [];
    }
  }
}
