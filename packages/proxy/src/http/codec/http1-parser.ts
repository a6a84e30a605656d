/**
 * A push parser for HTTP/1.x messages (requests on the downstream side, responses on the
 * upstream side). It is ours rather than node:http's because a proxy needs what node:http hides:
 * the exact header list, control over keep-alive and framing, Envoy's error answers for
 * malformed input, and no per-message object churn on the hot path.
 *
 * Bytes go in with `execute()`; the parser calls back with the head, body chunks and the end of
 * each message. A consumer may `pause()` inside a callback (e.g. to keep pipelined requests in
 * order); unconsumed bytes are kept until `resume()`.
 */
import { HeaderMap } from '../headers.js';

export type ParseErrorCode =
  | 'bad_request_line'
  | 'bad_status_line'
  | 'bad_header'
  | 'headers_too_large'
  | 'bad_content_length'
  | 'bad_chunk'
  | 'unsupported_transfer_encoding'
  | 'http_version_not_supported';

export class HttpParseError extends Error {
  constructor(
    readonly code: ParseErrorCode,
    message: string,
  ) {
    super(message);
  }
}

export interface ParsedRequestHead {
  method: string;
  target: string;
  versionMinor: number;
  headers: HeaderMap;
  /** Whether the connection may be reused after this message (HTTP/1.1 default, `connection: close`). */
  keepAlive: boolean;
  /** Body framing the head announced. */
  contentLength: number | undefined;
  chunked: boolean;
  expectContinue: boolean;
}

export interface ParsedResponseHead {
  status: number;
  reason: string;
  versionMinor: number;
  headers: HeaderMap;
  keepAlive: boolean;
  contentLength: number | undefined;
  chunked: boolean;
}

export interface ParserCallbacks<Head> {
  onHead(head: Head): void;
  onBody(chunk: Buffer): void;
  onComplete(trailers: HeaderMap | undefined): void;
}

const CRLFCRLF = Buffer.from('\r\n\r\n');
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
// Field values: visible ASCII, obs-text, space and tab (RFC 9110 §5.5); CR, LF and NUL are not.
const BAD_VALUE = /[\0\r\n]/;

type State = 'head' | 'fixed' | 'chunk-size' | 'chunk-data' | 'chunk-data-crlf' | 'trailers' | 'until-close';

abstract class Http1Parser<Head> {
  protected state: State = 'head';
  private buffered: Buffer | undefined;
  private remaining = 0;
  private paused = false;
  private trailerLines: string[] = [];
  /** Set when the consumer knows the message has no body whatever its headers say (HEAD, 304). */
  protected expectNoBody = false;

  constructor(
    protected readonly callbacks: ParserCallbacks<Head>,
    private readonly maxHeaderBytes: number,
  ) {}

  pause(): void {
    this.paused = true;
  }

  resume(): void {
    if (!this.paused) return;
    this.paused = false;
    const rest = this.buffered;
    this.buffered = undefined;
    if (rest && rest.length > 0) this.execute(rest);
  }

  get isPaused(): boolean {
    return this.paused;
  }

  /** True between messages: nothing of a next message has been parsed. */
  get idle(): boolean {
    return this.state === 'head' && (this.buffered === undefined || this.buffered.length === 0);
  }

