/**
 * The TCP proxy network filter (`envoy.filters.network.tcp_proxy`): each downstream connection
 * gets one upstream connection to a host the cluster's load balancer picks, and bytes flow both
 * ways unchanged (the upstream sees the proxy's address as the client, as the course shows).
 */
import type net from 'node:net';
import { unmapIpv4 } from '../common/address.js';
import { durationMs } from '../common/duration.js';
import type { Logger } from '../common/logger.js';
import type { TcpProxy } from '../config/types.js';
import { type AccessLogger, createAccessLoggers } from '../http/access-log.js';
import { nextConnectionId } from '../http/connection-manager.js';
import { DEFAULT_TCP_ACCESS_LOG_FORMAT } from '../http/formatter.js';
import { StreamInfo } from '../http/stream-info.js';
import type { Counter, Gauge, Store } from '../stats/store.js';
import type { Cluster } from '../upstream/cluster.js';
import type { ClusterManager } from '../upstream/cluster-manager.js';

interface TcpProxyStats {
  downstream_cx_total: Counter;
  downstream_cx_no_route: Counter;
  downstream_cx_rx_bytes_total: Counter;
  downstream_cx_tx_bytes_total: Counter;
  downstream_flow_control_paused_reading_total: Counter;
  downstream_flow_control_resumed_reading_total: Counter;
  idle_timeout: Counter;
  max_downstream_connection_duration: Counter;
  upstream_flush_total: Counter;
  upstream_flush_active: Gauge;
}

export class TcpProxyConfig {
  readonly stats: TcpProxyStats;
  readonly idleTimeoutMs: number;
  readonly maxConnectAttempts: number;
  readonly accessLoggers: AccessLogger[];

  constructor(
    readonly config: TcpProxy,
    store: Store,
    readonly clusterManager: ClusterManager,
    readonly log: Logger,
    private readonly random: () => number,
  ) {
    const scope = store.scope(`tcp.${config.stat_prefix}.`);
    const c = (n: string) => scope.counter(n);
    this.stats = {
      downstream_cx_total: c('downstream_cx_total'),
      downstream_cx_no_route: c('downstream_cx_no_route'),
      downstream_cx_rx_bytes_total: c('downstream_cx_rx_bytes_total'),
      downstream_cx_tx_bytes_total: c('downstream_cx_tx_bytes_total'),
      downstream_flow_control_paused_reading_total: c('downstream_flow_control_paused_reading_total'),
      downstream_flow_control_resumed_reading_total: c('downstream_flow_control_resumed_reading_total'),
      idle_timeout: c('idle_timeout'),
      max_downstream_connection_duration: c('max_downstream_connection_duration'),
      upstream_flush_total: c('upstream_flush_total'),
      upstream_flush_active: scope.gauge('upstream_flush_active'),
    };
    // Envoy's TCP proxy idle timeout defaults to 1 hour; 0 disables it.
    this.idleTimeoutMs = durationMs(config.idle_timeout, 3_600_000);
    this.maxConnectAttempts = config.max_connect_attempts ?? 1;
    this.accessLoggers = createAccessLoggers(config.access_log, DEFAULT_TCP_ACCESS_LOG_FORMAT);
  }

  /** The cluster for a new connection: the configured one or a weighted pick. */
  pickClusterName(): string | undefined {
    if (this.config.cluster) return this.config.cluster;
    const clusters = this.config.weighted_clusters?.clusters ?? [];
    const total = clusters.reduce((s, c) => s + c.weight, 0);
    let pick = this.random() * total;
    for (const c of clusters) {
      pick -= c.weight;
      if (pick < 0) return c.name;
    }
    return clusters[clusters.length - 1]?.name;
  }

  close(): void {
    for (const l of this.accessLoggers) l.close();
  }
}

/** One proxied connection. */
export class TcpProxySession {
  private upstream: net.Socket | undefined;
  private cluster: Cluster | undefined;
  private attempts = 0;
  private idleTimer: NodeJS.Timeout | undefined;
  private readonly info: StreamInfo;
  private finished = false;
  private upstreamConnectedAt = 0;

  constructor(
    private readonly downstream: net.Socket,
    private readonly config: TcpProxyConfig,
    /** SNI of the connection (TLS inspector or handshake), for `%REQUESTED_SERVER_NAME%`. */
    requestedServerName = '',
  ) {
    const remote = { address: unmapIpv4(downstream.remoteAddress ?? ''), port: downstream.remotePort ?? 0 };
    const local = { address: unmapIpv4(downstream.localAddress ?? ''), port: downstream.localPort ?? 0 };
    this.info = new StreamInfo('-', remote, local, nextConnectionId());
    this.info.requestedServerName = requestedServerName;
    config.stats.downstream_cx_total.inc();
    downstream.setNoDelay(true);
    // Hold downstream bytes until the upstream connection is up.
    downstream.pause();
    downstream.on('error', () => {
      /* 'close' follows */
    });
    downstream.on('close', () => this.finish());
    const clusterName = config.pickClusterName();
    const cluster = clusterName ? config.clusterManager.get(clusterName) : undefined;
    if (!cluster) {
      config.stats.downstream_cx_no_route.inc();
      this.info.setFlag('NC');
      downstream.destroy();
      return;
    }
    this.cluster = cluster;
    this.info.upstreamCluster = cluster.name;
    this.connect();
  }

