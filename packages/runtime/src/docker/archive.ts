/**
 * The rendered files a container mounts, as one tar archive to copy into it before it starts
 * (`putArchive`): no bind mounts, so it works the same when the engine runs on another machine
 * or the console itself runs in a container.
 */
import tar from 'tar-stream';
import type { ContainerView } from '../lab.js';

/** Container path → content of every file `c` mounts. */
export function containerFiles(c: ContainerView, files: Record<string, string>): Map<string, string> {
  const out = new Map<string, string>();
  for (const m of c.mounts) {
    if (!m.directory) {
      const content = files[m.source];
      if (content !== undefined) out.set(m.target, content);
      continue;
    }
    const target = m.target.endsWith('/') ? m.target : `${m.target}/`;
    for (const [source, content] of Object.entries(files)) {
      if (source.startsWith(m.source)) out.set(target + source.slice(m.source.length), content);
    }
  }
  return out;
}

/** The tar archive (paths relative to /), or undefined when the container mounts nothing. */
export async function containerArchive(
  c: ContainerView,
  files: Record<string, string>,
): Promise<Buffer | undefined> {
  const wanted = containerFiles(c, files);
  if (wanted.size === 0) return undefined;
  const pack = tar.pack();
  const dirs = new Set<string>();
  for (const [target, content] of [...wanted].sort(([a], [b]) => (a < b ? -1 : 1))) {
    const parts = target.split('/').filter(Boolean);
    for (let i = 1; i < parts.length; i++) {
      const dir = parts.slice(0, i).join('/');
      if (!dirs.has(dir)) {
        dirs.add(dir);
        pack.entry({ name: dir, type: 'directory', mode: 0o755 });
      }
    }
    pack.entry({ name: parts.join('/'), mode: 0o644 }, content);
  }
  pack.finalize();
  const chunks: Buffer[] = [];
  for await (const chunk of pack as unknown as AsyncIterable<Buffer>) chunks.push(chunk);
  return Buffer.concat(chunks);
}
