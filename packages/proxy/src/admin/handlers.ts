/**
 * Every admin endpoint with Envoy 1.21's help text (source/server/admin/admin.cc), whether it
 * mutates the server (POST only), and what it answers. Handlers read and act only through the
 * {@link AdminContext}.
 */
import type { Logger } from '../common/logger.js';
import { RuntimeError } from '../runtime/runtime.js';
import { parseStatsParams, renderStats, StatsParamsError } from '../stats/render.js';
import { clustersJson, clustersText } from './clusters.js';
import { configDump } from './config-dump.js';
import type { AdminContext } from './context.js';
import {
  type AdminRequest,
  type AdminResponse,
  CONTENT_TYPE,
  jsonResponse,
  parseQuery,
  textResponse,
  type UrlHandler,
} from './handler.js';
import { homePage } from './home.js';
import { listenersJson, listenersText } from './listeners.js';
import { logging } from './logging.js';
import {
  certificates,
  effectiveState,
  HOT_RESTART_VERSION,
  initDump,
  memory,
  serverInfo,
} from './server-info.js';

export interface AdminHooks {
  /** `/reopen_logs` reopens the admin's own access log too. */
  reopenAdminAccessLog(): void;
}

/** `admin commands are:` and one `  /path: help` line per endpoint, sorted by path. */
export function helpText(handlers: readonly UrlHandler[]): string {
  const sorted = [...handlers].sort((a, b) => (a.prefix < b.prefix ? -1 : a.prefix > b.prefix ? 1 : 0));
  return `admin commands are:\n${sorted.map((h) => `  ${h.prefix}: ${h.help}\n`).join('')}`;
}

/** Envoy's answer to a state-changing request sent with another method than POST. */
export function methodNotAllowed(request: AdminRequest, log: Logger): AdminResponse {
  log.error(`admin path "${request.path}" mutates state, method=${request.method} rather than POST`);
  return textResponse(`Method ${request.method} not allowed, POST required.`, 405);
}

const OK = 'OK\n';

function statsResponse(context: AdminContext, query: ReadonlyMap<string, string>): AdminResponse {
  try {
    const params = parseStatsParams(query);
    const body = renderStats(context.store, params);
    return params.format === 'json'
      ? { status: 200, body, contentType: CONTENT_TYPE.json }
      : textResponse(body);
  } catch (e) {
    if (e instanceof StatsParamsError) return textResponse(e.message, 400);
    throw e;
  }
}

function runtimeModify(context: AdminContext, request: AdminRequest): AdminResponse {
  let params = request.query;
  if (params.size === 0 && request.contentType?.startsWith('application/x-www-form-urlencoded')) {
    params = parseQuery(request.body, true);
  }
  if (params.size === 0) {
    return textResponse(
      'usage: /runtime_modify?key1=value1&key2=value2&keyN=valueN\n' +
        '       or send the parameters as form values\n' +
        'use an empty value to remove a previously added override',
      400,
    );
  }
  try {
    context.runtime.modify(Object.fromEntries(params));
  } catch (e) {
    if (e instanceof RuntimeError) return textResponse(e.message, 503);
    throw e;
  }
  return textResponse(OK);
}

/** The profilers take exactly `?enable=y|n`; meshcraft-proxy has no CPU profiler to start. */
function cpuProfiler(request: AdminRequest): AdminResponse {
  const params = parseQuery(request.rawQuery, false);
  const enable = params.get('enable');
  if (params.size !== 1 || (enable !== 'y' && enable !== 'n')) return textResponse('?enable=<y|n>\n', 400);
  return enable === 'y' ? textResponse('failure to start the profiler', 500) : textResponse(OK);
}

