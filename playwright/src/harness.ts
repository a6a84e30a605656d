/**
 * What every browser test needs: the real console server (`meshcraft serve`, a child process on
 * a free loopback port with a fresh workspace), Debian's Chromium driven by playwright-core (never
 * a downloaded browser), and screenshots that are checked not to be blank.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll } from 'vitest';

export const REPO = fileURLToPath(new URL('../../', import.meta.url));
export const SCREENSHOTS = path.join(REPO, 'docs/screenshots');
const CLI = path.join(REPO, 'apps/server/bin/meshcraft.js');
export const CHROMIUM = '/usr/bin/chromium';
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--no-first-run',
];

export function checkPrerequisites(): void {
  if (!existsSync(CHROMIUM))
    throw new Error(`${CHROMIUM} is missing: install Debian's Chromium (apt-get install -y chromium)`);
  if (!existsSync(path.join(REPO, 'apps/web/dist/index.html')))
    throw new Error('the web app is not built: run pnpm --filter @meshcraft/web build (or pnpm run build)');
  if (!existsSync(path.join(REPO, 'apps/server/dist/cli/main.js')))
    throw new Error('the server is not built: run pnpm run build');
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

export interface Console {
  url: string;
  workspace: string;
  /** Runs a `meshcraft` command against the same workspace (e.g. a safety-net `down`). */
  cli(args: string[]): Promise<{ code: number; output: string }>;
  stop(): Promise<void>;
}

function runCli(args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [CLI, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    p.stdout.on('data', (d) => (output += d));
    p.stderr.on('data', (d) => (output += d));
    p.on('exit', (code) => resolve({ code: code ?? 1, output }));
  });
}

export async function startConsole(options: { env?: NodeJS.ProcessEnv } = {}): Promise<Console> {
  const workspace = await mkdtemp(path.join(tmpdir(), 'meshcraft-pw-'));
  const port = await freePort();
  const env = { ...process.env, ...options.env };
  const child: ChildProcess = spawn(
    process.execPath,
    [
      CLI,
      'serve',
      '--port',
      String(port),
      '--host',
      '127.0.0.1',
      '--workspace',
      workspace,
      '--driver',
      'local',
    ],
    { env, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let log = '';
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`meshcraft serve did not start in 20 s:\n${log}`)),
      20_000,
    );
    const onData = (d: Buffer) => {
      log += d.toString();
      const m = /meshcraft console on (http:\/\/\S+?)\/?\s/.exec(log);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => reject(new Error(`meshcraft serve exited with ${code}:\n${log}`)));
  });
  return {
    url,
    workspace,
    cli: (args) => runCli([...args, '--workspace', workspace], env),
    async stop() {
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
        if (child.exitCode === null) child.kill('SIGKILL');
      }
      await rm(workspace, { recursive: true, force: true });
    },
  };
}

export async function launchBrowser(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
}

const uncaught = new WeakMap<Page, string[]>();

export async function openConsole(browser: Browser, url: string): Promise<Page> {
  const page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  uncaught.set(page, errors);
  await page.goto(url);
  await page.getByTestId('lab-list').waitFor();
  return page;
}

/** Uncaught exceptions the page threw since it was opened. */
export interface BrowserSession {
  readonly server: Console;
  readonly browser: Browser;
  /** The console opened in the browser; undefined with `openPage: false`. */
  readonly page: Page;
}

/**
 * Registers the hooks a browser test file starts and ends with: a console server and Chromium
 * (and, unless `openPage` is false, the console opened in a page) before its tests; after them,
 * whatever happened, `downLab` brought down so no lab processes outlive the file, then the
 * browser closed and the server stopped. `before` runs first, to refuse early with a reason.
 */