  private connect(): void {
    const cluster = this.cluster!;
    const s = cluster.stats;
    const host = cluster.lb.chooseHost({});
    if (!host) {
      s.upstream_cx_none_healthy.inc();
      this.info.setFlag('UH');
      this.downstream.destroy();
      return;
    }
    const resources = cluster.resources.default;
    if (!resources.connections.canCreate()) {
      s.upstream_cx_overflow.inc();
      this.info.setFlag('UO');
      this.downstream.destroy();
      return;
    }
    this.info.upstreamHost = host;
    this.attempts++;
    resources.connections.inc();
    s.upstream_cx_total.inc();
    s.upstream_cx_active.inc();
    host.stats.cx_total++;
    host.stats.cx_active++;
    const started = performance.now();
    // The cluster's transport socket: TLS origination when it has an UpstreamTlsContext.
    const { socket: upstream, ready } = cluster.transport.connect(host, []);
    this.upstream = upstream;
    upstream.setNoDelay(true);
    let connected = false;
    const connectTimer = setTimeout(() => {
      s.upstream_cx_connect_timeout.inc();
      upstream.destroy(new Error('connect timeout'));
    }, cluster.connectTimeoutMs);
    upstream.once(ready, () => {
      connected = true;
      clearTimeout(connectTimer);
      this.upstreamConnectedAt = performance.now();
      s.upstream_cx_connect_ms.record(this.upstreamConnectedAt - started);
      host.outlier?.putResult('LOCAL_ORIGIN_CONNECT_SUCCESS_FINAL');
      this.info.upstreamLocalAddress = {
        address: upstream.localAddress ?? '',
        port: upstream.localPort ?? 0,
      };
      this.pipe(upstream);
    });
    upstream.on('error', () => {
      /* 'close' decides */
    });
    upstream.once('close', () => {
      clearTimeout(connectTimer);
      resources.connections.dec();
      s.upstream_cx_active.dec();
      host.stats.cx_active--;
      s.upstream_cx_destroy.inc();
      if (!connected) {
        s.upstream_cx_connect_fail.inc();
        host.stats.cx_connect_fail++;
        host.outlier?.putResult('LOCAL_ORIGIN_CONNECT_FAILED');
        if (!this.finished && this.attempts < this.config.maxConnectAttempts) {
          this.connect();
          return;
        }
        if (this.attempts >= this.config.maxConnectAttempts && this.config.maxConnectAttempts > 1) {
          s.upstream_cx_connect_attempts_exceeded.inc();
        }
        this.info.setFlag('UF');
        this.downstream.destroy();
        return;
      }
      s.upstream_cx_length_ms.record(performance.now() - this.upstreamConnectedAt);
      s.upstream_cx_destroy_remote.inc();
      // Let what the upstream sent reach the client, then close (Envoy's FlushWrite).
      this.downstream.end();
    });
  }

  private pipe(upstream: net.Socket): void {
    const down = this.downstream;
    const cluster = this.cluster!;
    const stats = this.config.stats;
    down.on('data', (d: Buffer) => {
      stats.downstream_cx_rx_bytes_total.inc(d.length);
      cluster.stats.upstream_cx_tx_bytes_total.inc(d.length);
      this.info.bytesReceived += d.length;
      this.touch();
      if (!upstream.write(d)) {
        down.pause();
        stats.downstream_flow_control_paused_reading_total.inc();
      }
    });
    upstream.on('drain', () => {
      down.resume();
      stats.downstream_flow_control_resumed_reading_total.inc();
    });
    upstream.on('data', (d: Buffer) => {
      stats.downstream_cx_tx_bytes_total.inc(d.length);
      cluster.stats.upstream_cx_rx_bytes_total.inc(d.length);
      this.info.bytesSent += d.length;
      this.touch();
      if (!down.write(d)) upstream.pause();
    });
    down.on('drain', () => upstream.resume());
    down.on('end', () => upstream.end());
    upstream.on('end', () => down.end());
    down.resume();
    this.touch();
  }

  /** Resets the idle timer on traffic either way. */
  private touch(): void {
    if (this.config.idleTimeoutMs <= 0) return;
    if (this.idleTimer) {
      this.idleTimer.refresh();
      return;
    }
    this.idleTimer = setTimeout(() => {
      this.config.stats.idle_timeout.inc();
      this.downstream.destroy();
      this.upstream?.destroy();
    }, this.config.idleTimeoutMs);
    this.idleTimer.unref();
  }

  private finish(): void {
    if (this.finished) return;
    this.finished = true;
    if (this.idleTimer) clearTimeout(this.idleTimer);
    // The client left before the upstream connection was up: Envoy's "downstream connection termination".
    if (this.upstreamConnectedAt === 0 && this.info.responseFlags.size === 0) this.info.setFlag('DC');
    if (this.upstream && !this.upstream.destroyed) {
      // The client closed first; anything still queued upstream is flushed by end().
      this.upstream.end();
      setTimeout(() => this.upstream?.destroy(), 1000).unref();
    }
    this.info.lastResponseByteMs = this.info.elapsedMs();
    for (const l of this.config.accessLoggers) l.log(this.info);
  }
}
