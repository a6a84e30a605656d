/**
 * A real `meshcraft serve` process for the integration tests, with its own workspace and runtime
 * state under a temporary directory, a tRPC client over HTTP and WebSocket, and a cleanup that
 * brings down every lab the test created (through the API, and through a runtime of its own if
 * the server died) and ends the process, whatever happened in the test.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { Runtime } from '@meshcraft/runtime';
import { createTRPCClient, createWSClient, httpLink, splitLink, type TRPCClient, wsLink } from '@trpc/client';
import WebSocket from 'ws';
import type { AppRouter } from '../src/trpc/router.js';

export const BIN = fileURLToPath(new URL('../bin/meshcraft.js', import.meta.url));

export interface ServerProcess {
  port: number;
  base: string;
  home: string;
  stateDir: string;
  child: ChildProcess;
  client: TRPCClient<AppRouter>;
  /** Labs to bring down at the end. */
  labs: Set<string>;
  stderr(): string;
  /** Ends the server process, leaving its labs running, and starts another on the same workspace and state. */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

interface Spawned {
  child: ChildProcess;
  port: number;
  base: string;
  client: TRPCClient<AppRouter>;
  wsClient: ReturnType<typeof createWSClient>;
  stderr(): string;
}

async function spawnServer(home: string, stateDir: string, args: string[]): Promise<Spawned> {
  const child = spawn(
    process.execPath,
    [
      BIN,
      'serve',
      '--host',
      '127.0.0.1',
      '--port',
      '0',
      '--json',
      '--workspace',
      path.join(home, 'workspace'),
      ...args,
    ],
    {
      env: { ...process.env, XDG_STATE_HOME: stateDir, MESHCRAFT_HOME: home },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let err = '';
  child.stderr!.on('data', (d: Buffer) => {
    err += d.toString();
  });
  const first = await new Promise<string>((resolve, reject) => {
    const lines = createInterface({ input: child.stdout! });
    lines.once('line', resolve);
    child.once('exit', (code) => reject(new Error(`meshcraft serve exited ${code}: ${err}`)));
    setTimeout(() => reject(new Error(`meshcraft serve printed nothing in 20 s: ${err}`)), 20_000).unref();
  });
  const { port } = JSON.parse(first) as { port: number };
  const base = `http://127.0.0.1:${port}`;
  const wsClient = createWSClient({
    url: `ws://127.0.0.1:${port}/trpc`,
    WebSocket: WebSocket as unknown as typeof globalThis.WebSocket,
  });
  const client = createTRPCClient<AppRouter>({
    links: [
      splitLink({
        condition: (op) => op.type === 'subscription',
        true: wsLink({ client: wsClient }),
        false: httpLink({ url: `${base}/trpc` }),
      }),
    ],
  });
  return { child, port, base, client, wsClient, stderr: () => err };
}

export async function startServerProcess(args: string[] = []): Promise<ServerProcess> {
  const home = mkdtempSync(path.join(os.tmpdir(), 'meshcraft-server-test-'));
  const stateDir = path.join(home, 'state');
  let current = await spawnServer(home, stateDir, args);
  const labs = new Set<string>();
  const server: ServerProcess = {
    port: current.port,
    base: current.base,
    home,
    stateDir,
    child: current.child,
    client: current.client,
    labs,
    stderr: () => current.stderr(),
    async restart() {
      await current.wsClient.close();
      await ended(current.child);
      current = await spawnServer(home, stateDir, args);
      Object.assign(server, {
        port: current.port,
        base: current.base,
        child: current.child,
        client: current.client,
      });
    },
    async stop() {
      for (const labId of labs) {
        await current.client.lifecycle.down.mutate({ labId }).catch(() => {});
      }
      await current.wsClient.close();
      await ended(current.child);
      // Whatever the server could not remove (it died, or down failed) goes through a runtime of our own.
      const runtime = new Runtime({
        local: { stateDir: path.join(stateDir, 'meshcraft', 'local-labs') },
        docker: { stateDir: path.join(stateDir, 'meshcraft', 'docker-labs') },
      });
      for (const labId of labs) {
        if (await runtime.status(labId)) await runtime.down(labId).catch(() => {});
      }
      rmSync(home, { recursive: true, force: true });
    },
  };
  return server;
}

function ended(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const kill = setTimeout(() => child.kill('SIGKILL'), 5000);
    child.once('exit', () => {
      clearTimeout(kill);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

/** Collects a subscription's messages and waits for one that satisfies a condition. */
export class Recorder<T> {
  readonly items: T[] = [];
  private waiters: { test: (t: T) => boolean; resolve: (t: T) => void }[] = [];
  error: unknown;

  push(item: T): void {
    this.items.push(item);
    this.waiters = this.waiters.filter((w) => {
      if (!w.test(item)) return true;
      w.resolve(item);
      return false;
    });
  }

  /** The first message (from now on, or already received when `past`) for which `test` holds. */
  waitFor(what: string, test: (t: T) => boolean, timeoutMs: number, past = false): Promise<T> {
    if (past) {
      const found = this.items.find(test);
      if (found) return Promise.resolve(found);
    }
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w.resolve !== done);
        reject(
          new Error(
            `timed out after ${timeoutMs} ms waiting for ${what}${this.error ? ` (subscription error: ${String(this.error)})` : ''}`,
          ),
        );
      }, timeoutMs);
      const done = (t: T) => {
        clearTimeout(timer);
        resolve(t);
      };
      this.waiters.push({ test, resolve: done });
    });
  }
}