export function browserSession(
  options: { env?: NodeJS.ProcessEnv; downLab?: string; openPage?: boolean; before?: () => void } = {},
): BrowserSession {
  const session = {} as { server: Console; browser: Browser; page: Page };
  beforeAll(async () => {
    checkPrerequisites();
    options.before?.();
    session.server = await startConsole({ env: options.env });
    session.browser = await launchBrowser();
    if (options.openPage !== false) session.page = await openConsole(session.browser, session.server.url);
  });
  afterAll(async () => {
    await session.browser?.close();
    if (options.downLab) await session.server?.cli(['down', options.downLab]);
    await session.server?.stop();
  });
  return session;
}

export function pageErrors(page: Page): string[] {
  return uncaught.get(page) ?? [];
}

export interface ImageStats {
  width: number;
  height: number;
  /** Distinct colours after dropping the low 4 bits of each channel. */
  colours: number;
  /** Share of the most common (quantised) colour. */
  dominant: number;
}

/** Decodes a PNG in the page (the browser's own decoder) and measures how much is on it. */
export async function imageStats(page: Page, png: Buffer): Promise<ImageStats> {
  return page.evaluate(async (b64) => {
    const blob = await (await fetch(`data:image/png;base64,${b64}`)).blob();
    const bitmap = await createImageBitmap(blob);
    const canvas = new OffscreenCanvas(bitmap.width, bitmap.height);
    const ctx = canvas.getContext('2d')!;
    ctx.drawImage(bitmap, 0, 0);
    const data = ctx.getImageData(0, 0, bitmap.width, bitmap.height).data;
    const counts = new Map<number, number>();
    for (let i = 0; i < data.length; i += 4) {
      const key = ((data[i]! >> 4) << 8) | ((data[i + 1]! >> 4) << 4) | (data[i + 2]! >> 4);
      counts.set(key, (counts.get(key) ?? 0) + 1);
    }
    const pixels = data.length / 4;
    return {
      width: bitmap.width,
      height: bitmap.height,
      colours: counts.size,
      dominant: Math.max(...counts.values()) / pixels,
    };
  }, png.toString('base64'));
}

/** Saves `docs/screenshots/<name>.png` and fails when the page shows (nearly) nothing. */
export async function screenshot(page: Page, name: string): Promise<ImageStats> {
  await mkdir(SCREENSHOTS, { recursive: true });
  const file = path.join(SCREENSHOTS, `${name}.png`);
  const png = await page.screenshot({ path: file });
  const stats = await imageStats(page, png);
  if (stats.colours < 16 || stats.dominant > 0.97)
    throw new Error(
      `screenshot ${name} looks blank: ${stats.colours} colours, ${(stats.dominant * 100).toFixed(1)}% one colour`,
    );
  return stats;
}

/** Drags from the centre of one element to the centre of another with real mouse moves (React Flow connections). */
export async function dragBetween(page: Page, from: string, to: string): Promise<void> {
  const a = await page.locator(from).boundingBox();
  const b = await page.locator(to).boundingBox();
  if (!a || !b) throw new Error(`cannot drag ${from} → ${to}: not on screen`);
  await page.mouse.move(a.x + a.width / 2, a.y + a.height / 2);
  await page.mouse.down();
  await page.mouse.move((a.x + b.x) / 2, (a.y + b.y) / 2, { steps: 5 });
  await page.mouse.move(b.x + b.width / 2, b.y + b.height / 2, { steps: 5 });
  await page.mouse.up();
}

/** Polls `probe` until it returns a value `accept` takes, or fails after `ms`; resolves with the time it took. */
export async function waitUntil<T>(
  what: string,
  ms: number,
  probe: () => Promise<T>,
  accept: (v: T) => boolean,
): Promise<{ value: T; elapsed: number }> {
  const start = Date.now();
  let last: T | undefined;
  while (Date.now() - start < ms) {
    last = await probe();
    if (accept(last)) return { value: last, elapsed: Date.now() - start };
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`${what}: not within ${ms} ms (last value: ${JSON.stringify(last)})`);
}
