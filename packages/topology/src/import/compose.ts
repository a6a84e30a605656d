/**
 * Reading a course-style docker-compose project into a neutral model: services with their image,
 * command, environment, hostname, networks (address, aliases), namespace sharing and bind mounts.
 * Browser-safe.
 */
import { isObj, type J, list, obj, str } from '../envoy-read.js';

export interface ComposeVolume {
  /** Project-relative path, normalised, without `./`; directories end with `/`. */
  source: string;
  target: string;
}

export interface ComposeService {
  name: string;
  image?: string;
  build: boolean;
  command?: string[];
  environment: Record<string, string>;
  hostname?: string;
  ip?: string;
  aliases: string[];
  /** `network_mode: service:<name>` */
  joins?: string;
  volumes: ComposeVolume[];
  ports: { host: number; container: number; protocol: 'tcp' | 'udp' }[];
  /** Ports the service `expose`s, in order. */
  expose: number[];
}

export interface ComposeProject {
  services: ComposeService[];
  network?: { name: string; subnet?: string };
  problems: string[];
}

/** `./a/../b/` → `b/`; undefined when the path leaves the project or is absolute. */
export function projectRelative(p: string): string | undefined {
  if (p.startsWith('/') || p.startsWith('~') || /^[A-Za-z]:/.test(p)) return undefined;
  const dir = p.endsWith('/');
  const parts: string[] = [];
  for (const seg of p.split('/')) {
    if (seg === '' || seg === '.') continue;
    if (seg === '..') {
      if (parts.length === 0) return undefined;
      parts.pop();
    } else parts.push(seg);
  }
  if (parts.length === 0) return undefined;
  return parts.join('/') + (dir ? '/' : '');
}

function environment(v: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (Array.isArray(v)) {
    for (const e of v) {
      const s = str(e);
      if (!s) continue;
      const i = s.indexOf('=');
      if (i > 0) out[s.slice(0, i).trim()] = s.slice(i + 1);
    }
  } else if (isObj(v)) {
    for (const [k, x] of Object.entries(v)) out[k] = x === null || x === undefined ? '' : String(x);
  }
  return out;
}

function command(v: unknown): string[] | undefined {
  if (Array.isArray(v)) return v.map(String);
  if (typeof v === 'string') return v.split(/\s+/).filter(Boolean);
  return undefined;
}

function port(s: string): number | undefined {
  const n = Number(s);
  return Number.isInteger(n) && n >= 1 && n <= 65535 ? n : undefined;
}

export function readCompose(doc: unknown, files: ReadonlySet<string>): ComposeProject {
  const problems: string[] = [];
  const root: J = isObj(doc) ? doc : {};
  const services: ComposeService[] = [];
  const nets = isObj(root.networks) ? root.networks : {};
  const netNames = Object.keys(nets);
  let network: ComposeProject['network'];
  for (const name of netNames) {
    const first = list(obj(obj(nets[name]).ipam).config)[0];
    const subnet = isObj(first) ? str(first.subnet) : undefined;
    if (!network || (subnet && !network.subnet)) network = { name, subnet };
  }
  if (netNames.length > 1)
    problems.push(
      `the project defines ${netNames.length} networks; meshcraft labs have one, so only '${network?.name}' is kept`,
    );
  const svcs = isObj(root.services) ? root.services : {};
  for (const [name, raw] of Object.entries(svcs)) {
    if (!isObj(raw)) continue;
    const s: ComposeService = {
      name,
      image: str(raw.image),
      build: raw.build !== undefined,
      command: command(raw.command),
      environment: environment(raw.environment),
      hostname: str(raw.hostname),
      aliases: [],
      volumes: [],
      ports: [],
      expose: list(raw.expose)
        .map((p) => port(String(p).replace(/\/(tcp|udp)$/, '')))
        .filter((p): p is number => p !== undefined),
    };
    const mode = str(raw.network_mode);
    if (mode?.startsWith('service:')) s.joins = mode.slice('service:'.length);
    else if (mode)
      problems.push(
        `service '${name}' uses network_mode '${mode}', which a lab cannot express; it is placed on the lab network`,
      );
    if (Array.isArray(raw.networks)) {
      // `networks: [envoymesh]`: attached, no fixed address.
    } else if (isObj(raw.networks)) {
      const attached = network ? raw.networks[network.name] : Object.values(raw.networks)[0];
      if (isObj(attached)) {
        s.ip = str(attached.ipv4_address);
        s.aliases = list(attached.aliases).map(String);
      }
    }
    for (const v of list(raw.volumes)) {
      let source: string | undefined;
      let target: string | undefined;
      if (typeof v === 'string') {
        const parts = v.split(':');
        source = parts[0];
        target = parts[1];
      } else if (isObj(v) && (v.type === undefined || v.type === 'bind')) {
        source = str(v.source);
        target = str(v.target);
      }
      if (!source || !target) continue;
      const rel = projectRelative(source);
      if (rel === undefined) {
        problems.push(`service '${name}' mounts '${source}', which is outside the project; it is ignored`);
        continue;
      }
      // A mount source without a trailing slash is a directory when files live under it.
      const isDir = rel.endsWith('/') || [...files].some((f) => f.startsWith(`${rel}/`));
      s.volumes.push({
        source: isDir && !rel.endsWith('/') ? `${rel}/` : rel,
        target: isDir && !target.endsWith('/') ? `${target}/` : target,
      });
    }
    for (const p of list(raw.ports)) {
      const m = /^(?:[\d.]+:)?(\d+):(\d+)(?:\/(tcp|udp))?$/.exec(String(p));
      const host = m ? port(m[1]!) : undefined;
      const container = m ? port(m[2]!) : undefined;
      if (host && container) s.ports.push({ host, container, protocol: m?.[3] === 'udp' ? 'udp' : 'tcp' });
    }
    services.push(s);
  }
  return { services, network, problems };
}

/** The project file a container sees at `path`, through its bind mounts. */
export function mountedFile(s: ComposeService, path: string): string | undefined {
  let best: ComposeVolume | undefined;
  for (const v of s.volumes) {
    const match = v.target.endsWith('/') ? path.startsWith(v.target) : path === v.target;
    if (match && (!best || v.target.length > best.target.length)) best = v;
  }
  if (!best) return undefined;
  return best.target.endsWith('/') ? best.source + path.slice(best.target.length) : best.source;
}
