/**
 * A peer's address as Envoy prints it: node reports IPv4 peers of a dual-stack socket as
 * IPv4-mapped IPv6 (`::ffff:10.0.0.1`); Envoy shows them as plain IPv4.
 */
export function unmapIpv4(addr: string): string {
  return addr.startsWith('::ffff:') ? addr.slice(7) : addr;
}
