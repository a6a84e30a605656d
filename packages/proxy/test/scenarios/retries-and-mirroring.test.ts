/**
 * Retries, per-try timeouts and request mirroring. The course configures none of them in a lab
 * (labs-day14b §6: "retry_policy ... appear only as field names"), so these run the day-14
 * front proxy (admin block, listener, `web_cluster_01` over the pods' `myservice` alias, as in
 * LAB 7 without its outlier detection) with the route options Envoy documents added.
 */
import http from 'node:http';
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import YAML from 'yaml';
import {
  AddressMap,
  binomialTolerance,
  frontProxyConfig,
  hostStat,
  Lab,
  request,
  sidecarPod,
  until,
} from './harness.js';

let lab: Lab | undefined;
/** Servers the test process runs itself, with their open sockets. */
const servers: { server: net.Server; sockets: Set<net.Socket> }[] = [];
afterEach(async () => {
  await lab?.close();
  lab = undefined;
  for (const { server, sockets } of servers.splice(0)) {
    for (const socket of sockets) socket.destroy();
    await new Promise((resolve) => server.close(resolve));
  }
});

async function serve(server: net.Server, port: number, address: string): Promise<void> {
  const sockets = new Set<net.Socket>();
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  servers.push({ server, sockets });
  await new Promise<void>((resolve) => server.listen(port, address, resolve));
}

interface FrontConfig {
  static_resources: {
    listeners: {
      filter_chains: {
        filters: {
          typed_config: {
            route_config: {
              virtual_hosts: ({ routes: { route: Record<string, unknown> }[] } & Record<string, unknown>)[];
            };
          };
        }[];
      }[];
    }[];
    clusters: Record<string, unknown>[];
  };
}

/**
 * The LAB 7 front proxy without outlier detection, its route action extended with `route`, its
 * virtual host with `virtualHost`, plus `clusters`.
 */
function frontProxy(
  route: Record<string, unknown>,
  clusters: Record<string, unknown>[] = [],
  virtualHost: Record<string, unknown> = {},
): string {
  const doc = YAML.parse(frontProxyConfig('day14a-lab07-outlier-detection.clusters.yaml')) as FrontConfig;
  const vh =
    doc.static_resources.listeners[0]!.filter_chains[0]!.filters[0]!.typed_config.route_config
      .virtual_hosts[0]!;
  Object.assign(vh.routes[0]!.route, route);
  Object.assign(vh, virtualHost);
  delete doc.static_resources.clusters[0]!.outlier_detection;
  doc.static_resources.clusters.push(...clusters);
  return YAML.stringify(doc);
}

async function threePods(subnet: string, loopback: string) {
  const map = new AddressMap(subnet, loopback);
  await map.allocate(80, 8080, 9901);
  lab = new Lab(map);
  for (const [i, colour] of ['red', 'blue', 'green'].entries()) {
    const ip = `${subnet}${11 + i}`;
    await sidecarPod(lab, { ip, hostname: colour });
    lab.alias('myservice', ip);
  }
  return { map, lab, url: `http://${map.ip(`${subnet}2`)}:${map.port(80)}` };
}

async function counter(admin: string, name: string): Promise<number> {
  const m = new RegExp(`^${name.replaceAll('.', '\\.')}: (\\d+)$`, 'm').exec(
    (await request(`${admin}/stats?filter=${name}`)).body,
  );
  return m ? Number(m[1]) : 0;
}

const setLivez = (map: AddressMap, labIp: string, value: 'OK' | 'FAIL') =>
  request(`http://${map.ip(labIp)}:${map.port(80)}/livez`, {
    method: 'POST',
    body: `livez=${value}`,
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
  });

