/**
 * The address plan: how a runtime driver places a lab's network namespaces, so one lab renders
 * correctly for every driver.
 *
 * - docker: one bridge network; each namespace is a container with an address on it (the lab's
 *   own when its subnet is free, the same host offsets in another block otherwise); ports are the
 *   lab's own; Docker's DNS resolves container names and aliases (a shared alias returns every
 *   address, which STRICT_DNS fans out to).
 * - local: processes on one host; each namespace gets its own loopback address (172.31.18.11 can
 *   become 127.31.18.11), each distinct lab port maps to one free port used lab-wide (so
 *   `myservice:80` still works when `myservice` resolves to several loopback addresses), DNS names
 *   resolve through a hosts file handed to meshcraft-proxy (`--dns-hosts`), and files live under
 *   one directory instead of inside containers.
 *
 * Browser-safe.
 */
import type { LabLayout } from './layout.js';
import { type Cidr, intToIpv4, ipv4ToInt, parseCidr } from './names.js';

export interface AddressPlan {
  driver: 'docker' | 'local';
  network: { name: string; subnet?: string };
  /** Address of each network namespace, by `NamespaceLayout.id`. Docker: absent when Docker assigns it. */
  addresses: Record<string, string>;
  /** Lab port → port actually bound, lab-wide (TCP and UDP alike). Docker: empty (identity). */
  ports: Record<number, number>;
  /** Local: every DNS name of the lab → the addresses it resolves to, for meshcraft-proxy's hosts file. */
  hosts?: Record<string, string[]>;
  /** Local: absolute directory holding every file of the lab (configs, certificates, hosts files). */
  fileRoot?: string;
}

export class PlanError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PlanError';
  }
}

/**
 * Host offsets within the subnet for every namespace: the lab's fixed addresses keep theirs, the
 * others take the lowest free offsets from 2 up (Docker gives .1 to the gateway), in node order —
 * which is what Docker itself hands out, so a front proxy without a fixed address still gets .2.
 */
export function allocateOffsets(layout: LabLayout): Map<string, number> {
  const subnet = layout.network.subnet ? parseCidr(layout.network.subnet) : undefined;
  const out = new Map<string, number>();
  const taken = new Set<number>();
  if (subnet) {
    for (const ns of layout.namespaces) {
      if (!ns.ip) continue;
      const off = ipv4ToInt(ns.ip) - subnet.base;
      out.set(ns.id, off);
      taken.add(off);
    }
  }
  const limit = subnet ? subnet.size - 1 : 254;
  let next = 2;
  for (const ns of layout.namespaces) {
    if (out.has(ns.id)) continue;
    while (taken.has(next)) next++;
    if (next >= limit)
      throw new PlanError(
        `the lab has more network namespaces than its subnet ${layout.network.subnet ?? '/24'} has addresses`,
      );
    out.set(ns.id, next);
    taken.add(next);
  }
  return out;
}

function place(block: Cidr, offsets: Map<string, number>, what: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [ns, off] of offsets) {
    if (off >= block.size - 1)
      throw new PlanError(
        `${what} ${intToIpv4(block.base)}/${block.prefix} is too small: namespace '${ns}' needs host offset ${off}`,
      );
    out[ns] = intToIpv4(block.base + off);
  }
  return out;
}

export interface DockerPlanOptions {
  /** The block the driver's network got; default the lab's own subnet. */
  subnet?: string;
  networkName?: string;
}

/** A plan for the docker driver (and for exported compose projects). */
export function dockerAddressPlan(layout: LabLayout, opts: DockerPlanOptions = {}): AddressPlan {
  const subnetText = opts.subnet ?? layout.network.subnet;
  const network = { name: opts.networkName ?? layout.network.name, subnet: subnetText };
  if (!subnetText) return { driver: 'docker', network, addresses: {}, ports: {} };
  const block = parseCidr(subnetText);
  if (!block) throw new PlanError(`subnet '${subnetText}' is not an IPv4 CIDR block such as 172.31.18.0/24`);
  return { driver: 'docker', network, addresses: place(block, allocateOffsets(layout), 'subnet'), ports: {} };
}

export interface LocalPlanOptions {
  /** Loopback block for the namespaces, e.g. 127.31.18.0/24 (see `loopbackBlockFor`). */
  block: string;
  /** Free host port for every port in `layout.ports`. */
  ports: Record<number, number>;
  /** Absolute directory for the lab's files. */
  fileRoot: string;
}

/** A plan for the local driver. */
export function localAddressPlan(layout: LabLayout, opts: LocalPlanOptions): AddressPlan {
  const block = parseCidr(opts.block);
  if (!block || block.base >>> 24 !== 127) {
    throw new PlanError(
      `block '${opts.block}' must be a loopback CIDR block inside 127.0.0.0/8, such as 127.31.18.0/24`,
    );
  }
  const missing = layout.ports.filter((p) => opts.ports[p] === undefined);
  if (missing.length > 0)
    throw new PlanError(
      `no host port was allocated for lab port${missing.length > 1 ? 's' : ''} ${missing.join(', ')}`,
    );
  const used = new Map<number, number>();
  for (const p of layout.ports) {
    const host = opts.ports[p]!;
    if (!Number.isInteger(host) || host < 1 || host > 65535)
      throw new PlanError(`host port ${host} for lab port ${p} is not a port number`);
    const other = used.get(host);
    if (other !== undefined)
      throw new PlanError(`lab ports ${other} and ${p} were both mapped to host port ${host}`);
    used.set(host, p);
  }
  if (!opts.fileRoot.startsWith('/'))
    throw new PlanError(`fileRoot '${opts.fileRoot}' must be an absolute path`);
  const addresses = place(block, allocateOffsets(layout), 'loopback block');
  const hosts: Record<string, string[]> = {};
  for (const ns of layout.namespaces) {
    for (const name of ns.dnsNames) {
      const key = name.toLowerCase();
      const list = hosts[key] ?? [];
      if (!list.includes(addresses[ns.id]!)) list.push(addresses[ns.id]!);
      hosts[key] = list;
    }
  }
  return {
    driver: 'local',
    network: { name: layout.network.name, subnet: opts.block },
    addresses,
    ports: Object.fromEntries(layout.ports.map((p) => [p, opts.ports[p]!])),
    hosts,
    fileRoot: opts.fileRoot.replace(/\/+$/, ''),
  };
}

/** The loopback block mirroring a lab's subnet: 172.31.18.0/24 → 127.31.18.0/24; labs without one get 127.77.0.0/24. */
export function loopbackBlockFor(subnet: string | undefined): string {
  const c = subnet ? parseCidr(subnet) : undefined;
  if (!c) return '127.77.0.0/24';
  const prefix = Math.max(c.prefix, 16);
  const base = (127 << 24) | (c.base & 0x00ffffff);
  const size = 2 ** (32 - prefix);
  return `${intToIpv4((base - (base % size)) >>> 0)}/${prefix}`;
}

/** /etc/hosts text for a plan's DNS map (what `--dns-hosts` reads). */
export function hostsFileText(hosts: Record<string, string[]>): string {
  const byAddress = new Map<string, string[]>();
  for (const name of Object.keys(hosts).sort()) {
    for (const a of hosts[name]!) {
      const list = byAddress.get(a) ?? [];
      list.push(name);
      byAddress.set(a, list);
    }
  }
  const lines = [...byAddress.entries()]
    .sort((a, b) => ipv4ToInt(a[0]) - ipv4ToInt(b[0]))
    .map(([a, names]) => `${a} ${names.join(' ')}`);
  return `# meshcraft lab DNS: one line per namespace address\n${lines.join('\n')}\n`;
}
