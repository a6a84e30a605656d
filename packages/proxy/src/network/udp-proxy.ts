/**
 * UDP listeners and the `envoy.filters.udp_listener.udp_proxy` listener filter, after Envoy's
 * `source/extensions/filters/udp/udp_proxy`: a listener whose address has `protocol: UDP` binds a
 * datagram socket; each downstream address (IP and port) that sends to it is a *session*, which
 * the cluster's load balancer pins to one upstream host and which has its own upstream socket, so
 * replies come back to that downstream address. A session ends after `idle_timeout` (default 60 s)
 * without datagrams in either direction. Sessions count against the cluster's `max_connections`.
 *
 * The route is `matcher.on_no_match.action` (a `Route` naming the cluster) or the older `cluster`
 * field. Stats, as Envoy names them: `udp.<stat_prefix>.downstream_sess_*` and `idle_timeout`;
 * `cluster.<name>.udp.sess_*`, `upstream_cx_tx_bytes_total` / `rx_bytes_total`,
 * `upstream_cx_none_healthy` and `upstream_cx_overflow`.
 */
import dgram from 'node:dgram';
import net from 'node:net';
import { durationMs } from '../common/duration.js';
import type { Logger } from '../common/logger.js';
import type { Address, Any, Duration, Listener } from '../config/types.js';
import type { Counter, Gauge, Scope } from '../stats/store.js';
import type { Cluster } from '../upstream/cluster.js';
import type { ClusterManager } from '../upstream/cluster-manager.js';
import type { Host } from '../upstream/host.js';

const UDP_PROXY_TYPE = 'type.googleapis.com/envoy.extensions.filters.udp.udp_proxy.v3.UdpProxyConfig';
const UDP_PROXY_NAME = 'envoy.filters.udp_listener.udp_proxy';
const ROUTE_TYPE = 'type.googleapis.com/envoy.extensions.filters.udp.udp_proxy.v3.Route';
/** Envoy's default session idle timeout. */
const DEFAULT_IDLE_TIMEOUT_MS = 60_000;

/** `envoy.extensions.filters.udp.udp_proxy.v3.UdpProxyConfig`, normalized (the fields implemented). */
export interface UdpProxyConfig {
  stat_prefix: string;
  cluster?: string;
  matcher?: { on_no_match?: { action?: { name?: string; typed_config?: Any } } };
  idle_timeout?: Duration;
}

/** Whether a listener is a UDP one (its socket address says `protocol: UDP`). */
export function isUdpListener(listener: Listener): boolean {
  return listener.address?.socket_address?.protocol === 'UDP';
}

interface DownstreamStats {
  downstream_sess_no_route: Counter;
  downstream_sess_rx_bytes: Counter;
  downstream_sess_rx_datagrams: Counter;
  downstream_sess_rx_errors: Counter;
  downstream_sess_total: Counter;
  downstream_sess_tx_bytes: Counter;
  downstream_sess_tx_datagrams: Counter;
  downstream_sess_tx_errors: Counter;
  idle_timeout: Counter;
  downstream_sess_active: Gauge;
}

interface UpstreamStats {
  sess_rx_datagrams: Counter;
  sess_rx_errors: Counter;
  sess_tx_datagrams: Counter;
  sess_tx_errors: Counter;
}

function upstreamStats(cluster: Cluster): UpstreamStats {
  const s = cluster.scope.scope('udp.');
  return {
    sess_rx_datagrams: s.counter('sess_rx_datagrams'),
    sess_rx_errors: s.counter('sess_rx_errors'),
    sess_tx_datagrams: s.counter('sess_tx_datagrams'),
    sess_tx_errors: s.counter('sess_tx_errors'),
  };
}

/** The cluster a datagram goes to: `matcher.on_no_match`'s Route, or the older `cluster`. */
function routeCluster(c: UdpProxyConfig, listenerName: string): string {
  const action = c.matcher?.on_no_match?.action;
  if (action) {
    const type = action.typed_config?.['@type'];
    if (type !== ROUTE_TYPE)
      throw new Error(
        `listener '${listenerName}': udp_proxy matcher action '${type ?? action.name}' is not a Route`,
      );
    return String(action.typed_config?.cluster ?? '');
  }
  if (c.cluster) return c.cluster;
  throw new Error(`listener '${listenerName}': udp_proxy needs a cluster (matcher.on_no_match or cluster)`);
}

