/**
 * A queue one side pushes into and the other reads as an async iterator, ending when the reader's
 * signal aborts: how subscriptions turn events from emitters into what tRPC streams. When the
 * reader falls behind by more than `limit` items the oldest are dropped, so a stalled client
 * costs bounded memory.
 */
export class Channel<T> {
  private readonly items: T[] = [];
  private wake: (() => void) | undefined;

  constructor(private readonly limit = 1000) {}

  push(item: T): void {
    this.items.push(item);
    if (this.items.length > this.limit) this.items.shift();
    this.wake?.();
  }

  async *drain(signal: AbortSignal): AsyncGenerator<T> {
    const onAbort = () => this.wake?.();
    signal.addEventListener('abort', onAbort);
    try {
      while (!signal.aborted) {
        const next = this.items.shift();
        if (next !== undefined) {
          yield next;
          continue;
        }
        await new Promise<void>((resolve) => {
          this.wake = resolve;
        });
        this.wake = undefined;
      }
    } finally {
      signal.removeEventListener('abort', onAbort);
    }
  }
}
