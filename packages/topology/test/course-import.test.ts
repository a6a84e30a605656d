/**
 * Importing the course's lab directories (docker-compose.yaml plus the Envoy configs it mounts),
 * transcribed from the reference notes into testdata/course/: the lab each gives validates, its
 * proxies are mapped onto structured fields (not kept raw), and rendering it back gives proxies
 * that behave exactly like the course's files.
 */
import { readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { importProject, type Lab, type LabNode } from '../src/index.js';
import { behaviour, COURSE_DIR, courseFiles, courseProxy, renderDocker, renderedReader } from './helpers.js';

const dirs = readdirSync(COURSE_DIR).filter((d) => 'docker-compose.yaml' in courseFiles(d));

function node<K extends LabNode['kind']>(lab: Lab, id: string, kind: K): Extract<LabNode, { kind: K }> {
  const n = lab.spec.nodes.find((x) => x.id === id);
  expect(n?.kind, `node ${id}`).toBe(kind);
  return n as Extract<LabNode, { kind: K }>;
}

function isRaw(n: LabNode): boolean {
  return (
    (n.kind === 'frontProxy' && n.raw !== undefined) ||
    ((n.kind === 'service' || n.kind === 'client') && n.sidecar?.raw !== undefined)
  );
}

describe('importing course lab directories', () => {
  for (const dir of dirs) {
    it(`${dir}: becomes a valid lab whose proxies behave like the course's`, () => {
      const files = courseFiles(dir);
      const { lab, issues } = importProject(files, { name: dir });
      expect(issues.filter((i) => i.severity === 'error')).toEqual([]);
      for (const w of issues) expect(w.message).toMatch(/cannot run offline/);
      expect(lab).toBeDefined();
      expect(lab!.spec.nodes.filter(isRaw).map((n) => n.id)).toEqual([]);
      const result = renderDocker(lab!);
      let compared = 0;
      for (const p of result.proxies) {
        const course = courseProxy(files, p.container) ?? courseProxy(files, p.node);
        if (!course) continue;
        const delivery = (course.config as { dynamic_resources?: { lds_config?: { path?: string } } })
          .dynamic_resources;
        if (delivery && !delivery.lds_config?.path) continue;
        expect(behaviour(p.bootstrap, renderedReader(result, p.container)), p.container).toEqual(
          behaviour(course.config, course.read),
        );
        compared++;
      }
      expect(compared).toBeGreaterThan(0);
    });
  }

  it('health-check-with-http: two sidecars sharing the alias myservice become the members of one STRICT_DNS cluster', () => {
    const { lab } = importProject(courseFiles('health-check-with-http'), { name: 'hc' });
    const cluster = node(lab!, 'web_cluster_01', 'cluster');
    expect(cluster.discovery).toBe('STRICT_DNS');
    expect(cluster.healthChecks?.[0]).toMatchObject({
      interval: '10s',
      unhealthyThreshold: 2,
      http: { path: '/livez', expectedStatuses: [{ start: 200, end: 399 }] },
    });
    const members = lab!.spec.edges.filter((e) => e.kind === 'membership');
    expect(members).toMatchObject([
      { from: 'web_cluster_01', to: 'webserver01', dnsName: 'myservice' },
      { from: 'web_cluster_01', to: 'webserver02', dnsName: 'myservice' },
    ]);
    expect(node(lab!, 'webserver01', 'service')).toMatchObject({
      hostname: 'red',
      ip: '172.31.18.11',
      aliases: ['myservice'],
    });
  });

  it('http-ingress (pattern A): the sidecar owns the namespace, the app joins it, and the route to 127.0.0.1:8080 is local', () => {
    const { lab } = importProject(courseFiles('http-ingress'), { name: 'ingress' });
    const s = node(lab!, 'webserver01', 'service');
    expect(s.netnsOwner).toBeUndefined();
    expect(s.ip).toBe('172.31.3.2');
    expect(s.aliases).toEqual(['ingress']);
    expect(s.sidecar?.containerName).toBe('envoy');
    expect(s.sidecar?.ingress?.[0]?.virtualHosts?.[0]?.routes[0]).toMatchObject({
      match: { prefix: '/' },
      local: true,
    });
    const compose = parse(renderDocker(lab!).compose!) as {
      services: Record<string, { network_mode?: string; networks?: unknown }>;
    };
    expect(compose.services.webserver01?.network_mode).toBe('service:envoy');
    expect(compose.services.envoy?.networks).toEqual({
      envoymesh: { ipv4_address: '172.31.3.2', aliases: ['ingress'] },
    });
  });

  it('lds-cds-grpc (pattern B): the app owns the namespace and the front proxy takes LDS/CDS from the control plane', () => {
    const { lab } = importProject(courseFiles('lds-cds-grpc'), { name: 'grpc' });
    expect(node(lab!, 'webserver01', 'service')).toMatchObject({
      netnsOwner: 'app',
      hostname: 'webserver01',
      ip: '172.31.15.11',
    });
    expect(node(lab!, 'xdsserver', 'controlPlane')).toMatchObject({
      ip: '172.31.15.5',
      aliases: ['xds-service'],
    });
    const front = node(lab!, 'envoy', 'frontProxy');
    expect(front.delivery).toEqual({ mode: 'grpc', controlPlane: 'xdsserver' });
    expect(front.envoyNode).toEqual({ id: 'envoy_front_proxy', cluster: 'webcluster' });
    expect(node(lab!, 'webcluster', 'cluster').discovery).toBe('EDS');
    const result = renderDocker(lab!);
    expect(parse(result.files['xdsserver/config.yaml']!).spec).toEqual(
      parse(courseFiles('lds-cds-grpc')['resources/config.yaml']!).spec,
    );
    const cp = result.containers.find((c) => c.name === 'xdsserver')!;
    expect(cp.env).toMatchObject({ NODE_ID: 'envoy_front_proxy', SERVER_PORT: '18000' });
  });

  it('strict-dns: a client sharing the egress sidecar namespace, and a shared alias resolving to both servers', () => {
    const { lab } = importProject(courseFiles('strict-dns'), { name: 'dns' });
    const client = node(lab!, 'client', 'client');
    expect(client.tool).toBe('toolbox');
    expect(client.sidecar?.egress?.[0]).toMatchObject({ name: 'listener_0', port: 80 });
    expect(lab!.spec.edges.filter((e) => e.kind === 'egress')).toHaveLength(1);
    expect(
      lab!.spec.edges.filter((e) => e.kind === 'membership').map((e) => (e as { dnsName?: string }).dnsName),
    ).toEqual(['myservice', 'myservice']);
  });

  it('tls-static: mounted certificate directories become the lab PKI, and servicemesh-app with a mounted config becomes an app with a sidecar', () => {
    const { lab } = importProject(courseFiles('tls-static'), { name: 'tls' });
    expect(lab!.spec.pki?.certificates).toEqual([
      { name: 'front-envoy', server: true, client: true },
      { name: 'service-gray', server: true },
      { name: 'service-purple', server: true },
    ]);
    const gray = node(lab!, 'gray', 'service');
    expect(gray.app).toEqual({ role: 'demoapp', serviceName: 'gray' });
    expect(gray.sidecar?.tlsFiles).toEqual({ identity: 'service-gray' });
    expect(node(lab!, 'blue', 'service').sidecar).toBeUndefined();
  });

  it('keeps an image meshcraft has no equivalent for, and says why it cannot run offline', () => {
    const { lab, issues } = importProject(courseFiles('front-proxy-004'), { name: 'v' });
    expect(node(lab!, 'version_v1', 'service').app).toMatchObject({
      role: 'image',
      image: 'docker.io/tanjunchen/version:v1',
      port: 9000,
    });
    expect(issues.find((i) => i.nodeId === 'version_v1')?.message).toMatch(
      /cannot run offline: meshcraft has no work-alike/,
    );
  });

  it('keeps a config it cannot map raw, and says what could not be mapped', () => {
    const files = courseFiles('http-front-proxy');
    files['envoy.yaml'] = files['envoy.yaml']!.replace(
      'stat_prefix: ingress_http',
      'stat_prefix: ingress_http\n          server_name: meshcraft',
    );
    const { lab, issues } = importProject(files, { name: 'raw' });
    const front = node(lab!, 'envoy', 'frontProxy');
    expect(front.raw?.mode).toBe('replace');
    expect(front.listeners).toEqual([]);
    expect(issues.find((i) => i.at === "node 'envoy'")?.message).toMatch(/kept raw .*server_name/);
    // The raw config still renders unchanged.
    expect(renderDocker(lab!).proxies[0]!.bootstrap).toEqual(parse(files['envoy.yaml']!));
  });

  it('reports what is wrong with a broken directory', () => {
    expect(importProject({ 'README.md': 'hi' }).issues[0]?.message).toMatch(/no docker-compose.yaml/);
    const broken = courseFiles('http-ingress');
    broken['envoy.yaml'] = 'static_resources: [\n';
    const r = importProject(broken);
    expect(r.lab).toBeUndefined();
    expect(r.issues[0]).toMatchObject({ severity: 'error', at: 'envoy.yaml' });
    expect(r.issues[0]!.message).toMatch(/not valid YAML .* line \d+, column \d+/);
    const loop = {
      'docker-compose.yaml':
        'services:\n  a:\n    image: x\n    network_mode: service:b\n  b:\n    image: y\n    network_mode: service:a\n',
    };
    expect(importProject(loop).issues[0]?.message).toMatch(/cycle/);
    const outside = courseFiles('http-ingress');
    outside['docker-compose.yaml'] = outside['docker-compose.yaml']!.replace(
      './envoy.yaml:',
      '../../etc/passwd:',
    );
    expect(
      importProject(outside)
        .issues.map((i) => i.message)
        .join('\n'),
    ).toMatch(/outside the project/);
  });
});
