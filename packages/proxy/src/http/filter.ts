/**
 * HTTP filters, after Envoy's `Http::StreamDecoderFilter` / `StreamEncoderFilter`: requests pass
 * through decoder filters in configuration order, responses through encoder filters in reverse,
 * and a filter may stop iteration (to wait, or to answer itself) and resume later. The router is
 * the terminal decoder filter: it turns the request into an upstream request and feeds the
 * upstream response back through `encodeHeaders`/`encodeData`.
 */
import type { Host } from '../upstream/host.js';
import type { HeaderMap, RequestHead, ResponseHead } from './headers.js';
import type { RouteEntry, RouteTable, WeightedClusterEntry } from './route/route-table.js';
import type { StreamInfo } from './stream-info.js';

export type FilterHeadersStatus = 'Continue' | 'StopIteration';
export type FilterDataStatus = 'Continue' | 'StopIterationAndBuffer' | 'StopIterationNoBuffer';
export type FilterTrailersStatus = 'Continue' | 'StopIteration';

export interface StreamDecoderFilter {
  decodeHeaders(request: RequestHead, endStream: boolean): FilterHeadersStatus;
  decodeData(data: Buffer, endStream: boolean): FilterDataStatus;
  decodeTrailers(trailers: HeaderMap): FilterTrailersStatus;
  onDestroy?(): void;
}

export interface StreamEncoderFilter {
  encodeHeaders(response: ResponseHead, endStream: boolean): FilterHeadersStatus;
  encodeData(data: Buffer, endStream: boolean): FilterDataStatus;
  encodeTrailers(trailers: HeaderMap): FilterTrailersStatus;
  onDestroy?(): void;
}

/**
 * A filter that lets everything through, like Envoy's `Http::PassThroughFilter`: a filter
 * extends it and overrides only the callbacks it acts on.
 */
export abstract class PassThroughFilter implements StreamDecoderFilter, StreamEncoderFilter {
  decodeHeaders(_request: RequestHead, _endStream: boolean): FilterHeadersStatus {
    return 'Continue';
  }
  decodeData(_data: Buffer, _endStream: boolean): FilterDataStatus {
    return 'Continue';
  }
  decodeTrailers(_trailers: HeaderMap): FilterTrailersStatus {
    return 'Continue';
  }
  encodeHeaders(_response: ResponseHead, _endStream: boolean): FilterHeadersStatus {
    return 'Continue';
  }
  encodeData(_data: Buffer, _endStream: boolean): FilterDataStatus {
    return 'Continue';
  }
  encodeTrailers(_trailers: HeaderMap): FilterTrailersStatus {
    return 'Continue';
  }
}

export interface DownstreamConnectionInfo {
  id: number;
  remoteAddress: string;
  remotePort: number;
  localAddress: string;
  localPort: number;
  /** TLS on the downstream connection (x-forwarded-proto, scheme). */
  secure: boolean;
  requestedServerName: string;
}

export interface LocalReplyOptions {
  /** Envoy's `response_code_details` (e.g. `route_not_found`), for access logs. */
  details: string;
  /** Extra headers on the reply (e.g. `x-envoy-overloaded: true`). */
  headers?: [string, string][];
}

/** What a filter can ask of the stream it is on. */
export interface FilterCallbacks {
  readonly streamInfo: StreamInfo;
  readonly connection: DownstreamConnectionInfo;
  readonly routeTable: RouteTable;
  /** The route for the current request headers (cached until `clearRouteCache`). */
  route(): RouteEntry | undefined;
  clearRouteCache(): void;
  /** The weighted cluster a weighted route picked for this stream, once picked. */
  weightedCluster: WeightedClusterEntry | undefined;
  /** A random draw fixed for the stream (runtime fractions, weighted clusters). */
  readonly random: number;
  continueDecoding(): void;
  continueEncoding(): void;
  /** Answers the request locally (Envoy's sendLocalReply); ends the stream. */
  sendLocalReply(status: number, body: string, options: LocalReplyOptions): void;
  /** For the terminal filter: a response (from upstream) enters the encoder filters. */
  encodeHeaders(response: ResponseHead, endStream: boolean): void;
  encodeData(data: Buffer, endStream: boolean): void;
  encodeTrailers(trailers: HeaderMap): void;
  /** Abort the downstream stream (response already started, upstream reset mid-way). */
  resetStream(): void;
  /** Tell the connection manager which upstream host is serving (access log, stats). */
  setUpstreamHost(host: Host, cluster: string): void;
}

export interface FilterPair {
  decoder?: StreamDecoderFilter;
  encoder?: StreamEncoderFilter;
}

/** Creates a filter instance for one stream. */
export type HttpFilterFactory = (callbacks: FilterCallbacks) => FilterPair;
