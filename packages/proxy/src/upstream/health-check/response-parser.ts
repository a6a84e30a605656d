/**
 * Whole HTTP/1.x responses for health-check connections, on top of the proxy's own response
 * parser (the same framing rules the router uses): status, headers, and the first
 * `maxBodyBytes` of the body — what payload matching looks at; the rest is consumed and dropped.
 */
import { Http1ResponseParser, HttpParseError } from '../../http/codec/http1-parser.js';

export interface HttpResponse {
  /** `1.0` or `1.1`. */
  version: string;
  status: number;
  /** Header names lower-cased; repeated headers joined with `, `. */
  headers: Map<string, string>;
  body: Buffer;
}

export class HttpProtocolError extends Error {}

export class ResponseParser {
  private readonly parser: Http1ResponseParser;
  private current: HttpResponse | undefined;
  private bodyParts: Buffer[] = [];
  private bodyKept = 0;
  private completed: HttpResponse[] = [];

  /** `noBody` is asked per response: true when the request was HEAD. */
  constructor(
    private readonly maxBodyBytes: number,
    private readonly noBody: () => boolean,
  ) {
    this.parser = new Http1ResponseParser({
      onHead: (head) => {
        if (head.status >= 100 && head.status < 200) return; // interim responses are skipped
        const headers = new Map<string, string>();
        head.headers.forEach((name, value) => {
          const prev = headers.get(name);
          headers.set(name, prev === undefined ? value : `${prev}, ${value}`);
        });
        this.current = {
          version: `1.${head.versionMinor}`,
          status: head.status,
          headers,
          body: Buffer.alloc(0),
        };
        this.bodyParts = [];
        this.bodyKept = 0;
      },
      onBody: (chunk) => {
        const room = this.maxBodyBytes - this.bodyKept;
        if (room <= 0) return;
        const kept = chunk.length > room ? chunk.subarray(0, room) : chunk;
        this.bodyParts.push(kept);
        this.bodyKept += kept.length;
      },
      onComplete: () => {
        const r = this.current;
        if (!r) return;
        r.body = Buffer.concat(this.bodyParts);
        this.current = undefined;
        this.completed.push(r);
      },
    });
  }

  /** Feeds bytes; returns the responses they complete. Throws HttpProtocolError on garbage. */
  push(chunk: Buffer): HttpResponse[] {
    if (this.parser.idle && this.noBody()) this.parser.expectHeadResponse();
    try {
      this.parser.execute(chunk);
    } catch (err) {
      throw new HttpProtocolError(err instanceof HttpParseError ? err.message : String(err));
    }
    return this.completed.splice(0);
  }

  /** The connection ended: completes a body delimited by the close, if one was being read. */
  end(): HttpResponse | undefined {
    this.parser.finishOnClose();
    return this.completed.shift();
  }
}