export function createHandlers(context: AdminContext, hooks: AdminHooks, log: Logger): UrlHandler[] {
  // Stat names are resolved when components are built, so there are never recent lookups to list;
  // only whether tracking is on changes what /stats/recentlookups says.
  let recentLookupsEnabled = false;
  const handler = (
    prefix: string,
    help: string,
    mutatesState: boolean,
    handle: (request: AdminRequest) => AdminResponse,
  ): UrlHandler => ({ prefix, help, mutatesState, handle });

  const handlers: UrlHandler[] = [
    handler('/', 'Admin home page', false, () => ({
      status: 200,
      body: homePage(handlers),
      contentType: CONTENT_TYPE.html,
    })),
    handler('/certs', 'print certs on machine', false, () => jsonResponse(certificates(context))),
    handler('/clusters', 'upstream cluster status', false, (r) =>
      r.query.get('format') === 'json'
        ? jsonResponse(clustersJson(context.clusters()))
        : textResponse(clustersText(context.clusters())),
    ),
    handler('/config_dump', 'dump current Envoy configs (experimental)', false, (r) => {
      const result = configDump(context.config(), context.clusters(), {
        resource: r.query.get('resource') || undefined,
        mask: r.query.get('mask') || undefined,
        nameRegex: r.query.get('name_regex') || undefined,
        includeEds: r.query.has('include_eds'),
      });
      return result.ok ? jsonResponse(result.dump) : textResponse(result.message, result.status);
    }),
    handler('/contention', 'dump current Envoy mutex contention stats (if enabled)', false, () =>
      textResponse(
        'Mutex contention tracing is not enabled. To enable, run Envoy with flag --enable-mutex-tracing.',
      ),
    ),
    handler('/cpuprofiler', 'enable/disable the CPU profiler', true, cpuProfiler),
    handler('/drain_listeners', 'drain listeners', true, (r) => {
      context.drainListeners({ inboundOnly: r.query.has('inboundonly'), graceful: r.query.has('graceful') });
      return textResponse(OK);
    }),
    handler('/healthcheck/fail', 'cause the server to fail health checks', true, () => {
      context.setHealthCheckFailed(true);
      return textResponse(OK);
    }),
    handler('/healthcheck/ok', 'cause the server to pass health checks', true, () => {
      context.setHealthCheckFailed(false);
      return textResponse(OK);
    }),
    handler('/heapprofiler', 'enable/disable the heap profiler', true, () =>
      textResponse('The current build does not support heap profiler', 501),
    ),
    handler('/help', 'print out list of admin commands', false, () => textResponse(helpText(handlers))),
    handler('/hot_restart_version', 'print the hot restart compatibility version', false, () =>
      textResponse(HOT_RESTART_VERSION),
    ),
    handler('/init_dump', 'dump current Envoy init manager information (experimental)', false, () =>
      jsonResponse(initDump(context)),
    ),
    handler('/listeners', 'print listener info', false, (r) =>
      r.query.get('format') === 'json'
        ? jsonResponse(listenersJson(context.listeners()))
        : textResponse(listenersText(context.listeners())),
    ),
    // Envoy takes /logging by POST only; listing the levels with GET is harmless and the console
    // uses it, so only a change needs POST.
    handler('/logging', 'query/change logging levels', false, (r) =>
      r.rawQuery !== '' && r.method !== 'POST'
        ? methodNotAllowed(r, log)
        : logging(r.rawQuery, context.logs, log),
    ),
    handler('/memory', 'print current allocation/heap usage', false, () => jsonResponse(memory())),
    handler('/quitquitquit', 'exit the server', true, () => ({
      status: 200,
      body: OK,
      afterSend: () => context.quit(),
    })),
    handler('/ready', 'print server state, return 200 if LIVE, otherwise return 503', false, () => {
      const state = effectiveState(context);
      return textResponse(`${state}\n`, state === 'LIVE' ? 200 : 503);
    }),
    handler('/reopen_logs', 'reopen access logs', true, () => {
      hooks.reopenAdminAccessLog();
      context.reopenAccessLogs?.();
      return textResponse(OK);
    }),
    handler('/reset_counters', 'reset all counters to zero', true, () => {
      context.store.resetCounters();
      return textResponse(OK);
    }),
    handler('/runtime', 'print runtime values', false, () => jsonResponse(context.runtime.dump())),
    handler('/runtime_modify', 'modify runtime values', true, (r) => runtimeModify(context, r)),
    handler('/server_info', 'print server version/status information', false, () =>
      jsonResponse(serverInfo(context)),
    ),
    handler('/stats', 'print server stats', false, (r) => statsResponse(context, r.query)),
    handler('/stats/prometheus', 'print server stats in prometheus format', false, (r) => {
      const query = new Map(r.query);
      query.set('format', 'prometheus');
      return statsResponse(context, query);
    }),
    handler('/stats/recentlookups', 'Show recent stat-name lookups', false, () =>
      textResponse(
        recentLookupsEnabled
          ? '   Count Lookup\n\ntotal: 0\n'
          : 'Lookup tracking is not enabled. Use /stats/recentlookups/enable to enable.\n\ntotal: 0\n',
      ),
    ),
    handler('/stats/recentlookups/clear', 'clear list of stat-name lookups and counter', true, () =>
      textResponse(OK),
    ),
    handler('/stats/recentlookups/disable', 'disable recording of reset stat-name lookup names', true, () => {
      recentLookupsEnabled = false;
      return textResponse(OK);
    }),
    handler('/stats/recentlookups/enable', 'enable recording of reset stat-name lookup names', true, () => {
      recentLookupsEnabled = true;
      return textResponse(OK);
    }),
  ];
  return handlers;
}
