/**
 * HTTP/2 through meshcraft-proxy: the course's front-proxy article (labs-articles §1), where the
 * front Envoy speaks h2c to three replicas of a service whose own Envoys take it with
 * `codec_type: auto`, and gRPC — unary, server-side errors and a bidirectional stream —
 * proxied with its trailers, over h2c and over TLS with ALPN at both ends.
 */
import * as grpc from '@grpc/grpc-js';
import { afterEach, describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { AddressMap, fixture, Lab, request } from './harness.js';
import { h2Request, httpsRequest, labPki } from './tls-support.js';

let lab: Lab | undefined;
const cleanups: (() => void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) c();
  await lab?.close();
  lab = undefined;
});

async function stats(admin: string, filter: string): Promise<Map<string, string>> {
  const text = (await request(`${admin}/stats?filter=${encodeURIComponent(filter)}`)).body;
  return new Map(
    text
      .split('\n')
      .filter(Boolean)
      .map((l) => l.split(': ') as [string, string]),
  );
}

describe('front proxy with HTTP/2 to the services (articles §1)', () => {
  it('round-robins h2c streams over three replicas, one HTTP/2 connection each; takes h2c and HTTPS downstream', async () => {
    const map = new AddressMap('172.18.0.', '127.18.0.');
    await map.allocate(8000, 8001, 8080, 8443);
    lab = new Lab(map);
    const certs = await labPki(lab, { certificates: [{ name: 'front-envoy', server: true }] });
    // service1 scaled to three (§1.7 step 5), service2 once; each is Flask on 127.0.0.1:8080 behind its Envoy.
    const replicas = [
      ['172.18.0.2', 'e60ba6d0671c', '1'],
      ['172.18.0.5', '707d6f830af2', '1'],
      ['172.18.0.6', '64eebf06b9db', '1'],
      ['172.18.0.4', '9727cf7b9303', '2'],
    ] as const;
    const sidecars = [];
    for (const [ip, hostname, service] of replicas) {
      await lab.demoapp({ ip, port: 8080, serverName: hostname, serviceName: service });
      sidecars.push(
        await lab.proxy(fixture('articles-002-front-proxy.service-envoy.yaml'), { self: ip, name: hostname }),
      );
    }
    lab.alias('service1', '172.18.0.2', '172.18.0.5', '172.18.0.6');
    lab.alias('service2', '172.18.0.4');
    // The article's self-signed pair is elided in the notes; a generated CN=front-envoy takes its place.
    const doc = YAML.parse(fixture('articles-002-front-proxy.front-envoy.yaml'));
    const tlsCert =
      doc.static_resources.listeners[1].filter_chains[0].transport_socket.typed_config.common_tls_context
        .tls_certificates;
    tlsCert.certificate_chain.inline_string = certs.pki.files['certs/front-envoy/server.crt'];
    tlsCert.private_key.inline_string = certs.pki.files['certs/front-envoy/server.key'];
    const front = await lab.proxy(YAML.stringify(doc), { self: '172.18.0.10', name: 'front-envoy' });
    const ip = map.ip('172.18.0.10');

    const hostnames: string[] = [];
    for (let i = 0; i < 3; i++) {
      const r = await request(`http://${ip}:${map.port(8080)}/service/1`);
      expect(r.status).toBe(200);
      expect(r.headers.server).toBe('envoy');
      expect(r.headers['x-envoy-upstream-service-time']).toMatch(/^\d+$/);
      expect(r.headers['content-type']).toBe('text/html; charset=utf-8');
      hostnames.push(/hostname: (\w+)/.exec(r.body)![1]!);
    }
    expect(new Set(hostnames)).toEqual(new Set(['e60ba6d0671c', '707d6f830af2', '64eebf06b9db']));
    expect((await request(`http://${ip}:${map.port(8080)}/service/2`)).body).toBe(
      'Hello from App behind Envoy (service 2)! hostname: 9727cf7b9303 resolved hostname: 172.18.0.4\n',
    );
    // HTTPS downstream (no ALPN configured, so HTTP/1.1 inside TLS, as with the article's curl -k).
    const secure = await httpsRequest(`https://${ip}:${map.port(8443)}/service/1`);
    expect(secure.status).toBe(200);
    expect(secure.tls.peerSubject).toBe('CN=front-envoy');
    expect(secure.tls.alpn).toBe(false);
    // h2c with prior knowledge on the same `codec_type: auto` listener.
    const h2c = await h2Request(`http://${ip}:${map.port(8080)}/service/2`);
    expect(h2c).toMatchObject({ status: 200, protocol: 'h2c' });
    expect(h2c.body).toContain('(service 2)');
    expect(h2c.headers.server).toBe('envoy');

    const f = await stats(
      front.admin,
      '(cluster\\.service[12]\\.(upstream_cx_http[12]_total|membership_total|upstream_rq_total)|ingress_http\\.downstream_(cx|rq)_http[12]_total)',
    );
    expect(f.get('cluster.service1.upstream_cx_http2_total')).toBe('3');
    expect(f.get('cluster.service1.upstream_cx_http1_total')).toBe('0');
    expect(f.get('cluster.service1.membership_total')).toBe('3');
    expect(f.get('cluster.service1.upstream_rq_total')).toBe('4');
    expect(f.get('cluster.service2.upstream_cx_http2_total')).toBe('1');
    expect(f.get('cluster.service2.upstream_rq_total')).toBe('2');
    expect(f.get('http.ingress_http.downstream_cx_http2_total')).toBe('1');
    expect(f.get('http.ingress_http.downstream_rq_http2_total')).toBe('1');
    // Each service's Envoy took the front proxy's requests as HTTP/2 (codec auto saw the preface).
    const s = await stats(sidecars[3]!.admin, 'ingress_http\\.downstream_(cx|rq)_http[12]_total');
    expect(s.get('http.ingress_http.downstream_cx_http2_total')).toBe('1');
    expect(s.get('http.ingress_http.downstream_rq_http2_total')).toBe('2');
    expect(s.get('http.ingress_http.downstream_rq_http1_total')).toBe('0');
  });
});

