/**
 * Listeners: bound sockets, filter-chain selection per connection (Envoy's
 * `filter_chain_match`, most specific first), and the terminal network filter of each chain —
 * the HTTP connection manager or the TCP proxy. Keeps `listener.<address>.*` and
 * `listener_manager.*` stats.
 *
 * Listeners from the bootstrap and from LDS live here alike, as in Envoy's ListenerManagerImpl:
 * a new or updated listener *warms* (its RDS route configurations arrive) before it takes
 * traffic; an update takes over the old listener's socket, so no connection is refused, and the
 * old one *drains* — its connections finish their current request and close, up to the drain
 * time; a removed listener stops accepting and drains the same way.
 */
import { randomUUID } from 'node:crypto';
import net from 'node:net';
import { unmapIpv4 } from '../common/address.js';
import type { Logger, LogRegistry } from '../common/logger.js';
import type {
  Address,
  FilterChain,
  FilterChainMatch,
  HttpConnectionManager,
  Listener,
  TcpProxy,
} from '../config/types.js';
import { HttpConnectionManagerConfig } from '../http/connection-manager.js';
import type { LocalHealth } from '../http/filters/index.js';
import { createServerConnection, type ServerConnection } from '../http/http2-server-connection.js';
import type { RouteConfigProviderManager } from '../http/route/rds.js';
import type { Runtime } from '../runtime/runtime.js';
import type { Counter, Gauge, Histogram, Scope, Store } from '../stats/store.js';
import { TlsContextManager } from '../tls/context-manager.js';
import {
  applicationProtocolScore,
  type ConnectionDetection,
  ListenerFilters,
  RAW_CONNECTION,
  serverNameScore,
} from '../tls/tls-inspector.js';
import type { ClusterManager } from '../upstream/cluster-manager.js';
import { TcpProxyConfig, TcpProxySession } from './tcp-proxy.js';
import { isUdpListener, UdpProxyListener } from './udp-proxy.js';

const HCM_TYPE =
  'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager';
const TCP_PROXY_TYPE = 'type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy';

export interface ListenerDeps {
  store: Store;
  runtime: Runtime;
  clusterManager: ClusterManager;
  logs: LogRegistry;
  random: () => number;
  /** RDS, for HTTP connection managers with `rds`. */
  routes?: RouteConfigProviderManager;
  /** `--drain-time-s`: how long a removed or replaced listener's connections may take to finish. */
  drainTimeMs: number;
  /** What the health_check HTTP filter reports: `/healthcheck/fail|ok` and the local cluster. */
  localHealth: LocalHealth;
  /** TLS contexts of filter chains with a transport socket (the server's, so `/certs` lists them). */
  tls?: TlsContextManager;
  /** Which worker this process is, for the per-worker stats `listener.<address>.worker_<n>.*` (0). */
  workerIndex?: number;
  /**
   * False in the primary of worker processes: its listeners warm (LDS, RDS, the admin's view) but
   * do not bind; the workers bind them (node:cluster shares one socket among them).
   */
  acceptsConnections?: boolean;
}

/** A bind failure, worded as Envoy words it, with what to do about it. */
export class ListenerBindError extends Error {}

function bindError(where: string, err: NodeJS.ErrnoException): ListenerBindError {
  const advice =
    err.code === 'EADDRINUSE'
      ? 'Address already in use — another process (or another listener) holds this port; stop it or pick another port_value'
      : err.code === 'EADDRNOTAVAIL'
        ? 'Cannot assign requested address — this machine has no interface with that address; use 0.0.0.0 or one of its addresses'
        : err.code === 'EACCES'
          ? 'Permission denied — ports below 1024 need root or CAP_NET_BIND_SERVICE; use a higher port_value'
          : err.message;
  return new ListenerBindError(`cannot bind '${where}': ${advice}`);
}

interface ListenerStats {
  downstream_cx_total: Counter;
  downstream_cx_active: Gauge;
  downstream_cx_destroy: Counter;
  downstream_cx_length_ms: Histogram;
  downstream_cx_overflow: Counter;
  no_filter_chain_match: Counter;
  /** Envoy's per-handler stats: the connections this worker took. */
  worker: { downstream_cx_total: Counter; downstream_cx_active: Gauge };
}

