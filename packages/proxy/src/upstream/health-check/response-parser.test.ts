import { describe, expect, it } from 'vitest';
import { HttpProtocolError, ResponseParser } from './response-parser.js';

const parse = (chunks: string[], opts: { max?: number; head?: boolean } = {}) => {
  const p = new ResponseParser(opts.max ?? 1024, () => opts.head ?? false);
  const out = chunks.flatMap((c) => p.push(Buffer.from(c, 'latin1')));
  const last = p.end();
  if (last) out.push(last);
  return out.map((r) => ({
    version: r.version,
    status: r.status,
    headers: Object.fromEntries(r.headers),
    body: r.body.toString(),
  }));
};

describe('ResponseParser', () => {
  it('parses content-length bodies split across chunks, and pipelined responses', () => {
    const r = parse([
      'HTTP/1.1 200 OK\r\nContent-Length: 2\r\nX-A: 1\r\nx-a: 2\r\n\r\nO',
      'KHTTP/1.1 506 Variant Also Negotiates\r\ncontent-length: 4\r\n\r\nFAIL',
    ]);
    expect(r).toEqual([
      { version: '1.1', status: 200, headers: { 'content-length': '2', 'x-a': '1, 2' }, body: 'OK' },
      { version: '1.1', status: 506, headers: { 'content-length': '4' }, body: 'FAIL' },
    ]);
  });

  it('parses chunked bodies with extensions and trailers', () => {
    const r = parse([
      'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2;x=y\r\nOK\r\n3\r\n, v\r\n0\r\nX-Trailer: 1\r\n\r\n',
    ]);
    expect(r[0]!.body).toBe('OK, v');
  });

  it('reads until close without a length, and skips 100 Continue', () => {
    const r = parse(['HTTP/1.1 100 Continue\r\n\r\nHTTP/1.0 200 OK\r\n\r\nhello', ' world']);
    expect(r).toEqual([{ version: '1.0', status: 200, headers: {}, body: 'hello world' }]);
  });

  it('expects no body for HEAD, 204 and 304', () => {
    expect(parse(['HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\n'], { head: true })[0]!.body).toBe('');
    expect(
      parse(['HTTP/1.1 204 No Content\r\n\r\nHTTP/1.1 304 Not Modified\r\n\r\n']).map((r) => r.status),
    ).toEqual([204, 304]);
  });

  it('keeps only the first maxBodyBytes of a body', () => {
    expect(parse(['HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n0123456789'], { max: 4 })[0]!.body).toBe(
      '0123',
    );
  });

  it('rejects garbage', () => {
    expect(() => parse(['SSH-2.0-OpenSSH\r\n\r\n'])).toThrow(HttpProtocolError);
    expect(() => parse(['HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n'])).toThrow(
      /bad chunk size/,
    );
  });
});
