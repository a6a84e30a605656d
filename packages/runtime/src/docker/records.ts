/**
 * What the docker driver keeps about a running lab besides its labels, which Docker cannot change
 * after creation: the lab document it runs (an edit replaces it), where its proxies reach the
 * console's control plane, and the subnet it asked for (its address plan). One JSON file per lab,
 * tied to the lab's network by id, so a record that outlived its lab (removed with the docker
 * CLI) is never taken for a later lab of the same name.
 */
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { ControlPlaneAddress } from '../lab.js';

export interface DockerRecord {
  networkId: string;
  /** The subnet `up` asked Docker for (none: Docker chose one and the plan placed no addresses). */
  subnet?: string;
  document: unknown;
  controlPlane?: ControlPlaneAddress;
}

export class DockerRecords {
  private writes = 0;

  constructor(readonly dir: string) {}

  private file(labId: string): string {
    return path.join(this.dir, `${labId}.json`);
  }

  /** The lab's record, if it belongs to the network the lab has now. */
  async read(labId: string, networkId: string): Promise<DockerRecord | undefined> {
    try {
      const record = JSON.parse(await readFile(this.file(labId), 'utf8')) as DockerRecord;
      return record.networkId === networkId ? record : undefined;
    } catch {
      return undefined;
    }
  }

  /** Atomic: a reader sees the old record or the new one. */
  async write(labId: string, record: DockerRecord): Promise<void> {
    await mkdir(this.dir, { recursive: true });
    const tmp = path.join(this.dir, `.${labId}.json.${process.pid}.${this.writes++}.tmp`);
    await writeFile(tmp, JSON.stringify(record));
    await rename(tmp, this.file(labId));
  }

  async remove(labId: string): Promise<void> {
    await rm(this.file(labId), { force: true });
  }
}
