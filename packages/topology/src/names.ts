/**
 * Shapes of the names and addresses a lab document may contain.
 *
 * Every name that ends up in a file name, a container name, a DNS alias or an Envoy stat name is
 * user input; these patterns keep them to characters that are safe in all of those places (no
 * path separators, no leading dot, no whitespace), so no later step has to escape anything.
 * Browser-safe: no Node imports.
 */

/** Node and edge ids: also used as compose service names and as config file names. */
export const ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/;
export const ID_RULE =
  'letters, digits, "_", "." or "-", starting with a letter or digit, at most 63 characters';

/** Lab names: the file name of a saved lab (`<name>.lab.yaml`). */
export const LAB_NAME_PATTERN = /^[a-z0-9][a-z0-9_.-]{0,62}$/;
export const LAB_NAME_RULE =
  'lower-case letters, digits, "_", "." or "-", starting with a letter or digit, at most 63 characters';

/** Hostnames and DNS aliases, as Docker's embedded DNS accepts them (underscores included). */
export const DNS_NAME_PATTERN =
  /^(?=.{1,253}$)[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?(?:\.[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?)*$/;
export const DNS_NAME_RULE = 'a DNS name: labels of letters, digits, "_" or "-" separated by dots';

/** Names Envoy shows in stats and admin output (listeners, routes, virtual hosts, secrets). */
export const ENVOY_NAME_PATTERN = /^[A-Za-z0-9_][A-Za-z0-9_.:-]{0,127}$/;
export const ENVOY_NAME_RULE = 'letters, digits, "_", ".", ":" or "-", at most 128 characters';

/** Absolute paths inside a container: no `..` segments, no spaces or shell metacharacters. */
export const CONTAINER_PATH_PATTERN = /^(?:\/(?!\.\.?(?:\/|$))[A-Za-z0-9_.@+-]+)+\/?$/;
export const CONTAINER_PATH_RULE =
  'an absolute path of letters, digits and "_ . @ + -", without ".." segments';

export const ENV_NAME_PATTERN = /^[A-Za-z_][A-Za-z0-9_]{0,127}$/;

/** `10s`, `0.25s`, `250ms`, `1m`: what the lab document accepts for durations. */
export const DURATION_PATTERN = /^(?:\d{1,9}(?:\.\d{1,9})?)(?:ms|s|m|h)$/;
export const DURATION_RULE = 'a duration such as "0.25s", "250ms", "10s" or "1m"';

const IPV4_OCTET = '(?:25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)';
export const IPV4_PATTERN = new RegExp(`^${IPV4_OCTET}(?:\\.${IPV4_OCTET}){3}$`);

export function isIPv4(s: string): boolean {
  return IPV4_PATTERN.test(s);
}

export function ipv4ToInt(ip: string): number {
  return ip.split('.').reduce((acc, o) => acc * 256 + Number(o), 0);
}

export function intToIpv4(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

export interface Cidr {
  base: number;
  prefix: number;
  /** Number of addresses in the block. */
  size: number;
}

/** Parses `a.b.c.d/n`; returns undefined when it is not an IPv4 CIDR block with its host bits zero. */
export function parseCidr(s: string): Cidr | undefined {
  const m = /^([^/]+)\/(\d{1,2})$/.exec(s);
  if (!m || !isIPv4(m[1]!)) return undefined;
  const prefix = Number(m[2]);
  if (prefix < 8 || prefix > 30) return undefined;
  const size = 2 ** (32 - prefix);
  const base = ipv4ToInt(m[1]!);
  if (base % size !== 0) return undefined;
  return { base, prefix, size };
}

export function cidrContains(c: Cidr, ip: string): boolean {
  const n = ipv4ToInt(ip);
  return n >= c.base && n < c.base + c.size;
}

/** Duration in milliseconds of a lab-document duration string. */
export function durationMs(d: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/.exec(d);
  if (!m) throw new Error(`not a duration: ${d}`);
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[m[2] as 'ms' | 's' | 'm' | 'h'];
  return Number(m[1]) * unit;
}

/** Envoy's canonical JSON form of a duration (`"0.250s"` is written `"0.25s"`). */
export function envoyDuration(d: string): string {
  const ms = durationMs(d);
  const seconds = ms / 1000;
  return `${Number(seconds.toFixed(9))}s`;
}
