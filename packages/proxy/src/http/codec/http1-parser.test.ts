import { describe, expect, it } from 'vitest';
import type { HeaderMap } from '../headers.js';
import {
  Http1RequestParser,
  Http1ResponseParser,
  HttpParseError,
  type ParsedRequestHead,
  type ParsedResponseHead,
} from './http1-parser.js';

interface Message<H> {
  head: H;
  body: string;
  trailers: HeaderMap | undefined;
}

function requests(chunks: string[]): Message<ParsedRequestHead>[] {
  const out: Message<ParsedRequestHead>[] = [];
  let current: Message<ParsedRequestHead> | undefined;
  const p = new Http1RequestParser({
    onHead: (head) => {
      current = { head, body: '', trailers: undefined };
    },
    onBody: (c) => {
      current!.body += c.toString('latin1');
    },
    onComplete: (t) => {
      current!.trailers = t;
      out.push(current!);
    },
  });
  for (const c of chunks) p.execute(Buffer.from(c, 'latin1'));
  return out;
}

describe('Http1RequestParser', () => {
  it('parses a request line, lower-cases header names and keeps their order', () => {
    const [m] = requests(['GET /a?b=1 HTTP/1.1\r\nHost: x\r\nX-Canary: true\r\nAccept: */*\r\n\r\n']);
    expect(m!.head.method).toBe('GET');
    expect(m!.head.target).toBe('/a?b=1');
    expect(m!.head.headers.entries()).toEqual([
      ['host', 'x'],
      ['x-canary', 'true'],
      ['accept', '*/*'],
    ]);
    expect(m!.head.keepAlive).toBe(true);
  });

  it('reads content-length and chunked bodies split across arbitrary chunk boundaries', () => {
    const raw =
      'POST /x HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello' +
      'POST /y HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2;ext=1\r\nde\r\n0\r\nX-T: 1\r\n\r\n';
    for (let split = 1; split < raw.length; split += 7) {
      const msgs = requests([raw.slice(0, split), raw.slice(split)]);
      expect(msgs.map((m) => m.body)).toEqual(['hello', 'abcde']);
      expect(msgs[1]!.trailers?.get('x-t')).toBe('1');
    }
  });

  it('treats connection: close and HTTP/1.0 as not keep-alive', () => {
    expect(requests(['GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'])[0]!.head.keepAlive).toBe(
      false,
    );
    expect(requests(['GET / HTTP/1.0\r\n\r\n'])[0]!.head.keepAlive).toBe(false);
    expect(requests(['GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n'])[0]!.head.keepAlive).toBe(true);
  });

  it.each([
    ['garbage', 'hello there\r\n\r\n', 'bad_request_line'],
    ['bad version', 'GET / HTTP/9\r\n\r\n', 'bad_request_line'],
    ['HTTP/2 on the h1 codec', 'GET / HTTP/2.0\r\n\r\n', 'http_version_not_supported'],
    ['space in header name', 'GET / HTTP/1.1\r\nBad Name: x\r\n\r\n', 'bad_header'],
    ['obsolete folding', 'GET / HTTP/1.1\r\nA: x\r\n  y\r\n\r\n', 'bad_header'],
    [
      'CL and TE together',
      'POST / HTTP/1.1\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n',
      'bad_content_length',
    ],
    [
      'conflicting CLs',
      'POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n',
      'bad_content_length',
    ],
    ['negative CL', 'POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n', 'bad_content_length'],
    ['gzip TE', 'POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n', 'unsupported_transfer_encoding'],
    ['bad chunk size', 'POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n', 'bad_chunk'],
  ])('rejects %s', (_name, raw, code) => {
    expect(() => requests([raw])).toThrow(HttpParseError);
    try {
      requests([raw]);
    } catch (e) {
      expect((e as HttpParseError).code).toBe(code);
    }
  });

  it('refuses oversized header blocks even before they are complete', () => {
    const p = new Http1RequestParser({ onHead: () => {}, onBody: () => {}, onComplete: () => {} }, 100);
    expect(() => p.execute(Buffer.from(`GET / HTTP/1.1\r\nX: ${'a'.repeat(200)}`))).toThrow(/size limit/);
  });

  it('pauses between pipelined requests and resumes with the rest', () => {
    const seen: string[] = [];
    const p: Http1RequestParser = new Http1RequestParser({
      onHead: (h) => seen.push(h.target),
      onBody: () => {},
      onComplete: () => p.pause(),
    });
    p.execute(Buffer.from('GET /1 HTTP/1.1\r\nHost: x\r\n\r\nGET /2 HTTP/1.1\r\nHost: x\r\n\r\n'));
    expect(seen).toEqual(['/1']);
    p.resume();
    expect(seen).toEqual(['/1', '/2']);
  });
});

function responses(raw: string, head = false): Message<ParsedResponseHead>[] {
  const out: Message<ParsedResponseHead>[] = [];
  let current: Message<ParsedResponseHead> | undefined;
  const p = new Http1ResponseParser({
    onHead: (h) => {
      current = { head: h, body: '', trailers: undefined };
    },
    onBody: (c) => {
      current!.body += c.toString('latin1');
    },
    onComplete: (t) => {
      current!.trailers = t;
      out.push(current!);
    },
  });
  if (head) p.expectHeadResponse();
  p.execute(Buffer.from(raw, 'latin1'));
  p.finishOnClose();
  return out;
}

describe('Http1ResponseParser', () => {
  it('reads a response framed by content-length', () => {
    const [r] = responses('HTTP/1.1 506 Variant Also Negotiates\r\nContent-Length: 4\r\n\r\nFAIL');
    expect(r!.head.status).toBe(506);
    expect(r!.body).toBe('FAIL');
  });

  it('reads a body until close when there is no framing', () => {
    const [r] = responses('HTTP/1.0 200 OK\r\nServer: Werkzeug\r\n\r\nhello');
    expect(r!.body).toBe('hello');
    expect(r!.head.keepAlive).toBe(false);
  });

  it('knows a HEAD response and 204/304 have no body whatever the headers say', () => {
    expect(responses('HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n', true)[0]!.body).toBe('');
    expect(responses('HTTP/1.1 204 No Content\r\n\r\n')).toHaveLength(1);
  });

  it('skips interim 100 Continue and reads the final response', () => {
    const out = responses('HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok');
    expect(out).toHaveLength(1);
    expect(out[0]!.head.status).toBe(200);
  });
});
