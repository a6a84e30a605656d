/**
 * The health_check HTTP filter (issue 3) on the course's day-14 pods: each sidecar (the lab's
 * common sidecar config) gets `envoy.filters.http.health_check` for `/livez` before its router.
 * Its admin's `/healthcheck/fail` and `/healthcheck/ok` switch what the filter reports, in both
 * modes; and the LAB 6 front proxy, whose active health check probes `/livez`, takes a pod out the
 * moment one of its responses carries `x-envoy-immediate-health-check-fail`.
 */
import { afterEach, describe, expect, it } from 'vitest';
import YAML from 'yaml';
import {
  AddressMap,
  fixture,
  frontProxyConfig,
  hostStat,
  Lab,
  rawExchange,
  request,
  speedUpHealthChecks,
  tally,
  until,
} from './harness.js';

let lab: Lab | undefined;
afterEach(async () => {
  await lab?.close();
  lab = undefined;
});

/** The course's sidecar with the health_check filter for `/livez` ahead of its router. */
function sidecarWithHealthCheck(passThroughMode: boolean): string {
  const doc = YAML.parse(fixture('day14a-common-sidecar.envoy.yaml'));
  const hcm = doc.static_resources.listeners[0].filter_chains[0].filters[0].typed_config;
  hcm.http_filters = [
    {
      name: 'envoy.filters.http.health_check',
      typed_config: {
        '@type': 'type.googleapis.com/envoy.extensions.filters.http.health_check.v3.HealthCheck',
        pass_through_mode: passThroughMode,
        headers: [{ name: ':path', string_match: { exact: '/livez' } }],
      },
    },
    ...hcm.http_filters,
  ];
  return YAML.stringify(doc);
}

/** A day-14 pod: demoapp on 127.0.0.1:8080 of the namespace, sidecar on :80 with the filter. */
async function pod(lab: Lab, ip: string, hostname: string, passThroughMode: boolean) {
  await lab.demoapp({ ip, port: 8080, serverName: hostname });
  const sidecar = await lab.proxy(sidecarWithHealthCheck(passThroughMode), {
    self: ip,
    name: `${hostname}-sidecar`,
    args: ['--service-cluster', hostname],
  });
  const host = lab.map.ip(ip);
  const form = { 'content-type': 'application/x-www-form-urlencoded' };
  return {
    sidecar,
    url: `http://${host}:${lab.map.port(80)}`,
    /** The app's own /livez flipped directly (through the sidecar the filter would take the POST). */
    setAppLivez: (v: 'OK' | 'FAIL') =>
      request(`http://${host}:${lab.map.port(8080)}/livez`, {
        method: 'POST',
        body: `livez=${v}`,
        headers: form,
      }),
    adminPost: (path: string) => request(`${sidecar.admin}${path}`, { method: 'POST' }),
  };
}

