/**
 * HTTP health checks (Envoy's `HttpHealthCheckerImpl`), over HTTP/1.1 on a raw socket so the
 * request is exactly what Envoy sends — `GET <path>`, `host: <http_health_check.host or the
 * cluster name>`, `user-agent: Envoy/HC`, then `request_headers_to_add` — and one connection per
 * host is kept between checks (`reuse_connection`, default true).
 *
 * A response passes when its status is in `expected_statuses` (default `[200, 201)`, ranges are
 * `[start, end)`) and its body contains the `receive` payloads. Any other status fails the host
 * at once unless it is in `retriable_statuses`, which count toward `unhealthy_threshold` like
 * network errors and timeouts do. `x-envoy-degraded` marks a passing host degraded;
 * `x-envoy-immediate-health-check-fail` on a failing response also excludes it from balancing.
 */
import net from 'node:net';
import type { HeaderValueOption, HealthCheck, StringMatcher } from '../../config/types.js';
import type { Host } from '../host.js';
import { HealthCheckerBase, type HealthCheckerParams, Session } from './base.js';
import { payloadBytes, payloadMatches } from './payload.js';
import { type HttpResponse, ResponseParser } from './response-parser.js';

type HttpHealthCheckConfig = NonNullable<HealthCheck['http_health_check']> & {
  response_buffer_size?: number;
  service_name_matcher?: StringMatcher;
};

type Range = readonly [number, number];

/** Envoy's default `response_buffer_size`: how much of the body `receive` is matched against. */
const DEFAULT_RESPONSE_BUFFER_SIZE = 1024;
const METHODS_WITHOUT_BODY = new Set(['GET', 'HEAD', 'DELETE', 'TRACE']);

function statusRanges(ranges: { start: number; end: number }[] | undefined, kind: string): Range[] {
  return (ranges ?? []).map(({ start, end }) => {
    if (start >= end) {
      throw new Error(
        `Invalid http ${kind} status range: expecting start < end, but found start=${start} and end=${end}`,
      );
    }
    if (start < 100)
      throw new Error(`Invalid http ${kind} status range: expecting start >= 100, but found start=${start}`);
    if (end > 600)
      throw new Error(`Invalid http ${kind} status range: expecting end <= 600, but found end=${end}`);
    return [start, end] as const;
  });
}

const inRanges = (status: number, ranges: readonly Range[]) =>
  ranges.some(([s, e]) => status >= s && status < e);

function stringMatcher(m: StringMatcher): (value: string) => boolean {
  if (m.safe_regex)
    throw new Error(
      'http_health_check.service_name_matcher: safe_regex is not implemented by meshcraft-proxy',
    );
  const fold = (s: string) => (m.ignore_case ? s.toLowerCase() : s);
  if (m.exact !== undefined) return (v) => fold(v) === fold(m.exact!);
  if (m.prefix !== undefined) return (v) => fold(v).startsWith(fold(m.prefix!));
  if (m.suffix !== undefined) return (v) => fold(v).endsWith(fold(m.suffix!));
  if (m.contains !== undefined) return (v) => fold(v).includes(fold(m.contains!));
  throw new Error('http_health_check.service_name_matcher: no match pattern given');
}

/** `request_headers_to_remove`, then `request_headers_to_add` with Envoy's append actions. */
function applyHeaderOptions(
  headers: [string, string][],
  add: HeaderValueOption[],
  remove: string[],
): [string, string][] {
  const removed = new Set(remove.map((n) => n.toLowerCase()));
  let out = headers.filter(([n]) => !removed.has(n));
  for (const opt of add) {
    const name = opt.header.key.toLowerCase();
    const value =
      opt.header.value ??
      (opt.header.raw_value ? Buffer.from(opt.header.raw_value, 'base64').toString('latin1') : '');
    if (value === '' && !opt.keep_empty_value) continue;
    const action =
      opt.append_action ?? (opt.append === false ? 'OVERWRITE_IF_EXISTS_OR_ADD' : 'APPEND_IF_EXISTS_OR_ADD');
    const exists = out.some(([n]) => n === name);
    if (action === 'ADD_IF_ABSENT' && exists) continue;
    if (action === 'OVERWRITE_IF_EXISTS' && !exists) continue;
    if (action === 'OVERWRITE_IF_EXISTS' || action === 'OVERWRITE_IF_EXISTS_OR_ADD')
      out = out.filter(([n]) => n !== name);
    out.push([name, value]);
  }
  return out;
}

type Verdict =
  | { kind: 'success'; degraded: boolean }
  | { kind: 'failure'; retriable: boolean; reason: string };

export class HttpHealthChecker extends HealthCheckerBase {
  readonly method: string;
  private readonly request: Buffer;
  private readonly expected: Range[];
  private readonly retriable: Range[];
  private readonly receive: Buffer[];
  readonly responseBufferSize: number;
  private readonly serviceNameMatches: ((value: string) => boolean) | undefined;
  private readonly verifyClusterEnabled: () => boolean;

