/**
 * Choosing the address block of a lab's Docker network: the lab's own subnet when nothing on this
 * machine uses an overlapping block, otherwise the nearest free block of the same size in
 * 172.16.0.0/12 — so host offsets (.2, .11, .12) stay what the lab says.
 */
import { intToIpv4, ipv4ToInt, parseCidr } from '@meshcraft/topology';

export interface UsedBlock {
  subnet: string;
  /** Who uses it, for messages: `docker network 'x'` or `interface eth0`. */
  by: string;
}

export interface SubnetChoice {
  subnet: string;
  /** Set when the lab's own subnet was taken, with what took it. */
  moved?: { from: string; by: string };
}

const POOL = parseCidr('172.16.0.0/12')!;

function overlap(a: { base: number; size: number }, b: { base: number; size: number }): boolean {
  return a.base < b.base + b.size && b.base < a.base + a.size;
}

/** Undefined when every block of the pool clashes. */
export function chooseSubnet(wanted: string, used: UsedBlock[]): SubnetChoice | undefined {
  const want = parseCidr(wanted);
  if (!want) throw new Error(`not an IPv4 CIDR block: ${wanted}`);
  const blocks = used.flatMap((u) => {
    const c = parseCidr(u.subnet);
    return c ? [{ ...c, by: u.by }] : [];
  });
  const clash = (base: number) => blocks.find((b) => overlap({ base, size: want.size }, b));
  const first = clash(want.base);
  if (!first) return { subnet: wanted };
  // Walk the pool upwards from the wanted block (wrapping), block by block.
  const count = POOL.size / want.size;
  const start = overlap(want, POOL) ? (want.base - POOL.base) / want.size : 0;
  for (let i = 1; i <= count; i++) {
    const base = POOL.base + ((start + i) % count) * want.size;
    if (!clash(base))
      return { subnet: `${intToIpv4(base)}/${want.prefix}`, moved: { from: wanted, by: first.by } };
  }
  return undefined;
}

/** Blocks of the host's own interfaces (os.networkInterfaces()), IPv4 only. */
export function interfaceBlocks(
  interfaces: NodeJS.Dict<{ family: string | number; cidr: string | null }[]>,
): UsedBlock[] {
  const out: UsedBlock[] = [];
  for (const [name, addrs] of Object.entries(interfaces)) {
    for (const a of addrs ?? []) {
      if ((a.family !== 'IPv4' && a.family !== 4) || !a.cidr || a.cidr.startsWith('127.')) continue;
      const [ip, prefix] = a.cidr.split('/');
      const size = 2 ** (32 - Number(prefix));
      const n = ipv4ToInt(ip!);
      out.push({ subnet: `${intToIpv4(n - (n % size))}/${prefix}`, by: `interface ${name}` });
    }
  }
  return out;
}