/** A tiny gRPC service without protobuf: strings as UTF-8 messages. */
const text = {
  requestSerialize: (s: string) => Buffer.from(s),
  requestDeserialize: (b: Buffer) => b.toString(),
  responseSerialize: (s: string) => Buffer.from(s),
  responseDeserialize: (b: Buffer) => b.toString(),
};
const ECHO = {
  unary: { path: '/echo.Echo/Unary', requestStream: false, responseStream: false, ...text },
  fail: { path: '/echo.Echo/Fail', requestStream: false, responseStream: false, ...text },
  chat: { path: '/echo.Echo/Chat', requestStream: true, responseStream: true, ...text },
} satisfies grpc.ServiceDefinition;
const EchoClient = grpc.makeGenericClientConstructor(ECHO, 'Echo');
type Echo = InstanceType<typeof EchoClient> & {
  unary(m: string, md: grpc.Metadata, cb: grpc.requestCallback<string>): grpc.ClientUnaryCall;
  fail(m: string, cb: grpc.requestCallback<string>): grpc.ClientUnaryCall;
  chat(): grpc.ClientDuplexStream<string, string>;
};

async function echoServer(address: string, credentials: grpc.ServerCredentials): Promise<grpc.Server> {
  const server = new grpc.Server();
  server.addService(ECHO, {
    unary: (call: grpc.ServerUnaryCall<string, string>, cb: grpc.sendUnaryData<string>) => {
      const initial = new grpc.Metadata();
      initial.set('x-served-by', 'echo');
      call.sendMetadata(initial);
      const trailer = new grpc.Metadata();
      trailer.set('x-trailer', `seen ${call.metadata.get('x-request-tag')[0] ?? 'nothing'}`);
      cb(null, `echo ${call.request}`, trailer);
    },
    fail: (_call: grpc.ServerUnaryCall<string, string>, cb: grpc.sendUnaryData<string>) => {
      cb({ code: grpc.status.NOT_FOUND, details: 'no such thing' });
    },
    chat: (call: grpc.ServerDuplexStream<string, string>) => {
      call.on('data', (m: string) => call.write(`re: ${m}`));
      call.on('end', () => {
        const trailer = new grpc.Metadata();
        trailer.set('x-trailer', 'done');
        call.end(trailer);
      });
    },
  });
  await new Promise<void>((resolve, reject) =>
    server.bindAsync(address, credentials, (err) => (err ? reject(err) : resolve())),
  );
  cleanups.push(() => server.forceShutdown());
  return server;
}