/** The udp_proxy config of a UDP listener; throws for a UDP listener that is not one. */
function udpProxyConfig(listener: Listener, name: string): UdpProxyConfig {
  if ((listener.filter_chains ?? []).length > 0 || listener.default_filter_chain)
    throw new Error(
      `listener '${name}': a UDP listener takes its filter in listener_filters (udp_proxy); filter chains on UDP listeners are for QUIC, which meshcraft-proxy does not implement`,
    );
  const filters = listener.listener_filters ?? [];
  const filter = filters[0];
  const type = filter?.typed_config?.['@type'];
  if (filters.length !== 1 || !(type === UDP_PROXY_TYPE || (!type && filter?.name === UDP_PROXY_NAME)))
    throw new Error(
      `listener '${name}': a UDP listener needs exactly one listener filter, ${UDP_PROXY_NAME}`,
    );
  return filter!.typed_config as unknown as UdpProxyConfig;
}

export interface UdpListenerDeps {
  store: Scope;
  clusterManager: ClusterManager;
  log: Logger;
}

/** A downstream address's pinning to an upstream host, with its own upstream socket. */
class Session {
  private readonly socket: dgram.Socket;
  private idleTimer: NodeJS.Timeout;
  private closed = false;

  constructor(
    private readonly proxy: UdpProxyListener,
    readonly key: string,
    private readonly peer: { address: string; port: number },
    readonly cluster: Cluster,
    readonly host: Host,
    private readonly stats: UpstreamStats,
  ) {
    const s = proxy.stats;
    s.downstream_sess_total.inc();
    s.downstream_sess_active.inc();
    cluster.resourcesFor('DEFAULT').connections.inc();
    this.socket = dgram.createSocket(net.isIPv6(host.address) ? 'udp6' : 'udp4');
    this.socket.on('message', (data, from) => {
      // Only the host's replies belong to this session.
      if (from.address === host.address && from.port === host.port) this.onUpstreamDatagram(data);
    });
    this.socket.on('error', (err) => {
      proxy.log.debug(`udp session ${key} -> ${host.key}: ${err.message}`);
      stats.sess_rx_errors.inc();
    });
    this.idleTimer = this.armIdleTimer();
    proxy.log.debug(`creating new session: downstream=${key} upstream=${host.key}`);
  }

  private armIdleTimer(): NodeJS.Timeout {
    const timer = setTimeout(() => {
      this.proxy.stats.idle_timeout.inc();
      this.proxy.removeSession(this);
    }, this.proxy.idleTimeoutMs);
    timer.unref();
    return timer;
  }

  /** A datagram from the downstream address: counted, then sent to the host. */
  onDownstreamDatagram(data: Buffer): void {
    const s = this.proxy.stats;
    s.downstream_sess_rx_bytes.inc(data.length);
    s.downstream_sess_rx_datagrams.inc();
    this.idleTimer.refresh();
    this.socket.send(data, this.host.port, this.host.address, (err) => {
      if (err) {
        this.stats.sess_tx_errors.inc();
        return;
      }
      this.stats.sess_tx_datagrams.inc();
      this.cluster.stats.upstream_cx_tx_bytes_total.inc(data.length);
    });
  }

  private onUpstreamDatagram(data: Buffer): void {
    if (this.closed) return;
    this.idleTimer.refresh();
    this.stats.sess_rx_datagrams.inc();
    this.cluster.stats.upstream_cx_rx_bytes_total.inc(data.length);
    this.proxy.sendDownstream(data, this.peer);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.idleTimer);
    this.proxy.stats.downstream_sess_active.dec();
    this.cluster.resourcesFor('DEFAULT').connections.dec();
    this.socket.close();
  }
}

/** A bound UDP listener running the udp_proxy filter. */
export class UdpProxyListener {
  readonly stats: DownstreamStats;
  readonly idleTimeoutMs: number;
  readonly log: Logger;
  private readonly clusterName: string;
  private socket: dgram.Socket | undefined;
  private readonly sessions = new Map<string, Session>();

  constructor(
    private readonly listener: Listener,
    private readonly name: string,
    private readonly deps: UdpListenerDeps,
  ) {
    const config = udpProxyConfig(listener, name);
    this.clusterName = routeCluster(config, name);
    this.idleTimeoutMs = durationMs(config.idle_timeout, DEFAULT_IDLE_TIMEOUT_MS);
    this.log = deps.log;
    const s = deps.store.scope(`udp.${config.stat_prefix}.`);
    this.stats = {
      downstream_sess_no_route: s.counter('downstream_sess_no_route'),
      downstream_sess_rx_bytes: s.counter('downstream_sess_rx_bytes'),
      downstream_sess_rx_datagrams: s.counter('downstream_sess_rx_datagrams'),
      downstream_sess_rx_errors: s.counter('downstream_sess_rx_errors'),
      downstream_sess_total: s.counter('downstream_sess_total'),
      downstream_sess_tx_bytes: s.counter('downstream_sess_tx_bytes'),
      downstream_sess_tx_datagrams: s.counter('downstream_sess_tx_datagrams'),
      downstream_sess_tx_errors: s.counter('downstream_sess_tx_errors'),
      idle_timeout: s.counter('idle_timeout'),
      downstream_sess_active: s.gauge('downstream_sess_active'),
    };
  }

