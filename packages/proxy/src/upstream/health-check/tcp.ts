/**
 * TCP health checks (Envoy's `TcpHealthCheckerImpl`). With no `receive` payloads a check is a
 * connect: success on connection, and the connection is closed. Otherwise the `send` payload is
 * written and the check passes once everything read back contains all `receive` payloads in
 * order; the connection is kept for the next check when `reuse_connection` (default true). As in
 * Envoy, the connection closing while the check is not done with it counts as a network failure.
 */
import net from 'node:net';
import type { Host } from '../host.js';
import { HealthCheckerBase, type HealthCheckerParams, Session } from './base.js';
import { payloadBytes, payloadMatches } from './payload.js';

export class TcpHealthChecker extends HealthCheckerBase {
  readonly send: Buffer;
  readonly receive: Buffer[];

  constructor(params: HealthCheckerParams) {
    super(params);
    const tcp = params.config.tcp_health_check ?? {};
    this.send = tcp.send ? payloadBytes(tcp.send, 'tcp_health_check.send') : Buffer.alloc(0);
    this.receive = (tcp.receive ?? []).map((p, i) => payloadBytes(p, `tcp_health_check.receive[${i}]`));
  }

  protected makeSession(host: Host): Session {
    return new TcpSession(this, host);
  }
}

class TcpSession extends Session {
  private socket: net.Socket | undefined;
  private received: Buffer = Buffer.alloc(0);

  constructor(
    private readonly checker: TcpHealthChecker,
    host: Host,
  ) {
    super(checker, host);
  }

  protected onInterval(): void {
    const socket = this.socket ?? this.connect();
    if (this.checker.send.length > 0) socket.write(this.checker.send);
  }

  private connect(): net.Socket {
    const host = this.host;
    const socket = net.connect({ host: host.address, port: host.healthCheckPort ?? host.port });
    socket.setNoDelay(true);
    this.socket = socket;
    this.received = Buffer.alloc(0);
    let error = 'connection closed';
    socket.on('connect', () => {
      if (socket !== this.socket || this.checker.receive.length > 0) return;
      // Connect-only: the handshake is the check.
      this.closeSocket();
      this.handleSuccess(false);
    });
    socket.on('data', (chunk: Buffer) => {
      if (socket !== this.socket) return;
      this.received = Buffer.concat([this.received, chunk]);
      if (!payloadMatches(this.checker.receive, this.received)) return;
      this.received = Buffer.alloc(0);
      if (!this.checker.reuseConnection) this.closeSocket();
      this.handleSuccess(false);
    });
    socket.on('error', (err: NodeJS.ErrnoException) => {
      error = err.code ?? err.message;
    });
    socket.on('close', () => {
      if (socket !== this.socket) return;
      this.socket = undefined;
      this.handleFailure('network', error);
    });
    return socket;
  }

  private closeSocket(): void {
    const socket = this.socket;
    this.socket = undefined;
    socket?.destroy();
  }

  protected onTimeout(): void {
    this.closeSocket();
  }

  protected onDestroy(): void {
    this.closeSocket();
  }
}
