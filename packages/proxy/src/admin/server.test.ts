import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createTestContext, startTestAdmin, type TestAdmin, type TestContext } from './test-context.js';
import { PROXY_VERSION } from './version.js';

// Lab 6's `curl 172.31.5.2:9901/help`, verbatim from the course notes.
const LAB6_HELP = `admin commands are:
  /: Admin home page
  /certs: print certs on machine
  /clusters: upstream cluster status
  /config_dump: dump current Envoy configs (experimental)
  /contention: dump current Envoy mutex contention stats (if enabled)
  /cpuprofiler: enable/disable the CPU profiler
  /drain_listeners: drain listeners
  /healthcheck/fail: cause the server to fail health checks
  /healthcheck/ok: cause the server to pass health checks
  /heapprofiler: enable/disable the heap profiler
  /help: print out list of admin commands
  /hot_restart_version: print the hot restart compatibility version
  /init_dump: dump current Envoy init manager information (experimental)
  /listeners: print listener info
  /logging: query/change logging levels
  /memory: print current allocation/heap usage
  /quitquitquit: exit the server
  /ready: print server state, return 200 if LIVE, otherwise return 503
  /reopen_logs: reopen access logs
  /reset_counters: reset all counters to zero
  /runtime: print runtime values
  /runtime_modify: modify runtime values
  /server_info: print server version/status information
  /stats: print server stats
  /stats/prometheus: print server stats in prometheus format
  /stats/recentlookups: Show recent stat-name lookups
  /stats/recentlookups/clear: clear list of stat-name lookups and counter
  /stats/recentlookups/disable: disable recording of reset stat-name lookup names
  /stats/recentlookups/enable: enable recording of reset stat-name lookup names
`;

// Lab 7's `curl 172.31.14.2:9901/runtime`, verbatim from the course notes.
const LAB7_RUNTIME = `{
 "entries": {
  "health_check.min_interval": {
   "layer_values": [
    "5",
    ""
   ],
   "final_value": "5"
  }
 },
 "layers": [
  "static_layer_0",
  "admin_layer_0"
 ]
}
`;

let context: TestContext;
let admin: TestAdmin;

beforeEach(async () => {
  context = createTestContext();
  admin = await startTestAdmin(context);
});

afterEach(async () => {
  await admin.server.close();
});

describe('routing and answers common to every endpoint', () => {
  it('prints the help text of the notes', async () => {
    const res = await admin.get('/help');
    expect(await res.text()).toBe(LAB6_HELP);
  });

  it('answers unknown paths with 404 and the help text', async () => {
    const res = await admin.get('/nope');
    expect(res.status).toBe(404);
    expect(await res.text()).toBe(`invalid path. ${LAB6_HELP}`);
    // Paths match exactly: a trailing slash is another path.
    expect((await admin.get('/stats/')).status).toBe(404);
  });

  it("sends Envoy's admin headers", async () => {
    const res = await admin.get('/ready');
    expect(res.headers.get('cache-control')).toBe('no-cache, max-age=0');
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(res.headers.get('content-type')).toBe('text/plain; charset=UTF-8');
    expect((await admin.get('/runtime')).headers.get('content-type')).toBe('application/json');
    expect((await admin.get('/')).headers.get('content-type')).toBe('text/html; charset=UTF-8');
  });

  it('refuses mutations without POST, and does nothing', async () => {
    for (const p of [
      '/quitquitquit',
      '/healthcheck/fail',
      '/reset_counters',
      '/runtime_modify?a=b',
      '/drain_listeners',
    ]) {
      const res = await admin.get(p);
      expect(res.status, p).toBe(405);
      expect(await res.text()).toBe('Method GET not allowed, POST required.');
    }
    const put = await fetch(admin.url('/quitquitquit'), { method: 'PUT' });
    expect(await put.text()).toBe('Method PUT not allowed, POST required.');
    expect(context.calls.quit).toBe(0);
    expect(context.healthCheckFailed()).toBe(false);
    expect(context.calls.drain).toEqual([]);
    expect(context.logLines.join('')).toContain(
      '[error][admin] [source/server/admin/admin.cc] admin path "/quitquitquit" mutates state, method=GET rather than POST',
    );
  });

  it('serves a home page linking every endpoint, POST ones as forms', async () => {
    const html = await (await admin.get('/')).text();
    expect(html).toContain("<a href='stats'>stats</a>");
    expect(html).toContain("<form action='/quitquitquit' method='post'");
    expect(html).toContain('print server version/status information');
  });

  it('writes the admin access log in Envoy format', async () => {
    await admin.server.close();
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'admin-log-'));
    const logPath = path.join(dir, 'admin_access.log');
    admin = await startTestAdmin(context, logPath);
    await fetch(admin.url('/ready?x=1'), { headers: { 'user-agent': 'curl/7.68.0' } });
    await admin.server.close();
    const line = fs.readFileSync(logPath, 'utf8');
    expect(line).toMatch(
      new RegExp(
        `^\\[\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{3}Z\\] "GET /ready\\?x=1 HTTP/1.1" 200 - 0 5 \\d+ - "-" "curl/7.68.0" "-" "127.0.0.1:${admin.server.port}" "-"\\n$`,
      ),
    );
    fs.rmSync(dir, { recursive: true });
  });
});

