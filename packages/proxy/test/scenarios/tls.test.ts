/**
 * The course's TLS lab and snippets (labs-day13 §3.8–3.11, §8), run from their own configs with
 * certificates made by the proxy's generator: the tls-static lab (http→https redirect, TLS
 * termination, one-way TLS to gray, mutual TLS to purple, plain HTTP to the rest, `/certs`), TLS
 * passthrough chosen by SNI, and what happens with bad certificates or clients.
 */
import { X509Certificate } from 'node:crypto';
import fs from 'node:fs';
import tls from 'node:tls';
import { afterEach, describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { AddressMap, fixture, Lab, request } from './harness.js';
import { httpsRequest, labPki, opensslClient } from './tls-support.js';

let lab: Lab | undefined;
afterEach(async () => {
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

/** The lab's certificates as its gencerts.sh run made them (labs-day13 §8.2). */
const TLS_STATIC_PKI = {
  certificates: [
    { name: 'front-envoy', server: true, client: true },
    { name: 'service-gray', server: true },
    { name: 'service-purple', server: true },
  ],
};

/** tls-static (§3.11.1): blue/green/red behind `myservice`, gray and purple with their own Envoy, front-envoy. */
async function tlsStatic(
  o: {
    purpleConfig?: string;
    /** Runs once the certificates exist, before any proxy starts (to swap files). */
    beforeProxies?: (certs: Awaited<ReturnType<typeof labPki>>) => Promise<void>;
  } = {},
) {
  const map = new AddressMap('172.31.90.', '127.31.90.');
  await map.allocate(80, 443, 8080, 9901);
  lab = new Lab(map);
  const certs = await labPki(lab, TLS_STATIC_PKI);
  await o.beforeProxies?.(certs);
  const apps = [
    ['blue', '172.31.90.2'],
    ['green', '172.31.90.3'],
    ['red', '172.31.90.4'],
  ] as const;
  for (const [name, ip] of apps) {
    await lab.demoapp({ ip, port: 80, serverName: name, serviceName: name });
    lab.alias(`service-${name}`, ip);
  }
  lab.alias('myservice', ...apps.map(([, ip]) => ip));
  lab.alias('service-gray', '172.31.90.15');
  lab.alias('service-purple', '172.31.90.16');
  // gray and purple: servicemesh-app runs the app on 127.0.0.1:8080 next to its Envoy.
  await lab.demoapp({ ip: '172.31.90.15', port: 8080, serverName: '337e4930e215', serviceName: 'gray' });
  await lab.demoapp({ ip: '172.31.90.16', port: 8080, serverName: 'bfd077bec75b', serviceName: 'purple' });
  const gray = await lab.proxy(fixture('day13-lab11-tls-static.service-gray.yaml'), {
    self: '172.31.90.15',
    name: 'gray',
    mounts: { '/etc/envoy/certs/': certs.dir('certs/service-gray') },
  });
  const purple = await lab.proxy(o.purpleConfig ?? fixture('day13-lab11-tls-static.service-purple.yaml'), {
    self: '172.31.90.16',
    name: 'purple',
    mounts: {
      '/etc/envoy/certs/': certs.dir('certs/service-purple'),
      '/etc/envoy/ca/': certs.dir('certs/CA'),
    },
  });
  const frontMounts = {
    '/etc/envoy/certs/': certs.dir('certs/front-envoy'),
    '/etc/envoy/ca/': certs.dir('certs/CA'),
  };
  const front = await lab.proxy(fixture('day13-lab11-tls-static.front-envoy.yaml'), {
    self: '172.31.90.10',
    name: 'front-envoy',
    mounts: frontMounts,
  });
  const ip = map.ip('172.31.90.10');
  return {
    map,
    certs,
    front,
    gray,
    purple,
    frontMounts,
    https: `https://${ip}:${map.port(443)}`,
    http: `http://${ip}:${map.port(80)}`,
  };
}

describe('lab 11 tls-static', () => {
  it('redirects http to https, terminates TLS, and reaches gray over TLS, purple over mTLS, the rest over HTTP', async () => {
    const { map, certs, front, gray, purple, https, http } = await tlsStatic();
    const ip = map.ip('172.31.90.10');

    // 1. Both listeners are there.
    expect((await request(`${front.admin}/listeners`)).body).toBe(
      `listener_http::${ip}:${map.port(80)}\nlistener_https::${ip}:${map.port(443)}\n`,
    );

    // 3. Plain HTTP redirects to HTTPS, keeping the host and path, with port_redirect's explicit :443.
    const redirect = await request(`${http}/`, { method: 'HEAD', headers: { Host: ip } });
    expect(redirect.status).toBe(301);
    expect(redirect.headers.location).toBe(`https://${ip}:443/`);
    expect(redirect.headers.server).toBe('envoy');

    // 4. The handshake as openssl s_client shows it: front-envoy's leaf from envoy-ca, TLS 1.3, no ALPN.
    const handshake = await opensslClient(ip, map.port(443));
    expect(handshake).toMatch(/0 s:CN ?= ?front-envoy\n\s+i:CN ?= ?envoy-ca/);
    expect(handshake).toContain('verify error:num=20:unable to get local issuer certificate');
    expect(handshake).toContain('New, TLSv1.3, Cipher is TLS_AES_256_GCM_SHA384');
    expect(handshake).toContain('No ALPN negotiated');
    expect(handshake).toContain('No client certificate CA names sent');
    expect(handshake).toContain('Server public key is 2048 bit');
    expect(handshake).toContain('Verify return code: 21 (unable to verify the first certificate)');

    // 5. One-way TLS upstream: front-envoy verifies gray's certificate against the CA.
    const toGray = await httpsRequest(`${https}/service/gray`);
    expect(toGray.status).toBe(200);
    expect(toGray.body).toBe(
      'Hello from App behind Envoy (service gray)! hostname: 337e4930e215 resolved hostname: 172.31.90.15\n',
    );
    expect(toGray.tls.peerSubject).toBe('CN=front-envoy');
    // 6. Mutual TLS upstream: purple requires, and gets, front-envoy's client certificate.
    const toPurple = await httpsRequest(`${https}/service/purple`);
    expect(toPurple.status).toBe(200);
    expect(toPurple.body).toBe(
      'Hello from App behind Envoy (service purple)! hostname: bfd077bec75b resolved hostname: 172.31.90.16\n',
    );
    // The rest (https → http): round robin over blue, green and red, told the client came over https.
    const names = new Set<string>();
    for (let i = 0; i < 3; i++) {
      const echo = await httpsRequest(`${https}/echo`);
      expect(echo.status).toBe(200);
      expect(echo.body).toMatch(/\n {2}x-forwarded-proto: https\n/);
      names.add((await httpsRequest(`${https}/service/x`)).body.match(/\(service (\w+)\)/)![1]!);
    }
    expect(names).toEqual(new Set(['blue', 'green', 'red']));

    const front443 = `listener.${ip}_${map.port(443)}`;
    const f = await stats(front.admin, '(ssl|upstream_cx_total)');
    expect(Number(f.get(`${front443}.ssl.handshake`))).toBeGreaterThanOrEqual(9);
    expect(f.get(`${front443}.ssl.versions.TLSv1.3`)).toBe(f.get(`${front443}.ssl.handshake`));
    expect(f.get('cluster.service-gray.ssl.handshake')).toBe('1');
    expect(f.get('cluster.service-purple.ssl.handshake')).toBe('1');
    expect(f.has('cluster.mycluster.ssl.handshake')).toBe(false);
    expect(
      (await stats(front.admin, 'ingress_https\\.downstream_cx_ssl_total')).get(
        'http.ingress_https.downstream_cx_ssl_total',
      ),
    ).toBe(f.get(`${front443}.ssl.handshake`));
    const grayListener = `listener.${map.ip('172.31.90.15')}_${map.port(443)}`;
    const g = await stats(gray.admin, 'ssl');
    // One keep-alive connection from front-envoy, which presents no certificate to gray.
    expect(g.get(`${grayListener}.ssl.handshake`)).toBe('1');
    expect(g.get(`${grayListener}.ssl.no_certificate`)).toBe('1');
    const purpleListener = `listener.${map.ip('172.31.90.16')}_${map.port(443)}`;
    const p = await stats(purple.admin, 'ssl');
    expect(p.get(`${purpleListener}.ssl.handshake`)).toBe('1');
    expect(p.get(`${purpleListener}.ssl.no_certificate`)).toBe('0');

    // 2. /certs: three contexts — gray's upstream (CA), purple's upstream (CA + client chain), the
    // https listener (server chain) — printed as the notes print them.
    const caCert = certs.pki.ca;
    const created = new Date(new X509Certificate(caCert.certPem).validFrom);
    const rfc3339 = (d: Date) => d.toISOString().replace(/\.000Z$/, 'Z');
    const detail = (p_: string, serial: string) => ({
      path: p_,
      serial_number: serial,
      subject_alt_names: [],
      days_until_expiration: '3649',
      valid_from: rfc3339(created),
      expiration_time: rfc3339(new Date(created.getTime() + 3650 * 86_400_000)),
    });
    const ca = detail('/etc/envoy/ca/ca.crt', caCert.serialNumber);
    const text = (await request(`${front.admin}/certs`)).body
      .replaceAll(certs.dir('certs/front-envoy'), '/etc/envoy/certs/')
      .replaceAll(certs.dir('certs/CA'), '/etc/envoy/ca/');
    expect(text).toBe(
      `${JSON.stringify(
        {
          certificates: [
            { ca_cert: [ca], cert_chain: [] },
            { ca_cert: [ca], cert_chain: [detail('/etc/envoy/certs/client.crt', '1001')] },
            { ca_cert: [], cert_chain: [detail('/etc/envoy/certs/server.crt', '1000')] },
          ],
        },
        null,
        1,
      )}\n`,
    );
    expect(
      (await stats(front.admin, '^server\\.days_until_first_cert_expiring$')).get(
        'server.days_until_first_cert_expiring',
      ),
    ).toBe('3649');
  });

  it('a client without the certificate purple requires fails the handshake; purple keeps serving front-envoy', async () => {
    // purple checking client certificates against the CA it mounts (errata §10.12: the lab's does not).
    const doc = YAML.parse(fixture('day13-lab11-tls-static.service-purple.yaml'));
    const ctx = doc.static_resources.listeners[1].filter_chains[0].transport_socket.typed_config;
    ctx.common_tls_context.validation_context = { trusted_ca: { filename: '/etc/envoy/ca/ca.crt' } };
    const { map, certs, purple, https } = await tlsStatic({ purpleConfig: YAML.stringify(doc) });
    const purpleIp = map.ip('172.31.90.16');
    const port = map.port(443);

    const bare = await new Promise<string>((resolve) => {
      const s = tls.connect({ host: purpleIp, port, rejectUnauthorized: false }, () =>
        s.write('GET / HTTP/1.1\r\nhost: x\r\n\r\n'),
      );
      s.on('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? e.message));
      s.on('data', () => resolve('answered'));
    });
    expect(bare).toBe('ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED');
    const tls12 = await new Promise<string>((resolve) => {
      const s = tls.connect({ host: purpleIp, port, rejectUnauthorized: false, maxVersion: 'TLSv1.2' });
      s.on('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? e.message));
      s.on('secureConnect', () => resolve('handshake completed'));
    });
    expect(tls12).toBe('ERR_SSL_SSLV3_ALERT_HANDSHAKE_FAILURE');

    // A certificate from another CA is refused too; front-envoy's, from envoy-ca, still works.
    const rogue = await labPki(lab!, {
      caDir: 'rogue/CA/',
      certificates: [{ name: 'rogue', dir: 'rogue/', client: true }],
    });
    await expect(
      httpsRequest(`https://${purpleIp}:${port}/service/purple`, {
        cert: rogue.pki.files['rogue/client.crt'],
        key: rogue.pki.files['rogue/client.key'],
      }),
    ).rejects.toThrow();
    const direct = await httpsRequest(`https://${purpleIp}:${port}/service/purple`, {
      ca: certs.pki.ca.certPem,
      cert: certs.pki.files['certs/front-envoy/client.crt'],
      key: certs.pki.files['certs/front-envoy/client.key'],
    });
    expect(direct.status).toBe(200);
    expect((await httpsRequest(`${https}/service/purple`)).status).toBe(200);

    const s = await stats(purple.admin, 'ssl');
    const l = `listener.${purpleIp}_${port}.ssl`;
    expect(s.get(`${l}.fail_verify_no_cert`)).toBe('2');
    expect(s.get(`${l}.fail_verify_error`)).toBe('1');
    expect(s.get(`${l}.handshake`)).toBe('2');
  });

  it('answers 503 with the TLS error when gray presents a certificate the CA did not sign', async () => {
    const { front, https } = await tlsStatic({
      beforeProxies: async (certs) => {
        const rogue = await labPki(lab!, {
          caDir: 'rogue/CA/',
          certificates: [{ name: 'gray', dir: 'rogue/gray/', server: true }],
        });
        for (const f of ['server.crt', 'server.key'])
          fs.copyFileSync(rogue.file(`rogue/gray/${f}`), certs.file(`certs/service-gray/${f}`));
      },
    });
    const r = await httpsRequest(`${https}/service/gray`);
    expect(r.status).toBe(503);
    expect(r.body).toBe(
      'upstream connect error or disconnect/reset before headers. reset reason: connection failure, transport failure reason: TLS error: 268435581:SSL routines:OPENSSL_internal:CERTIFICATE_VERIFY_FAILED',
    );
    expect(
      (await stats(front.admin, 'service-gray\\.ssl')).get('cluster.service-gray.ssl.fail_verify_error'),
    ).toBe('1');
    // The other clusters are unaffected.
    expect((await httpsRequest(`${https}/service/purple`)).status).toBe(200);
  });
});

describe('bad TLS files', () => {
  it('a missing file, or one that is not a certificate, stops start-up naming the file', async () => {
    const map = new AddressMap('172.31.90.', '127.31.91.');
    await map.allocate(80, 443, 9901);
    lab = new Lab(map);
    const certs = await labPki(lab, TLS_STATIC_PKI);
    const start = (mounts: Record<string, string>) =>
      lab!.proxy(fixture('day13-lab11-tls-static.front-envoy.yaml'), { self: '172.31.90.10', mounts });
    const emptyCa = `${lab.dir}/empty-ca/`;
    fs.mkdirSync(emptyCa);
    await expect(
      start({ '/etc/envoy/certs/': certs.dir('certs/front-envoy'), '/etc/envoy/ca/': emptyCa }),
    ).rejects.toThrow(
      new RegExp(
        `exited with 1:[\\s\\S]*cluster 'service-gray': unable to read file: ${emptyCa}ca.crt \\(no such file\\)`,
      ),
    );
    fs.writeFileSync(certs.file('certs/front-envoy/server.crt'), 'not a certificate\n');
    await expect(
      start({ '/etc/envoy/certs/': certs.dir('certs/front-envoy'), '/etc/envoy/ca/': certs.dir('certs/CA') }),
    ).rejects.toThrow(
      `listener 'listener_https': Failed to load certificate chain from ${certs.file('certs/front-envoy/server.crt')}: it holds no PEM certificate`,
    );
  });
});

/** Two TLS backends of the passthrough snippet: servicemesh-app style, each with its own certificate. */
async function passthroughBackends(map: AddressMap, lab_: Lab) {
  const certs = await labPki(lab_, {
    certificates: [
      { name: 'webserver01', server: true },
      { name: 'webserver02', server: true },
    ],
  });
  for (const [name, ip] of [
    ['webserver01', '172.31.9.11'],
    ['webserver02', '172.31.9.12'],
  ] as const) {
    await lab_.demoapp({ ip, port: 8080, serverName: name });
    await lab_.proxy(fixture('day13-lab11-tls-static.service-gray.yaml'), {
      self: ip,
      name,
      mounts: { '/etc/envoy/certs/': certs.dir(`certs/${name}`) },
    });
  }
  void map;
  return certs;
}

/** A TLS client that reports the server certificate's CN and what the server answered on `/`. */
function tlsGet(
  host: string,
  port: number,
  servername: string,
): Promise<{ cn: string; body: string } | string> {
  return new Promise((resolve) => {
    const s = tls.connect({ host, port, servername, rejectUnauthorized: false }, () => {
      s.write(`GET / HTTP/1.1\r\nhost: ${servername || host}\r\nconnection: close\r\n\r\n`);
    });
    let body = '';
    s.on('data', (d: Buffer) => {
      body += d.toString();
    });
    s.on('end', () => {
      const peer = s.getPeerX509Certificate();
      resolve(peer ? { cn: peer.subject, body } : 'closed before the handshake');
    });
    s.on('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? e.message));
  });
}

describe('https passthrough (§3.10)', () => {
  it('tcp_proxy passes TLS through to the backends untouched, connection by connection', async () => {
    const map = new AddressMap('172.31.9.', '127.31.9.');
    await map.allocate(80, 443, 8080, 8443, 9901);
    lab = new Lab(map);
    await passthroughBackends(map, lab);
    const front = await lab.proxy(fixture('day13-snippet10-https-passthrough.envoy.yaml'), {
      self: '172.31.9.2',
    });
    const ip = map.ip('172.31.9.2');
    const seen: string[] = [];
    for (let i = 0; i < 4; i++) {
      const r = await tlsGet(ip, map.port(8443), '');
      if (typeof r === 'string') throw new Error(r);
      expect(r.body).toMatch(/^HTTP\/1\.1 200 OK\r\n[\s\S]*iKubernetes demoapp v1\.0/);
      seen.push(r.cn);
    }
    // The client sees the backends' own certificates, alternating: TLS runs end to end.
    expect(seen).toEqual(
      seen[0] === 'CN=webserver01'
        ? ['CN=webserver01', 'CN=webserver02', 'CN=webserver01', 'CN=webserver02']
        : ['CN=webserver02', 'CN=webserver01', 'CN=webserver02', 'CN=webserver01'],
    );
    const s = await stats(front.admin, '(ssl|https_passthrough)');
    expect(s.get('tcp.https_passthrough.downstream_cx_total')).toBe('4');
    expect([...s.keys()].some((k) => k.includes('.ssl.'))).toBe(false);
  });

  it('picks the upstream by SNI with the TLS inspector and logs %REQUESTED_SERVER_NAME%', async () => {
    const map = new AddressMap('172.31.9.', '127.31.19.');
    await map.allocate(80, 443, 8080, 8443, 9901);
    lab = new Lab(map);
    await passthroughBackends(map, lab);
    const log = `${lab.dir}/passthrough.log`;
    const doc = YAML.parse(fixture('day13-snippet10-https-passthrough.envoy.yaml'));
    const listener = doc.static_resources.listeners[0];
    const tcp = (cluster: string) => ({
      name: 'envoy.filters.network.tcp_proxy',
      typed_config: {
        '@type': 'type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy',
        cluster,
        stat_prefix: cluster,
        access_log: [
          {
            name: 'envoy.access_loggers.file',
            typed_config: {
              '@type': 'type.googleapis.com/envoy.extensions.access_loggers.file.v3.FileAccessLog',
              path: log,
              log_format: {
                text_format_source: { inline_string: '%REQUESTED_SERVER_NAME% %UPSTREAM_HOST%\n' },
              },
            },
          },
        ],
      },
    });
    listener.listener_filters = [{ name: 'envoy.filters.listener.tls_inspector' }];
    listener.filter_chains = [
      { filter_chain_match: { server_names: ['webserver01.ilinux.io'] }, filters: [tcp('web1')] },
      {
        filter_chain_match: { server_names: ['*.ilinux.io'], transport_protocol: 'tls' },
        filters: [tcp('web2')],
      },
    ];
    const [one, two] = doc.static_resources.clusters[0].load_assignment.endpoints[0].lb_endpoints;
    const cluster = (name: string, endpoint: unknown) => ({
      ...doc.static_resources.clusters[0],
      name,
      load_assignment: { cluster_name: name, endpoints: [{ lb_endpoints: [endpoint] }] },
    });
    doc.static_resources.clusters = [cluster('web1', one), cluster('web2', two)];
    const front = await lab.proxy(YAML.stringify(doc), { self: '172.31.9.2', name: 'front' });
    const ip = map.ip('172.31.9.2');
    const port = map.port(8443);

    expect(await tlsGet(ip, port, 'webserver01.ilinux.io')).toMatchObject({ cn: 'CN=webserver01' });
    expect(await tlsGet(ip, port, 'www.ilinux.io')).toMatchObject({ cn: 'CN=webserver02' });
    // No chain for another name, or for a client that does not speak TLS: the connection is closed.
    expect(await tlsGet(ip, port, 'www.example.com')).toMatch(/closed before the handshake|ECONNRESET/);
    const plain = await request(`http://${ip}:${port}/`).catch((e: NodeJS.ErrnoException) => e.code);
    expect(plain).toBe('ECONNRESET');

    const s = await stats(front.admin, '(tls_inspector|no_filter_chain_match)');
    expect(s.get(`listener.${ip}_${port}.no_filter_chain_match`)).toBe('2');
    expect(s.get('tls_inspector.tls_found')).toBe('3');
    expect(s.get('tls_inspector.tls_not_found')).toBe('1');
    expect(s.get('tls_inspector.sni_found')).toBe('3');
    const up = (last: string) => `${map.ip(`172.31.9.${last}`)}:${map.port(443)}`;
    await expect
      .poll(() => (fs.existsSync(log) ? fs.readFileSync(log, 'utf8') : ''), { timeout: 10_000 })
      .toBe(`webserver01.ilinux.io ${up('11')}\nwww.ilinux.io ${up('12')}\n`);
  });
});
