import { describe, expect, it } from 'vitest';
import { Store } from '../stats/store.js';
import { ResourceManager } from './resource-manager.js';

function gauge(store: Store, name: string): number | undefined {
  return store.gauges().find((g) => g.name === `cluster.c.circuit_breakers.${name}`)?.value;
}

describe('circuit-breaker resources', () => {
  it("enforces Envoy's defaults when the config says nothing", () => {
    const rm = new ResourceManager(undefined, new Store().scope('cluster.c.'), 'default');
    expect(rm.thresholds).toEqual({
      max_connections: 1024,
      max_pending_requests: 1024,
      max_requests: 1024,
      max_retries: 3,
    });
    for (let i = 0; i < 3; i++) rm.retries.inc();
    expect(rm.retries.canCreate()).toBe(false);
  });

  it('opens a breaker at its limit, per priority, and tracks what remains when asked', () => {
    const store = new Store();
    const scope = store.scope('cluster.c.');
    const high = new ResourceManager(
      { priority: 'HIGH', max_pending_requests: 2, track_remaining: true },
      scope,
      'high',
    );
    const def = new ResourceManager({ max_pending_requests: 1 }, scope, 'default');
    expect(gauge(store, 'high.remaining_pending')).toBe(2);
    high.pendingRequests.inc();
    expect([high.pendingRequests.canCreate(), gauge(store, 'high.rq_pending_open')]).toEqual([true, 0]);
    high.pendingRequests.inc();
    expect([high.pendingRequests.canCreate(), gauge(store, 'high.rq_pending_open')]).toEqual([false, 1]);
    expect(gauge(store, 'high.remaining_pending')).toBe(0);
    // The default priority is a separate breaker, and without track_remaining keeps no remaining_* gauge.
    expect(def.pendingRequests.canCreate()).toBe(true);
    expect(gauge(store, 'default.remaining_pending')).toBeUndefined();
    high.pendingRequests.dec();
    expect(gauge(store, 'high.rq_pending_open')).toBe(0);
  });

  it('with a retry budget, allows budget_percent of active and pending requests, at least min_retry_concurrency', () => {
    const rm = new ResourceManager(
      { max_retries: 1, retry_budget: { budget_percent: { value: 25 }, min_retry_concurrency: 2 } },
      new Store().scope('cluster.c.'),
      'default',
    );
    // max_retries no longer applies; 25% of nothing is below the minimum of 2.
    expect(rm.retries.max()).toBe(2);
    for (let i = 0; i < 12; i++) rm.requests.inc();
    for (let i = 0; i < 4; i++) rm.pendingRequests.inc();
    expect(rm.retries.max()).toBe(4);
    for (let i = 0; i < 4; i++) rm.retries.inc();
    expect(rm.retries.canCreate()).toBe(false);
    rm.requests.inc();
    rm.requests.inc();
    rm.requests.inc();
    rm.requests.inc();
    expect(rm.retries.canCreate()).toBe(true);
  });

  it('an empty retry budget uses 20% and a minimum of 3', () => {
    const rm = new ResourceManager({ retry_budget: {} }, new Store().scope('cluster.c.'), 'default');
    expect(rm.retries.max()).toBe(3);
    for (let i = 0; i < 100; i++) rm.requests.inc();
    expect(rm.retries.max()).toBe(20);
  });
});
