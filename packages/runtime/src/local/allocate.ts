/**
 * Addresses and ports of a lab on the local driver: a loopback block no other local lab uses
 * (the lab's subnet mirrored into 127/8 when free), and for every port the lab binds one free
 * port that is free on every address of the block the lab uses — since one lab port maps to one
 * host port lab-wide.
 */
import net from 'node:net';
import { intToIpv4, parseCidr } from '@meshcraft/topology';
import { RuntimeError } from '../errors.js';

/** A block in 127.0.0.0/8 of the wanted size that overlaps none of `taken`; never the block holding 127.0.0.1. */
export function chooseLoopbackBlock(wanted: string, taken: string[]): string {
  const want = parseCidr(wanted);
  if (!want || want.base >>> 24 !== 127) throw new Error(`not a loopback CIDR block: ${wanted}`);
  const used = [parseCidr('127.0.0.0/24')!, ...taken.flatMap((t) => parseCidr(t) ?? [])];
  const free = (base: number) => used.every((u) => base + want.size <= u.base || u.base + u.size <= base);
  const count = 2 ** 24 / want.size;
  const start = (want.base - (127 << 24)) / want.size;
  for (let i = 0; i < count; i++) {
    const base = (127 << 24) + ((start + i) % count) * want.size;
    if (free(base)) return `${intToIpv4(base >>> 0)}/${want.prefix}`;
  }
  throw new RuntimeError(
    'SUBNET_IN_USE',
    `no free loopback block of size /${want.prefix} is left`,
    'bring down local labs you no longer need (meshcraft ls, meshcraft down <lab>)',
  );
}

function listen(host: string, port: number): Promise<net.Server | undefined> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(undefined));
    server.listen({ host, port, exclusive: true }, () => resolve(server));
  });
}

/**
 * One free port per lab port, each free on every address in `addresses`. The ports are held
 * while the rest are chosen, so no two lab ports get the same one.
 */
export async function allocatePorts(
  labPorts: number[],
  addresses: string[],
): Promise<Record<number, number>> {
  const held: net.Server[] = [];
  const out: Record<number, number> = {};
  const [first, ...others] = addresses.length > 0 ? addresses : ['127.0.0.1'];
  try {
    for (const labPort of labPorts) {
      for (let attempt = 0; ; attempt++) {
        if (attempt === 50) {
          throw new RuntimeError(
            'PORT_IN_USE',
            `no port free on all of ${addresses.join(', ')} was found for lab port ${labPort}`,
            'free some ports (ss -ltn shows listeners), or bring down other labs',
          );
        }
        const server = await listen(first!, 0);
        if (!server) continue;
        const port = (server.address() as net.AddressInfo).port;
        const rest = await Promise.all(others.map((a) => listen(a, port)));
        if (rest.every((s) => s !== undefined)) {
          held.push(server, ...(rest as net.Server[]));
          out[labPort] = port;
          break;
        }
        await Promise.all([server, ...rest].filter((s): s is net.Server => s !== undefined).map(close));
      }
    }
    return out;
  } finally {
    await Promise.all(held.map(close));
  }
}

function close(server: net.Server): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}
