/**
 * The lab library against the course: every lab validates, renders for both drivers, renders
 * proxies meshcraft-proxy's loader accepts as Envoy v3, and behaves like the course's own configs
 * (same listeners, routes, matches, hash policies, weights, clusters, LB policies, health checks,
 * outlier detection, circuit breakers, localities and endpoints).
 */

import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { buildLayout, type Lab, LabIndex, localAddressPlan, loopbackBlockFor, render } from '../src/index.js';
import { libraryDirectory, loadLibrary } from '../src/node.js';
import {
  behaviour,
  courseFiles,
  courseProxy,
  LIBRARY_DIR,
  proxyConfigLoader,
  renderDocker,
  renderedReader,
} from './helpers.js';

const library = loadLibrary(LIBRARY_DIR);
const loader = await proxyConfigLoader();

/** The labs issue 5 asks for, by name. */
const EXPECTED = [
  'http-front-proxy',
  'http-ingress',
  'http-egress',
  'tcp-front-proxy',
  'strict-dns',
  'admin-interface',
  'layered-runtime',
  'tls-static',
  'https-passthrough',
  'tls-front-proxy',
  'health-check-with-tcp',
  'health-check-with-http',
  'outlier-detection',
  'least-requests',
  'ring-hash-source-ip',
  'ring-hash-header',
  'priority-levels',
  'locality-weighted',
  'lb-subsets',
  'circuit-breaker',
  'httproute-simple-match',
  'httproute-headers-match',
  'front-proxy-http2',
  'udp-proxy',
  'eds-filesystem',
  'lds-cds-filesystem',
  'lds-cds-grpc',
  'ads-grpc',
  'traffic-split',
];

type Summary = { listeners: unknown[]; clusters: unknown[] };

/** Where each lab's proxies come from in the course, when not simply the course directory of the same name. */
interface CourseSource {
  fixture: string;
  /** Rendered container → course compose service (default: the same name, else the node id). */
  services?: Record<string, string>;
  /** Rendered container → course config file, for course projects whose compose builds images. */
  files?: Record<string, string>;
  /** Differences the lab makes on purpose (each explained in its source notes), removed before comparing. */
  deviations?: ((s: Summary) => void)[];
}

/** TLS material comes from the lab's PKI (files) where the course inlined a self-signed pair. */
const certificateSource = (s: Summary) => {
  for (const l of s.listeners as { chains?: { tls?: { certificates?: unknown } }[] }[]) {
    for (const c of l.chains ?? []) if (c.tls) delete c.tls.certificates;
  }
};

/** The demoapp answers `/`, not the article's `/version`, so the route rewrites the prefix. */
const prefixRewrite = (s: Summary) => {
  const visit = (v: unknown): void => {
    if (Array.isArray(v)) v.forEach(visit);
    else if (v && typeof v === 'object') {
      delete (v as Record<string, unknown>).prefixRewrite;
      Object.values(v).forEach(visit);
    }
  };
  visit(s.listeners);
};

const SOURCES: Record<string, CourseSource | null> = {
  'ring-hash-source-ip': { fixture: 'ring_hash_source_ip' },
  'ring-hash-header': { fixture: 'ring_hash_header' },
  'front-proxy-http2': {
    fixture: 'front-proxy-002',
    files: {
      'front-envoy': 'front-envoy.yaml',
      'service1-sidecar': 'service-envoy.yaml',
      'service2-sidecar': 'service-envoy.yaml',
    },
    deviations: [certificateSource],
  },
  'tls-front-proxy': {
    fixture: 'front-proxy-004',
    files: { 'front-envoy': 'envoy.yaml' },
    deviations: [certificateSource, prefixRewrite],
  },
  'udp-proxy': { fixture: 'udp', files: { testing: 'envoy.yaml' } },
  'https-passthrough': { fixture: 'https-passthrough', files: { 'front-envoy': 'envoy.yaml' } },
  // meshcraft's own lab: the notes describe runtime-driven splits without one.
  'traffic-split': null,
};

function courseBehaviour(source: CourseSource, container: string, node: string): Summary | undefined {
  const files = courseFiles(source.fixture);
  const file = source.files?.[container];
  if (file) return behaviour(parse(files[file]!));
  const service = source.services?.[container] ?? container;
  const p = courseProxy(files, service) ?? courseProxy(files, node);
  return p ? behaviour(p.config, p.read) : undefined;
}

