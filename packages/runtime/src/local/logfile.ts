import { open, readFile, stat } from 'node:fs/promises';
import { linesOf } from '../async.js';
import { lastLines } from '../errors.js';
import { sleep } from '../readiness.js';

/**
 * The lines of a log file: the last `tail` (default all), then — when following — each line
 * appended after, until `signal` aborts. Polls, because a process in another process group writes
 * it and file watching is unreliable across platforms.
 */
export async function* logFileLines(
  file: string,
  options: { tail?: number; follow?: boolean; signal?: AbortSignal },
): AsyncIterable<string> {
  const text = await readFile(file, 'utf8').catch(() => '');
  // Following: a partial last line is left to be read whole with what is appended to it.
  const upTo = options.follow ? text.slice(0, text.lastIndexOf('\n') + 1) : text;
  const lines = upTo.split('\n');
  if (lines.at(-1) === '') lines.pop();
  yield* options.tail !== undefined ? lines.slice(Math.max(0, lines.length - options.tail)) : lines;
  if (!options.follow) return;
  let offset = Buffer.byteLength(upTo);
  yield* linesOf(
    (async function* () {
      while (!options.signal?.aborted) {
        const size = await stat(file).then(
          (s) => s.size,
          () => offset,
        );
        if (size < offset) offset = 0;
        if (size > offset) {
          const handle = await open(file, 'r');
          try {
            const buf = Buffer.alloc(size - offset);
            await handle.read(buf, 0, buf.length, offset);
            offset = size;
            yield buf.toString('utf8');
          } finally {
            await handle.close();
          }
        } else {
          await sleep(100);
        }
      }
    })(),
  );
}

export async function lastLogLines(file: string, n: number): Promise<string[]> {
  return lastLines(await readFile(file, 'utf8').catch(() => ''), n);
}