describe('health_check filter', () => {
  it('without pass_through_mode answers /livez itself: 200, 503 after /healthcheck/fail, 200 after /healthcheck/ok', async () => {
    const map = new AddressMap('172.31.96.', '127.71.4.');
    await map.allocate(80, 8080, 9901);
    lab = new Lab(map);
    const red = await pod(lab, '172.31.96.11', 'red', false);

    // The app's own /livez says FAIL; the filter answers without asking it.
    await red.setAppLivez('FAIL');
    const ok = await request(`${red.url}/livez`);
    expect(ok.status).toBe(200);
    expect(ok.body).toBe('');
    expect(ok.headers['x-envoy-upstream-healthchecked-cluster']).toBe('red');
    // Health checkers keep their connection: answers from the headers alone leave it usable.
    const twice = await rawExchange(
      lab.map.ip('172.31.96.11'),
      lab.map.port(80),
      'GET /livez HTTP/1.1\r\nhost: red\r\n\r\nGET /livez HTTP/1.1\r\nhost: red\r\n\r\n',
      1000,
    );
    expect(twice.match(/^HTTP\/1\.1 200 OK\r\n/gm)).toHaveLength(2);

    expect((await red.adminPost('/healthcheck/fail')).status).toBe(200);
    const failed = await request(`${red.url}/livez`);
    expect(failed.status).toBe(503);
    expect(failed.headers['x-envoy-immediate-health-check-fail']).toBeUndefined();
    // Other requests still reach the app, marked so the proxy in front drops this host at once.
    const page = await request(`${red.url}/`);
    expect(page.status).toBe(200);
    expect(page.body).toContain('ServerName: red');
    expect(page.headers['x-envoy-immediate-health-check-fail']).toBe('true');

    await red.adminPost('/healthcheck/ok');
    expect((await request(`${red.url}/livez`)).status).toBe(200);
    expect((await request(`${red.url}/`)).headers['x-envoy-immediate-health-check-fail']).toBeUndefined();
  });

  it('with pass_through_mode forwards /livez to the app unless failed', async () => {
    const map = new AddressMap('172.31.97.', '127.71.5.');
    await map.allocate(80, 8080, 9901);
    lab = new Lab(map);
    const green = await pod(lab, '172.31.97.11', 'green', true);

    const forwarded = await request(`${green.url}/livez`);
    expect(forwarded.status).toBe(200);
    expect(forwarded.body).toBe('OK');
    expect(forwarded.headers['x-envoy-upstream-healthchecked-cluster']).toBe('green');
    await green.setAppLivez('FAIL');
    const appFailing = await request(`${green.url}/livez`);
    expect(appFailing.status).toBe(506);
    expect(appFailing.body).toBe('FAIL');
    await green.setAppLivez('OK');

    await green.adminPost('/healthcheck/fail');
    const failed = await request(`${green.url}/livez`);
    expect(failed.status).toBe(503);
    expect(failed.body).toBe('');
    expect((await request(`${green.url}/`)).headers['x-envoy-immediate-health-check-fail']).toBe('true');

    await green.adminPost('/healthcheck/ok');
    expect((await request(`${green.url}/livez`)).body).toBe('OK');
    expect((await request(`${green.url}/`)).headers['x-envoy-immediate-health-check-fail']).toBeUndefined();
  });

  it("a front proxy's health checker takes a host out on x-envoy-immediate-health-check-fail, before its next check", async () => {
    const map = new AddressMap('172.31.98.', '127.71.8.');
    await map.allocate(80, 8080, 9901);
    lab = new Lab(map);
    const red = await pod(lab, '172.31.98.11', 'red', false);
    await pod(lab, '172.31.98.12', 'blue', false);
    lab.alias('myservice', '172.31.98.11', '172.31.98.12');
    // LAB 6's cluster: /livez checked every 10 s, run here every 2 s.
    const front = await lab.proxy(
      speedUpHealthChecks(frontProxyConfig('day14a-lab06-health-check-http.clusters.yaml'), 5),
      { self: '172.31.98.2', name: 'front-envoy' },
    );
    const url = `http://${map.ip('172.31.98.2')}:${map.port(80)}/`;
    const redKey = `${map.ip('172.31.98.11')}:${map.port(80)}`;
    const flags = () => hostStat(front.admin, 'web_cluster_01', redKey, 'health_flags');
    const attempts = async () =>
      Number(
        /health_check\.attempt: (\d+)/.exec(
          (await request(`${front.admin}/stats?filter=health_check.attempt`)).body,
        )?.[1],
      );
    expect(await tally(url, 4)).toEqual(
      new Map([
        ['red', 2],
        ['blue', 2],
      ]),
    );

    // Right after a round of checks (both hosts are checked in step), so the next is seconds away.
    const before = await attempts();
    await until('a health check round', async () => (await attempts()) > before, 20_000, 20);
    await new Promise((r) => setTimeout(r, 200));
    const checksSoFar = await attempts();
    await red.adminPost('/healthcheck/fail');
    let marked = 0;
    for (let i = 0; i < 2; i++) {
      const r = await request(url);
      if (r.headers['x-envoy-immediate-health-check-fail'] === 'true') marked++;
    }
    expect(marked).toBe(1);
    expect(await flags()).toBe('/failed_active_hc/excluded_via_immediate_hc_fail');
    // No active check ran in between: the response alone took red out.
    expect(await attempts()).toBe(checksSoFar);
    expect(await tally(url, 6)).toEqual(new Map([['blue', 6]]));
    expect((await request(`${front.admin}/stats?filter=health_check.passive_failure`)).body).toContain(
      'cluster.web_cluster_01.health_check.passive_failure: 1',
    );

    // /healthcheck/ok: the active checks see /livez pass again (healthy_threshold 2) and red returns.
    await red.adminPost('/healthcheck/ok');
    await until('red to pass its checks again', async () => (await flags()) === 'healthy', 20_000);
    expect(await tally(url, 4)).toEqual(
      new Map([
        ['red', 2],
        ['blue', 2],
      ]),
    );
  });
});