describe('/ready and /healthcheck', () => {
  it('is LIVE with 200, otherwise the state with 503', async () => {
    let res = await admin.get('/ready');
    expect([res.status, await res.text()]).toEqual([200, 'LIVE\n']);
    context.serverState = 'INITIALIZING';
    res = await admin.get('/ready');
    expect([res.status, await res.text()]).toEqual([503, 'INITIALIZING\n']);
  });

  it('reports DRAINING while health checks are failed', async () => {
    expect(await (await admin.post('/healthcheck/fail')).text()).toBe('OK\n');
    expect(context.healthCheckFailed()).toBe(true);
    const res = await admin.get('/ready');
    expect([res.status, await res.text()]).toEqual([503, 'DRAINING\n']);
    await admin.post('/healthcheck/ok');
    expect((await admin.get('/ready')).status).toBe(200);
  });
});

describe('/listeners', () => {
  it('prints name::address:port, as lab 6 shows', async () => {
    expect(await (await admin.get('/listeners')).text()).toBe('listener_0::0.0.0.0:80\n');
  });

  it('is envoy.admin.v3.Listeners with ?format=json', async () => {
    const res = await admin.get('/listeners?format=json');
    expect(await res.text()).toBe(
      '{\n "listener_statuses": [\n  {\n   "name": "listener_0",\n   "local_address": {\n    "socket_address": {\n' +
        '     "address": "0.0.0.0",\n     "port_value": 80\n    }\n   }\n  }\n ]\n}\n',
    );
  });
});

describe('/runtime and /runtime_modify', () => {
  it("prints lab 7's runtime, then the admin layer's overrides", async () => {
    expect(await (await admin.get('/runtime')).text()).toBe(LAB7_RUNTIME);
    expect(
      await (
        await admin.post('/runtime_modify?health_check.min_interval=10&routing.traffic_shift.web=30')
      ).text(),
    ).toBe('OK\n');
    const after = await admin.json('/runtime?format=json');
    expect(after.entries['health_check.min_interval']).toEqual({
      layer_values: ['5', '10'],
      final_value: '10',
    });
    expect(after.entries['routing.traffic_shift.web']).toEqual({
      layer_values: ['', '30'],
      final_value: '30',
    });
    expect(context.runtime.getInteger('routing.traffic_shift.web', 0)).toBe(30);
  });

  it('takes form values, and an empty value removes an override', async () => {
    const form = { headers: { 'content-type': 'application/x-www-form-urlencoded' } };
    await admin.post('/runtime_modify', { ...form, body: 'health_check.min_interval=10' });
    expect(context.runtime.get('health_check.min_interval')).toBe('10');
    await admin.post('/runtime_modify', { ...form, body: 'health_check.min_interval=' });
    expect(context.runtime.get('health_check.min_interval')).toBe('5');
  });

  it('answers without parameters with the usage, and without an admin layer as Envoy does', async () => {
    const usage = await admin.post('/runtime_modify');
    expect(usage.status).toBe(400);
    expect(await usage.text()).toBe(
      'usage: /runtime_modify?key1=value1&key2=value2&keyN=valueN\n       or send the parameters as form values\n' +
        'use an empty value to remove a previously added override',
    );
    await admin.server.close();
    context = createTestContext({
      layered_runtime: { layers: [{ name: 'static', static_layer: { a: 1 } }] },
    });
    admin = await startTestAdmin(context);
    const res = await admin.post('/runtime_modify?a=2');
    expect([res.status, await res.text()]).toEqual([503, 'No admin layer specified']);
  });
});

