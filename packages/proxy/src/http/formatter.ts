/**
 * Envoy's substitution formatter: `%COMMAND(arg):maxlen%` operators in access-log formats and
 * in header values (`request_headers_to_add`). Format strings are compiled once; an unknown
 * operator is a configuration error, as in Envoy.
 */
import os from 'node:os';
import { formatEndpoint, type StreamInfo } from './stream-info.js';

/** Envoy's default access-log format (used when a file/stdout logger sets no format). */
export const DEFAULT_ACCESS_LOG_FORMAT =
  '[%START_TIME%] "%REQ(:METHOD)% %REQ(X-ENVOY-ORIGINAL-PATH?:PATH)% %PROTOCOL%" %RESPONSE_CODE% %RESPONSE_FLAGS% ' +
  '%BYTES_RECEIVED% %BYTES_SENT% %DURATION% %RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)% "%REQ(X-FORWARDED-FOR)%" ' +
  '"%REQ(USER-AGENT)%" "%REQ(X-REQUEST-ID)%" "%REQ(:AUTHORITY)%" "%UPSTREAM_HOST%"\n';

/** Envoy's default format for TCP proxy access logs. */
export const DEFAULT_TCP_ACCESS_LOG_FORMAT =
  '[%START_TIME%] "- - -" 0 %RESPONSE_FLAGS% %BYTES_RECEIVED% %BYTES_SENT% %DURATION% - "-" "-" "-" "-" "%UPSTREAM_HOST%"\n';

export class FormatError extends Error {}

type Part = string | ((info: StreamInfo) => string | undefined);

/** Where `%DURATION%` etc. have nothing to print Envoy prints `-`. */
const DASH = '-';

function headerLookup(info: StreamInfo, which: 'REQ' | 'RESP' | 'TRAILER', arg: string): string | undefined {
  const [main, alt] = arg.split('?').map((s) => s.toLowerCase());
  const get = (name: string): string | undefined => {
    if (which === 'REQ') {
      const r = info.request;
      if (!r) return undefined;
      if (name === ':method') return r.method;
      if (name === ':path') return r.path;
      if (name === ':authority') return r.authority || undefined;
      if (name === ':scheme') return r.scheme;
      return r.headers.get(name);
    }
    const h = which === 'RESP' ? info.responseHeaders : info.responseTrailers;
    if (which === 'RESP' && name === ':status') return info.responseCode?.toString();
    return h?.get(name);
  };
  const v = get(main!);
  return v !== undefined || alt === undefined ? v : get(alt);
}

/** strftime-style `%START_TIME(%Y-%m-%dT%H:%M:%S.%3fZ)%` subset; default is ISO 8601 with ms. */
function formatStartTime(d: Date, pattern: string | undefined): string {
  if (!pattern) return d.toISOString();
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  return pattern.replace(/%(\d?)([YmdHMSfsz%])/g, (_, digits: string, c: string) => {
    switch (c) {
      case 'Y':
        return String(d.getUTCFullYear());
      case 'm':
        return p(d.getUTCMonth() + 1);
      case 'd':
        return p(d.getUTCDate());
      case 'H':
        return p(d.getUTCHours());
      case 'M':
        return p(d.getUTCMinutes());
      case 'S':
        return p(d.getUTCSeconds());
      case 'f': {
        const n = digits ? Number(digits) : 9;
        return p(d.getUTCMilliseconds(), 3).padEnd(9, '0').slice(0, n);
      }
      case 's':
        return String(Math.floor(d.getTime() / 1000));
      case 'z':
        return '+0000';
      default:
        return '%';
    }
  });
}

function ms(v: number | undefined): string | undefined {
  return v === undefined ? undefined : String(Math.round(v));
}