/** `listener.0.0.0.0_80.`: Envoy's stat name for a listener address (or its `stat_prefix`). */
export function listenerStatPrefix(listener: Listener): string {
  if (listener.stat_prefix) return `listener.${listener.stat_prefix}.`;
  const sa = listener.address?.socket_address;
  if (!sa) return `listener.${listener.name ?? 'unnamed'}.`;
  const addr = sa.address.includes(':') ? `[${sa.address}]` : sa.address;
  return `listener.${addr}_${sa.port_value ?? 0}.`;
}

/** What a compiled filter chain does with a new connection, given what the listener filters found. */
type ChainHandler = (socket: net.Socket, detection: ConnectionDetection) => void;

interface CompiledChain {
  match: FilterChainMatch;
  handle: ChainHandler;
  close(): void;
}

/** How a listener came to be: the bootstrap, or LDS (with the version that carried it). */
export interface ListenerOrigin {
  addedViaApi: boolean;
  versionInfo?: string;
}

export class ActiveListener {
  readonly name: string;
  readonly stats: ListenerStats;
  readonly addedViaApi: boolean;
  readonly versionInfo: string | undefined;
  /** When it became the active listener of its name (ISO time). */
  lastUpdated: string | undefined;
  private server: net.Server | undefined;
  private readonly chains: CompiledChain[];
  private readonly hcms: HttpConnectionManagerConfig[] = [];
  private readonly defaultChain: CompiledChain | undefined;
  private readonly connections = new Set<net.Socket>();
  private readonly httpConnections = new Set<ServerConnection>();
  private readonly listenerFilters: ListenerFilters | undefined;
  private readonly tls: TlsContextManager;
  /** A UDP listener's socket and its udp_proxy filter (UDP listeners have no filter chains). */
  private readonly udp: UdpProxyListener | undefined;
  boundAddress: Address | undefined;
  private readonly log: Logger;

  constructor(
    readonly config: Listener,
    private readonly deps: ListenerDeps,
    origin: ListenerOrigin = { addedViaApi: false },
    /** Envoy names an unnamed listener with a UUID. */
    name = config.name || randomUUID(),
  ) {
    this.name = name;
    this.addedViaApi = origin.addedViaApi;
    this.versionInfo = origin.versionInfo;
    this.log = deps.logs.get('conn_handler', 'network/listener-manager.ts');
    const scope = deps.store.scope(listenerStatPrefix(config));
    this.stats = {
      downstream_cx_total: scope.counter('downstream_cx_total'),
      downstream_cx_active: scope.gauge('downstream_cx_active'),
      downstream_cx_destroy: scope.counter('downstream_cx_destroy'),
      downstream_cx_length_ms: scope.histogram('downstream_cx_length_ms'),
      downstream_cx_overflow: scope.counter('downstream_cx_overflow'),
      no_filter_chain_match: scope.counter('no_filter_chain_match'),
      worker: {
        downstream_cx_total: scope.counter(`worker_${deps.workerIndex ?? 0}.downstream_cx_total`),
        downstream_cx_active: scope.gauge(`worker_${deps.workerIndex ?? 0}.downstream_cx_active`),
      },
    };
    this.udp = isUdpListener(config)
      ? new UdpProxyListener(config, name, {
          store: deps.store,
          clusterManager: deps.clusterManager,
          log: deps.logs.get('filter', 'network/udp-proxy.ts'),
        })
      : undefined;
    this.tls = deps.tls ?? new TlsContextManager();
    // A UDP listener's only listener filter is its udp_proxy, which the UDP listener runs itself.
    this.listenerFilters = this.udp ? undefined : ListenerFilters.create(config, deps.store, scope);
    this.chains = (config.filter_chains ?? []).map((fc) => this.compileChain(fc, scope));
    this.defaultChain = config.default_filter_chain
      ? this.compileChain(config.default_filter_chain, scope)
      : undefined;
  }

  /**
   * The chain's terminal filter, behind its transport socket: with TLS, the filter gets the
   * decrypted connection once the handshake is done; `%REQUESTED_SERVER_NAME%` is the SNI the
   * handshake or the TLS inspector saw.
   */
  private compileChain(fc: FilterChain, listenerScope: Scope): CompiledChain {
    const { terminal, close } = this.compileTerminal(fc, listenerScope);
    const tls = this.tls.serverContext(fc.transport_socket, {
      where: `listener '${this.name}'`,
      scope: listenerScope,
      onSecure: (socket) => terminal(socket, { secure: true, serverName: socket.servername || '' }),
    });
    return {
      match: fc.filter_chain_match ?? {},
      handle: tls
        ? (socket) => tls.accept(socket)
        : (socket, detection) => terminal(socket, { secure: false, serverName: detection.serverName }),
      close: () => {
        close();
        this.tls.release(tls);
      },
    };
  }

