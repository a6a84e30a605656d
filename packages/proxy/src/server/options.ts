/**
 * meshcraft-proxy's command line, the same as Envoy's for the options the course and the
 * console use (`-c`, `--config-yaml`, `--mode`, `-l`, `--service-node`, ...), plus one
 * meshcraft-only option (`--dns-hosts`) that the local driver needs.
 */
import fs from 'node:fs';
import { LOG_LEVELS, type LogLevel } from '../common/logger.js';

export interface ServerOptions {
  configPath: string | undefined;
  configYaml: string | undefined;
  mode: 'serve' | 'validate' | 'init_only';
  logLevel: LogLevel;
  componentLogLevel: [string, LogLevel][];
  logPath: string | undefined;
  serviceNode: string | undefined;
  serviceCluster: string | undefined;
  serviceZone: string | undefined;
  concurrency: number;
  drainTimeS: number;
  drainStrategy: 'gradual' | 'immediate';
  parentShutdownTimeS: number;
  baseId: number;
  /** A hosts file (/etc/hosts syntax) that STRICT_DNS/LOGICAL_DNS names resolve through first. */
  dnsHosts: string | undefined;
  /** Envoy's `--admin-address-path`: write the bound admin address to this file. */
  adminAddressPath: string | undefined;
}

export class UsageError extends Error {}

/** Where log lines go: `--log-path` (appended, so worker processes can share it) or stderr. */
export function logSink(logPath: string | undefined): (line: string) => void {
  return logPath ? (line) => fs.appendFileSync(logPath, line) : (line) => process.stderr.write(line);
}

export const USAGE = `USAGE: meshcraft-proxy -c <path> [options]

meshcraft-proxy, a TypeScript work-alike of Envoy that reads Envoy v3 configuration.

Options (as Envoy's):
  -c, --config-path <path>        Path to the bootstrap config (YAML or JSON)
      --config-yaml <yaml>        Inline YAML bootstrap, merged over --config-path
      --mode <serve|validate|init_only>
                                  validate: check the config and exit (0 ok, 1 invalid)
  -l, --log-level <level>         trace, debug, info, warning (warn), error, critical, off
      --component-log-level <logger:level,...>
      --log-path <path>           Write logs to this file instead of stderr
      --service-node <name>       Overrides node.id
      --service-cluster <name>    Overrides node.cluster
      --service-zone <zone>       Overrides node.locality.zone
      --concurrency <n>           Worker processes sharing the listeners (default 1; Envoy's
                                  default is the number of cores)
      --drain-time-s <s>          How long to drain connections on shutdown (default 600)
      --drain-strategy <gradual|immediate>
      --parent-shutdown-time-s <s>
      --base-id <n>
      --admin-address-path <path> Write the admin address here once bound
      --version                   Print the version and exit
  -h, --help                      Print this help and exit

meshcraft only:
      --dns-hosts <path>          Resolve cluster DNS names through this hosts file first
`;

function parseLevel(v: string, flag: string): LogLevel {
  const level = (v === 'warn' ? 'warning' : v) as LogLevel;
  if (!LOG_LEVELS.includes(level)) {
    throw new UsageError(`${flag}: unknown log level '${v}' (use one of ${LOG_LEVELS.join(', ')})`);
  }
  return level;
}

function parseIntFlag(v: string, flag: string, min: number): number {
  if (!/^\d+$/.test(v) || Number(v) < min)
    throw new UsageError(`${flag} must be a whole number ≥ ${min}, got '${v}'`);
  return Number(v);
}

/** Parses argv (without node and script); `--help`/`--version` are reported via the result kind. */
export function parseArgs(
  argv: string[],
): { kind: 'run'; options: ServerOptions } | { kind: 'help' } | { kind: 'version' } {
  const o: ServerOptions = {
    configPath: undefined,
    configYaml: undefined,
    mode: 'serve',
    logLevel: 'info',
    componentLogLevel: [],
    logPath: undefined,
    serviceNode: undefined,
    serviceCluster: undefined,
    serviceZone: undefined,
    concurrency: 1,
    drainTimeS: 600,
    drainStrategy: 'gradual',
    parentShutdownTimeS: 900,
    baseId: 0,
    dnsHosts: undefined,
    adminAddressPath: undefined,
  };
  for (let i = 0; i < argv.length; i++) {
    let arg = argv[i]!;
    let inline: string | undefined;
    const eq = arg.indexOf('=');
    if (arg.startsWith('--') && eq > 0) {
      inline = arg.slice(eq + 1);
      arg = arg.slice(0, eq);
    }
    const value = (): string => {
      if (inline !== undefined) return inline;
      const v = argv[++i];
      if (v === undefined) throw new UsageError(`${arg} needs a value`);
      return v;
    };
    switch (arg) {
      case '-h':
      case '--help':
        return { kind: 'help' };
      case '--version':
        return { kind: 'version' };
      case '-c':
      case '--config-path':
        o.configPath = value();
        break;
      case '--config-yaml':
        o.configYaml = value();
        break;
      case '--mode': {
        const m = value();
        if (m !== 'serve' && m !== 'validate' && m !== 'init_only') {
          throw new UsageError(`--mode must be serve, validate or init_only, got '${m}'`);
        }
        o.mode = m;
        break;
      }
      case '-l':
      case '--log-level':
        o.logLevel = parseLevel(value(), arg);
        break;
      case '--component-log-level':
        for (const part of value().split(',')) {
          const [name, level] = part.split(':');
          if (!name || !level)
            throw new UsageError(`--component-log-level expects logger:level[,logger:level], got '${part}'`);
          o.componentLogLevel.push([name, parseLevel(level, arg)]);
        }
        break;
      case '--log-path':
        o.logPath = value();
        break;
      case '--service-node':
        o.serviceNode = value();
        break;
      case '--service-cluster':
        o.serviceCluster = value();
        break;
      case '--service-zone':
        o.serviceZone = value();
        break;
      case '--concurrency':
        o.concurrency = parseIntFlag(value(), arg, 1);
        break;
      case '--drain-time-s':
        o.drainTimeS = parseIntFlag(value(), arg, 0);
        break;
      case '--drain-strategy': {
        const s = value();
        if (s !== 'gradual' && s !== 'immediate')
          throw new UsageError(`--drain-strategy must be gradual or immediate, got '${s}'`);
        o.drainStrategy = s;
        break;
      }
      case '--parent-shutdown-time-s':
        o.parentShutdownTimeS = parseIntFlag(value(), arg, 0);
        break;
      case '--base-id':
        o.baseId = parseIntFlag(value(), arg, 0);
        break;
      case '--dns-hosts':
        o.dnsHosts = value();
        break;
      case '--admin-address-path':
        o.adminAddressPath = value();
        break;
      // Accepted for compatibility with Envoy command lines; they change nothing here.
      case '--disable-hot-restart':
      case '--enable-mutex-tracing':
      case '--allow-unknown-static-fields':
      case '--reject-unknown-dynamic-fields':
      case '--ignore-unknown-dynamic-fields':
        break;
      case '--restart-epoch':
      case '--local-address-ip-version':
      case '--log-format':
      case '--hot-restart-version':
      case '--file-flush-interval-msec':
        value();
        break;
      default:
        throw new UsageError(`unknown option '${arg}' (see --help)`);
    }
  }
  if (o.configPath === undefined && o.configYaml === undefined) {
    throw new UsageError(
      'At least one of --config-path or --config-yaml or Options::configProto() should be non-empty',
    );
  }
  return { kind: 'run', options: o };
}
