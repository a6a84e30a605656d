/**
 * Interleaves several async iterables, yielding each value as soon as its source has it. When the
 * consumer stops early, the sources are told to return but not waited for: a source blocked in
 * its own loop (following a log) ends when its signal aborts, which the caller does next.
 */
export async function* mergeAsync<T>(sources: AsyncIterable<T>[]): AsyncIterable<T> {
  const iterators = sources.map((s) => s[Symbol.asyncIterator]());
  const next = (i: number) => iterators[i]!.next().then((r) => ({ i, r }));
  const pending = new Map(iterators.map((_, i) => [i, next(i)]));
  try {
    while (pending.size > 0) {
      const { i, r } = await Promise.race(pending.values());
      if (r.done) {
        pending.delete(i);
        continue;
      }
      pending.set(i, next(i));
      yield r.value;
    }
  } finally {
    for (const it of iterators) it.return?.().catch(() => {});
  }
}

/** Splits a stream of text chunks into lines (without their newline); a last partial line is yielded at the end. */
export async function* linesOf(chunks: AsyncIterable<string>): AsyncIterable<string> {
  let carry = '';
  for await (const chunk of chunks) {
    const parts = (carry + chunk).split('\n');
    carry = parts.pop()!;
    for (const p of parts) yield p.replace(/\r$/, '');
  }
  if (carry) yield carry;
}
