/**
 * The TLS inspector listener filter (`envoy.filters.listener.tls_inspector`): it reads a new
 * connection's first bytes without consuming them and, if they are a TLS ClientHello, reports
 * transport protocol `tls`, the SNI server name and the ALPN protocols, so that filter chains can
 * be chosen by `server_names`, `transport_protocol` and `application_protocols` — including for
 * TLS passthrough, where the proxy never terminates TLS. The bytes are put back for whatever
 * handles the connection next.
 */
import type net from 'node:net';
import { durationMs } from '../common/duration.js';
import type { Duration, Listener } from '../config/types.js';
import type { Counter, Gauge, Scope } from '../stats/store.js';

/** What the listener filters found out about a connection (Envoy's ConnectionSocket fields). */
export interface ConnectionDetection {
  /** `tls` when a ClientHello was seen, else Envoy's default `raw_buffer`. */
  transportProtocol: string;
  /** SNI; empty when there is none. */
  serverName: string;
  applicationProtocols: string[];
}

export const RAW_CONNECTION: ConnectionDetection = {
  transportProtocol: 'raw_buffer',
  serverName: '',
  applicationProtocols: [],
};

/** Envoy's default `max_client_hello_size`. */
const MAX_CLIENT_HELLO = 64 * 1024;

type Parse =
  | { kind: 'tls'; serverName: string; alpn: string[] }
  | { kind: 'not_tls' }
  | { kind: 'need_more' };

/**
 * Parses the start of a connection as TLS records carrying a ClientHello (RFC 8446 §4.1.2),
 * reassembling a handshake message split over several records.
 */
export function parseClientHello(data: Buffer): Parse {
  const handshake: Buffer[] = [];
  let have = 0;
  let at = 0;
  while (true) {
    if (data.length < at + 5) return { kind: 'need_more' };
    // Record header: type 22 (handshake), legacy version 3.x, length.
    if (data[at] !== 0x16 || data[at + 1] !== 0x03 || data[at + 2]! > 0x04) return { kind: 'not_tls' };
    const length = data.readUInt16BE(at + 3);
    if (data.length < at + 5 + length) return { kind: 'need_more' };
    handshake.push(data.subarray(at + 5, at + 5 + length));
    have += length;
    at += 5 + length;
    const body = Buffer.concat(handshake, have);
    if (body.length < 4) continue;
    if (body[0] !== 0x01) return { kind: 'not_tls' }; // not a ClientHello
    const messageLength = body.readUIntBE(1, 3);
    if (body.length < 4 + messageLength) continue;
    return readClientHello(body.subarray(4, 4 + messageLength));
  }
}

function readClientHello(hello: Buffer): Parse {
  try {
    let at = 2 + 32; // legacy_version, random
    at += 1 + hello[at]!; // legacy_session_id
    at += 2 + hello.readUInt16BE(at); // cipher_suites
    at += 1 + hello[at]!; // legacy_compression_methods
    let serverName = '';
    const alpn: string[] = [];
    if (at + 2 <= hello.length) {
      const end = at + 2 + hello.readUInt16BE(at);
      at += 2;
      while (at + 4 <= end) {
        const type = hello.readUInt16BE(at);
        const length = hello.readUInt16BE(at + 2);
        const ext = hello.subarray(at + 4, at + 4 + length);
        at += 4 + length;
        if (type === 0) serverName = readServerName(ext);
        else if (type === 16) alpn.push(...readAlpn(ext));
      }
    }
    return { kind: 'tls', serverName, alpn };
  } catch {
    // A ClientHello that runs past its own length is not one.
    return { kind: 'not_tls' };
  }
}

/** server_name extension (RFC 6066 §3): the first host_name entry, lower-cased as Envoy does. */
function readServerName(ext: Buffer): string {
  let at = 2;
  while (at + 3 <= ext.length) {
    const type = ext[at]!;
    const length = ext.readUInt16BE(at + 1);
    if (type === 0) return ext.toString('latin1', at + 3, at + 3 + length).toLowerCase();
    at += 3 + length;
  }
  return '';
}

/** application_layer_protocol_negotiation extension (RFC 7301 §3.1). */
function readAlpn(ext: Buffer): string[] {
  const out: string[] = [];
  let at = 2;
  while (at < ext.length) {
    const length = ext[at]!;
    out.push(ext.toString('latin1', at + 1, at + 1 + length));
    at += 1 + length;
  }
  return out;
}

/** `tls_inspector.*` stats (Envoy roots them at `tls_inspector.`, shared by all listeners). */
export interface TlsInspectorStats {
  tls_found: Counter;
  tls_not_found: Counter;
  sni_found: Counter;
  sni_not_found: Counter;
  alpn_found: Counter;
  alpn_not_found: Counter;
  client_hello_too_large: Counter;
}

export function tlsInspectorStats(root: Scope): TlsInspectorStats {
  const s = root.scope('tls_inspector.');
  return {
    tls_found: s.counter('tls_found'),
    tls_not_found: s.counter('tls_not_found'),
    sni_found: s.counter('sni_found'),
    sni_not_found: s.counter('sni_not_found'),
    alpn_found: s.counter('alpn_found'),
    alpn_not_found: s.counter('alpn_not_found'),
    client_hello_too_large: s.counter('client_hello_too_large'),
  };
}

