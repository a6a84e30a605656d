/**
 * Serves the built web app (`apps/web/dist`): its files by path, `index.html` for every other
 * page route (the app routes on the client), and a plain page that says how to build it when it
 * is not built. Paths are resolved inside the directory only; hashed assets are cached for good.
 */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import type http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** `apps/web/dist` beside this package (from src/ and dist/ alike). */
export const DEFAULT_WEB_DIR = fileURLToPath(new URL('../../../web/dist/', import.meta.url));

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.map': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.ico': 'image/x-icon',
  '.webp': 'image/webp',
  '.woff': 'font/woff',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
  '.wasm': 'application/wasm',
};

const NOT_BUILT = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>meshcraft</title></head>
<body style="font-family: system-ui, sans-serif; max-width: 40rem; margin: 4rem auto; line-height: 1.5">
<h1>meshcraft</h1>
<p>The console server is running, but the web app is not built, so there is no page to show.</p>
<p>Build it with <code>pnpm --filter @meshcraft/web build</code> and reload this page.
The API answers at <code>/trpc</code> in the meantime.</p>
</body></html>
`;

export class StaticFiles {
  private readonly root: string;

  constructor(dir: string) {
    this.root = path.resolve(dir);
  }

  async serve(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res
        .writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain; charset=utf-8' })
        .end('method not allowed\n');
      return;
    }
    const file = this.resolve(req.url ?? '/');
    if (!file) {
      res.writeHead(400, { 'content-type': 'text/plain; charset=utf-8' }).end('bad path\n');
      return;
    }
    const found =
      (await this.fileAt(file)) ?? (path.extname(file) === '' ? await this.fileAt(this.index()) : undefined);
    if (!found) {
      if (!(await this.fileAt(this.index()))) {
        res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-cache' });
        res.end(req.method === 'HEAD' ? undefined : NOT_BUILT);
      } else {
        res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end('not found\n');
      }
      return;
    }
    const immutable = found.file.startsWith(path.join(this.root, 'assets') + path.sep);
    res.writeHead(200, {
      'content-type': TYPES[path.extname(found.file).toLowerCase()] ?? 'application/octet-stream',
      'content-length': found.size,
      'cache-control': immutable ? 'public, max-age=31536000, immutable' : 'no-cache',
    });
    if (req.method === 'HEAD') res.end();
    else createReadStream(found.file).pipe(res);
  }

  private index(): string {
    return path.join(this.root, 'index.html');
  }

  /** The file a URL path names inside the root, or undefined for a path that is not allowed. */
  private resolve(url: string): string | undefined {
    let pathname: string;
    try {
      pathname = decodeURIComponent(new URL(url, 'http://x').pathname);
    } catch {
      return undefined;
    }
    if (pathname.includes('\0')) return undefined;
    const file = path.resolve(this.root, `.${path.posix.normalize(pathname)}`);
    if (file !== this.root && !file.startsWith(this.root + path.sep)) return undefined;
    return file.endsWith(path.sep) || file === this.root ? this.index() : file;
  }

  private async fileAt(file: string): Promise<{ file: string; size: number } | undefined> {
    try {
      const st = await stat(file);
      return st.isFile() ? { file, size: st.size } : undefined;
    } catch {
      return undefined;
    }
  }
}