  private compileTerminal(
    fc: FilterChain,
    listenerScope: Scope,
  ): {
    terminal: (socket: net.Socket, o: { secure: boolean; serverName: string }) => void;
    close: () => void;
  } {
    const filters = fc.filters ?? [];
    const terminal = filters[filters.length - 1];
    if (!terminal) throw new Error(`listener '${this.name}': a filter chain has no filters`);
    if (filters.length > 1) {
      const extra = filters.slice(0, -1).map((f) => f.name);
      throw new Error(
        `listener '${this.name}': network filter(s) ${extra.join(', ')} are not implemented by meshcraft-proxy yet`,
      );
    }
    const type = terminal.typed_config?.['@type'];
    const name = terminal.name;
    if (
      type === HCM_TYPE ||
      (!type &&
        ['envoy.filters.network.http_connection_manager', 'envoy.http_connection_manager'].includes(name))
    ) {
      const hcm = new HttpConnectionManagerConfig(terminal.typed_config as unknown as HttpConnectionManager, {
        store: this.deps.store,
        runtime: this.deps.runtime,
        clusterManager: this.deps.clusterManager,
        log: this.deps.logs.get('http', 'http/connection-manager.ts'),
        listenerScope,
        routes: this.deps.routes,
        localHealth: this.deps.localHealth,
      });
      this.hcms.push(hcm);
      return {
        terminal: (socket, o) => {
          const conn = createServerConnection(socket, hcm, o);
          this.httpConnections.add(conn);
          socket.once('close', () => this.httpConnections.delete(conn));
        },
        close: () => hcm.close(),
      };
    }
    if (
      type === TCP_PROXY_TYPE ||
      (!type && ['envoy.filters.network.tcp_proxy', 'envoy.tcp_proxy'].includes(name))
    ) {
      const tcp = new TcpProxyConfig(
        terminal.typed_config as unknown as TcpProxy,
        this.deps.store,
        this.deps.clusterManager,
        this.deps.logs.get('filter', 'network/tcp-proxy.ts'),
        this.deps.random,
      );
      return {
        terminal: (socket, o) => new TcpProxySession(socket, tcp, o.serverName),
        close: () => tcp.close(),
      };
    }
    throw new Error(
      `listener '${this.name}': network filter '${name}' is not implemented by meshcraft-proxy yet`,
    );
  }

  /** Resolves when the listener is warm: every route configuration it uses over RDS has arrived (or given up). */
  async initialize(): Promise<void> {
    await Promise.all(this.hcms.map((hcm) => hcm.initialized()));
  }

  /** Takes over the socket of the listener it replaces: new connections come here from now on. */
  adopt(previous: ActiveListener): void {
    if (this.udp && previous.udp) {
      this.udp.adopt(previous.udp);
      this.boundAddress = previous.boundAddress;
      return;
    }
    const server = previous.server;
    previous.server = undefined;
    if (!server) return;
    server.removeAllListeners('connection');
    server.on('connection', (socket: net.Socket) => this.onConnection(socket));
    this.server = server;
    this.boundAddress = previous.boundAddress;
  }

  /** Binds the listener's address; rejects with an Envoy-worded, actionable error. */
  listen(): Promise<void> {
    const sa = this.config.address?.socket_address;
    if (!sa) return Promise.reject(new ListenerBindError(`listener '${this.name}' has no socket address`));
    if (this.deps.acceptsConnections === false) return Promise.resolve();
    const where = `${sa.address}:${sa.port_value ?? 0}`;
    if (this.udp) {
      return this.udp.listen().then(
        (bound) => {
          this.boundAddress = bound;
        },
        (err: NodeJS.ErrnoException) => {
          throw bindError(where, err);
        },
      );
    }
    const server = net.createServer({ noDelay: true }, (socket) => this.onConnection(socket));
    this.server = server;
    return new Promise((resolve, reject) => {
      server.once('error', (err: NodeJS.ErrnoException) => reject(bindError(where, err)));
      server.listen({ host: sa.address, port: sa.port_value ?? 0 }, () => {
        const a = server.address() as net.AddressInfo;
        this.boundAddress = { socket_address: { address: sa.address, port_value: a.port } };
        resolve();
      });
    });
  }