describe('/stats over HTTP', () => {
  beforeEach(() => {
    context.store.counter('cluster.local_cluster.upstream_rq_200').inc(2);
    context.store.gauge('server.live', 'NeverImport').set(1);
  });

  it('answers text, JSON and Prometheus with their content types', async () => {
    let res = await admin.get('/stats?usedonly');
    expect(await res.text()).toBe('cluster.local_cluster.upstream_rq_200: 2\nserver.live: 1\n');
    res = await admin.get('/stats?format=json&filter=server');
    expect(res.headers.get('content-type')).toBe('application/json');
    expect(await res.text()).toBe('{"stats":[{"name":"server.live","value":1}]}');
    res = await admin.get('/stats/prometheus?filter=upstream_rq');
    expect(await res.text()).toBe(
      '# TYPE envoy_cluster_upstream_rq counter\n' +
        'envoy_cluster_upstream_rq{envoy_response_code="200",envoy_cluster_name="local_cluster"} 2\n\n',
    );
    expect(await (await admin.get('/stats?format=prometheus&filter=upstream_rq')).text()).toContain(
      'envoy_cluster_upstream_rq{',
    );
  });

  it('decodes the filter and refuses bad parameters with 400', async () => {
    expect(await (await admin.get('/stats?filter=%5Eserver%5C.')).text()).toBe('server.live: 1\n');
    const res = await admin.get('/stats?filter=(');
    expect([res.status, await res.text()]).toEqual([400, 'Invalid re2 regex']);
  });

  it('resets counters on POST /reset_counters', async () => {
    expect(await (await admin.post('/reset_counters')).text()).toBe('OK\n');
    expect(await (await admin.get('/stats?filter=upstream')).text()).toBe(
      'cluster.local_cluster.upstream_rq_200: 0\n',
    );
  });

  it('answers recent-lookups requests as Envoy does with tracking off, then on', async () => {
    const off = 'Lookup tracking is not enabled. Use /stats/recentlookups/enable to enable.\n\ntotal: 0\n';
    expect(await (await admin.get('/stats/recentlookups')).text()).toBe(off);
    expect(await (await admin.post('/stats/recentlookups/enable')).text()).toBe('OK\n');
    expect(await (await admin.get('/stats/recentlookups')).text()).toBe('   Count Lookup\n\ntotal: 0\n');
    expect(await (await admin.post('/stats/recentlookups/clear')).text()).toBe('OK\n');
    await admin.post('/stats/recentlookups/disable');
    expect(await (await admin.get('/stats/recentlookups')).text()).toBe(off);
  });
});

describe('/logging', () => {
  const levels = (text: string) =>
    Object.fromEntries([...text.matchAll(/^ {2}(\w+): (\w+)$/gm)].map((m) => [m[1], m[2]]));

  it('lists every logger with GET', async () => {
    const text = await (await admin.get('/logging')).text();
    expect(text.startsWith('active loggers:\n  admin: info\n  config: info\n')).toBe(true);
    expect(text.endsWith('  upstream: info\n\n')).toBe(true);
  });

  it('changes all levels, one, or several, answering with the active levels', async () => {
    let text = await (await admin.post('/logging?level=debug')).text();
    expect(new Set(Object.values(levels(text)))).toEqual(new Set(['debug']));
    text = await (await admin.post('/logging?upstream=trace')).text();
    expect(levels(text).upstream).toBe('trace');
    expect(context.logs.level('upstream')).toBe('trace');
    await admin.post('/logging?paths=hc:error,router:warning');
    expect([context.logs.level('hc'), context.logs.level('router')]).toEqual(['error', 'warning']);
    expect(context.logLines.join('')).toContain("change log level: name='upstream' level='trace'");
  });

  it('refuses unknown loggers and levels with the usage, and changes with GET', async () => {
    const res = await admin.post('/logging?nosuch=debug');
    expect(res.status).toBe(400);
    const text = await res.text();
    expect(
      text.startsWith('error: unknown logger name\n\nusage: /logging?<name>=<level> (change single level)\n'),
    ).toBe(true);
    expect(text).toContain('levels: trace debug info warning error critical off \nactive loggers:\n');
    expect(await (await admin.post('/logging?level=loud')).text()).toMatch(/^error: unknown logger level\n/);
    expect((await admin.get('/logging?level=debug')).status).toBe(405);
    expect(context.logs.level('admin')).toBe('info');
  });
});

