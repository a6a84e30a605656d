/**
 * Waiting until a lab is ready: every proxy's admin `/ready` answers 200 (LIVE), every app's
 * `/livez` answers 200 (a 2xx counts), or a TCP port accepts — the same checks for every driver; only how a
 * check reaches its container differs (a host port, or a command run inside the container).
 */
import http from 'node:http';
import net from 'node:net';
import { type ContainerLogs, RuntimeError } from './errors.js';
import type { OnProgress } from './types.js';

export interface Probe {
  container: string;
  /** What is checked, for messages: `GET /ready on 127.0.0.1:32768`. */
  what: string;
  check(): Promise<boolean>;
}

export interface WaitOptions {
  timeoutMs: number;
  intervalMs?: number;
  onProgress?: OnProgress;
  /** Rejects when the lab fails another way (a container exits): waiting stops with that error. */
  failure?: Promise<never>;
  /** Last log lines of the containers that did not become ready, for the error. */
  logsOf(containers: string[]): Promise<ContainerLogs[]>;
}

export async function waitReady(probes: Probe[], options: WaitOptions): Promise<void> {
  const interval = options.intervalMs ?? 50;
  const deadline = Date.now() + options.timeoutMs;
  const pending = new Set(probes.map((p) => p.container));
  let stopped = false;
  const one = async (probe: Probe) => {
    while (!stopped) {
      if (await probe.check().catch(() => false)) {
        pending.delete(probe.container);
        options.onProgress?.({
          step: 'ready',
          container: probe.container,
          ready: true,
          message: `${probe.container} is ready (${probe.what})`,
        });
        return;
      }
      if (Date.now() >= deadline) return;
      await sleep(interval);
    }
  };
  try {
    await Promise.race([Promise.all(probes.map(one)), ...(options.failure ? [options.failure] : [])]);
  } finally {
    stopped = true;
  }
  if (pending.size === 0) return;
  const waiting = probes.filter((p) => pending.has(p.container));
  throw new RuntimeError(
    'NOT_READY',
    `not ready after ${Math.round(options.timeoutMs / 1000)} s: ${waiting.map((p) => `${p.container} (${p.what})`).join(', ')}`,
    'see the log lines below for why; a proxy stays unready while its clusters initialize, an app while /livez fails',
    { logs: await options.logsOf(waiting.map((p) => p.container)) },
  );
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** True when `GET path` answers 2xx (as `curl -f` inside a container decides). */
export function httpReady(host: string, port: number, path: string, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const req = http.get(
      { host, port, path, agent: false, timeout: timeoutMs, headers: { 'user-agent': 'meshcraft-runtime' } },
      (res) => {
        res.resume();
        resolve(res.statusCode !== undefined && res.statusCode >= 200 && res.statusCode < 300);
      },
    );
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(false));
  });
}

/** True when a TCP connection to host:port opens. */
export function tcpReady(host: string, port: number, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port, timeout: timeoutMs });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('timeout', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', () => resolve(false));
  });
}
