/**
 * Active health checking: `createHealthChecker` makes the checker for one entry of a cluster's
 * `health_checks`.
 */
import type { HealthChecker, HealthCheckerParams } from './base.js';
import { HttpHealthChecker } from './http.js';
import { TcpHealthChecker } from './tcp.js';

export type { HealthChecker, HealthCheckerParams } from './base.js';

export function createHealthChecker(params: HealthCheckerParams): HealthChecker {
  const c = params.config;
  if (c.http_health_check) return new HttpHealthChecker(params);
  if (c.tcp_health_check) return new TcpHealthChecker(params);
  const kind = c.grpc_health_check
    ? 'grpc_health_check'
    : c.custom_health_check
      ? 'custom_health_check'
      : undefined;
  if (kind) {
    throw new Error(
      `cluster '${params.clusterName}': health_checks: ${kind} is not implemented by meshcraft-proxy; ` +
        'use http_health_check or tcp_health_check',
    );
  }
  throw new Error(
    `cluster '${params.clusterName}': health_checks: one of http_health_check or tcp_health_check is required`,
  );
}
