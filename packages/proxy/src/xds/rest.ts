/**
 * REST-JSON polling (`api_type: REST`): every `refresh_delay` one POST of a DiscoveryRequest (proto3
 * JSON) to the type's endpoint (`/v3/discovery:clusters`, ...) on a host of the `cluster_names`
 * cluster, at most one outstanding, abandoned after `request_timeout` (default 1 s). A 200 carries
 * a DiscoveryResponse; a 304 means nothing changed. The next request carries the version applied,
 * or — after a rejection — the previous version with the response's nonce and an `error_detail`.
 */

import http from 'node:http';
import { durationMs } from '../common/duration.js';
import type { Logger } from '../common/logger.js';
import type { ApiConfigSource, Node } from '../config/types.js';
import type { ClusterManager } from '../upstream/cluster-manager.js';
import { managementCluster, managementServer } from './management-server.js';
import { decodeResources, type RawResource, typeUrl, XDS_TYPES } from './resources.js';
import {
  deliver,
  type InitialFetchTimer,
  type Subscription,
  type SubscriptionCallbacks,
  type SubscriptionStats,
} from './subscription.js';

const DEFAULT_REQUEST_TIMEOUT_MS = 1000;
/** gRPC's INTERNAL, the code Envoy puts in a NACK's error_detail. */
export const NACK_CODE = 13;

interface RestResponse {
  version_info?: string;
  resources?: RawResource[];
  nonce?: string;
}

export class RestSubscription implements Subscription {
  private names: readonly string[] = [];
  private version = '';
  private nonce = '';
  private errorDetail: { code: number; message: string } | undefined;
  private timer: NodeJS.Timeout | undefined;
  private inFlight: http.ClientRequest | undefined;
  private attempt = 0;
  private stopped = false;
  private readonly refreshMs: number;
  private readonly timeoutMs: number;
  private readonly agent = new http.Agent({ keepAlive: true, maxSockets: 1 });

  constructor(
    private readonly source: ApiConfigSource,
    private readonly typeName: string,
    private readonly callbacks: SubscriptionCallbacks,
    private readonly stats: SubscriptionStats,
    private readonly initialFetch: InitialFetchTimer,
    private readonly deps: { clusterManager: ClusterManager; node: Node; log: Logger },
  ) {
    this.refreshMs = durationMs(source.refresh_delay, 0);
    this.timeoutMs = durationMs(source.request_timeout, DEFAULT_REQUEST_TIMEOUT_MS);
  }

  start(resourceNames: readonly string[]): void {
    this.names = resourceNames;
    this.initialFetch.start();
    this.poll();
  }

  updateResourceInterest(resourceNames: readonly string[]): void {
    this.names = resourceNames;
    if (!this.inFlight) {
      if (this.timer) clearTimeout(this.timer);
      this.poll();
    }
  }

  stop(): void {
    this.stopped = true;
    this.initialFetch.disarm();
    if (this.timer) clearTimeout(this.timer);
    this.inFlight?.destroy();
    this.agent.destroy();
  }

  private poll(): void {
    this.timer = undefined;
    if (this.stopped) return;
    const cluster = managementCluster(this.source);
    const server = managementServer(this.deps.clusterManager, cluster, this.attempt);
    const path = XDS_TYPES[this.typeName]!.rest;
    if (!server) {
      this.failed(`REST update for ${path} failed: no host in cluster '${cluster}'`);
      return;
    }
    const body = JSON.stringify({
      version_info: this.version,
      node: this.deps.node,
      resource_names: this.names,
      type_url: typeUrl(this.typeName),
      response_nonce: this.nonce,
      ...(this.errorDetail ? { error_detail: this.errorDetail } : {}),
    });
    const req = http.request(
      {
        host: server.address,
        port: server.port,
        method: 'POST',
        path,
        agent: this.agent,
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          this.inFlight = undefined;
          if (this.stopped) return;
          const text = Buffer.concat(chunks).toString('utf8');
          if (res.statusCode === 304) this.schedule();
          else if (res.statusCode === 200) this.handle(text);
          else
            this.failed(
              `REST update for ${path} failed: HTTP ${res.statusCode}: ${text.trim().slice(0, 200)}`,
            );
        });
        res.on('error', (err) => this.failed(`REST update for ${path} failed: ${err.message}`));
      },
    );
    this.inFlight = req;
    req.setTimeout(this.timeoutMs, () => req.destroy(new Error(`no response within ${this.timeoutMs} ms`)));
    req.on('error', (err) => {
      if (this.inFlight !== req) return;
      this.inFlight = undefined;
      this.failed(`REST update for ${path} failed: ${err.message}`);
    });
    req.end(body);
  }

  private handle(text: string): void {
    let response: RestResponse;
    let error: Error | undefined;
    try {
      response = JSON.parse(text) as RestResponse;
      const resources = decodeResources(this.typeName, response.resources ?? []);
      this.initialFetch.disarm();
      error = deliver(this.callbacks, this.stats, resources, response.version_info ?? '');
    } catch (err) {
      response ??= {};
      error = err as Error;
      this.initialFetch.disarm();
      this.stats.rejected();
      this.callbacks.onConfigUpdateFailed('UpdateRejected', error);
    }
    this.nonce = response.nonce ?? '';
    if (error) {
      this.deps.log.warn(`REST config for ${typeUrl(this.typeName)} rejected: ${error.message}`);
      this.errorDetail = { code: NACK_CODE, message: error.message };
    } else {
      this.version = response.version_info ?? '';
      this.errorDetail = undefined;
    }
    this.schedule();
  }

  private failed(message: string): void {
    this.stats.update_attempt.inc();
    this.stats.update_failure.inc();
    this.attempt++;
    this.deps.log.warn(message);
    this.schedule();
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => this.poll(), this.refreshMs);
    this.timer.unref();
  }
}
