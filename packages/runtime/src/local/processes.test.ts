import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sleep } from '../readiness.js';
import { killTree, labProcesses, processAlive, processStartTime, spawnProcess } from './processes.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'meshcraft-proc-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

// A parent that starts a grandchild and prints its pid; both ignore SIGTERM, as a stuck program would.
const PARENT = `
const { spawn } = require('node:child_process');
process.on('SIGTERM', () => {});
const c = spawn(process.execPath, ['-e', "process.on('SIGTERM', () => {}); setInterval(() => {}, 1000)"], { stdio: 'ignore' });
console.log('grandchild ' + c.pid);
setInterval(() => {}, 1000);
`;

describe('spawnProcess and killTree', () => {
  it('logs to the file, marks the environment, and kills the whole process group', async () => {
    const logFile = path.join(dir, 'tree.log');
    const s = spawnProcess({
      argv: [process.execPath, '-e', PARENT],
      env: { PATH: process.env.PATH ?? '', MESHCRAFT_LAB: 'proc-test-tree' },
      cwd: dir,
      logFile,
    });
    let grandchild = 0;
    try {
      for (let i = 0; i < 100 && !grandchild; i++) {
        await sleep(50);
        grandchild = Number(/grandchild (\d+)/.exec(await readFile(logFile, 'utf8'))?.[1] ?? 0);
      }
      expect(grandchild).toBeGreaterThan(0);
      expect(processAlive(s.pid, s.startTime)).toBe(true);
      // The grandchild inherits the environment, so it is found as the lab's too.
      expect(labProcesses('proc-test-tree').sort((a, b) => a - b)).toEqual(
        [s.pid, grandchild].sort((a, b) => a - b),
      );
    } finally {
      await killTree(s.pid, s.startTime, 200);
    }
    expect(processAlive(s.pid)).toBe(false);
    expect(processAlive(grandchild)).toBe(false);
    expect(labProcesses('proc-test-tree')).toEqual([]);
    expect((await s.exited).signal).toBe('SIGKILL');
  });

  it('does not count a process with the same pid but another start time as the one it started', async () => {
    const s = spawnProcess({
      argv: [process.execPath, '-e', 'setInterval(() => {}, 1000)'],
      env: {},
      cwd: dir,
      logFile: path.join(dir, 'x.log'),
    });
    try {
      expect(processStartTime(s.pid)).toBe(s.startTime);
      expect(processAlive(s.pid, 'not-its-start-time')).toBe(false);
      // killTree must leave a recycled pid alone.
      await killTree(s.pid, 'not-its-start-time', 0);
      expect(processAlive(s.pid, s.startTime)).toBe(true);
    } finally {
      await killTree(s.pid, s.startTime, 0);
    }
  });
});
