import { mkdtemp, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { DockerRecords } from './records.js';

let dir: string | undefined;
afterEach(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('DockerRecords', () => {
  it("keeps a lab's record for the network it was made for, and forgets it on remove", async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'meshcraft-records-'));
    const records = new DockerRecords(path.join(dir, 'docker-labs'));
    const record = {
      networkId: 'net-1',
      subnet: '172.31.18.0/24',
      document: { metadata: { name: 'lab' } },
      controlPlane: { host: '172.31.18.1', port: 40001 },
    };
    expect(await records.read('lab', 'net-1')).toBeUndefined();
    await records.write('lab', record);
    expect(await records.read('lab', 'net-1')).toEqual(record);
    // A later lab of the same name has another network: the old record is not its record.
    expect(await records.read('lab', 'net-2')).toBeUndefined();
    await records.write('lab', { ...record, document: { metadata: { name: 'lab', title: 'edited' } } });
    expect((await records.read('lab', 'net-1'))?.document).toEqual({
      metadata: { name: 'lab', title: 'edited' },
    });
    expect(await readdir(path.join(dir, 'docker-labs'))).toEqual(['lab.json']);
    await records.remove('lab');
    expect(await records.read('lab', 'net-1')).toBeUndefined();
  });
});
