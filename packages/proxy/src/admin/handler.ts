/**
 * The shape of an admin endpoint and the response helpers the handlers share, after Envoy's
 * `Admin::UrlHandler` (prefix, help text, whether it mutates server state, callback).
 */
import type { Address } from '../config/types.js';

export interface AdminRequest {
  method: string;
  path: string;
  /** Percent-decoded query parameters; the first occurrence of a key wins, as in Envoy. */
  query: ReadonlyMap<string, string>;
  /** The raw query string, for handlers that parse it without decoding (as Envoy's /logging does). */
  rawQuery: string;
  contentType: string | undefined;
  body: string;
}

export interface AdminResponse {
  status: number;
  body: string;
  /** Defaults to `text/plain; charset=UTF-8`, Envoy's fallback. */
  contentType?: string;
  /** Runs once the response has been sent (`/quitquitquit`). */
  afterSend?: () => void;
}

export interface UrlHandler {
  prefix: string;
  help: string;
  /** Mutating endpoints answer 405 to anything but POST. */
  mutatesState: boolean;
  handle(request: AdminRequest): AdminResponse;
}

export const CONTENT_TYPE = {
  text: 'text/plain; charset=UTF-8',
  json: 'application/json',
  html: 'text/html; charset=UTF-8',
} as const;

export function textResponse(body: string, status = 200): AdminResponse {
  return { status, body };
}

/**
 * Envoy prints admin protos with protobuf's JSON printer in pretty mode: one-space indentation
 * and a trailing newline.
 */
export function protoJson(message: unknown): string {
  return `${JSON.stringify(message, null, 1)}\n`;
}

export function jsonResponse(message: unknown, status = 200): AdminResponse {
  return { status, body: protoJson(message), contentType: CONTENT_TYPE.json };
}

/** A `google.protobuf.Timestamp` in proto3 JSON: RFC 3339 UTC, fractional seconds only when non-zero. */
export function protoTimestamp(time: string | Date): string {
  const iso = new Date(time).toISOString();
  return iso.endsWith('.000Z') ? `${iso.slice(0, -5)}Z` : iso;
}

/** An address as Envoy's `asString()` prints it: `ip:port`, `[ipv6]:port`, or a pipe's path. */
export function addressString(address: Address): string {
  if (address.pipe) return address.pipe.path;
  const socket = address.socket_address;
  if (!socket) return '';
  const ip = socket.address.includes(':') ? `[${socket.address}]` : socket.address;
  return `${ip}:${socket.port_value ?? 0}`;
}

/** Parses a query string (without the `?`) the way Envoy's `parseQueryString` does: first key wins. */
export function parseQuery(query: string, decode: boolean): Map<string, string> {
  const params = new Map<string, string>();
  for (const part of query.split('&')) {
    if (part === '') continue;
    const eq = part.indexOf('=');
    const rawKey = eq < 0 ? part : part.slice(0, eq);
    const rawValue = eq < 0 ? '' : part.slice(eq + 1);
    const key = decode ? percentDecode(rawKey) : rawKey;
    if (!params.has(key)) params.set(key, decode ? percentDecode(rawValue) : rawValue);
  }
  return params;
}

/** Envoy's PercentEncoding::decode: `%XX` sequences (as UTF-8 bytes) only, anything else kept as it is. */
function percentDecode(s: string): string {
  return s.replace(/(?:%[0-9a-fA-F]{2})+/g, (run) =>
    Buffer.from(
      run
        .slice(1)
        .split('%')
        .map((hex) => Number.parseInt(hex, 16)),
    ).toString('utf8'),
  );
}
