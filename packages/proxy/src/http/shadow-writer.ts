/**
 * Request mirroring (Envoy's ShadowWriter): a copy of a finished request goes to the shadow
 * cluster, fire and forget. Its response is read and discarded; it never affects the request it
 * copies, but it is counted in the shadow cluster's stats like any other request.
 */
import type { ClusterManager } from '../upstream/cluster-manager.js';
import type { UpstreamResponseHead } from '../upstream/conn-pool.js';
import type { HeaderMap } from './headers.js';
import { type UpstreamHead, UpstreamRequest, type UpstreamRequestOwner } from './upstream-request.js';

export class ShadowWriter {
  constructor(private readonly clusterManager: ClusterManager) {}

  /** Sends `head` with `body` to a host of `clusterName`, giving up after `timeoutMs` (0: never). */
  shadow(
    clusterName: string,
    head: UpstreamHead,
    body: readonly Buffer[],
    trailers: HeaderMap | undefined,
    timeoutMs: number,
  ): void {
    // Like Envoy, a mirror to a cluster that does not exist is skipped.
    const cluster = this.clusterManager.get(clusterName);
    if (!cluster) return;
    const host = cluster.lb.chooseHost({});
    if (!host) {
      cluster.stats.upstream_cx_none_healthy.inc();
      return;
    }
    if (!cluster.resourcesFor(undefined).requests.canCreate()) {
      cluster.stats.upstream_rq_pending_overflow.inc();
      return;
    }
    const shadow = new ShadowRequest(body, trailers);
    // Envoy's async client marks the requests it sends as internal.
    shadow.start(new UpstreamRequest(shadow, cluster, host, undefined, head, true), timeoutMs);
  }
}

/** One mirrored request: sends everything at once and keeps only the status, for the stats. */
class ShadowRequest implements UpstreamRequestOwner {
  private status = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly body: readonly Buffer[],
    private readonly trailers: HeaderMap | undefined,
  ) {}

  start(request: UpstreamRequest, timeoutMs: number): void {
    if (timeoutMs > 0) {
      this.timer = setTimeout(() => {
        request.cluster.stats.upstream_rq_timeout.inc();
        this.end(request, 'failure');
      }, timeoutMs);
      this.timer.unref();
    }
    request.start();
  }

  requestBody() {
    return { chunks: this.body, ended: true, trailers: this.trailers };
  }

  onUpstreamReady(): void {
    // The whole request was there to send; nothing is kept back.
  }

  onUpstreamHeaders(_request: UpstreamRequest, head: UpstreamResponseHead): void {
    this.status = head.status;
  }

  onUpstreamData(): void {
    // A shadow's response body is discarded.
  }

  onUpstreamComplete(request: UpstreamRequest): void {
    this.end(request, 'success');
  }

  onUpstreamReset(request: UpstreamRequest): void {
    this.end(request, 'failure');
  }

  private end(request: UpstreamRequest, outcome: 'success' | 'failure'): void {
    if (this.timer) clearTimeout(this.timer);
    request.finish(this.status, outcome);
  }
}
