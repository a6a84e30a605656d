import type net from 'node:net';

/**
 * Collects what is written to a socket during one tick and hands it to the kernel in one write:
 * a response's head, body and chunk framing usually become ready together, and on a proxy the
 * write syscalls, not the parsing, dominate the cost per request.
 */
export class BatchedWriter {
  private parts: Buffer[] = [];
  private scheduled = false;

  constructor(private readonly socket: net.Socket) {}

  write(data: Buffer | string): void {
    this.parts.push(typeof data === 'string' ? Buffer.from(data, 'latin1') : data);
    if (!this.scheduled) {
      this.scheduled = true;
      process.nextTick(flush, this);
    }
  }

  /** Writes what is pending now (before an `end()` or when ordering with other writers matters). */
  flush(): void {
    this.scheduled = false;
    const parts = this.parts;
    if (parts.length === 0 || this.socket.destroyed) {
      this.parts = [];
      return;
    }
    this.parts = [];
    this.socket.write(parts.length === 1 ? parts[0]! : Buffer.concat(parts));
  }
}

function flush(w: BatchedWriter): void {
  w.flush();
}
