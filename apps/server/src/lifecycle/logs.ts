import type { LogLine } from '@meshcraft/runtime';

/** Lines gathered this long are sent together: a busy access log is many lines a second. */
const BATCH_MS = 200;
const BATCH_LINES = 500;

/** Groups a stream of log lines into batches, so a chatty container costs a few messages a second. */
export async function* batched(
  lines: AsyncIterable<LogLine>,
  signal: AbortSignal,
): AsyncGenerator<LogLine[]> {
  const iterator = lines[Symbol.asyncIterator]();
  let pending: Promise<IteratorResult<LogLine>> | undefined;
  let batch: LogLine[] = [];
  let deadline = 0;
  while (!signal.aborted) {
    pending ??= iterator.next();
    const wait = batch.length === 0 ? undefined : Math.max(0, deadline - performance.now());
    const next = await (wait === undefined
      ? pending
      : Promise.race([pending, new Promise<'flush'>((r) => setTimeout(() => r('flush'), wait))]));
    if (next === 'flush') {
      yield batch;
      batch = [];
      continue;
    }
    pending = undefined;
    if (next.done) {
      if (batch.length > 0) yield batch;
      return;
    }
    if (batch.length === 0) deadline = performance.now() + BATCH_MS;
    batch.push(next.value);
    if (batch.length >= BATCH_LINES) {
      yield batch;
      batch = [];
    }
  }
}