describe('server commands', () => {
  it('answers /quitquitquit with OK, then asks the server to quit', async () => {
    const res = await admin.post('/quitquitquit');
    expect(await res.text()).toBe('OK\n');
    await new Promise((r) => setTimeout(r, 10));
    expect(context.calls.quit).toBe(1);
  });

  it('drains listeners as asked', async () => {
    await admin.post('/drain_listeners?inboundonly&graceful');
    await admin.post('/drain_listeners');
    expect(context.calls.drain).toEqual([
      { inboundOnly: true, graceful: true },
      { inboundOnly: false, graceful: false },
    ]);
  });

  it('reopens the access logs', async () => {
    expect(await (await admin.post('/reopen_logs')).text()).toBe('OK\n');
    expect(context.calls.reopenAccessLogs).toBe(1);
  });

  it('answers the profilers and contention as an Envoy without them', async () => {
    let res = await admin.post('/cpuprofiler');
    expect([res.status, await res.text()]).toEqual([400, '?enable=<y|n>\n']);
    res = await admin.post('/cpuprofiler?enable=y');
    expect([res.status, await res.text()]).toEqual([500, 'failure to start the profiler']);
    res = await admin.post('/cpuprofiler?enable=n');
    expect([res.status, await res.text()]).toEqual([200, 'OK\n']);
    res = await admin.post('/heapprofiler?enable=y');
    expect([res.status, await res.text()]).toEqual([501, 'The current build does not support heap profiler']);
    expect(await (await admin.get('/contention')).text()).toBe(
      'Mutex contention tracing is not enabled. To enable, run Envoy with flag --enable-mutex-tracing.',
    );
    expect(await (await admin.get('/hot_restart_version')).text()).toBe('disabled');
  });
});

describe('server information', () => {
  it('is envoy.admin.v3.ServerInfo naming meshcraft-proxy and the Envoy release it mirrors', async () => {
    const info = await admin.json('/server_info');
    expect(Object.keys(info)).toEqual([
      'version',
      'state',
      'uptime_current_epoch',
      'uptime_all_epochs',
      'hot_restart_version',
      'command_line_options',
      'node',
    ]);
    expect(info.version).toMatch(
      new RegExp(`^meshcraft-proxy/${PROXY_VERSION.replaceAll('.', '\\.')}\\+envoy-1\\.21/`),
    );
    expect(info.state).toBe('LIVE');
    expect(info.uptime_current_epoch).toMatch(/^\d+s$/);
    expect(info.command_line_options.config_path).toBe('/etc/envoy/envoy.yaml');
    expect(info.command_line_options.concurrency).toBe(2);
    expect(info.command_line_options.mode).toBe('Serve');
    expect(info.node.user_agent_name).toBe('meshcraft-proxy');
  });

  it('takes camelCase command-line keys too', async () => {
    context.commandLine = {
      serviceNode: 'front',
      drainTimeS: 30,
      mode: 'validate',
      componentLogLevel: [['hc', 'debug']],
    };
    const options = (await admin.json('/server_info')).command_line_options;
    expect([options.service_node, options.drain_time, options.mode, options.component_log_level]).toEqual([
      'front',
      '30s',
      'Validate',
      'hc:debug',
    ]);
  });

  it('prints memory as envoy.admin.v3.Memory with uint64 strings', async () => {
    const memory = await admin.json('/memory');
    expect(Object.keys(memory)).toEqual([
      'allocated',
      'heap_size',
      'pageheap_unmapped',
      'pageheap_free',
      'total_thread_cache',
      'total_physical_bytes',
    ]);
    expect(memory.allocated).toMatch(/^\d+$/);
  });

  it('prints certificates in the notes’ format, one entry per TLS context', async () => {
    const cert = {
      path: '/etc/envoy/certs/server.crt',
      serial_number: '1000',
      subject_alt_names: [],
      days_until_expiration: '3649',
      valid_from: '2022-06-25T17:31:35Z',
      expiration_time: '2032-06-22T17:31:35Z',
    };
    context.certs = () => [{ ca_cert: [], cert_chain: [cert] }];
    expect(await (await admin.get('/certs')).text()).toBe(`{
 "certificates": [
  {
   "ca_cert": [],
   "cert_chain": [
    {
     "path": "/etc/envoy/certs/server.crt",
     "serial_number": "1000",
     "subject_alt_names": [],
     "days_until_expiration": "3649",
     "valid_from": "2022-06-25T17:31:35Z",
     "expiration_time": "2032-06-22T17:31:35Z"
    }
   ]
  }
 ]
}
`);
  });

  it('dumps unready init targets, or nothing once initialized', async () => {
    expect(await (await admin.get('/init_dump')).text()).toBe('{}\n');
    context.unreadyTargets = () => [{ name: 'init manager Server', target_names: ['Cluster webcluster'] }];
    expect(await admin.json('/init_dump')).toEqual({
      unready_targets_dumps: [{ name: 'init manager Server', target_names: ['Cluster webcluster'] }],
    });
  });
});

describe('version', () => {
  it('matches package.json', () => {
    const pkg = JSON.parse(fs.readFileSync(new URL('../../package.json', import.meta.url), 'utf8'));
    expect(PROXY_VERSION).toBe(pkg.version);
  });
});