  private onConnection(socket: net.Socket): void {
    const s = this.stats;
    s.downstream_cx_total.inc();
    s.downstream_cx_active.inc();
    s.worker.downstream_cx_total.inc();
    s.worker.downstream_cx_active.inc();
    const started = performance.now();
    this.connections.add(socket);
    socket.once('close', () => {
      this.connections.delete(socket);
      s.downstream_cx_active.dec();
      s.worker.downstream_cx_active.dec();
      s.downstream_cx_destroy.inc();
      s.downstream_cx_length_ms.record(performance.now() - started);
    });
    if (!this.listenerFilters) {
      this.dispatch(socket, RAW_CONNECTION);
      return;
    }
    void this.listenerFilters.run(socket).then((detection) => {
      if (detection && !socket.destroyed) this.dispatch(socket, detection);
    });
  }

  private dispatch(socket: net.Socket, detection: ConnectionDetection): void {
    const chain = this.selectChain(socket, detection);
    if (!chain) {
      this.stats.no_filter_chain_match.inc();
      this.log.debug(`closing connection from ${socket.remoteAddress}: no matching filter chain found`);
      socket.destroy();
      return;
    }
    chain.handle(socket, detection);
  }

  /**
   * Envoy's filter-chain matching: criteria are considered in a fixed order (destination port,
   * destination IP, server name, transport protocol, application protocols, source IP, source
   * port), and at each step the most specific chains that match survive.
   */
  private selectChain(socket: net.Socket, detection: ConnectionDetection): CompiledChain | undefined {
    const localPort = socket.localPort ?? 0;
    const localIp = unmapIpv4(socket.localAddress ?? '');
    const remoteIp = unmapIpv4(socket.remoteAddress ?? '');
    const remotePort = socket.remotePort ?? 0;
    let candidates = this.chains;
    candidates = narrow(candidates, (m) =>
      m.destination_port === undefined ? 0 : m.destination_port === localPort ? 1 : -1,
    );
    candidates = narrow(candidates, (m) => prefixScore(m.prefix_ranges, localIp));
    candidates = narrow(candidates, (m) => serverNameScore(m.server_names, detection.serverName));
    candidates = narrow(candidates, (m) =>
      !m.transport_protocol ? 0 : m.transport_protocol === detection.transportProtocol ? 1 : -1,
    );
    candidates = narrow(candidates, (m) =>
      applicationProtocolScore(m.application_protocols, detection.applicationProtocols),
    );
    candidates = narrow(candidates, (m) => prefixScore(m.source_prefix_ranges, remoteIp));
    candidates = narrow(candidates, (m) =>
      !m.source_ports?.length ? 0 : m.source_ports.includes(remotePort) ? 1 : -1,
    );
    return candidates[0] ?? this.defaultChain;
  }

  /** `/drain_listeners`: stop accepting; live HTTP connections close after their current request. */
  drain(): void {
    this.udp?.close();
    this.server?.close();
    this.server = undefined;
    for (const c of this.httpConnections) c.drain();
  }

  /**
   * Drains (see drain; a replaced listener has handed its socket over already) and closes once its
   * connections are gone, or after `maxMs` at the latest.
   */
  async drainAndClose(maxMs: number): Promise<void> {
    this.drain();
    const deadline = Date.now() + maxMs;
    while (this.connections.size > 0 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, Math.min(100, Math.max(deadline - Date.now(), 1))));
    }
    await this.close();
  }

  close(): Promise<void> {
    this.udp?.close();
    return new Promise((resolve) => {
      for (const c of this.chains) c.close();
      this.defaultChain?.close();
      if (!this.server?.listening) {
        for (const s of this.connections) s.destroy();
        resolve();
        return;
      }
      this.server.close(() => resolve());
      for (const s of this.connections) s.destroy();
    });
  }
}

/** Keeps the candidates with the highest non-negative score (-1 = does not match). */
function narrow(chains: CompiledChain[], score: (m: FilterChainMatch) => number): CompiledChain[] {
  let best = -1;
  let out: CompiledChain[] = [];
  for (const c of chains) {
    const s = score(c.match);
    if (s < 0) continue;
    if (s > best) {
      best = s;
      out = [c];
    } else if (s === best) {
      out.push(c);
    }
  }
  return out;
}

