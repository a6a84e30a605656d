/**
 * Which retry and mirror policies, attempt-count options and buffer limits a route ends up with:
 * the most specific level that sets one wins, levels are never merged.
 */
import { describe, expect, it } from 'vitest';
import type { RouteConfiguration } from '../../config/types.js';
import { Runtime } from '../../runtime/runtime.js';
import { HeaderMap } from '../headers.js';
import { shadowAuthority } from './mirror-policy.js';
import { NO_RETRY_POLICY, parseRetryOn, RETRY_ON } from './retry-policy.js';
import { RouteTable } from './route-table.js';

const config: RouteConfiguration = {
  request_mirror_policies: [{ cluster: 'config_mirror' }],
  virtual_hosts: [
    {
      name: 'with_defaults',
      domains: ['a'],
      retry_policy: { retry_on: 'connect-failure', num_retries: 4 },
      request_mirror_policies: [{ cluster: 'vhost_mirror' }],
      per_request_buffer_limit_bytes: 1000,
      include_request_attempt_count: true,
      routes: [
        {
          match: { prefix: '/own' },
          route: {
            cluster: 'c',
            retry_policy: { retry_on: '5xx' },
            request_mirror_policies: [{ cluster: 'route_mirror' }],
          },
          per_request_buffer_limit_bytes: 10,
        },
        { match: { prefix: '/' }, route: { cluster: 'c' } },
      ],
    },
    { name: 'bare', domains: ['b'], routes: [{ match: { prefix: '/' }, route: { cluster: 'c' } }] },
  ],
};

describe('route resilience policies', () => {
  const table = new RouteTable(config, new Runtime(undefined));
  const [own, inherited] = table.virtualHosts[0]!.routes;
  const bare = table.virtualHosts[1]!.routes[0]!;
  const mirrorClusters = (r: typeof bare) => r.mirrorPolicies.map((p) => p.clusterFor(new HeaderMap()));

  it('takes the route retry policy, else the virtual host one, else none', () => {
    expect(own!.retryPolicy.retryOn).toBe(RETRY_ON['5xx']);
    expect(own!.retryPolicy.numRetries).toBe(1);
    expect(inherited!.retryPolicy.retryOn).toBe(RETRY_ON['connect-failure']);
    expect(inherited!.retryPolicy.numRetries).toBe(4);
    expect(bare.retryPolicy).toBe(NO_RETRY_POLICY);
  });

  it('takes the route mirrors, else the virtual host ones, else the route configuration ones', () => {
    expect(mirrorClusters(own!)).toEqual(['route_mirror']);
    expect(mirrorClusters(inherited!)).toEqual(['vhost_mirror']);
    expect(mirrorClusters(bare)).toEqual(['config_mirror']);
  });

  it('takes the buffer limit the same way, 1 MiB by default, and the attempt-count options from the host', () => {
    expect([
      own!.retryShadowBufferLimit,
      inherited!.retryShadowBufferLimit,
      bare.retryShadowBufferLimit,
    ]).toEqual([10, 1000, 1024 * 1024]);
    expect(own!.virtualHost.includeAttemptCountInRequest).toBe(true);
    expect(bare.virtualHost.includeAttemptCountInRequest).toBe(false);
  });

  it('parses retry_on lists as Envoy does, ignoring unknown names and spaces', () => {
    expect(parseRetryOn('5xx, reset,unavailable,nonsense')).toBe(
      RETRY_ON['5xx'] | RETRY_ON.reset | RETRY_ON.unavailable,
    );
  });

  it("appends Envoy's -shadow to the host name, before any port", () => {
    expect(shadowAuthority('www.ik8s.io')).toBe('www.ik8s.io-shadow');
    expect(shadowAuthority('www.ik8s.io:8080')).toBe('www.ik8s.io-shadow:8080');
    expect(shadowAuthority('[::1]:80')).toBe('[::1]-shadow:80');
  });
});
