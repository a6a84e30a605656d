/**
 * An ordered header map with lower-case names, like Envoy's `HeaderMap`. Order is kept because
 * a proxy should not reshuffle what it forwards (and the course's outputs show Envoy's order);
 * names are lower-cased on the way in because HTTP/1 names are case-insensitive and Envoy emits
 * them lower-case.
 */
export class HeaderMap {
  private names: string[] = [];
  private values: string[] = [];

  static from(entries: Iterable<[string, string]>): HeaderMap {
    const h = new HeaderMap();
    for (const [k, v] of entries) h.add(k, v);
    return h;
  }

  get size(): number {
    return this.names.length;
  }

  /** First value of `name` (lower-case), or undefined. */
  get(name: string): string | undefined {
    const i = this.names.indexOf(name);
    return i < 0 ? undefined : this.values[i];
  }

  getAll(name: string): string[] {
    const out: string[] = [];
    for (let i = 0; i < this.names.length; i++) if (this.names[i] === name) out.push(this.values[i]!);
    return out;
  }

  /** All values of `name` joined with commas, as HTTP allows for list-valued headers. */
  getJoined(name: string): string | undefined {
    // Called for a few framing headers on every message: no array unless the header repeats.
    let joined: string | undefined;
    for (let i = 0; i < this.names.length; i++) {
      if (this.names[i] === name)
        joined = joined === undefined ? this.values[i]! : `${joined},${this.values[i]}`;
    }
    return joined;
  }

  has(name: string): boolean {
    return this.names.includes(name);
  }

  /** Appends another value (keeps existing ones). `name` must already be lower-case. */
  add(name: string, value: string): void {
    this.names.push(name);
    this.values.push(value);
  }

  /** Replaces the first value in place (keeping its position) and drops the others, or appends. */
  set(name: string, value: string): void {
    const i = this.names.indexOf(name);
    if (i < 0) {
      this.add(name, value);
      return;
    }
    this.values[i] = value;
    for (let j = this.names.length - 1; j > i; j--) {
      if (this.names[j] === name) {
        this.names.splice(j, 1);
        this.values.splice(j, 1);
      }
    }
  }

  setIfAbsent(name: string, value: string): void {
    if (!this.has(name)) this.add(name, value);
  }

  remove(name: string): void {
    for (let j = this.names.length - 1; j >= 0; j--) {
      if (this.names[j] === name) {
        this.names.splice(j, 1);
        this.values.splice(j, 1);
      }
    }
  }

  removePrefix(prefix: string): void {
    for (let j = this.names.length - 1; j >= 0; j--) {
      if (this.names[j]!.startsWith(prefix)) {
        this.names.splice(j, 1);
        this.values.splice(j, 1);
      }
    }
  }

  forEach(fn: (name: string, value: string) => void): void {
    for (let i = 0; i < this.names.length; i++) fn(this.names[i]!, this.values[i]!);
  }

  entries(): [string, string][] {
    return this.names.map((n, i) => [n, this.values[i]!]);
  }

  clone(): HeaderMap {
    const h = new HeaderMap();
    h.names = [...this.names];
    h.values = [...this.values];
    return h;
  }

  /** Serialized as HTTP/1 header lines (`name: value\r\n` each). */
  toHttp1(): string {
    let s = '';
    for (let i = 0; i < this.names.length; i++) s += `${this.names[i]}: ${this.values[i]}\r\n`;
    return s;
  }
}

/** The request line and headers of one HTTP request, protocol-independent (HTTP/1 and HTTP/2 alike). */
export interface RequestHead {
  method: string;
  /** The request target as received: origin-form `/path?query`, or absolute-form for proxies. */
  path: string;
  /** Host / `:authority`; empty when the client sent none. */
  authority: string;
  scheme: 'http' | 'https';
  /** `HTTP/1.0`, `HTTP/1.1` or `HTTP/2`. */
  protocol: string;
  headers: HeaderMap;
}

export interface ResponseHead {
  status: number;
  headers: HeaderMap;
}

/** Hop-by-hop headers a proxy never forwards (RFC 9110 §7.6.1), plus what Envoy strips likewise. */
export const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'upgrade',
  'te',
  'trailer',
  'proxy-authenticate',
  'proxy-authorization',
]);
