/**
 * `Http2ProtocolOptions` (envoy.config.core.v3) as node:http2 settings, with Envoy's defaults
 * rather than nghttp2's: 256 MiB stream and connection windows and no practical stream limit.
 * Shared by the downstream codec and the upstream HTTP/2 pool; the feature gate refuses the
 * options not read here.
 */
import type http2 from 'node:http2';
import type { HeaderMap } from '../headers.js';

export interface Http2ProtocolOptions {
  max_concurrent_streams?: number;
  initial_stream_window_size?: number;
  initial_connection_window_size?: number;
  hpack_table_size?: number;
}

export interface Http2Config {
  /** SETTINGS sent to the peer. */
  settings: http2.Settings;
  /** The connection-level receive window (not a SETTINGS value: a WINDOW_UPDATE on stream 0). */
  connectionWindowSize: number;
  /** Streams one connection may carry at once. */
  maxConcurrentStreams: number;
}

const DEFAULT_WINDOW = 268_435_456;
const DEFAULT_MAX_STREAMS = 2_147_483_647;

export function http2Config(options: Http2ProtocolOptions | undefined): Http2Config {
  const maxConcurrentStreams = options?.max_concurrent_streams ?? DEFAULT_MAX_STREAMS;
  return {
    settings: {
      maxConcurrentStreams,
      initialWindowSize: options?.initial_stream_window_size ?? DEFAULT_WINDOW,
      headerTableSize: options?.hpack_table_size ?? 4096,
    },
    connectionWindowSize: options?.initial_connection_window_size ?? DEFAULT_WINDOW,
    maxConcurrentStreams,
  };
}

/**
 * Header fields HTTP/2 forbids (RFC 9113 §8.2.2): connection-specific ones, and `te` with any
 * value but `trailers`. Envoy's HTTP/2 codec drops them rather than failing the stream.
 */
const CONNECTION_SPECIFIC = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'upgrade',
  'host',
  'http2-settings',
]);

/** A HeaderMap as node:http2's header object: repeated names as arrays, HTTP/2-forbidden fields left out. */
export function toHttp2Headers(
  headers: HeaderMap,
  into: http2.OutgoingHttpHeaders,
): http2.OutgoingHttpHeaders {
  headers.forEach((name, value) => {
    if (CONNECTION_SPECIFIC.has(name) || name.startsWith(':')) return;
    if (name === 'te' && value.trim().toLowerCase() !== 'trailers') return;
    const existing = into[name];
    if (existing === undefined) into[name] = value;
    else into[name] = Array.isArray(existing) ? [...existing, value] : [String(existing), value];
  });
  return into;
}

/**
 * The regular fields of a raw HTTP/2 header list (`[name, value, ...]`), pseudo-headers apart.
 * Cookies split into several fields (RFC 9113 §8.2.3) are joined with `; ` as Envoy does.
 */
export function fromHttp2Headers(raw: string[], into: HeaderMap): Map<string, string> {
  const pseudo = new Map<string, string>();
  const cookies: string[] = [];
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i]!;
    const value = raw[i + 1]!;
    if (name.startsWith(':')) pseudo.set(name, value);
    else if (name === 'cookie') cookies.push(value);
    else into.add(name, value);
  }
  if (cookies.length > 0) into.add('cookie', cookies.join('; '));
  return pseudo;
}
