/**
 * The UDP proxy example of "Life of a packet in Istio" (labs-articles-frontproxy-istio §3.4): the
 * article's config verbatim — a UDP listener on :10000 whose udp_proxy listener filter sends every
 * datagram to `service-udp:5005` — with meshcraft-demoapp as the UDP service, and the article's
 * `nc -4u` clients and `/stats | grep udp` check. A second test covers what the article's service
 * does not exercise: replies, per-client sessions, the idle timeout and the session circuit breaker.
 */
import dgram from 'node:dgram';
import { afterEach, describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { AddressMap, fixture, Lab, request, until } from './harness.js';

let lab: Lab | undefined;
let echo: dgram.Socket | undefined;
afterEach(async () => {
  await lab?.close();
  lab = undefined;
  echo?.close();
  echo = undefined;
});

/** `echo -n <payload> | nc -4u -w1 <host> <port>`: one datagram from a new client socket. */
async function nc(host: string, port: number, payload: string): Promise<void> {
  const socket = dgram.createSocket('udp4');
  await new Promise<void>((resolve, reject) =>
    socket.send(payload, port, host, (err) => (err ? reject(err) : resolve())),
  );
  socket.close();
}

/** `curl -s .../stats | grep udp | grep -v ": 0"` */
async function udpStats(admin: string): Promise<string[]> {
  return (await request(`${admin}/stats`)).body
    .split('\n')
    .filter((l) => l.includes('udp') && !l.includes(': 0'));
}

describe('example C: UDP proxy', () => {
  it('forwards the datagrams to the UDP service and keeps the stats the article shows', async () => {
    const map = new AddressMap('172.31.91.', '127.71.6.');
    await map.allocate(10000, 10001, 5005, 8080);
    lab = new Lab(map);
    const service = await lab.demoapp({
      ip: '172.31.91.3',
      port: 8080,
      serverName: 'service-udp',
      udpPort: 5005,
    });
    lab.alias('service-udp', '172.31.91.3');
    const testing = await lab.proxy(fixture('articles-004-udp.envoy.yaml'), {
      self: '172.31.91.2',
      name: 'testing',
    });
    const proxyHost = map.ip('172.31.91.2');

    // The upstream verify.sh's two datagrams, then the article's own command once more.
    for (const payload of ['HELO', 'HELO', 'OLEH']) await nc(proxyHost, map.port(10000), payload);
    const udpLines = () =>
      service
        .stdout()
        .split('\n')
        .filter((l) => /^(Listening on UDP|[A-Z]{4}$)/.test(l));
    await until('the service to log three datagrams', async () => udpLines().length === 4);
    expect(udpLines()).toEqual([`Listening on UDP port ${map.port(5005)}`, 'HELO', 'HELO', 'OLEH']);
    const lastDatagram = Date.now();

    expect(await udpStats(testing.admin)).toEqual(
      expect.arrayContaining([
        'cluster.service_udp.udp.sess_tx_datagrams: 3',
        'cluster.service_udp.upstream_cx_tx_bytes_total: 12',
        'udp.service.downstream_sess_active: 3',
        'udp.service.downstream_sess_rx_bytes: 12',
        'udp.service.downstream_sess_rx_datagrams: 3',
        'udp.service.downstream_sess_total: 3',
      ]),
    );

    // The article printed its stats once the sessions had ended on the default 60 s idle timeout.
    await until(
      'the three sessions to time out',
      async () => (await udpStats(testing.admin)).includes('udp.service.idle_timeout: 3'),
      75_000,
      500,
    );
    expect(Date.now() - lastDatagram).toBeGreaterThan(59_000);
    const lines = await udpStats(testing.admin);
    // Every STRICT_DNS refresh after the first finds the same host (the article: 52 / 52 / 51).
    const attempts = Number(/update_attempt: (\d+)/.exec(lines.join('\n'))?.[1]);
    expect(attempts).toBeGreaterThan(1);
    expect(lines).toEqual([
      'cluster.service_udp.max_host_weight: 1',
      'cluster.service_udp.membership_change: 1',
      'cluster.service_udp.membership_healthy: 1',
      'cluster.service_udp.membership_total: 1',
      'cluster.service_udp.udp.sess_tx_datagrams: 3',
      `cluster.service_udp.update_attempt: ${attempts}`,
      `cluster.service_udp.update_no_rebuild: ${attempts - 1}`,
      `cluster.service_udp.update_success: ${attempts}`,
      'cluster.service_udp.upstream_cx_tx_bytes_total: 12',
      'udp.service.downstream_sess_rx_bytes: 12',
      'udp.service.downstream_sess_rx_datagrams: 3',
      'udp.service.downstream_sess_total: 3',
      'udp.service.idle_timeout: 3',
      'cluster.service_udp.upstream_cx_connect_ms: No recorded values',
      'cluster.service_udp.upstream_cx_length_ms: No recorded values',
      // Not in the article: Envoy creates this histogram with the first HTTP request.
      'cluster.service_udp.upstream_rq_time: No recorded values',
    ]);
  });

  it('sends replies back to each client on its own session, ends idle sessions, and caps them with max_connections', async () => {
    const map = new AddressMap('172.31.92.', '127.71.7.');
    await map.allocate(10000, 10001, 5005);
    lab = new Lab(map);
    // A UDP echo service in the test, so replies can be followed back to their clients.
    const echoHost = map.ip('172.31.92.3');
    echo = dgram.createSocket('udp4');
    const echoSocket = echo;
    echoSocket.on('message', (msg, from) =>
      echoSocket.send(Buffer.concat([Buffer.from('echo '), msg]), from.port, from.address),
    );
    await new Promise<void>((resolve) => echoSocket.bind(map.port(5005), echoHost, resolve));

    const config = YAML.parse(fixture('articles-004-udp.envoy.yaml'));
    const proxyConfig = config.static_resources.listeners[0].listener_filters[0].typed_config;
    proxyConfig.idle_timeout = '1s';
    config.static_resources.clusters[0].load_assignment.endpoints[0].lb_endpoints[0].endpoint.address.socket_address.address =
      '172.31.92.3';
    config.static_resources.clusters[0].circuit_breakers = { thresholds: [{ max_connections: 2 }] };
    const proxy = await lab.proxy(YAML.stringify(config), { self: '172.31.92.2' });
    const proxyHost = map.ip('172.31.92.2');
    const port = map.port(10000);

    const client = async () => {
      const socket = dgram.createSocket('udp4');
      await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
      const received: string[] = [];
      socket.on('message', (m) => received.push(m.toString()));
      return {
        received,
        send: (payload: string) =>
          new Promise<void>((resolve) => socket.send(payload, port, proxyHost, () => resolve())),
        close: () => socket.close(),
      };
    };
    const a = await client();
    const b = await client();
    const c = await client();
    await a.send('a1');
    await b.send('b1');
    await a.send('a2');
    await until(
      'both clients to get their replies',
      async () => a.received.length === 2 && b.received.length === 1,
    );
    expect(a.received).toEqual(['echo a1', 'echo a2']);
    expect(b.received).toEqual(['echo b1']);

    // Two sessions are open: a third client is over max_connections and its datagram is dropped.
    await c.send('c1');
    const stat = async (name: string) =>
      Number(
        new RegExp(`^${name.replace(/\./g, '\\.')}: (\\d+)$`, 'm').exec(
          (await request(`${proxy.admin}/stats`)).body,
        )?.[1],
      );
    await until(
      'the overflow to be counted',
      async () => (await stat('cluster.service_udp.upstream_cx_overflow')) === 1,
    );
    expect(c.received).toEqual([]);
    expect(await stat('udp.service.downstream_sess_total')).toBe(2);
    expect(await stat('udp.service.downstream_sess_rx_datagrams')).toBe(3);
    expect(await stat('cluster.service_udp.udp.sess_rx_datagrams')).toBe(3);
    expect(await stat('udp.service.downstream_sess_tx_datagrams')).toBe(3);
    expect(await stat('udp.service.downstream_sess_tx_bytes')).toBe('echo a1echo b1echo a2'.length);
    expect(await stat('cluster.service_udp.upstream_cx_rx_bytes_total')).toBe('echo a1echo b1echo a2'.length);

    // After a second without datagrams both sessions end, and the third client gets through.
    await until(
      'the sessions to time out',
      async () => (await stat('udp.service.idle_timeout')) === 2,
      10_000,
    );
    expect(await stat('udp.service.downstream_sess_active')).toBe(0);
    await c.send('c2');
    await until('the third client to be served', async () => c.received.length === 1);
    expect(c.received).toEqual(['echo c2']);
    for (const x of [a, b, c]) x.close();
  });
});