function unary(
  client: Echo,
  message: string,
): Promise<{ reply: string; initial: grpc.Metadata; status: grpc.StatusObject }> {
  return new Promise((resolve, reject) => {
    let initial = new grpc.Metadata();
    const md = new grpc.Metadata();
    md.set('x-request-tag', message);
    let reply = '';
    const call = client.unary(message, md, (err, r) => {
      if (err) reject(err);
      else reply = r ?? '';
    });
    call.on('metadata', (m) => {
      initial = m;
    });
    call.on('status', (status) => resolve({ reply, initial, status }));
  });
}

/** Sends each message only after the reply to the previous one arrived: both directions stream. */
function conversation(
  client: Echo,
  messages: string[],
): Promise<{ replies: string[]; status: grpc.StatusObject }> {
  return new Promise((resolve, reject) => {
    const call = client.chat();
    const replies: string[] = [];
    call.on('data', (r: string) => {
      replies.push(r);
      const next = messages[replies.length];
      if (next !== undefined) call.write(next);
      else call.end();
    });
    call.on('error', reject);
    call.on('status', (status) => resolve({ replies, status }));
    call.write(messages[0]!);
  });
}

describe('gRPC through the proxy', () => {
  it('keeps messages, metadata, trailers and status intact, unary and streaming, over h2c and over TLS', async () => {
    const map = new AddressMap('172.31.70.', '127.31.70.');
    await map.allocate(80, 443, 9901, 50051);
    lab = new Lab(map);
    const certs = await labPki(lab, {
      certificates: [
        { name: 'front-envoy', server: true },
        { name: 'grpc-backend', server: true },
      ],
    });
    const backend = map.ip('172.31.70.11');
    const secureBackend = map.ip('172.31.70.12');
    await echoServer(`${backend}:${map.port(50051)}`, grpc.ServerCredentials.createInsecure());
    await echoServer(
      `${secureBackend}:${map.port(50051)}`,
      grpc.ServerCredentials.createSsl(null, [
        {
          cert_chain: Buffer.from(certs.pki.files['certs/grpc-backend/server.crt']!),
          private_key: Buffer.from(certs.pki.files['certs/grpc-backend/server.key']!),
        },
      ]),
    );
    const hcm = (statPrefix: string, cluster: string) => ({
      name: 'envoy.filters.network.http_connection_manager',
      typed_config: {
        '@type':
          'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager',
        stat_prefix: statPrefix,
        codec_type: 'AUTO',
        route_config: {
          virtual_hosts: [
            {
              name: 'grpc',
              domains: ['*'],
              routes: [
                { match: { prefix: '/echo.Echo/' }, route: { cluster } },
                { match: { prefix: '/echo.Nowhere/' }, route: { cluster: 'nowhere' } },
              ],
            },
          ],
        },
        http_filters: [{ name: 'envoy.filters.http.router' }],
      },
    });
    const h2 = {
      'envoy.extensions.upstreams.http.v3.HttpProtocolOptions': {
        '@type': 'type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions',
        explicit_http_config: { http2_protocol_options: {} },
      },
    };
    const endpoint = (ip: string) => ({
      lb_endpoints: [{ endpoint: { address: { socket_address: { address: ip, port_value: 50051 } } } }],
    });
    const config = {
      admin: { address: { socket_address: { address: '0.0.0.0', port_value: 9901 } } },
      static_resources: {
        listeners: [
          {
            name: 'grpc_h2c',
            address: { socket_address: { address: '0.0.0.0', port_value: 80 } },
            filter_chains: [{ filters: [hcm('grpc_h2c', 'echo_h2c')] }],
          },
          {
            name: 'grpc_tls',
            address: { socket_address: { address: '0.0.0.0', port_value: 443 } },
            filter_chains: [
              {
                filters: [hcm('grpc_tls', 'echo_tls')],
                transport_socket: {
                  name: 'envoy.transport_sockets.tls',
                  typed_config: {
                    '@type':
                      'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext',
                    common_tls_context: {
                      alpn_protocols: ['h2', 'http/1.1'],
                      tls_certificates: [
                        {
                          certificate_chain: { filename: certs.file('certs/front-envoy/server.crt') },
                          private_key: { filename: certs.file('certs/front-envoy/server.key') },
                        },
                      ],
                    },
                  },
                },
              },
            ],
          },
        ],
        clusters: [
          { name: 'nowhere', type: 'STATIC', load_assignment: { cluster_name: 'nowhere' } },
          {
            name: 'echo_h2c',
            type: 'STATIC',
            typed_extension_protocol_options: h2,
            load_assignment: { cluster_name: 'echo_h2c', endpoints: [endpoint('172.31.70.11')] },
          },
          {
            name: 'echo_tls',
            type: 'STATIC',
            typed_extension_protocol_options: h2,
            load_assignment: { cluster_name: 'echo_tls', endpoints: [endpoint('172.31.70.12')] },
            transport_socket: {
              name: 'envoy.transport_sockets.tls',
              typed_config: {
                '@type': 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext',
                sni: 'grpc-backend',
                common_tls_context: {
                  validation_context: { trusted_ca: { filename: certs.file('certs/CA/ca.crt') } },
                },
              },
            },
          },
        ],
      },
    };
    const front = await lab.proxy(YAML.stringify(config), { self: '172.31.70.10', name: 'front' });
    const ip = map.ip('172.31.70.10');

    const plain = new EchoClient(`${ip}:${map.port(80)}`, grpc.credentials.createInsecure()) as Echo;
    const secure = new EchoClient(
      `${ip}:${map.port(443)}`,
      grpc.credentials.createSsl(Buffer.from(certs.pki.ca.certPem)),
      { 'grpc.ssl_target_name_override': 'front-envoy', 'grpc.default_authority': 'front-envoy' },
    ) as Echo;
    cleanups.push(
      () => plain.close(),
      () => secure.close(),
    );

    for (const client of [plain, secure]) {
      const u = await unary(client, 'hi');
      expect(u.reply).toBe('echo hi');
      expect(u.status.code).toBe(grpc.status.OK);
      expect(u.initial.get('x-served-by')).toEqual(['echo']);
      expect(u.initial.get('server')).toEqual(['envoy']);
      expect(u.status.metadata.get('x-trailer')).toEqual(['seen hi']);

      const failed = await new Promise<grpc.ServiceError>((resolve) =>
        client.fail('x', (err) => resolve(err!)),
      );
      expect(failed.code).toBe(grpc.status.NOT_FOUND);
      expect(failed.details).toBe('no such thing');

      const chat = await conversation(client, ['one', 'two', 'three']);
      expect(chat.replies).toEqual(['re: one', 're: two', 're: three']);
      expect(chat.status.code).toBe(grpc.status.OK);
      expect(chat.status.metadata.get('x-trailer')).toEqual(['done']);
    }

    // The proxy's own answers to a gRPC request are gRPC: no healthy upstream, no route.
    const ping = (service: string) => {
      const Client = grpc.makeGenericClientConstructor(
        { ping: { path: `/${service}/Ping`, requestStream: false, responseStream: false, ...text } },
        service,
      );
      const client = new Client(`${ip}:${map.port(80)}`, grpc.credentials.createInsecure()) as InstanceType<
        typeof Client
      > & { ping(m: string, cb: grpc.requestCallback<string>): void };
      cleanups.push(() => client.close());
      return new Promise<grpc.ServiceError>((resolve) => client.ping('x', (err) => resolve(err!)));
    };
    expect(await ping('echo.Nowhere')).toMatchObject({
      code: grpc.status.UNAVAILABLE,
      details: 'no healthy upstream',
    });
    expect((await ping('other.Service')).code).toBe(grpc.status.UNIMPLEMENTED);

    const s = await stats(front.admin, '(echo_|grpc_|ssl)');
    expect(s.get('cluster.echo_h2c.upstream_cx_http2_total')).toBe('1');
    expect(s.get('cluster.echo_tls.upstream_cx_http2_total')).toBe('1');
    expect(s.get('cluster.echo_h2c.upstream_rq_total')).toBe('3');
    expect(s.get('cluster.echo_tls.upstream_rq_200')).toBe('3');
    expect(s.get('cluster.echo_tls.ssl.handshake')).toBe('1');
    expect(s.get('http.grpc_h2c.downstream_cx_http2_total')).toBe('1');
    expect(s.get('http.grpc_tls.downstream_rq_http2_total')).toBe('3');
    expect(s.get('http.grpc_tls.downstream_cx_ssl_total')).toBe('1');
    expect(s.get('http.grpc_h2c.downstream_cx_ssl_total')).toBe('0');
    expect(s.get(`listener.${ip}_${map.port(443)}.ssl.handshake`)).toBe('1');
  });
});