describe('retries', () => {
  it('retry_on 5xx with previous_hosts turns a flaky endpoint into 200s, and the retry stats count it', async () => {
    const { map, url } = await threePods('172.31.60.', '127.31.60.');
    const front = await lab!.proxy(
      frontProxy({
        retry_policy: {
          retry_on: '5xx',
          num_retries: 2,
          retry_host_predicate: [
            {
              name: 'envoy.retry_host_predicates.previous_hosts',
              typed_config: {
                '@type':
                  'type.googleapis.com/envoy.extensions.retry.host.previous_hosts.v3.PreviousHostsPredicate',
              },
            },
          ],
          host_selection_retry_max_attempts: 3,
        },
      }),
      { self: '172.31.60.2', name: 'front-envoy' },
    );
    await setLivez(map, '172.31.60.11', 'FAIL');
    const n = 60;
    const responses: Awaited<ReturnType<typeof request>>[] = [];
    for (let i = 0; i < n; i++) responses.push(await request(`${url}/livez`));
    expect(responses.map((r) => `${r.status} ${r.body}`)).toEqual(new Array(n).fill('200 OK'));
    expect(responses.every((r) => /^\d+$/.test(String(r.headers['x-envoy-upstream-service-time'])))).toBe(
      true,
    );

    // Every attempt that landed on red failed and was retried once, on another host. Retries take
    // their turn in the round robin too, so about every other request starts at red.
    const c = 'cluster.web_cluster_01';
    const retries = await counter(front.admin, `${c}.upstream_rq_retry`);
    const redKey = `${map.ip('172.31.60.11')}:${map.port(80)}`;
    expect(retries).toBe(Number(await hostStat(front.admin, 'web_cluster_01', redKey, 'rq_error')));
    expect(retries).toBeGreaterThanOrEqual(n / 3);
    expect(retries).toBeLessThanOrEqual(n / 2 + 1);
    expect(await counter(front.admin, `${c}.upstream_rq_retry_success`)).toBe(retries);
    expect(await counter(front.admin, `${c}.retry.upstream_rq_506`)).toBe(retries);
    expect(await counter(front.admin, `${c}.upstream_rq_200`)).toBe(n);
    expect(await counter(front.admin, `${c}.upstream_rq_506`)).toBe(0);
    expect(await counter(front.admin, `${c}.upstream_rq_total`)).toBe(n + retries);
    expect(await counter(front.admin, `${c}.upstream_rq_retry_limit_exceeded`)).toBe(0);

    // Every host failing: the retries run out, and the last 5xx reaches the client.
    await setLivez(map, '172.31.60.12', 'FAIL');
    await setLivez(map, '172.31.60.13', 'FAIL');
    const failed = await request(`${url}/livez`);
    expect([failed.status, failed.body]).toEqual([506, 'FAIL']);
    expect(await counter(front.admin, `${c}.upstream_rq_retry_limit_exceeded`)).toBe(1);
  });

  it('honours x-envoy-retry-on and x-envoy-max-retries on a route without a retry policy', async () => {
    const { map, url } = await threePods('172.31.61.', '127.31.61.');
    const front = await lab!.proxy(frontProxy({}), { self: '172.31.61.2', name: 'front-envoy' });
    await setLivez(map, '172.31.61.11', 'FAIL');
    const redKey = `${map.ip('172.31.61.11')}:${map.port(80)}`;
    const redErrors = async () => Number(await hostStat(front.admin, 'web_cluster_01', redKey, 'rq_error'));
    const plain = [];
    for (let i = 0; i < 3; i++) plain.push(await request(`${url}/livez`));
    expect(plain.map((r) => r.status).sort()).toEqual([200, 200, 506]);
    const before = await redErrors();
    const asked = [];
    for (let i = 0; i < 9; i++)
      asked.push(
        await request(`${url}/livez`, { headers: { 'x-envoy-retry-on': '5xx', 'x-envoy-max-retries': '1' } }),
      );
    expect(asked.every((r) => r.status === 200)).toBe(true);
    const retries = await counter(front.admin, 'cluster.web_cluster_01.upstream_rq_retry');
    expect(retries).toBeGreaterThan(0);
    expect(retries).toBe((await redErrors()) - before);
    // The retry headers are for the proxy: they never reach the upstream.
    const echo = await request(`${url}/echo`, {
      headers: { 'x-envoy-retry-on': '5xx', 'x-envoy-max-retries': '1' },
    });
    expect(echo.body.toLowerCase()).toContain('x-envoy-expected-rq-timeout-ms: 15000');
    expect(echo.body.toLowerCase()).not.toMatch(/x-envoy-retry-on|x-envoy-max-retries/);
  });

  it('gives up retrying a request whose body outgrows per_request_buffer_limit_bytes, and counts attempts', async () => {
    const { url } = await threePods('172.31.65.', '127.31.65.');
    // demoapp answers PUT with 405, which this policy retries.
    const front = await lab!.proxy(
      frontProxy(
        {
          retry_policy: { retry_on: 'retriable-status-codes', retriable_status_codes: [405], num_retries: 2 },
        },
        [],
        {
          per_request_buffer_limit_bytes: 64,
          include_request_attempt_count: true,
          include_attempt_count_in_response: true,
        },
      ),
      { self: '172.31.65.2', name: 'front-envoy' },
    );
    const put = (bytes: number) =>
      request(`${url}/hostname`, {
        method: 'PUT',
        body: 'x'.repeat(bytes),
        headers: { 'content-type': 'text/plain' },
      });
    // A small body is kept and resent: two retries, then the last 405.
    const small = await put(10);
    expect(small.status).toBe(405);
    expect(small.headers['x-envoy-attempt-count']).toBe('3');
    // A body over the limit cannot be resent: the first answer stands.
    const large = await put(100);
    expect(large.status).toBe(405);
    expect(large.headers['x-envoy-attempt-count']).toBe('1');
    expect(await counter(front.admin, 'cluster.web_cluster_01.retry_or_shadow_abandoned')).toBe(1);
    expect(await counter(front.admin, 'cluster.web_cluster_01.upstream_rq_retry')).toBe(2);
    expect(await counter(front.admin, 'cluster.web_cluster_01.upstream_rq_retry_limit_exceeded')).toBe(1);
    // include_request_attempt_count: the upstream sees which attempt it serves.
    expect((await request(`${url}/echo`)).body.toLowerCase()).toContain('x-envoy-attempt-count: 1');
  });

  it('per_try_timeout gives up on a host that hangs and retries on another, within the route timeout', async () => {
    const map = new AddressMap('172.31.62.', '127.31.62.');
    await map.allocate(80, 8080, 9901);
    lab = new Lab(map);
    await sidecarPod(lab, { ip: '172.31.62.11', hostname: 'red' });
    // A host that accepts connections and never answers.
    await serve(
      net.createServer(() => {}),
      map.port(80),
      map.ip('172.31.62.12'),
    );
    lab.alias('myservice', '172.31.62.11', '172.31.62.12');
    const front = await lab.proxy(
      frontProxy({
        timeout: '5s',
        retry_policy: { retry_on: '5xx', num_retries: 2, per_try_timeout: '0.25s' },
      }),
      { self: '172.31.62.2', name: 'front-envoy' },
    );
    const url = `http://${map.ip('172.31.62.2')}:${map.port(80)}/`;
    const started = performance.now();
    const responses = [];
    for (let i = 0; i < 6; i++) responses.push(await request(url));
    const elapsed = performance.now() - started;
    expect(responses.every((r) => r.status === 200 && r.body.includes('ServerName: red'))).toBe(true);
    // Every attempt on the hanging host timed out after 250 ms and was retried on red (with the
    // retries' own turns in the round robin, that is nearly every first attempt).
    const timeouts = await counter(front.admin, 'cluster.web_cluster_01.upstream_rq_per_try_timeout');
    const hangKey = `${map.ip('172.31.62.12')}:${map.port(80)}`;
    expect(timeouts).toBeGreaterThanOrEqual(3);
    expect(Number(await hostStat(front.admin, 'web_cluster_01', hangKey, 'rq_timeout'))).toBe(timeouts);
    expect(await counter(front.admin, 'cluster.web_cluster_01.upstream_rq_retry')).toBe(timeouts);
    expect(await counter(front.admin, 'cluster.web_cluster_01.upstream_rq_timeout')).toBe(0);
    // Each of those waited one per-try timeout, never the route's 5 s.
    expect(elapsed).toBeGreaterThanOrEqual(timeouts * 250);
    expect(elapsed).toBeLessThan(timeouts * 250 + 3000);
  });
});

