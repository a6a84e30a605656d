/**
 * A stream for HTTP filter unit tests: a real route table and stream info behind the
 * FilterCallbacks a filter is given, recording what the filter does to the stream (local replies,
 * responses it encodes itself, continuations) instead of running a connection manager.
 */
import type { RouteConfiguration } from '../../config/types.js';
import { Runtime } from '../../runtime/runtime.js';
import type { FilterCallbacks, LocalReplyOptions } from '../filter.js';
import { HeaderMap, type RequestHead, type ResponseHead } from '../headers.js';
import { RouteTable } from '../route/route-table.js';
import { StreamInfo } from '../stream-info.js';

export function request(
  method: string,
  path: string,
  headers: Record<string, string> = {},
  authority = 'example.com',
): RequestHead {
  return {
    method,
    path,
    authority,
    scheme: 'http',
    protocol: 'HTTP/1.1',
    headers: HeaderMap.from(Object.entries(headers)),
  };
}

export interface LocalReply {
  status: number;
  body: string;
  options: LocalReplyOptions;
}

export class TestStream {
  readonly localReplies: LocalReply[] = [];
  /** Responses a filter encoded itself (preflights, gRPC aborts), with their end-of-stream flag. */
  readonly encoded: { response: ResponseHead; endStream: boolean }[] = [];
  continued = 0;
  readonly callbacks: FilterCallbacks;

  constructor(
    readonly request: RequestHead,
    /** A route table to share between streams (route-specific state such as rate limit buckets lives in it). */
    routes: RouteConfiguration | RouteTable,
    runtime = new Runtime(undefined),
  ) {
    const table = routes instanceof RouteTable ? routes : new RouteTable(routes, runtime);
    const streamInfo = new StreamInfo(
      request.protocol,
      { address: '10.0.0.1', port: 40000 },
      { address: '10.0.0.2', port: 80 },
      1,
    );
    streamInfo.request = request;
    const connection = {
      id: 1,
      remoteAddress: '10.0.0.1',
      remotePort: 40000,
      localAddress: '10.0.0.2',
      localPort: 80,
      secure: false,
      requestedServerName: '',
    };
    const fail = (what: string) => () => {
      throw new Error(`the filter under test called ${what}`);
    };
    this.callbacks = {
      streamInfo,
      connection,
      routeTable: table,
      route: () => table.route(request, { random: 0, downstreamAddress: connection.remoteAddress }),
      clearRouteCache: () => {},
      weightedCluster: undefined,
      random: 0,
      continueDecoding: () => {
        this.continued++;
      },
      continueEncoding: fail('continueEncoding'),
      sendLocalReply: (status, body, options) => {
        streamInfo.responseCodeDetails = options.details;
        this.localReplies.push({ status, body, options });
      },
      encodeHeaders: (response, endStream) => {
        this.encoded.push({ response, endStream });
      },
      encodeData: fail('encodeData'),
      encodeTrailers: fail('encodeTrailers'),
      resetStream: fail('resetStream'),
      setUpstreamHost: fail('setUpstreamHost'),
    };
  }

  get streamInfo(): StreamInfo {
    return this.callbacks.streamInfo;
  }
}

/** One virtual host for every domain with the given routes (and per-filter configs). */
export function routes(
  vhost: Partial<NonNullable<RouteConfiguration['virtual_hosts']>[number]> = {},
  routeConfig: Partial<RouteConfiguration> = {},
): RouteConfiguration {
  return {
    ...routeConfig,
    virtual_hosts: [
      {
        name: 'vh',
        domains: ['*'],
        routes: [{ match: { prefix: '/' }, route: { cluster: 'web' } }],
        ...vhost,
      },
    ],
  };
}