  /** Parses what it can of `data`; throws HttpParseError on malformed input. */
  execute(data: Buffer): void {
    const buf = this.buffered && this.buffered.length > 0 ? Buffer.concat([this.buffered, data]) : data;
    this.buffered = undefined;
    let off = 0;
    while (off < buf.length) {
      if (this.paused) break;
      switch (this.state) {
        case 'head': {
          const end = buf.indexOf(CRLFCRLF, off);
          if (end < 0) {
            if (buf.length - off > this.maxHeaderBytes) {
              throw new HttpParseError('headers_too_large', 'headers exceed the size limit');
            }
            this.buffered = buf.subarray(off);
            return;
          }
          if (end - off > this.maxHeaderBytes) {
            throw new HttpParseError('headers_too_large', 'headers exceed the size limit');
          }
          // Tolerate stray CRLFs between messages, as RFC 9112 §2.2 asks servers to.
          let start = off;
          while (buf[start] === 13 && buf[start + 1] === 10 && start < end) start += 2;
          const headText = buf.toString('latin1', start, end);
          off = end + 4;
          this.startMessage(headText);
          break;
        }
        case 'fixed': {
          const n = Math.min(this.remaining, buf.length - off);
          this.remaining -= n;
          const chunk = buf.subarray(off, off + n);
          off += n;
          this.callbacks.onBody(chunk);
          if (this.remaining === 0) this.finish(undefined);
          break;
        }
        case 'until-close': {
          const chunk = buf.subarray(off);
          off = buf.length;
          this.callbacks.onBody(chunk);
          break;
        }
        case 'chunk-size': {
          const lf = buf.indexOf(10, off);
          if (lf < 0) {
            if (buf.length - off > 1024) throw new HttpParseError('bad_chunk', 'chunk size line too long');
            this.buffered = buf.subarray(off);
            return;
          }
          const line = buf.toString('latin1', off, lf).replace(/\r$/, '');
          off = lf + 1;
          const sizeText = line.split(';', 1)[0]!.trim();
          if (!/^[0-9a-fA-F]{1,15}$/.test(sizeText))
            throw new HttpParseError('bad_chunk', `bad chunk size '${sizeText}'`);
          const size = Number.parseInt(sizeText, 16);
          if (size === 0) {
            this.state = 'trailers';
            this.trailerLines = [];
          } else {
            this.remaining = size;
            this.state = 'chunk-data';
          }
          break;
        }
        case 'chunk-data': {
          const n = Math.min(this.remaining, buf.length - off);
          this.remaining -= n;
          const chunk = buf.subarray(off, off + n);
          off += n;
          this.callbacks.onBody(chunk);
          if (this.remaining === 0) this.state = 'chunk-data-crlf';
          break;
        }
        case 'chunk-data-crlf': {
          if (buf.length - off < 2) {
            this.buffered = buf.subarray(off);
            return;
          }
          if (buf[off] !== 13 || buf[off + 1] !== 10)
            throw new HttpParseError('bad_chunk', 'missing CRLF after chunk data');
          off += 2;
          this.state = 'chunk-size';
          break;
        }
        case 'trailers': {
          const lf = buf.indexOf(10, off);
          if (lf < 0) {
            this.buffered = buf.subarray(off);
            return;
          }
          const line = buf.toString('latin1', off, lf).replace(/\r$/, '');
          off = lf + 1;
          if (line === '') {
            const trailers = this.trailerLines.length > 0 ? parseHeaderLines(this.trailerLines) : undefined;
            this.finish(trailers);
          } else {
            this.trailerLines.push(line);
          }
          break;
        }
      }
    }
    if (off < buf.length) this.buffered = buf.subarray(off);
  }

  /** The peer closed: completes a read-until-close body; an unfinished message is an error. */
  finishOnClose(): boolean {
    if (this.state === 'until-close') {
      this.finish(undefined);
      return true;
    }
    return this.state === 'head' && (this.buffered === undefined || this.buffered.length === 0);
  }

  protected abstract startMessage(headText: string): void;

  /** Sets up body framing after the head callback. */
  protected beginBody(contentLength: number | undefined, chunked: boolean, readUntilClose: boolean): void {
    if (this.expectNoBody) {
      this.expectNoBody = false;
      this.finish(undefined);
    } else if (chunked) {
      this.state = 'chunk-size';
    } else if (contentLength !== undefined && contentLength > 0) {
      this.remaining = contentLength;
      this.state = 'fixed';
    } else if (contentLength === undefined && readUntilClose) {
      this.state = 'until-close';
    } else {
      this.finish(undefined);
    }
  }

  private finish(trailers: HeaderMap | undefined): void {
    this.state = 'head';
    this.callbacks.onComplete(trailers);
  }
}

/** Header lines → HeaderMap, rejecting what Envoy's codec rejects (bad names, CR/LF/NUL in values, folding). */
function parseHeaderLines(lines: string[], from = 0): HeaderMap {
  const headers = new HeaderMap();
  for (let i = from; i < lines.length; i++) {
    const line = lines[i]!;
    if (line.charCodeAt(0) === 32 || line.charCodeAt(0) === 9) {
      throw new HttpParseError('bad_header', 'obsolete line folding in headers');
    }
    const colon = line.indexOf(':');
    if (colon <= 0) throw new HttpParseError('bad_header', 'header line without a name');
    const name = line.slice(0, colon);
    if (!TOKEN.test(name)) throw new HttpParseError('bad_header', `invalid header name '${name}'`);
    const value = line.slice(colon + 1).trim();
    if (BAD_VALUE.test(value)) throw new HttpParseError('bad_header', `invalid value for header '${name}'`);
    headers.add(name.toLowerCase(), value);
  }
  return headers;
}

interface Framing {
  contentLength: number | undefined;
  chunked: boolean;
  keepAlive: boolean;
}

function framing(headers: HeaderMap, versionMinor: number): Framing {
  let chunked = false;
  const te = headers.getJoined('transfer-encoding');
  if (te !== undefined) {
    const codings = te
      .toLowerCase()
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
    if (codings[codings.length - 1] !== 'chunked' || codings.slice(0, -1).some((c) => c === 'chunked')) {
      throw new HttpParseError('unsupported_transfer_encoding', `unsupported transfer-encoding '${te}'`);
    }
    if (codings.length > 1) {
      throw new HttpParseError('unsupported_transfer_encoding', `unsupported transfer-encoding '${te}'`);
    }
    chunked = true;
  }
  let contentLength: number | undefined;
  const cl = headers.getJoined('content-length');
  if (cl !== undefined) {
    if (chunked) {
      // Request smuggling vector (RFC 9112 §6.3): refuse, as Envoy does by default.
      throw new HttpParseError('bad_content_length', 'both content-length and transfer-encoding present');
    }
    contentLength = Number(DECIMAL.test(cl) ? cl : singleContentLength(cl));
  }
  const connection = headers.getJoined('connection');
  const keepAlive =
    connection === undefined ? versionMinor >= 1 : connectionKeepsAlive(connection, versionMinor);
  return { contentLength, chunked, keepAlive };
}