describe('route idle_timeout', () => {
  it("replaces the connection manager's stream idle timeout: a silent upstream gets Envoy's 504 'stream timeout'", async () => {
    const map = new AddressMap('172.31.66.', '127.31.66.');
    await map.allocate(80, 9901);
    lab = new Lab(map);
    await serve(
      net.createServer(() => {}),
      map.port(80),
      map.ip('172.31.66.12'),
    );
    lab.alias('myservice', '172.31.66.12');
    const front = await lab.proxy(frontProxy({ timeout: '10s', idle_timeout: '0.3s' }), {
      self: '172.31.66.2',
      name: 'front-envoy',
    });
    const started = performance.now();
    const r = await request(`http://${map.ip('172.31.66.2')}:${map.port(80)}/`);
    const elapsed = performance.now() - started;
    expect([r.status, r.body]).toEqual([504, 'stream timeout']);
    expect(elapsed).toBeGreaterThanOrEqual(300);
    expect(elapsed).toBeLessThan(3000);
    expect(await counter(front.admin, 'http.ingress_http.downstream_rq_idle_timeout')).toBe(1);
  });
});

describe('request mirroring', () => {
  interface Mirrored {
    host: string | undefined;
    method: string | undefined;
    url: string | undefined;
    body: string;
    internal: string | undefined;
  }

  async function mirrorTarget(map: AddressMap, labIp: string): Promise<Mirrored[]> {
    const seen: Mirrored[] = [];
    const server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        seen.push({
          host: req.headers.host,
          method: req.method,
          url: req.url,
          body: Buffer.concat(chunks).toString(),
          internal: req.headers['x-envoy-internal'] as string | undefined,
        });
        // The mirror's answer must not matter: it is slow and an error.
        setTimeout(() => res.writeHead(500).end('mirror says no'), 50);
      });
    });
    await serve(server, map.port(80), map.ip(labIp));
    return seen;
  }

  const mirrorCluster = {
    name: 'mirror_cluster',
    connect_timeout: '0.25s',
    type: 'STRICT_DNS',
    lb_policy: 'ROUND_ROBIN',
    load_assignment: {
      cluster_name: 'mirror_cluster',
      endpoints: [
        {
          lb_endpoints: [
            { endpoint: { address: { socket_address: { address: 'mirror', port_value: 80 } } } },
          ],
        },
      ],
    },
  };

  it('sends a copy of every request, body included, to the shadow cluster with the -shadow host, and ignores its answer', async () => {
    const { map, url } = await threePods('172.31.63.', '127.31.63.');
    const seen = await mirrorTarget(map, '172.31.63.20');
    lab!.alias('mirror', '172.31.63.20');
    const front = await lab!.proxy(
      frontProxy({ request_mirror_policies: [{ cluster: 'mirror_cluster' }] }, [mirrorCluster]),
      {
        self: '172.31.63.2',
        name: 'front-envoy',
      },
    );
    const n = 9;
    for (let i = 0; i < n; i++) {
      const r = await request(`${url}/echo?i=${i}`, {
        method: 'POST',
        headers: { host: 'www.ik8s.io:8080', 'content-type': 'text/plain' },
        body: `payload ${i}`,
      });
      expect(r.status).toBe(200);
    }
    const mirrored = await until('the mirrored requests', async () => (seen.length >= n ? seen : undefined));
    expect(mirrored.map((m) => m.url).sort()).toEqual(
      Array.from({ length: n }, (_, i) => `/echo?i=${i}`).sort(),
    );
    for (const m of mirrored) {
      expect(m.host).toBe('www.ik8s.io-shadow:8080');
      expect(m.method).toBe('POST');
      expect(m.body).toBe(`payload ${m.url!.slice('/echo?i='.length)}`);
      expect(m.internal).toBe('true');
    }
    await until('the mirror cluster to count the answers', async () =>
      (await counter(front.admin, 'cluster.mirror_cluster.upstream_rq_500')) === n ? true : undefined,
    );
    expect(await counter(front.admin, 'cluster.web_cluster_01.upstream_rq_200')).toBe(n);
  });

  it('mirrors the runtime_fraction share of requests', async () => {
    const { map, url } = await threePods('172.31.64.', '127.31.64.');
    const seen = await mirrorTarget(map, '172.31.64.20');
    lab!.alias('mirror', '172.31.64.20');
    await lab!.proxy(
      frontProxy(
        {
          request_mirror_policies: [
            {
              cluster: 'mirror_cluster',
              runtime_fraction: { default_value: { numerator: 25, denominator: 'HUNDRED' } },
            },
          ],
        },
        [mirrorCluster],
      ),
      { self: '172.31.64.2', name: 'front-envoy' },
    );
    const n = 200;
    for (let i = 0; i < n; i++) await request(`${url}/hostname`);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(Math.abs(seen.length - n * 0.25)).toBeLessThan(binomialTolerance(n, 0.25));
  });
});
