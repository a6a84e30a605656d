/**
 * An incremental HTTP/1.x response parser for health-check connections: status line, headers,
 * and a body delimited by `content-length`, chunked encoding, or the end of the connection.
 * Only the first `maxBodyBytes` of a body are kept (what payload matching looks at); the rest is
 * consumed and dropped.
 */

export interface HttpResponse {
  /** `1.0` or `1.1`. */
  version: string;
  status: number;
  /** Header names lower-cased; repeated headers joined with `, `. */
  headers: Map<string, string>;
  body: Buffer;
}

export class HttpProtocolError extends Error {}

type State =
  | { kind: 'head' }
  | { kind: 'length'; remaining: number }
  | { kind: 'chunk-size' }
  | { kind: 'chunk-data'; remaining: number }
  | { kind: 'chunk-data-end' }
  | { kind: 'trailers' }
  | { kind: 'until-close' };

const MAX_HEAD_BYTES = 64 * 1024;

export class ResponseParser {
  private buffer: Buffer = Buffer.alloc(0);
  private state: State = { kind: 'head' };
  private current: HttpResponse | undefined;
  private bodyParts: Buffer[] = [];
  private bodyKept = 0;

  /** `noBody` is asked per response: true when the request was HEAD. */
  constructor(
    private readonly maxBodyBytes: number,
    private readonly noBody: () => boolean,
  ) {}

  /** Feeds bytes; returns the responses they complete. Throws HttpProtocolError on garbage. */
  push(chunk: Buffer): HttpResponse[] {
    this.buffer = this.buffer.length === 0 ? chunk : Buffer.concat([this.buffer, chunk]);
    const done: HttpResponse[] = [];
    for (;;) {
      const r = this.step();
      if (r === 'more') return done;
      if (r) done.push(r);
    }
  }

  /** The connection ended: completes a body delimited by the close, if one was being read. */
  end(): HttpResponse | undefined {
    if (this.state.kind === 'until-close') return this.finish();
    return undefined;
  }

  private keep(data: Buffer): void {
    const room = this.maxBodyBytes - this.bodyKept;
    if (room <= 0) return;
    const part = data.subarray(0, room);
    this.bodyParts.push(part);
    this.bodyKept += part.length;
  }

  private finish(): HttpResponse {
    const r = this.current!;
    r.body = Buffer.concat(this.bodyParts);
    this.current = undefined;
    this.bodyParts = [];
    this.bodyKept = 0;
    this.state = { kind: 'head' };
    return r;
  }

  private line(): string | undefined {
    const at = this.buffer.indexOf('\r\n');
    if (at < 0) return undefined;
    const l = this.buffer.subarray(0, at).toString('latin1');
    this.buffer = this.buffer.subarray(at + 2);
    return l;
  }

  /** One parsing step: a completed response, null to continue, or 'more' when bytes are needed. */
  private step(): HttpResponse | null | 'more' {
    const s = this.state;
    switch (s.kind) {
      case 'head':
        return this.head();
      case 'length': {
        if (this.buffer.length === 0) return 'more';
        const take = this.buffer.subarray(0, s.remaining);
        this.keep(take);
        this.buffer = this.buffer.subarray(take.length);
        s.remaining -= take.length;
        return s.remaining === 0 ? this.finish() : 'more';
      }
      case 'chunk-size': {
        const l = this.line();
        if (l === undefined) return 'more';
        const size = Number.parseInt(l.split(';')[0]!.trim(), 16);
        if (Number.isNaN(size)) throw new HttpProtocolError(`bad chunk size '${l}'`);
        this.state = size === 0 ? { kind: 'trailers' } : { kind: 'chunk-data', remaining: size };
        return null;
      }
      case 'chunk-data': {
        if (this.buffer.length === 0) return 'more';
        const take = this.buffer.subarray(0, s.remaining);
        this.keep(take);
        this.buffer = this.buffer.subarray(take.length);
        s.remaining -= take.length;
        if (s.remaining === 0) this.state = { kind: 'chunk-data-end' };
        return null;
      }
      case 'chunk-data-end': {
        const l = this.line();
        if (l === undefined) return 'more';
        if (l !== '') throw new HttpProtocolError('chunk not followed by CRLF');
        this.state = { kind: 'chunk-size' };
        return null;
      }
      case 'trailers': {
        const l = this.line();
        if (l === undefined) return 'more';
        return l === '' ? this.finish() : null;
      }
      case 'until-close':
        if (this.buffer.length === 0) return 'more';
        this.keep(this.buffer);
        this.buffer = Buffer.alloc(0);
        return 'more';
    }
  }

  private head(): HttpResponse | null | 'more' {
    const end = this.buffer.indexOf('\r\n\r\n');
    if (end < 0) {
      if (this.buffer.length > MAX_HEAD_BYTES) throw new HttpProtocolError('response headers too large');
      return 'more';
    }
    const lines = this.buffer.subarray(0, end).toString('latin1').split('\r\n');
    this.buffer = this.buffer.subarray(end + 4);
    const m = /^HTTP\/(1\.[01]) (\d{3})(?: .*)?$/.exec(lines[0]!);
    if (!m) throw new HttpProtocolError(`bad status line '${lines[0]}'`);
    const headers = new Map<string, string>();
    for (const l of lines.slice(1)) {
      const colon = l.indexOf(':');
      if (colon <= 0) throw new HttpProtocolError(`bad header line '${l}'`);
      const name = l.slice(0, colon).trim().toLowerCase();
      const value = l.slice(colon + 1).trim();
      const prev = headers.get(name);
      headers.set(name, prev === undefined ? value : `${prev}, ${value}`);
    }
    const status = Number(m[2]);
    // Informational responses (100 Continue) precede the real one.
    if (status >= 100 && status < 200) return null;
    this.current = { version: m[1]!, status, headers, body: Buffer.alloc(0) };
    const length = headers.get('content-length');
    if (this.noBody() || status === 204 || status === 304) return this.finish();
    if (/\bchunked\b/i.test(headers.get('transfer-encoding') ?? '')) {
      this.state = { kind: 'chunk-size' };
    } else if (length !== undefined) {
      const n = Number(length);
      if (!Number.isInteger(n) || n < 0) throw new HttpProtocolError(`bad content-length '${length}'`);
      if (n === 0) return this.finish();
      this.state = { kind: 'length', remaining: n };
    } else {
      this.state = { kind: 'until-close' };
    }
    return null;
  }
}