const DECIMAL = /^\d{1,15}$/;

/** Repeated or comma-listed content-length values are taken when they all agree (RFC 9110 §8.6). */
function singleContentLength(joined: string): string {
  const values = new Set(joined.split(',').map((s) => s.trim()));
  if (values.size !== 1) throw new HttpParseError('bad_content_length', 'conflicting content-length values');
  const v = [...values][0]!;
  if (!DECIMAL.test(v)) throw new HttpParseError('bad_content_length', `invalid content-length '${v}'`);
  return v;
}

function connectionKeepsAlive(connection: string, versionMinor: number): boolean {
  const tokens = connection
    .toLowerCase()
    .split(',')
    .map((s) => s.trim());
  return versionMinor >= 1 ? !tokens.includes('close') : tokens.includes('keep-alive');
}

export class Http1RequestParser extends Http1Parser<ParsedRequestHead> {
  constructor(callbacks: ParserCallbacks<ParsedRequestHead>, maxHeaderBytes = 60 * 1024) {
    super(callbacks, maxHeaderBytes);
  }

  protected startMessage(headText: string): void {
    const lines = headText.split('\r\n');
    const requestLine = lines[0]!;
    const sp1 = requestLine.indexOf(' ');
    const sp2 = requestLine.lastIndexOf(' ');
    if (sp1 <= 0 || sp2 <= sp1) throw new HttpParseError('bad_request_line', 'malformed request line');
    const method = requestLine.slice(0, sp1);
    const target = requestLine.slice(sp1 + 1, sp2);
    const version = requestLine.slice(sp2 + 1);
    if (!TOKEN.test(method)) throw new HttpParseError('bad_request_line', `invalid method '${method}'`);
    if (target === '' || /[\s\0]/.test(target))
      throw new HttpParseError('bad_request_line', 'invalid request target');
    const versionMinor = version === 'HTTP/1.1' ? 1 : version === 'HTTP/1.0' ? 0 : -1;
    if (versionMinor < 0) {
      if (/^HTTP\/\d\.\d$/.test(version)) {
        throw new HttpParseError('http_version_not_supported', `unsupported protocol version '${version}'`);
      }
      throw new HttpParseError('bad_request_line', `invalid protocol version '${version}'`);
    }
    const headers = parseHeaderLines(lines, 1);
    const f = framing(headers, versionMinor);
    const expect = headers.get('expect');
    this.callbacks.onHead({
      method,
      target,
      versionMinor,
      headers,
      keepAlive: f.keepAlive,
      contentLength: f.contentLength,
      chunked: f.chunked,
      expectContinue: expect !== undefined && expect.toLowerCase() === '100-continue',
    });
    // Requests without framing headers have no body (RFC 9112 §6.3 rule 7).
    this.beginBody(f.contentLength, f.chunked, false);
  }
}

export class Http1ResponseParser extends Http1Parser<ParsedResponseHead> {
  constructor(callbacks: ParserCallbacks<ParsedResponseHead>, maxHeaderBytes = 60 * 1024) {
    super(callbacks, maxHeaderBytes);
  }

  /** Call before the response to a HEAD request arrives: its framing headers describe no body. */
  expectHeadResponse(): void {
    this.expectNoBody = true;
  }

  protected startMessage(headText: string): void {
    const lines = headText.split('\r\n');
    const statusLine = lines[0]!;
    const m = /^HTTP\/1\.([01]) (\d{3})(?: (.*))?$/.exec(statusLine);
    if (!m) throw new HttpParseError('bad_status_line', 'malformed status line');
    const versionMinor = Number(m[1]);
    const status = Number(m[2]);
    const headers = parseHeaderLines(lines, 1);
    const f = framing(headers, versionMinor);
    const head: ParsedResponseHead = {
      status,
      reason: m[3] ?? '',
      versionMinor,
      headers,
      keepAlive: f.keepAlive,
      contentLength: f.contentLength,
      chunked: f.chunked,
    };
    if (status >= 100 && status < 200) {
      // Interim responses carry no body and are followed by the real one; keep any HEAD expectation.
      const noBody = this.expectNoBody;
      this.callbacks.onHead(head);
      this.expectNoBody = noBody;
      this.state = 'head';
      return;
    }
    this.callbacks.onHead(head);
    if (status === 204 || status === 304) this.expectNoBody = true;
    this.beginBody(f.contentLength, f.chunked, true);
  }
}
