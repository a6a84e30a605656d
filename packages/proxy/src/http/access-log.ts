/**
 * File and stdout/stderr access loggers (`envoy.access_loggers.file`, `.stdout`, `.stderr`) with
 * Envoy's default format, `text_format_source`/`text_format`, or `json_format`.
 */
import fs from 'node:fs';
import type { AccessLog } from '../config/types.js';
import { Formatter } from './formatter.js';
import type { StreamInfo } from './stream-info.js';

interface LogFormatConfig {
  text_format?: string;
  text_format_source?: { inline_string?: string };
  json_format?: Record<string, unknown>;
  omit_empty_values?: boolean;
}

interface LoggerConfig {
  '@type'?: string;
  path?: string;
  log_format?: LogFormatConfig;
  /** Deprecated top-level forms of FileAccessLog. */
  format?: string;
  json_format?: Record<string, unknown>;
}

export interface AccessLogger {
  log(info: StreamInfo): void;
  close(): void;
}

/** One compiled line format: text or JSON, each value a formatter. */
class LineFormat {
  private readonly text: Formatter | undefined;
  private readonly json: [string, Formatter | unknown][] | undefined;

  constructor(config: LoggerConfig, defaultFormat: string) {
    const lf = config.log_format;
    const jsonFormat = lf?.json_format ?? config.json_format;
    if (jsonFormat) {
      this.json = Object.entries(jsonFormat).map(([k, v]) => [
        k,
        typeof v === 'string' ? new Formatter(v) : v,
      ]);
    } else {
      this.text = new Formatter(
        lf?.text_format_source?.inline_string ?? lf?.text_format ?? config.format ?? defaultFormat,
      );
    }
  }

  render(info: StreamInfo): string {
    if (this.text) return this.text.format(info);
    const obj: Record<string, unknown> = {};
    for (const [k, v] of this.json!) {
      if (v instanceof Formatter) {
        const s = v.format(info);
        // Envoy's JSON logger emits numbers for purely numeric operator results.
        obj[k] = s === '-' ? null : /^\d+$/.test(s) ? Number(s) : s;
      } else obj[k] = v;
    }
    return `${JSON.stringify(obj)}\n`;
  }
}

class StreamAccessLogger implements AccessLogger {
  private fd: number | undefined;
  constructor(
    private readonly format: LineFormat,
    target: { fd: number } | { path: string },
  ) {
    if ('fd' in target) this.fd = target.fd;
    else if (target.path === '/dev/stdout') this.fd = 1;
    else if (target.path === '/dev/stderr') this.fd = 2;
    else this.fd = fs.openSync(target.path, 'a');
  }

  log(info: StreamInfo): void {
    if (this.fd === undefined) return;
    const line = this.format.render(info);
    // Synchronous append keeps lines whole and ordered; access logs are small and this is how
    // Envoy's file logger behaves from the caller's point of view (buffered, flushed in order).
    try {
      fs.writeSync(this.fd, line);
    } catch {
      // A closed stdout (pipe gone) must not take the proxy down.
    }
  }

  close(): void {
    if (this.fd !== undefined && this.fd > 2) fs.closeSync(this.fd);
    this.fd = undefined;
  }
}

/** Creates the loggers of an `access_log` list; `defaultFormat` differs for HTTP and TCP. */
export function createAccessLoggers(configs: AccessLog[] | undefined, defaultFormat: string): AccessLogger[] {
  return (configs ?? []).map((c) => {
    const tc = (c.typed_config ?? {}) as LoggerConfig;
    const type = tc['@type'] ?? '';
    const format = new LineFormat(tc, defaultFormat);
    if (type.endsWith('.StdoutAccessLog') || c.name === 'envoy.access_loggers.stdout')
      return new StreamAccessLogger(format, { fd: 1 });
    if (type.endsWith('.StderrAccessLog') || c.name === 'envoy.access_loggers.stderr')
      return new StreamAccessLogger(format, { fd: 2 });
    return new StreamAccessLogger(format, { path: tc.path ?? '/dev/stdout' });
  });
}
