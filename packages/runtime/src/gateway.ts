import { intToIpv4, parseCidr } from '@meshcraft/topology';

/**
 * This machine's address on a lab's network, where the lab reaches the console: the first address
 * of the block. Docker gives it to the bridge (and no container), and the local driver gives it
 * to no namespace, so both drivers' labs see the console there.
 */
export function gatewayOf(block: string): string {
  const c = parseCidr(block);
  if (!c) throw new Error(`not a CIDR block: ${block}`);
  return intToIpv4(c.base + 1);
}