/**
 * Waits for enough of the connection to decide (or `timeoutMs`), then leaves the socket paused
 * with every byte read put back. Resolves `undefined` if the connection closes first or the
 * ClientHello is too large (Envoy closes those connections).
 */
export function inspectTls(
  socket: net.Socket,
  stats: TlsInspectorStats,
  timeoutMs: number,
): Promise<ConnectionDetection | 'timeout' | undefined> {
  return new Promise((resolve) => {
    let buffered = Buffer.alloc(0);
    const timer = timeoutMs > 0 ? setTimeout(() => done('timeout'), timeoutMs) : undefined;
    const done = (result: ConnectionDetection | 'timeout' | undefined) => {
      clearTimeout(timer);
      socket.off('data', onData);
      socket.off('close', onClose);
      socket.pause();
      if (buffered.length > 0) socket.unshift(buffered);
      resolve(result);
    };
    const onData = (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      const parsed = parseClientHello(buffered);
      if (parsed.kind === 'need_more') {
        if (buffered.length <= MAX_CLIENT_HELLO) return;
        stats.client_hello_too_large.inc();
        done(undefined);
        socket.destroy();
        return;
      }
      if (parsed.kind === 'not_tls') {
        stats.tls_not_found.inc();
        done(RAW_CONNECTION);
        return;
      }
      stats.tls_found.inc();
      (parsed.serverName ? stats.sni_found : stats.sni_not_found).inc();
      (parsed.alpn.length > 0 ? stats.alpn_found : stats.alpn_not_found).inc();
      done({ transportProtocol: 'tls', serverName: parsed.serverName, applicationProtocols: parsed.alpn });
    };
    const onClose = () => done(undefined);
    socket.on('data', onData);
    socket.once('close', onClose);
  });
}

/**
 * Filter-chain score for `server_names` (most specific wins): an exact name beats a wildcard,
 * a longer wildcard suffix beats a shorter one (`*.example.com` before `*.com`), and a chain
 * without server names is the catch-all; -1 does not match.
 */
export function serverNameScore(serverNames: string[] | undefined, serverName: string): number {
  if (!serverNames?.length) return 0;
  let best = -1;
  for (const name of serverNames) {
    const n = name.toLowerCase();
    if (n === serverName) return serverName.length + 1;
    if (n.startsWith('*.') && serverName.endsWith(n.slice(1))) best = Math.max(best, n.length - 1);
  }
  return best;
}

/** Filter-chain score for `application_protocols`: 1 when one of them was offered, 0 when unset. */
export function applicationProtocolScore(chainProtocols: string[] | undefined, offered: string[]): number {
  if (!chainProtocols?.length) return 0;
  return chainProtocols.some((p) => offered.includes(p)) ? 1 : -1;
}

const TLS_INSPECTOR = 'envoy.extensions.filters.listener.tls_inspector.v3.TlsInspector';
const TLS_INSPECTOR_NAMES = ['envoy.filters.listener.tls_inspector', 'envoy.listener.tls_inspector'];

/**
 * A listener's `listener_filters` (the TLS inspector is the one implemented), with Envoy's
 * `listener_filters_timeout` (15 s by default): a connection that has not said enough by then is
 * closed and counted in `downstream_pre_cx_timeout`, or, with
 * `continue_on_listener_filters_timeout`, goes on as a plain one.
 */
export class ListenerFilters {
  private readonly preActive: Gauge;
  private readonly preTimeout: Counter;
  private readonly stats: TlsInspectorStats;

  private constructor(
    root: Scope,
    listenerScope: Scope,
    private readonly timeoutMs: number,
    private readonly continueOnTimeout: boolean,
  ) {
    this.stats = tlsInspectorStats(root);
    this.preActive = listenerScope.gauge('downstream_pre_cx_active');
    this.preTimeout = listenerScope.counter('downstream_pre_cx_timeout');
  }

  /** The listener's filters, or undefined when it has none (connections go straight to chain matching). */
  static create(listener: Listener, root: Scope, listenerScope: Scope): ListenerFilters | undefined {
    const filters = listener.listener_filters ?? [];
    // A UDP listener's filters (udp_proxy) read datagrams, not connections.
    if (filters.length === 0 || listener.address?.socket_address?.protocol === 'UDP') return undefined;
    for (const f of filters) {
      const typeUrl = f.typed_config?.['@type'];
      const known = typeUrl ? typeUrl.endsWith(`/${TLS_INSPECTOR}`) : TLS_INSPECTOR_NAMES.includes(f.name);
      if (!known)
        throw new Error(`the listener filter '${f.name}' is not implemented by meshcraft-proxy yet`);
    }
    const timeoutMs = durationMs(listener.listener_filters_timeout as Duration | undefined, 15_000);
    return new ListenerFilters(
      root,
      listenerScope,
      timeoutMs,
      listener.continue_on_listener_filters_timeout === true,
    );
  }

  /** What the filters detect; undefined when the connection is gone (closed, too large, timed out). */
  async run(socket: net.Socket): Promise<ConnectionDetection | undefined> {
    this.preActive.inc();
    const result = await inspectTls(socket, this.stats, this.timeoutMs);
    this.preActive.dec();
    if (result !== 'timeout') return result;
    this.preTimeout.inc();
    if (this.continueOnTimeout) return RAW_CONNECTION;
    socket.destroy();
    return undefined;
  }
}