/** Longest matching CIDR length + 1, 0 when no ranges are configured, -1 when none matches. */
function prefixScore(
  ranges: { address_prefix: string; prefix_len?: number }[] | undefined,
  ip: string,
): number {
  if (!ranges || ranges.length === 0) return 0;
  let best = -1;
  for (const r of ranges) {
    const len = r.prefix_len ?? (net.isIPv6(r.address_prefix) ? 128 : 32);
    if (inCidr(ip, r.address_prefix, len)) best = Math.max(best, len + 1);
  }
  return best;
}

function inCidr(ip: string, prefix: string, len: number): boolean {
  if (net.isIPv4(ip) && net.isIPv4(prefix)) {
    const toInt = (a: string) => a.split('.').reduce((acc, o) => (acc << 8) + Number(o), 0) >>> 0;
    const mask = len === 0 ? 0 : (0xffffffff << (32 - len)) >>> 0;
    return (toInt(ip) & mask) === (toInt(prefix) & mask);
  }
  const list = new net.BlockList();
  try {
    list.addSubnet(prefix, len, net.isIPv6(prefix) ? 'ipv6' : 'ipv4');
    return list.check(ip, net.isIPv6(ip) ? 'ipv6' : 'ipv4');
  } catch {
    return false;
  }
}

export interface ListenerUpdate {
  /** False for an unmodified listener and for a static listener LDS tried to change. */
  changed: boolean;
  /** Settles when the listener takes traffic; rejects if it cannot bind. */
  ready: Promise<void>;
}

function addressKey(address: Address | undefined): string {
  const sa = address?.socket_address;
  return sa ? `${sa.address}:${sa.port_value ?? 0}` : '';
}

const HCM_NAMES = ['envoy.filters.network.http_connection_manager', 'envoy.http_connection_manager'];

/**
 * The clusters the inline route configurations of a listener's HTTP connection managers send to:
 * Envoy validates them (`validate_clusters` defaults to true for an inline `route_config`).
 */
function routeClusters(listener: Listener): string[] {
  const names: string[] = [];
  const chains = [
    ...(listener.filter_chains ?? []),
    ...(listener.default_filter_chain ? [listener.default_filter_chain] : []),
  ];
  for (const filter of chains.flatMap((c) => c.filters ?? [])) {
    const isHcm =
      filter.typed_config?.['@type'] === HCM_TYPE ||
      (!filter.typed_config && HCM_NAMES.includes(filter.name));
    const routes = isHcm
      ? (filter.typed_config as unknown as HttpConnectionManager | undefined)?.route_config
      : undefined;
    if (!routes || routes.validate_clusters === false) continue;
    const vhosts = routes.virtual_hosts ?? [];
    const mirrors = [
      ...(routes.request_mirror_policies ?? []),
      ...vhosts.flatMap((v) => v.request_mirror_policies ?? []),
    ];
    for (const route of vhosts.flatMap((v) => v.routes ?? [])) {
      const action = route.route;
      if (action?.cluster) names.push(action.cluster);
      for (const c of action?.weighted_clusters?.clusters ?? []) if (c.name) names.push(c.name);
      mirrors.push(...(action?.request_mirror_policies ?? []));
    }
    for (const m of mirrors) if (m.cluster) names.push(m.cluster);
  }
  return names;
}

/** All listeners of the proxy — active, warming and draining — and the `listener_manager.*` stats. */
export class ListenerManager {
  private readonly active = new Map<string, ActiveListener>();
  private readonly warming = new Map<string, ActiveListener>();
  private readonly draining = new Set<ActiveListener>();
  private readonly stats: {
    listener_added: Counter;
    listener_modified: Counter;
    listener_removed: Counter;
    listener_create_success: Counter;
    listener_create_failure: Counter;
    total_listeners_warming: Gauge;
    total_listeners_active: Gauge;
    total_listeners_draining: Gauge;
  };

  constructor(private readonly deps: ListenerDeps) {
    const scope = deps.store.scope('listener_manager.');
    this.stats = {
      listener_added: scope.counter('listener_added'),
      listener_modified: scope.counter('listener_modified'),
      listener_removed: scope.counter('listener_removed'),
      listener_create_success: scope.counter('listener_create_success'),
      listener_create_failure: scope.counter('listener_create_failure'),
      total_listeners_warming: scope.gauge('total_listeners_warming', 'NeverImport'),
      total_listeners_active: scope.gauge('total_listeners_active', 'NeverImport'),
      total_listeners_draining: scope.gauge('total_listeners_draining', 'NeverImport'),
    };
  }

