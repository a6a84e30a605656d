/**
 * `/logging`: list the loggers' levels, or change one (`?<logger>=<level>`), several
 * (`?paths=a:debug,b:info`) or all (`?level=`), answering as source/server/admin/logs_handler.cc.
 */
import {
  LOG_LEVELS,
  LOGGER_NAMES,
  type Logger,
  type LoggerName,
  type LogLevel,
  type LogRegistry,
} from '../common/logger.js';
import { type AdminResponse, parseQuery } from './handler.js';

class LoggingError extends Error {}

function parseLevel(level: string): LogLevel {
  if (!(LOG_LEVELS as readonly string[]).includes(level)) throw new LoggingError('unknown logger level');
  return level as LogLevel;
}

function parseName(name: string): LoggerName {
  if (!(LOGGER_NAMES as readonly string[]).includes(name)) throw new LoggingError('unknown logger name');
  return name as LoggerName;
}

/** Applies the change a `/logging` query asks for, all or nothing. */
function changeLevels(params: Map<string, string>, logs: LogRegistry, log: Logger): void {
  if (params.size !== 1) throw new LoggingError('invalid number of parameters');
  const [key, value] = [...params][0]!;
  if (key === 'level') {
    const level = parseLevel(value);
    log.info(`change all log levels: level='${level}'`);
    logs.setAll(level);
    return;
  }
  const changes: [LoggerName, LogLevel][] = [];
  if (key === 'paths') {
    for (const pair of value.split(',').filter((p) => p.trim() !== '')) {
      const colon = pair.indexOf(':');
      const name = colon < 0 ? pair.trim() : pair.slice(0, colon).trim();
      const level = colon < 0 ? '' : pair.slice(colon + 1).trim();
      if (name === '' || level === '') throw new LoggingError('empty logger name or empty logger level');
      changes.push([parseName(name), parseLevel(level)]);
    }
  } else {
    const level = parseLevel(value);
    changes.push([parseName(key), level]);
  }
  for (const [name, level] of changes) {
    log.info(`change log level: name='${name}' level='${level}'`);
    logs.setLevel(name, level);
  }
}

function activeLoggers(logs: LogRegistry): string {
  return `active loggers:\n${logs
    .entries()
    .map(([name, level]) => `  ${name}: ${level}\n`)
    .join('')}\n`;
}

const USAGE =
  'usage: /logging?<name>=<level> (change single level)\n' +
  'usage: /logging?paths=name1:level1,name2:level2,... (change multiple levels)\n' +
  'usage: /logging?level=<level> (change all levels)\n' +
  `levels: ${LOG_LEVELS.map((l) => `${l} `).join('')}\n`;

/** Envoy reads `/logging`'s query without percent-decoding it. */
export function logging(rawQuery: string, logs: LogRegistry, log: Logger): AdminResponse {
  const params = parseQuery(rawQuery, false);
  if (params.size > 0) {
    try {
      changeLevels(params, logs, log);
    } catch (e) {
      if (!(e instanceof LoggingError)) throw e;
      return { status: 400, body: `error: ${e.message}\n\n${USAGE}${activeLoggers(logs)}` };
    }
  }
  return { status: 200, body: activeLoggers(logs) };
}
