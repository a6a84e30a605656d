/** Shared by the cross-cutting tests: course fixtures, rendering for a lab's own network, proxy validation. */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { mountedFile, readCompose } from '../src/import/compose.js';
import {
  buildLayout,
  containerFile,
  dockerAddressPlan,
  type Lab,
  LabIndex,
  type RenderOptions,
  type RenderResult,
  render,
  summarizeBootstrap,
} from '../src/index.js';
import { readProjectDirectory } from '../src/node.js';

const here = dirname(fileURLToPath(import.meta.url));
export const COURSE_DIR = join(here, 'testdata', 'course');
export const GOLDEN_DIR = join(here, 'golden');
export const LIBRARY_DIR = join(here, '..', '..', '..', 'labs');

export function courseFiles(name: string): Record<string, string> {
  return readProjectDirectory(join(COURSE_DIR, name));
}

/** Renders a lab on its own subnet, as an exported compose project would run it. */
export function renderDocker(lab: Lab, opts: RenderOptions = {}): RenderResult {
  return render(lab, dockerAddressPlan(buildLayout(new LabIndex(lab))), opts);
}

/** The parsed file a rendered container reads at `path`. */
export function renderedReader(result: RenderResult, container: string): (path: string) => unknown {
  return (path) => {
    const file = containerFile(result, container, path);
    const text = file === undefined ? undefined : result.files[file];
    return text === undefined ? undefined : parse(text);
  };
}

/** The Envoy config a course container runs, and a reader for the files it mounts. */
export function courseProxy(
  files: Record<string, string>,
  service: string,
): { config: unknown; read: (path: string) => unknown } | undefined {
  const text = files['docker-compose.yaml'];
  if (text === undefined) return undefined;
  const compose = readCompose(parse(text), new Set(Object.keys(files)));
  const svc = compose.services.find((s) => s.name === service);
  if (!svc) return undefined;
  // The course mounts configs at /etc/envoy/envoy.yaml, except where its image names another path.
  const configFile =
    mountedFile(svc, '/etc/envoy/envoy.yaml') ??
    svc.volumes
      .map((v) => v.source)
      .find((f) => f in files && /^static_resources:|\nstatic_resources:/.test(files[f]!));
  if (!configFile || !(configFile in files)) return undefined;
  const read = (path: string) => {
    const f = mountedFile(svc, path);
    return f && f in files ? parse(files[f]!) : undefined;
  };
  return { config: parse(files[configFile]!), read };
}

/** What a proxy does, for comparing configs: its listeners and clusters. */
export function behaviour(
  config: unknown,
  read?: (path: string) => unknown,
): { listeners: unknown[]; clusters: unknown[] } {
  const s = summarizeBootstrap(config, { readFile: read });
  return { listeners: s.listeners, clusters: s.clusters };
}

export interface ProxyConfigModule {
  loadBootstrap(opts: { yaml?: string }): { bootstrap: object; warnings: string[] };
  normalizeResource(typeUrl: string, value: unknown): Record<string, unknown>;
  unsupportedFeatures?(bootstrap: object): { feature?: string; fieldPath?: string }[];
}

/**
 * meshcraft-proxy's config loader, from its sources (its `dist` may not be built when this runs).
 * The specifier is computed so the type checker does not pull the proxy's sources into this package.
 */
export async function proxyConfigLoader(): Promise<ProxyConfigModule | undefined> {
  const source = join(here, '..', '..', 'proxy', 'src', 'config', 'index.ts');
  if (!existsSync(source)) return undefined;
  return (await import(/* @vite-ignore */ source)) as ProxyConfigModule;
}