  constructor(params: HealthCheckerParams) {
    super(params);
    const hc = params.config.http_health_check as HttpHealthCheckConfig;
    if (hc.codec_client_type !== undefined && hc.codec_client_type !== 'HTTP1') {
      throw new Error(
        `cluster '${params.clusterName}': http_health_check.codec_client_type ${hc.codec_client_type} ` +
          'is not implemented by meshcraft-proxy; health checks use HTTP/1.1',
      );
    }
    this.method = hc.method && hc.method !== 'METHOD_UNSPECIFIED' ? hc.method : 'GET';
    const body = hc.send ? payloadBytes(hc.send, 'http_health_check.send') : Buffer.alloc(0);
    if (body.length > 0 && METHODS_WITHOUT_BODY.has(this.method)) {
      throw new Error(
        `HTTP health check cannot specify a request payload with method '${this.method}'. ` +
          'Only methods that support a request body (POST, PUT, PATCH, OPTIONS) can be used with payload.',
      );
    }
    this.expected = statusRanges(hc.expected_statuses, 'expected');
    if (this.expected.length === 0) this.expected = [[200, 201]];
    this.retriable = statusRanges(hc.retriable_statuses, 'retriable');
    this.receive = (hc.receive ?? []).map((p, i) => payloadBytes(p, `http_health_check.receive[${i}]`));
    this.responseBufferSize = hc.response_buffer_size || DEFAULT_RESPONSE_BUFFER_SIZE;
    this.serviceNameMatches = hc.service_name_matcher ? stringMatcher(hc.service_name_matcher) : undefined;
    const runtime = params.runtime;
    this.verifyClusterEnabled = () =>
      !runtime ||
      runtime.featureEnabled(
        'health_check.verify_cluster',
        { numerator: 100 },
        Math.floor(params.random() * 100),
      );

    let headers = applyHeaderOptions(
      [
        ['host', hc.host || params.clusterName],
        ['user-agent', 'Envoy/HC'],
      ],
      hc.request_headers_to_add ?? [],
      hc.request_headers_to_remove ?? [],
    );
    if (body.length > 0) headers = [...headers, ['content-length', String(body.length)]];
    const head = `${this.method} ${hc.path} HTTP/1.1\r\n${headers.map(([n, v]) => `${n}: ${v}\r\n`).join('')}\r\n`;
    this.request = Buffer.concat([Buffer.from(head, 'latin1'), body]);
  }

  protected makeSession(host: Host): Session {
    return new HttpSession(this, host);
  }

  requestBytes(): Buffer {
    return this.request;
  }

  /** Envoy's `healthCheckResult`. Sets `excluded_via_immediate_hc_fail` as a side effect. */
  evaluate(r: HttpResponse, host: Host): Verdict {
    const immediateFail = r.headers.has('x-envoy-immediate-health-check-fail');
    if (this.receive.length > 0 && !payloadMatches(this.receive, r.body)) {
      if (immediateFail) host.setFlag('excluded_via_immediate_hc_fail');
      return { kind: 'failure', retriable: false, reason: `status ${r.status}, payload mismatch` };
    }
    if (!inRanges(r.status, this.expected)) {
      // Only a failing status excludes the host: that is how an Envoy that was told
      // /healthcheck/fail answers (503 with the header).
      if (immediateFail) host.setFlag('excluded_via_immediate_hc_fail');
      return { kind: 'failure', retriable: inRanges(r.status, this.retriable), reason: `status ${r.status}` };
    }
    const degraded = r.headers.has('x-envoy-degraded');
    if (this.serviceNameMatches && this.verifyClusterEnabled()) {
      this.stats.verify_cluster.inc();
      const cluster = r.headers.get('x-envoy-upstream-healthchecked-cluster') ?? '';
      if (!this.serviceNameMatches(cluster)) {
        return { kind: 'failure', retriable: false, reason: `service name mismatch ('${cluster}')` };
      }
    }
    return { kind: 'success', degraded };
  }

  /** After a response: close unless the connection is reused and the server keeps it open. */
  shouldClose(r: HttpResponse): boolean {
    if (!this.reuseConnection) return true;
    const connection = (r.headers.get('connection') ?? '').toLowerCase();
    if (connection.includes('close')) return true;
    return r.version === '1.0' && !connection.includes('keep-alive');
  }
}

class HttpSession extends Session {
  private socket: net.Socket | undefined;
  private inFlight = false;

  constructor(
    private readonly checker: HttpHealthChecker,
    host: Host,
  ) {
    super(checker, host);
  }

  protected onInterval(): void {
    const socket = this.socket ?? this.connect();
    this.inFlight = true;
    socket.write(this.checker.requestBytes());
  }

  private connect(): net.Socket {
    const host = this.host;
    const socket = net.connect({ host: host.address, port: host.healthCheckPort ?? host.port });
    socket.setNoDelay(true);
    this.socket = socket;
    const parser = new ResponseParser(this.checker.responseBufferSize, () => this.checker.method === 'HEAD');
    let error = 'connection closed';
    const deliver = (responses: (HttpResponse | undefined)[]) => {
      for (const r of responses) if (r && socket === this.socket) this.onResponse(r);
    };
    socket.on('data', (chunk: Buffer) => {
      if (socket !== this.socket) return;
      try {
        deliver(parser.push(chunk));
      } catch (err) {
        error = `protocol error: ${(err as Error).message}`;
        socket.destroy();
      }
    });
    socket.on('end', () => {
      if (socket === this.socket) deliver([parser.end()]);
    });
    socket.on('error', (err: NodeJS.ErrnoException) => {
      error = err.code ?? err.message;
    });
    socket.on('close', () => {
      if (socket !== this.socket) return;
      this.socket = undefined;
      if (this.inFlight) {
        this.inFlight = false;
        this.handleFailure('network', error);
      }
    });
    return socket;
  }

  private onResponse(r: HttpResponse): void {
    if (!this.inFlight) return;
    this.inFlight = false;
    const verdict = this.checker.evaluate(r, this.host);
    if (this.checker.shouldClose(r)) this.closeSocket();
    if (verdict.kind === 'success') this.handleSuccess(verdict.degraded);
    else this.handleFailure('active', verdict.reason, verdict.retriable);
  }

  private closeSocket(): void {
    const socket = this.socket;
    this.socket = undefined;
    socket?.destroy();
  }

  protected onTimeout(): void {
    this.inFlight = false;
    this.closeSocket();
  }

  protected onDestroy(): void {
    this.closeSocket();
  }
}
