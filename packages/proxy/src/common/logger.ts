/**
 * Logging in Envoy's default format, `[2022-06-22 11:06:36.102][1][info][main] [file] message`,
 * with per-logger levels that `/logging` can change at run time, as Envoy's can.
 */

export const LOG_LEVELS = ['trace', 'debug', 'info', 'warning', 'error', 'critical', 'off'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** The logger names meshcraft-proxy uses; a subset of Envoy's, with the same meaning. */
export const LOGGER_NAMES = [
  'admin',
  'config',
  'connection',
  'conn_handler',
  'dns',
  'filter',
  'hc',
  'http',
  'main',
  'misc',
  'pool',
  'router',
  'runtime',
  'upstream',
] as const;
export type LoggerName = (typeof LOGGER_NAMES)[number];

function rank(level: LogLevel): number {
  return LOG_LEVELS.indexOf(level);
}

function timestamp(d: Date): string {
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}.${p(d.getMilliseconds(), 3)}`;
}

export class LogRegistry {
  private readonly levels = new Map<LoggerName, LogLevel>();
  private readonly listeners: (() => void)[] = [];
  constructor(
    defaultLevel: LogLevel = 'info',
    private readonly sink: (line: string) => void = (line) => process.stderr.write(line),
  ) {
    for (const name of LOGGER_NAMES) this.levels.set(name, defaultLevel);
  }

  /** A logger for `name`; `where` is the module shown in brackets, as Envoy shows its source file. */
  get(name: LoggerName, where: string): Logger {
    return new Logger(name, where, this);
  }

  level(name: LoggerName): LogLevel {
    return this.levels.get(name) ?? 'info';
  }

  setLevel(name: LoggerName, level: LogLevel): void {
    this.levels.set(name, level);
    for (const cb of this.listeners) cb();
  }

  setAll(level: LogLevel): void {
    for (const name of LOGGER_NAMES) this.levels.set(name, level);
    for (const cb of this.listeners) cb();
  }

  /** Calls `cb` after every level change (the primary of worker processes passes changes on). */
  onChange(cb: () => void): void {
    this.listeners.push(cb);
  }

  entries(): [LoggerName, LogLevel][] {
    return [...this.levels.entries()].sort((a, b) => a[0].localeCompare(b[0]));
  }

  enabled(name: LoggerName, level: LogLevel): boolean {
    return rank(level) >= rank(this.level(name));
  }

  write(name: LoggerName, level: LogLevel, where: string, message: string): void {
    if (!this.enabled(name, level)) return;
    this.sink(`[${timestamp(new Date())}][${process.pid}][${level}][${name}] [${where}] ${message}\n`);
  }
}

export class Logger {
  constructor(
    readonly name: LoggerName,
    private readonly where: string,
    private readonly registry: LogRegistry,
  ) {}

  enabled(level: LogLevel): boolean {
    return this.registry.enabled(this.name, level);
  }

  trace(message: string): void {
    this.registry.write(this.name, 'trace', this.where, message);
  }
  debug(message: string): void {
    this.registry.write(this.name, 'debug', this.where, message);
  }
  info(message: string): void {
    this.registry.write(this.name, 'info', this.where, message);
  }
  warn(message: string): void {
    this.registry.write(this.name, 'warning', this.where, message);
  }
  error(message: string): void {
    this.registry.write(this.name, 'error', this.where, message);
  }
  critical(message: string): void {
    this.registry.write(this.name, 'critical', this.where, message);
  }
}
