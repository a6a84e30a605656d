/**
 * What the connection manager needs to know of gRPC (Envoy's Grpc::Common and Grpc::Utility):
 * which requests are gRPC, and how a local reply is said in gRPC — a trailers-only response
 * with `:status` 200, `grpc-status` mapped from the HTTP status, and the text as `grpc-message`.
 */
import type { HeaderMap } from './headers.js';

/** `content-type: application/grpc`, or one of its `+proto`/`+json` variants. */
export function isGrpcRequest(headers: HeaderMap): boolean {
  const type = headers.get('content-type')?.toLowerCase();
  return type !== undefined && (type === 'application/grpc' || type.startsWith('application/grpc+'));
}

/** The gRPC status for an HTTP status (the gRPC spec's HTTP-to-gRPC table, as Envoy applies it). */
export function httpToGrpcStatus(httpStatus: number): number {
  switch (httpStatus) {
    case 400:
      return 13; // INTERNAL
    case 401:
      return 16; // UNAUTHENTICATED
    case 403:
      return 7; // PERMISSION_DENIED
    case 404:
      return 12; // UNIMPLEMENTED
    case 429:
    case 502:
    case 503:
    case 504:
      return 14; // UNAVAILABLE
    default:
      return 2; // UNKNOWN
  }
}

/** `grpc-message` is percent-encoded: everything outside printable ASCII, and `%` itself. */
export function grpcMessage(text: string): string {
  let out = '';
  for (const byte of Buffer.from(text, 'utf8')) {
    out +=
      byte < 0x20 || byte > 0x7e || byte === 0x25
        ? `%${byte.toString(16).toUpperCase().padStart(2, '0')}`
        : String.fromCharCode(byte);
  }
  return out;
}
