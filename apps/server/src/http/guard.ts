/**
 * Who may talk to the console. It drives Docker, so it is as powerful as root on this machine:
 * - Host: only names of the address it is bound to, so a web page whose DNS name was rebound to
 *   127.0.0.1 cannot reach it (DNS rebinding).
 * - Origin: mutations and WebSocket upgrades from a browser must come from the console's own
 *   pages (a request without Origin comes from no browser page: the CLI, curl, tests).
 * - Token: when set (required off loopback), every request and upgrade must carry it, as
 *   `Authorization: Bearer`, the cookie the console sets, or `?token=` once.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type http from 'node:http';
import net from 'node:net';
import os from 'node:os';

export const TOKEN_COOKIE = 'meshcraft_token';

export interface GuardOptions {
  /** The address the server is bound to. */
  host: string;
  port: number;
  token?: string;
  /** Extra `Host` names to accept (a DNS name of this machine). */
  allowHosts?: string[];
  /** Extra origins allowed to mutate and open WebSockets (a dev server: http://localhost:5173). */
  allowOrigins?: string[];
}

export type Verdict = { ok: true } | { ok: false; status: 401 | 403; message: string };

export function isLoopback(host: string): boolean {
  if (host === 'localhost') return true;
  if (net.isIPv4(host)) return host.startsWith('127.');
  return host === '::1';
}

export function isWildcard(host: string): boolean {
  return host === '0.0.0.0' || host === '::' || host === '';
}

function withPort(name: string, port: number): string {
  const host = net.isIPv6(name) ? `[${name}]` : name;
  return `${host}:${port}`.toLowerCase();
}

export class Guard {
  private readonly hosts = new Set<string>();
  private readonly origins = new Set<string>();
  private readonly tokenDigest: Buffer | undefined;

  constructor(private readonly options: GuardOptions) {
    const { host, port } = options;
    const names = new Set<string>([host, ...(options.allowHosts ?? [])]);
    if (isLoopback(host) || isWildcard(host)) {
      for (const n of ['localhost', '127.0.0.1', '::1']) names.add(n);
    }
    if (isWildcard(host)) {
      names.delete(host);
      names.add(os.hostname());
      for (const addrs of Object.values(os.networkInterfaces()))
        for (const a of addrs ?? []) names.add(a.address);
    }
    for (const n of names) {
      this.hosts.add(withPort(n, port));
      // Browsers leave the default port out of Host and Origin.
      if (port === 80) this.hosts.add((net.isIPv6(n) ? `[${n}]` : n).toLowerCase());
    }
    for (const h of this.hosts) this.origins.add(`http://${h}`);
    for (const o of options.allowOrigins ?? []) this.origins.add(o.toLowerCase().replace(/\/$/, ''));
    this.tokenDigest = options.token ? digest(options.token) : undefined;
  }

  get requiresToken(): boolean {
    return this.tokenDigest !== undefined;
  }

  /**
   * Checks a request (or an upgrade): `changes` is true for mutations and WebSocket upgrades,
   * which must also come from an allowed origin.
   */
  check(req: http.IncomingMessage, changes: boolean): Verdict {
    const host = (req.headers.host ?? '').toLowerCase();
    if (!this.hosts.has(host)) {
      return {
        ok: false,
        status: 403,
        message: `Host '${host.slice(0, 100)}' is not this console's address; open it as http://${withPort(this.options.host, this.options.port)}/ (or pass --allow-host)`,
      };
    }
    if (this.tokenDigest && !this.tokenMatches(req)) {
      return {
        ok: false,
        status: 401,
        message:
          'this console needs its token: open the address `meshcraft serve` printed (it ends in ?token=...), or send Authorization: Bearer <token>',
      };
    }
    const origin = req.headers.origin;
    if (changes && origin !== undefined && !this.origins.has(origin.toLowerCase())) {
      return {
        ok: false,
        status: 403,
        message: `requests from origin '${origin.slice(0, 100)}' may not change anything here; use the console's own page (or pass --allow-origin)`,
      };
    }
    return { ok: true };
  }

  /** The token a request carries in its query string, when it is the right one (to turn into a cookie). */
  tokenFromQuery(req: http.IncomingMessage): string | undefined {
    const value = new URL(req.url ?? '/', 'http://x').searchParams.get('token');
    return value !== null && this.matches(value) ? value : undefined;
  }

  private tokenMatches(req: http.IncomingMessage): boolean {
    const auth = req.headers.authorization;
    if (auth?.startsWith('Bearer ') && this.matches(auth.slice(7).trim())) return true;
    const cookie = cookieValue(req.headers.cookie, TOKEN_COOKIE);
    if (cookie !== undefined && this.matches(cookie)) return true;
    return this.tokenFromQuery(req) !== undefined;
  }

  private matches(candidate: string): boolean {
    return this.tokenDigest !== undefined && timingSafeEqual(digest(candidate), this.tokenDigest);
  }
}

/** Comparing digests keeps the comparison constant-time whatever the candidate's length. */
function digest(s: string): Buffer {
  return createHash('sha256').update(s).digest();
}

function cookieValue(header: string | undefined, name: string): string | undefined {
  for (const part of (header ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) {
      try {
        return decodeURIComponent(part.slice(eq + 1).trim());
      } catch {
        return undefined;
      }
    }
  }
  return undefined;
}
