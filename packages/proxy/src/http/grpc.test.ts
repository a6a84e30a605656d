import { describe, expect, it } from 'vitest';
import { grpcMessage, httpToGrpcStatus, isGrpcRequest } from './grpc.js';
import { HeaderMap } from './headers.js';

describe('gRPC', () => {
  it('recognizes gRPC requests by content type', () => {
    expect(isGrpcRequest(HeaderMap.from([['content-type', 'application/grpc']]))).toBe(true);
    expect(isGrpcRequest(HeaderMap.from([['content-type', 'application/grpc+proto']]))).toBe(true);
    expect(isGrpcRequest(HeaderMap.from([['content-type', 'application/grpc-web']]))).toBe(false);
    expect(isGrpcRequest(HeaderMap.from([['content-type', 'application/json']]))).toBe(false);
    expect(isGrpcRequest(new HeaderMap())).toBe(false);
  });

  it('maps HTTP statuses as the gRPC spec does', () => {
    expect([400, 401, 403, 404, 429, 502, 503, 504, 500, 418].map(httpToGrpcStatus)).toEqual([
      13, 16, 7, 12, 14, 14, 14, 14, 2, 2,
    ]);
  });

  it('percent-encodes grpc-message outside printable ASCII and the percent sign', () => {
    expect(grpcMessage('no healthy upstream')).toBe('no healthy upstream');
    expect(grpcMessage('100% down\nnow é')).toBe('100%25 down%0Anow %C3%A9');
  });
});