describe('the lab library', () => {
  it('holds every lab the issue lists, and nothing unnamed', () => {
    expect(library.map((e) => e.file.replace(/\.lab\.yaml$/, '')).sort()).toEqual([...EXPECTED].sort());
  });

  it('is where the Node entry looks for it', () => {
    expect(resolve(libraryDirectory())).toBe(resolve(LIBRARY_DIR));
  });

  it('names each file after its lab', () => {
    for (const e of library) expect(e.file).toBe(`${e.lab?.metadata.name}.lab.yaml`);
  });

  for (const entry of library) {
    describe(entry.file, () => {
      const lab = entry.lab as Lab;

      it('validates, with a description, steps to try and things to observe', () => {
        expect(entry.issues.filter((i) => i.severity === 'error')).toEqual([]);
        // The only warning a library lab may carry: an image that cannot run offline, said out loud.
        for (const w of entry.issues) expect(w.message).toMatch(/cannot run offline/);
        expect(lab.metadata.description?.length).toBeGreaterThan(40);
        expect(lab.metadata.tryThis?.length).toBeGreaterThan(0);
        expect(lab.metadata.observe?.length).toBeGreaterThan(0);
        expect(lab.metadata.source?.reference).toMatch(/^labs-.*\.md$/);
      });

      it('renders for the docker driver and for the local driver', () => {
        const docker = renderDocker(lab);
        expect(docker.proxies.length).toBeGreaterThan(0);
        expect(docker.compose).toContain('services:');
        const layout = buildLayout(new LabIndex(lab));
        const ports = Object.fromEntries(layout.ports.map((p, i) => [p, 20000 + i]));
        const local = render(
          lab,
          localAddressPlan(layout, {
            block: loopbackBlockFor(lab.spec.network?.subnet),
            ports,
            fileRoot: '/srv/lab',
          }),
        );
        expect(local.proxies.map((p) => p.container)).toEqual(docker.proxies.map((p) => p.container));
        // Locally nothing binds the wildcard or a lab port: every address is the namespace's loopback one.
        for (const p of local.proxies) {
          expect(p.yaml).not.toMatch(/address: 0\.0\.0\.0/);
          for (const port of layout.ports) expect(p.yaml).not.toMatch(new RegExp(`port_value: ${port}\\n`));
        }
      });

      it.skipIf(!loader)("renders proxies meshcraft-proxy's loader accepts as Envoy v3", () => {
        const result = renderDocker(lab);
        for (const p of result.proxies) {
          expect(() => loader!.loadBootstrap({ yaml: p.yaml }), `${p.container}`).not.toThrow();
        }
        // Files a proxy subscribes to (EDS, LDS, CDS) hold resources of the same API.
        for (const [path, text] of Object.entries(result.files)) {
          const doc = parse(text) as { resources?: { '@type': string }[] };
          for (const r of doc?.resources ?? [])
            expect(() => loader!.normalizeResource(r['@type'], r), path).not.toThrow();
        }
      });

      const source =
        SOURCES[lab.metadata.name] === undefined
          ? { fixture: lab.metadata.name }
          : SOURCES[lab.metadata.name];
      it.skipIf(source === null)('behaves like the course config', () => {
        const result = renderDocker(lab);
        let compared = 0;
        for (const p of result.proxies) {
          const want = courseBehaviour(source!, p.container, p.node);
          if (!want) continue;
          const got = behaviour(p.bootstrap, renderedReader(result, p.container));
          for (const d of source!.deviations ?? []) {
            d(want);
            d(got);
          }
          expect(got, `${p.container} behaves like the course's`).toEqual(want);
          compared++;
        }
        expect(compared, 'proxies compared with a course config').toBeGreaterThan(0);
        // Labs fed by the course's control plane: it serves the same listeners, routes and endpoints.
        const cpFile = Object.keys(result.files).find((f) => f.endsWith('/config.yaml'));
        if (cpFile) {
          const course = parse(courseFiles(source!.fixture)['resources/config.yaml']!) as { spec: unknown };
          expect((parse(result.files[cpFile]!) as { spec: unknown }).spec).toEqual(course.spec);
        }
      });
    });
  }
});
