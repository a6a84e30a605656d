/**
 * The server's own state as the admin reports it (source/server/admin/server_info_handler.cc):
 * `/ready`, `/server_info`, `/memory`, `/certs`, `/init_dump`.
 */
import os from 'node:os';
import { formatDuration } from '../common/duration.js';
import type { AdminContext, CertificateDetails, ServerState } from './context.js';
import { nodeWithBuild, versionString } from './version.js';

/** meshcraft-proxy has no hot restart; Envoy's answer then is `disabled`. */
export const HOT_RESTART_VERSION = 'disabled';

/** Envoy's Utility::serverState: an initialized server whose health checks are failed is DRAINING. */
export function effectiveState(context: Pick<AdminContext, 'state' | 'healthCheckFailed'>): ServerState {
  const state = context.state();
  return state === 'LIVE' && context.healthCheckFailed() ? 'DRAINING' : state;
}

/**
 * `envoy.admin.v3.CommandLineOptions` with Envoy's defaults, in declaration order (Envoy prints it
 * with every primitive field). Hot restart is off: meshcraft-proxy has none.
 */
function commandLineDefaults(): Record<string, unknown> {
  return {
    base_id: '0',
    use_dynamic_base_id: false,
    skip_hot_restart_on_no_parent: false,
    skip_hot_restart_parent_stats: false,
    base_id_path: '',
    concurrency: os.availableParallelism(),
    config_path: '',
    config_yaml: '',
    allow_unknown_static_fields: false,
    reject_unknown_dynamic_fields: false,
    ignore_unknown_dynamic_fields: false,
    admin_address_path: '',
    local_address_ip_version: 'v4',
    log_level: 'info',
    component_log_level: '',
    log_format: '[%Y-%m-%d %T.%e][%t][%l][%n] [%g:%#] %v',
    log_format_escaped: false,
    log_path: '',
    service_cluster: '',
    service_node: '',
    service_zone: '',
    file_flush_interval: '10s',
    drain_time: '600s',
    drain_strategy: 'Gradual',
    parent_shutdown_time: '900s',
    mode: 'Serve',
    disable_hot_restart: true,
    enable_mutex_tracing: false,
    restart_epoch: 0,
    cpuset_threads: false,
    disabled_extensions: [],
    enable_fine_grain_logging: false,
    socket_path: '@envoy_domain_socket',
    socket_mode: 0,
    enable_core_dump: false,
    stats_tag: [],
  };
}

const ENUM_SPELLINGS: Record<string, Record<string, string>> = {
  mode: { serve: 'Serve', validate: 'Validate', init_only: 'InitOnly' },
  drain_strategy: { gradual: 'Gradual', immediate: 'Immediate' },
};

/**
 * The context's command line over Envoy's defaults, as Envoy's OptionsImpl::toCommandLineOptions
 * gives it. Keys may be CommandLineOptions field names or their camelCase spellings (seconds as
 * `drainTimeS`); keys the proto does not have (meshcraft-proxy's own flags) are left out.
 */
export function commandLineOptions(commandLine: Record<string, unknown>): Record<string, unknown> {
  const options = commandLineDefaults();
  for (const [rawKey, rawValue] of Object.entries(commandLine)) {
    let key = rawKey.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
    let value = rawValue;
    if (key.endsWith('_time_s') && typeof value === 'number') {
      key = key.slice(0, -'_s'.length);
      value = `${value}s`;
    } else if (key === 'base_id' && typeof value === 'number') {
      value = String(value);
    } else if (key === 'component_log_level' && Array.isArray(value)) {
      value = value.map(([name, level]) => `${name}:${level}`).join(',');
    } else if (typeof value === 'string') {
      value = ENUM_SPELLINGS[key]?.[value] ?? value;
    }
    if (key in options && value !== undefined) options[key] = value;
  }
  return options;
}

export function serverInfo(context: AdminContext, now = new Date()): Record<string, unknown> {
  const uptime = formatDuration(
    Math.max(0, Math.floor((now.getTime() - context.startedAt.getTime()) / 1000)) * 1000,
  );
  return {
    version: versionString(),
    state: effectiveState(context),
    uptime_current_epoch: uptime,
    uptime_all_epochs: uptime,
    hot_restart_version: HOT_RESTART_VERSION,
    command_line_options: commandLineOptions(context.commandLine),
    node: nodeWithBuild(context.config().bootstrap.node),
  };
}

/** `envoy.admin.v3.Memory` from the V8 heap and the process RSS; uint64 fields are JSON strings. */
export function memory(): Record<string, string> {
  const usage = process.memoryUsage();
  return {
    allocated: String(usage.heapUsed),
    heap_size: String(usage.heapTotal),
    pageheap_unmapped: '0',
    pageheap_free: '0',
    total_thread_cache: '0',
    total_physical_bytes: String(usage.rss),
  };
}

const CERTIFICATE_FIELDS = [
  'path',
  'serial_number',
  'subject_alt_names',
  'days_until_expiration',
  'valid_from',
  'expiration_time',
] as const;

/** `envoy.admin.v3.Certificates`, fields in the order Envoy prints them. */
export function certificates(context: AdminContext): Record<string, unknown> {
  const ordered = (cert: CertificateDetails) =>
    Object.fromEntries(CERTIFICATE_FIELDS.map((f) => [f, cert[f]]));
  return {
    certificates: context
      .certs()
      .map((c) => ({ ca_cert: c.ca_cert.map(ordered), cert_chain: c.cert_chain.map(ordered) })),
  };
}

/** `envoy.admin.v3.UnreadyTargetsDumps`: empty (`{}`) once everything is initialized. */
export function initDump(context: AdminContext): Record<string, unknown> {
  const dumps = context.unreadyTargets?.() ?? [];
  return dumps.length > 0 ? { unready_targets_dumps: dumps } : {};
}
