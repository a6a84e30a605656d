/**
 * What is known about one downstream request as it is served — Envoy's StreamInfo — for access
 * logs, header formatters and stats. Also used, with a subset of fields, for TCP connections.
 */
import type { Host } from '../upstream/host.js';
import type { HeaderMap, RequestHead } from './headers.js';

/**
 * Envoy's response flags, by their short names as `%RESPONSE_FLAGS%` prints them (e.g. `NR` no
 * route, `UH` no healthy upstream, `UF` upstream connection failure, `UT` upstream timeout).
 */
export type ResponseFlag =
  | 'DC' // downstream connection termination
  | 'DI' // delay injected
  | 'FI' // fault injected
  | 'LH' // local service failed health check
  | 'LR' // connection local reset
  | 'NC' // no cluster
  | 'NR' // no route
  | 'RL' // rate limited
  | 'UAEX' // unauthorized external service
  | 'UC' // upstream connection termination
  | 'UF' // upstream connection failure
  | 'UH' // no healthy upstream
  | 'UMSDR' // upstream max stream duration reached
  | 'UO' // upstream overflow (circuit breaker)
  | 'UPE' // upstream protocol error
  | 'UR' // upstream remote reset
  | 'URX' // upstream retry limit exceeded
  | 'UT' // upstream request timeout
  | 'DPE' // downstream protocol error
  | 'SI'; // stream idle timeout

/** `%RESPONSE_FLAGS%` lists flags in Envoy's fixed order, comma-separated. */
const FLAG_ORDER: ResponseFlag[] = [
  'LH',
  'UH',
  'UT',
  'LR',
  'UR',
  'UF',
  'UC',
  'UO',
  'NR',
  'DI',
  'FI',
  'RL',
  'UAEX',
  'DC',
  'URX',
  'SI',
  'NC',
  'DPE',
  'UPE',
  'UMSDR',
];

export interface Endpoint {
  address: string;
  port: number;
}

export class StreamInfo {
  startTime = new Date();
  readonly startMs = performance.now();
  request: RequestHead | undefined;
  responseHeaders: HeaderMap | undefined;
  responseTrailers: HeaderMap | undefined;
  responseCode: number | undefined;
  responseCodeDetails = '';
  readonly responseFlags = new Set<ResponseFlag>();
  bytesReceived = 0;
  bytesSent = 0;
  upstreamHost: Host | undefined;
  upstreamCluster: string | undefined;
  upstreamLocalAddress: Endpoint | undefined;
  upstreamTransportFailureReason = '';
  attemptCount = 0;
  routeName = '';
  virtualHostName = '';
  requestedServerName = '';
  /** When the last request byte arrived / the first response byte left (ms since start). */
  requestCompleteMs: number | undefined;
  firstResponseByteMs: number | undefined;
  lastResponseByteMs: number | undefined;

  constructor(
    readonly protocol: string,
    readonly downstreamRemote: Endpoint,
    readonly downstreamLocal: Endpoint,
    readonly connectionId: number,
  ) {}

  setFlag(flag: ResponseFlag): void {
    this.responseFlags.add(flag);
  }

  flagsString(): string {
    if (this.responseFlags.size === 0) return '-';
    return FLAG_ORDER.filter((f) => this.responseFlags.has(f)).join(',');
  }

  /** Milliseconds since the stream started. */
  elapsedMs(): number {
    return performance.now() - this.startMs;
  }
}

export function formatEndpoint(e: Endpoint): string {
  return e.address.includes(':') ? `[${e.address}]:${e.port}` : `${e.address}:${e.port}`;
}
