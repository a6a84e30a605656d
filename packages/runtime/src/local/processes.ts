/**
 * Lab processes of the local driver: each runs in its own process group (so `down` kills the
 * whole tree, workers included), outlives the console (so a restarted console adopts it), writes
 * to a log file, and carries MESHCRAFT_LAB in its environment (so `ps e` and /proc tell which lab
 * it belongs to).
 */
import { spawn } from 'node:child_process';
import { closeSync, openSync, readdirSync, readFileSync } from 'node:fs';
import { sleep } from '../readiness.js';

export const LAB_ENV = 'MESHCRAFT_LAB';
export const CONTAINER_ENV = 'MESHCRAFT_CONTAINER';

export interface SpawnSpec {
  argv: string[];
  env: Record<string, string>;
  cwd: string;
  logFile: string;
}

export interface Spawned {
  pid: number;
  /** The kernel's start time of the process (Linux), to tell it from a later process with the same pid. */
  startTime?: string;
  /** Resolves with the exit code (or signal) if the process ends while this console runs. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export function spawnProcess(spec: SpawnSpec): Spawned {
  const log = openSync(spec.logFile, 'a');
  try {
    const [command, ...args] = spec.argv;
    const child = spawn(command!, args, {
      cwd: spec.cwd,
      env: spec.env,
      stdio: ['ignore', log, log],
      detached: true,
    });
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
      child.once('exit', (code, signal) => resolve({ code, signal }));
      child.once('error', () => resolve({ code: -1, signal: null }));
    });
    // The console may exit while the lab runs on.
    child.unref();
    if (child.pid === undefined) throw new Error(`could not start ${command}`);
    return { pid: child.pid, startTime: processStartTime(child.pid), exited };
  } finally {
    closeSync(log);
  }
}

/** Field 22 of /proc/<pid>/stat; undefined where there is no /proc or no such process. */
export function processStartTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may contain spaces and parentheses: count fields after its last ')'.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

/** The process is alive, not a zombie, and (where it can be checked) the one that was started. */
export function processAlive(pid: number, startTime?: string): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    if (stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z')) return false;
  } catch {
    return process.platform !== 'linux';
  }
  return startTime === undefined || processStartTime(pid) === startTime;
}

/** Pids of the live (non-zombie) processes in process group `pgid`, from /proc (Linux). */
function groupMembers(pgid: number): number[] {
  const out: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const fields = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const rest = fields.slice(fields.lastIndexOf(')') + 2).split(' ');
      if (rest[0] !== 'Z' && Number(rest[2]) === pgid) out.push(Number(entry));
    } catch {
      // exited meanwhile
    }
  }
  return out;
}

function groupAlive(pgid: number): boolean {
  if (process.platform === 'linux') return groupMembers(pgid).length > 0;
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * Ends the process group led by `pid`: SIGTERM, then SIGKILL for whatever is left after
 * `graceMs` (0: SIGKILL at once). Resolves when no process of the group is left.
 */
export async function killTree(pid: number, startTime: string | undefined, graceMs: number): Promise<void> {
  // A recycled pid is someone else's process: only a group whose leader we started is ours to kill.
  if (startTime !== undefined && processStartTime(pid) !== undefined && processStartTime(pid) !== startTime)
    return;
  const signal = (s: NodeJS.Signals) => {
    try {
      process.kill(-pid, s);
    } catch {
      // already gone
    }
  };
  if (graceMs > 0) {
    signal('SIGTERM');
    const deadline = Date.now() + graceMs;
    while (groupAlive(pid) && Date.now() < deadline) await sleep(20);
  }
  signal('SIGKILL');
  const deadline = Date.now() + 5000;
  while (groupAlive(pid) && Date.now() < deadline) await sleep(10);
}

/** Pids of processes whose environment says they belong to lab `labId` (Linux; [] elsewhere). */
export function labProcesses(labId: string): number[] {
  if (process.platform !== 'linux') return [];
  const marker = `${LAB_ENV}=${labId}\0`;
  const out: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (
        `\0${readFileSync(`/proc/${entry}/environ`, 'latin1')}`.includes(`\0${marker}`) &&
        processAlive(Number(entry))
      )
        out.push(Number(entry));
    } catch {
      // not ours to read, or exited
    }
  }
  return out;
}
