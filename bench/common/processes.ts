/**
 * Shared bench plumbing: free ports, child processes that are always cleaned up, readiness
 * waits, RSS readings and wrk runs.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';

/**
 * A loopback port free to listen on, from below Linux's ephemeral range (32768–60999): a port the
 * kernel handed out for listen(0) can be taken, before the contender binds it, as the source port
 * of one of the many connections a benchmark opens and closes (seen as EADDRINUSE mid-run).
 */
export async function freePort(): Promise<number> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const port = 20000 + Math.floor(Math.random() * 12000);
    if (await canListen(port)) return port;
  }
  throw new Error('bench: no free port between 20000 and 32000 on 127.0.0.1 after 200 tries');
}

function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.once('error', () => resolve(false));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}

const children = new Set<ChildProcess>();
process.on('exit', () => {
  for (const c of children) c.kill('SIGKILL');
});
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.on(sig, () => process.exit(130));
}

/**
 * Starts a process, pinned to `cpu` when given (taskset): the load generator and the upstream
 * get one core and the contender the other, so each proxy is measured on a core of its own
 * instead of competing with the tools that measure it.
 */
export function start(
  cmd: string,
  args: string[],
  options: { cpu?: number; env?: NodeJS.ProcessEnv } = {},
): ChildProcess {
  const argv =
    options.cpu === undefined ? [cmd, ...args] : ['taskset', '-c', String(options.cpu), cmd, ...args];
  const child = spawn(argv[0]!, argv.slice(1), {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, ...options.env },
  });
  let err = '';
  child.stderr?.on('data', (d: Buffer) => {
    err += d.toString();
  });
  child.on('exit', (code) => {
    children.delete(child);
    if (code && code !== 0 && code !== 143)
      process.stderr.write(`${cmd} exited ${code}: ${err.slice(-2000)}\n`);
  });
  children.add(child);
  return child;
}

export function stop(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
    setTimeout(() => child.kill('SIGKILL'), 3000).unref();
  });
}

/** Waits until something accepts TCP connections on host:port. */
export async function waitForPort(host: string, port: number, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, host, () => {
        s.destroy();
        resolve(true);
      });
      s.on('error', () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`nothing listening on ${host}:${port} after ${timeoutMs} ms`);
}

/** Resident set size in KiB of a process and its children (nginx/haproxy fork workers). */
export function rssKiB(pid: number): number {
  const own = Number(/VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
  let kids = 0;
  try {
    const out = execFileSync('pgrep', ['-P', String(pid)], { encoding: 'utf8' });
    for (const k of out.split('\n').filter(Boolean)) kids += rssKiB(Number(k));
  } catch {
    // no children
  }
  return own + kids;
}

export function requireTool(name: string, hint: string): void {
  try {
    execFileSync('sh', ['-c', `command -v ${name}`], { stdio: 'ignore' });
  } catch {
    throw new Error(`${name} is not installed; ${hint}`);
  }
}

export interface WrkResult {
  requestsPerSec: number;
  latencyMs: { p50: number; p75: number; p90: number; p99: number };
  non2xx: number;
  socketErrors: number;
}

function toMs(v: string): number {
  const m = /^([\d.]+)(us|ms|s|m)$/.exec(v.trim());
  if (!m) return Number.NaN;
  const n = Number(m[1]);
  return m[2] === 'us' ? n / 1000 : m[2] === 'ms' ? n : m[2] === 's' ? n * 1000 : n * 60_000;
}

/** Runs wrk and parses its `--latency` report. */
export function wrk(
  url: string,
  o: { threads: number; connections: number; seconds: number; cpu?: number },
): WrkResult {
  const args = [`-t${o.threads}`, `-c${o.connections}`, `-d${o.seconds}s`, '--latency', url];
  const out = execFileSync(
    o.cpu === undefined ? 'wrk' : 'taskset',
    o.cpu === undefined ? args : ['-c', String(o.cpu), 'wrk', ...args],
    {
      encoding: 'utf8',
    },
  );
  const pct = (p: string) => toMs(new RegExp(`^\\s+${p}%\\s+(\\S+)`, 'm').exec(out)?.[1] ?? 'NaN');
  const errors = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  return {
    requestsPerSec: Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1] ?? 0),
    latencyMs: { p50: pct('50'), p75: pct('75'), p90: pct('90'), p99: pct('99') },
    non2xx: Number(/Non-2xx or 3xx responses: (\d+)/.exec(out)?.[1] ?? 0),
    socketErrors: errors ? errors.slice(1).reduce((s, x) => s + Number(x), 0) : 0,
  };
}
