/**
 * The admin's access log (`admin.access_log_path`), one line per request in Envoy's default
 * access-log format:
 * `[%START_TIME%] "%REQ(:METHOD)% %REQ(X-ENVOY-ORIGINAL-PATH?:PATH)% %PROTOCOL%" %RESPONSE_CODE%
 * %RESPONSE_FLAGS% %BYTES_RECEIVED% %BYTES_SENT% %DURATION% %RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)%
 * "%REQ(X-FORWARDED-FOR)%" "%REQ(USER-AGENT)%" "%REQ(X-REQUEST-ID)%" "%REQ(:AUTHORITY)%" "%UPSTREAM_HOST%"`.
 * The admin has no upstream and sets no response flags, so those fields are always `-`.
 */
import fs from 'node:fs';
import type { Logger } from '../common/logger.js';
import { DEFAULT_ACCESS_LOG_FORMAT, Formatter } from '../http/formatter.js';
import { HeaderMap } from '../http/headers.js';
import { StreamInfo } from '../http/stream-info.js';

export interface AccessLogEntry {
  startTime: Date;
  method: string;
  /** Path with query, as the request line had it. */
  path: string;
  protocol: string;
  status: number;
  bytesReceived: number;
  bytesSent: number;
  durationMs: number;
  forwardedFor: string | undefined;
  userAgent: string | undefined;
  requestId: string | undefined;
  authority: string | undefined;
}

const DEFAULT_FORMAT = new Formatter(DEFAULT_ACCESS_LOG_FORMAT);

/** One admin request as a line in Envoy's default format (the same formatter the HTTP listeners use). */
export function formatAccessLogLine(e: AccessLogEntry): string {
  const info = new StreamInfo(e.protocol, { address: '', port: 0 }, { address: '', port: 0 }, 0);
  info.startTime = e.startTime;
  const headers = new HeaderMap();
  if (e.forwardedFor) headers.add('x-forwarded-for', e.forwardedFor);
  if (e.userAgent) headers.add('user-agent', e.userAgent);
  if (e.requestId) headers.add('x-request-id', e.requestId);
  info.request = {
    method: e.method,
    path: e.path,
    authority: e.authority ?? '',
    scheme: 'http',
    protocol: e.protocol,
    headers,
  };
  info.responseCode = e.status;
  info.bytesReceived = e.bytesReceived;
  info.bytesSent = e.bytesSent;
  info.lastResponseByteMs = e.durationMs;
  return DEFAULT_FORMAT.format(info);
}

export class AdminAccessLog {
  private stream: fs.WriteStream | undefined;

  /** `/dev/null` (or no path) turns the log off, as the course's configs use it. */
  constructor(
    private readonly path: string | undefined,
    private readonly log: Logger,
  ) {
    this.stream = this.open();
  }

  private open(): fs.WriteStream | undefined {
    if (this.path === undefined || this.path === '' || this.path === '/dev/null') return undefined;
    const stream = fs.createWriteStream(this.path, { flags: 'a' });
    // A log that cannot be written (missing directory, permissions) must not take the admin down.
    stream.on('error', (err) => {
      this.log.error(`cannot write admin access log ${this.path}: ${err.message}`);
      if (this.stream === stream) this.stream = undefined;
    });
    return stream;
  }

  write(entry: AccessLogEntry): void {
    this.stream?.write(formatAccessLogLine(entry));
  }

  /** `/reopen_logs`: start a new file handle, so log rotation (rename + reopen) works. */
  reopen(): void {
    this.stream?.end();
    this.stream = this.open();
  }

  async close(): Promise<void> {
    const stream = this.stream;
    this.stream = undefined;
    if (stream) await new Promise<void>((resolve) => stream.end(resolve));
  }
}
