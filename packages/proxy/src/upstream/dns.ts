/**
 * Name resolution for STRICT_DNS and LOGICAL_DNS clusters.
 *
 * By default it asks the system resolver (getaddrinfo: /etc/hosts, then DNS — inside a Docker
 * network that is Docker's embedded DNS, where a shared alias returns one address per container,
 * which STRICT_DNS turns into one host each). The local driver, which runs a lab as processes on
 * one machine, hands the proxy a hosts file instead (`--dns-hosts`, /etc/hosts syntax, names may
 * repeat to give several addresses); it is re-read when it changes, so the driver can move or
 * remove "containers" while the proxy runs.
 */
import dns from 'node:dns';
import fs from 'node:fs';
import net from 'node:net';

export type DnsLookupFamily = 'AUTO' | 'V4_ONLY' | 'V6_ONLY' | 'V4_PREFERRED' | 'ALL';

export class DnsResolutionError extends Error {
  constructor(
    readonly hostname: string,
    readonly code: string,
  ) {
    super(`DNS resolution of '${hostname}' failed: ${code}`);
  }
}

export class DnsResolver {
  private hostsFileMtimeMs = -1;
  private hostsMap = new Map<string, string[]>();

  constructor(private readonly hostsFile?: string) {}

  /** Every address `hostname` resolves to, ordered as the resolver returned them. */
  async resolve(hostname: string, family: DnsLookupFamily = 'AUTO'): Promise<string[]> {
    if (net.isIP(hostname)) return [hostname];
    const fromFile = this.lookupHostsFile(hostname);
    if (fromFile) return pickFamily(fromFile, family, hostname);
    const results = await dns.promises
      .lookup(hostname, { all: true, verbatim: true })
      .catch((err: NodeJS.ErrnoException) => {
        throw new DnsResolutionError(hostname, err.code ?? 'EAI_FAIL');
      });
    return pickFamily(
      results.map((r) => r.address),
      family,
      hostname,
    );
  }

  private lookupHostsFile(hostname: string): string[] | undefined {
    if (!this.hostsFile) return undefined;
    let mtimeMs: number;
    try {
      mtimeMs = fs.statSync(this.hostsFile).mtimeMs;
    } catch {
      return undefined;
    }
    if (mtimeMs !== this.hostsFileMtimeMs) {
      this.hostsMap = parseHostsFile(fs.readFileSync(this.hostsFile, 'utf8'));
      this.hostsFileMtimeMs = mtimeMs;
    }
    return this.hostsMap.get(hostname.toLowerCase());
  }
}

/** /etc/hosts syntax: `address name [alias...]`, `#` comments; a name on several lines gets every address. */
export function parseHostsFile(text: string): Map<string, string[]> {
  const map = new Map<string, string[]>();
  for (const raw of text.split('\n')) {
    const line = raw.replace(/#.*/, '').trim();
    if (!line) continue;
    const [address, ...names] = line.split(/\s+/);
    if (!address || !net.isIP(address)) continue;
    for (const n of names) {
      const key = n.toLowerCase();
      const list = map.get(key) ?? [];
      if (!list.includes(address)) list.push(address);
      map.set(key, list);
    }
  }
  return map;
}

/** Applies `dns_lookup_family` the way Envoy does: AUTO prefers IPv6, V4_PREFERRED prefers IPv4. */
function pickFamily(addresses: string[], family: DnsLookupFamily, hostname: string): string[] {
  const v4 = addresses.filter((a) => net.isIPv4(a));
  const v6 = addresses.filter((a) => net.isIPv6(a));
  let out: string[];
  switch (family) {
    case 'V4_ONLY':
      out = v4;
      break;
    case 'V6_ONLY':
      out = v6;
      break;
    case 'V4_PREFERRED':
      out = v4.length > 0 ? v4 : v6;
      break;
    case 'ALL':
      out = addresses;
      break;
    default:
      out = v6.length > 0 ? v6 : v4;
  }
  if (out.length === 0) throw new DnsResolutionError(hostname, 'ENOTFOUND');
  return out;
}