  /**
   * Adds a listener or starts replacing the one of the same name. Throws at once if it cannot be
   * built (LDS rejects the update): a bad filter chain, a changed address (Envoy refuses those), an
   * address another listener has, a route to a cluster that does not exist. An unchanged listener
   * is skipped, and so is an attempt of LDS to change a static one.
   */
  addOrUpdate(config: Listener, origin: ListenerOrigin): ListenerUpdate {
    const name = config.name || randomUUID();
    const existing = this.warming.get(name) ?? this.active.get(name);
    if (
      existing &&
      (JSON.stringify(existing.config) === JSON.stringify(config) ||
        (!existing.addedViaApi && origin.addedViaApi))
    ) {
      return { changed: false, ready: Promise.resolve() };
    }
    const address = addressKey(config.address);
    if (existing && addressKey(existing.config.address) !== address) {
      throw new Error(
        `error updating listener: '${name}' has a different address '${address}' from existing listener address '${addressKey(existing.config.address)}'`,
      );
    }
    if (!existing && !address.endsWith(':0')) {
      const clash = [...this.active.values(), ...this.warming.values()].find(
        (l) => addressKey(l.config.address) === address,
      );
      if (clash)
        throw new Error(
          `error adding listener: '${name}' has duplicate address '${address}' as existing listener '${clash.name}'`,
        );
    }
    if (origin.addedViaApi) {
      const unknown = routeClusters(config).find((c) => !this.deps.clusterManager.has(c));
      if (unknown !== undefined) throw new Error(`route: unknown cluster '${unknown}'`);
    }
    const listener = new ActiveListener(config, this.deps, origin, name);
    this.warming.get(name)?.close();
    this.warming.set(name, listener);
    if (this.active.has(name)) this.stats.listener_modified.inc();
    else this.stats.listener_added.inc();
    this.updateGauges();
    const ready = this.warmAndActivate(listener);
    return { changed: true, ready };
  }

  private async warmAndActivate(listener: ActiveListener): Promise<void> {
    const name = listener.name;
    try {
      await listener.initialize();
      if (this.warming.get(name) !== listener) return; // replaced or removed while warming
      const previous = this.active.get(name);
      if (previous) listener.adopt(previous);
      else await listener.listen();
      if (this.warming.get(name) !== listener) {
        await listener.close();
        return;
      }
      this.warming.delete(name);
      this.active.set(name, listener);
      listener.lastUpdated = new Date().toISOString();
      this.stats.listener_create_success.inc();
      if (previous) this.startDraining(previous);
    } catch (err) {
      if (this.warming.get(name) === listener) this.warming.delete(name);
      await listener.close();
      this.stats.listener_create_failure.inc();
      throw err;
    } finally {
      this.updateGauges();
    }
  }

  /** Removes a listener LDS added (static ones stay): it stops accepting and drains. */
  remove(name: string): boolean {
    const warming = this.warming.get(name);
    const active = this.active.get(name);
    if (!(warming ?? active)?.addedViaApi) return false;
    if (warming) {
      this.warming.delete(name);
      void warming.close();
    }
    if (active) {
      this.active.delete(name);
      this.startDraining(active);
    }
    this.stats.listener_removed.inc();
    this.updateGauges();
    return true;
  }

  private startDraining(listener: ActiveListener): void {
    this.draining.add(listener);
    this.updateGauges();
    void listener.drainAndClose(this.deps.drainTimeMs).then(() => {
      this.draining.delete(listener);
      this.updateGauges();
    });
  }

  private updateGauges(): void {
    this.stats.total_listeners_warming.set(this.warming.size);
    this.stats.total_listeners_active.set(this.active.size);
    this.stats.total_listeners_draining.set(this.draining.size);
  }

  /** Active listeners, in the order they became active. */
  all(): ActiveListener[] {
    return [...this.active.values()];
  }

  warmingListeners(): ActiveListener[] {
    return [...this.warming.values()];
  }

  /** Names of active and warming listeners (what an LDS update replaces). */
  names(): string[] {
    return [...new Set([...this.active.keys(), ...this.warming.keys()])];
  }

  /** Every listener still holding connections: active and draining ones. */
  withConnections(): ActiveListener[] {
    return [...this.active.values(), ...this.draining];
  }

  drain(): void {
    for (const l of this.active.values()) l.drain();
  }

  async closeAll(): Promise<void> {
    const all = [...this.active.values(), ...this.warming.values(), ...this.draining];
    this.active.clear();
    this.warming.clear();
    this.draining.clear();
    await Promise.all(all.map((l) => l.close()));
    this.updateGauges();
  }
}