  /** Binds the listener's address; resolves with the address actually bound (port 0 picks one). */
  listen(): Promise<Address> {
    const sa = this.listener.address!.socket_address!;
    const socket = dgram.createSocket(net.isIPv6(sa.address) ? 'udp6' : 'udp4');
    return new Promise((resolve, reject) => {
      socket.once('error', reject);
      // Not exclusive: with --concurrency the workers share the socket, as they share TCP listeners.
      socket.bind({ address: sa.address, port: sa.port_value ?? 0 }, () => {
        socket.removeListener('error', reject);
        this.attach(socket);
        resolve({
          socket_address: { protocol: 'UDP', address: sa.address, port_value: socket.address().port },
        });
      });
    });
  }

  /** Takes over the socket of the listener this one replaces (an LDS update keeps the port). */
  adopt(previous: UdpProxyListener): void {
    const socket = previous.socket;
    previous.socket = undefined;
    previous.close();
    if (!socket) return;
    socket.removeAllListeners('message');
    socket.removeAllListeners('error');
    this.attach(socket);
  }

  private attach(socket: dgram.Socket): void {
    this.socket = socket;
    socket.on('message', (data, rinfo) => this.onDatagram(data, rinfo));
    socket.on('error', (err) => {
      this.log.debug(`udp listener '${this.name}': ${err.message}`);
      this.stats.downstream_sess_rx_errors.inc();
    });
  }

  private onDatagram(data: Buffer, peer: dgram.RemoteInfo): void {
    const cluster = this.deps.clusterManager.get(this.clusterName);
    if (!cluster) {
      this.stats.downstream_sess_no_route.inc();
      return;
    }
    const key = peer.family === 'IPv6' ? `[${peer.address}]:${peer.port}` : `${peer.address}:${peer.port}`;
    let session = this.sessions.get(key);
    if (session && (session.cluster !== cluster || !cluster.prioritySet.allHosts().includes(session.host))) {
      // The cluster was replaced or the host left it: Envoy drops such sessions.
      this.removeSession(session);
      session = undefined;
    }
    if (session && session.host.coarseHealth() === 'unhealthy') {
      // Move to a healthy host when there is one; otherwise keep using this one.
      const host = cluster.lb.chooseHost({});
      if (host && host !== session.host && host.coarseHealth() !== 'unhealthy') {
        this.removeSession(session);
        session = this.createSession(key, peer, cluster, host);
      }
    }
    session ??= this.createSession(key, peer, cluster, undefined);
    session?.onDownstreamDatagram(data);
  }

  private createSession(
    key: string,
    peer: dgram.RemoteInfo,
    cluster: Cluster,
    chosen: Host | undefined,
  ): Session | undefined {
    if (!cluster.resourcesFor('DEFAULT').connections.canCreate()) {
      cluster.stats.upstream_cx_overflow.inc();
      return undefined;
    }
    const host = chosen ?? cluster.lb.chooseHost({});
    if (!host) {
      cluster.stats.upstream_cx_none_healthy.inc();
      return undefined;
    }
    const session = new Session(this, key, peer, cluster, host, upstreamStats(cluster));
    this.sessions.set(key, session);
    return session;
  }

  removeSession(session: Session): void {
    if (this.sessions.get(session.key) === session) this.sessions.delete(session.key);
    session.close();
  }

  /** A reply from upstream, back to the session's downstream address through the listener socket. */
  sendDownstream(data: Buffer, peer: { address: string; port: number }): void {
    const socket = this.socket;
    if (!socket) return;
    socket.send(data, peer.port, peer.address, (err) => {
      if (err) {
        this.stats.downstream_sess_tx_errors.inc();
        return;
      }
      this.stats.downstream_sess_tx_bytes.inc(data.length);
      this.stats.downstream_sess_tx_datagrams.inc();
    });
  }

  close(): void {
    for (const session of this.sessions.values()) session.close();
    this.sessions.clear();
    this.socket?.close();
    this.socket = undefined;
  }
}