function command(name: string, arg: string | undefined): (info: StreamInfo) => string | undefined {
  switch (name) {
    case 'START_TIME':
      return (i) => formatStartTime(i.startTime, arg);
    case 'REQ':
    case 'RESP':
    case 'TRAILER':
      if (!arg) throw new FormatError(`%${name}%: missing header name, e.g. %${name}(user-agent)%`);
      return (i) => headerLookup(i, name, arg);
    case 'PROTOCOL':
      return (i) => i.protocol;
    case 'RESPONSE_CODE':
      return (i) => String(i.responseCode ?? 0);
    case 'RESPONSE_CODE_DETAILS':
      return (i) => i.responseCodeDetails || undefined;
    case 'RESPONSE_FLAGS':
      return (i) => i.flagsString();
    case 'BYTES_RECEIVED':
      return (i) => String(i.bytesReceived);
    case 'BYTES_SENT':
      return (i) => String(i.bytesSent);
    case 'DURATION':
      return (i) => ms(i.lastResponseByteMs ?? i.elapsedMs());
    case 'REQUEST_DURATION':
      return (i) => ms(i.requestCompleteMs);
    case 'RESPONSE_DURATION':
      return (i) => ms(i.firstResponseByteMs);
    case 'RESPONSE_TX_DURATION':
      return (i) =>
        i.lastResponseByteMs !== undefined && i.firstResponseByteMs !== undefined
          ? ms(i.lastResponseByteMs - i.firstResponseByteMs)
          : undefined;
    case 'UPSTREAM_HOST':
      return (i) => i.upstreamHost?.key;
    case 'UPSTREAM_CLUSTER':
      return (i) => i.upstreamCluster;
    case 'UPSTREAM_LOCAL_ADDRESS':
      return (i) => (i.upstreamLocalAddress ? formatEndpoint(i.upstreamLocalAddress) : undefined);
    case 'UPSTREAM_TRANSPORT_FAILURE_REASON':
      return (i) => i.upstreamTransportFailureReason || undefined;
    case 'UPSTREAM_REQUEST_ATTEMPT_COUNT':
      return (i) => String(i.attemptCount);
    case 'DOWNSTREAM_REMOTE_ADDRESS':
    case 'DOWNSTREAM_DIRECT_REMOTE_ADDRESS':
      return (i) => formatEndpoint(i.downstreamRemote);
    case 'DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT':
    case 'DOWNSTREAM_DIRECT_REMOTE_ADDRESS_WITHOUT_PORT':
      return (i) => i.downstreamRemote.address;
    case 'DOWNSTREAM_REMOTE_PORT':
      return (i) => String(i.downstreamRemote.port);
    case 'DOWNSTREAM_LOCAL_ADDRESS':
      return (i) => formatEndpoint(i.downstreamLocal);
    case 'DOWNSTREAM_LOCAL_ADDRESS_WITHOUT_PORT':
      return (i) => i.downstreamLocal.address;
    case 'DOWNSTREAM_LOCAL_PORT':
      return (i) => String(i.downstreamLocal.port);
    case 'REQUESTED_SERVER_NAME':
      return (i) => i.requestedServerName || undefined;
    case 'ROUTE_NAME':
      return (i) => i.routeName || undefined;
    case 'VIRTUAL_CLUSTER_NAME':
      return () => undefined;
    case 'CONNECTION_ID':
      return (i) => String(i.connectionId);
    case 'HOSTNAME': {
      const h = os.hostname();
      return () => h;
    }
    default:
      throw new FormatError(`Not supported field in StreamInfo: ${name}`);
  }
}

const OPERATOR = /%([A-Z_0-9]+)(?:\(([^)]*)\))?(?::(\d+))?%/g;

export class Formatter {
  private readonly parts: Part[] = [];

  /** Compiles `format`; throws FormatError on an unknown operator. */
  constructor(format: string) {
    let last = 0;
    // `%%` is a literal percent sign.
    const text = format;
    for (const m of text.matchAll(OPERATOR)) {
      const idx = m.index ?? 0;
      if (idx > last) this.parts.push(text.slice(last, idx).replace(/%%/g, '%'));
      const fn = command(m[1]!, m[2]);
      const max = m[3] ? Number(m[3]) : undefined;
      this.parts.push(max === undefined ? fn : (i) => fn(i)?.slice(0, max));
      last = idx + m[0].length;
    }
    if (last < text.length) this.parts.push(text.slice(last).replace(/%%/g, '%'));
  }

  /** Access-log rendering: missing values print as `-`. */
  format(info: StreamInfo): string {
    let s = '';
    for (const p of this.parts) s += typeof p === 'string' ? p : (p(info) ?? DASH);
    return s;
  }

  /** Header-value rendering: missing values print as empty. */
  formatValue(info: StreamInfo): string {
    let s = '';
    for (const p of this.parts) s += typeof p === 'string' ? p : (p(info) ?? '');
    return s;
  }

  /** True when the format has no operators (header values are usually literals; skip the work). */
  get isLiteral(): boolean {
    return this.parts.every((p) => typeof p === 'string');
  }
}
