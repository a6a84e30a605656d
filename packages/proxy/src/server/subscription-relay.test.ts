import { beforeAll, describe, expect, it } from 'vitest';
import { initHashing } from '../common/hash.js';
import { LogRegistry } from '../common/logger.js';
import type { ConfigSource } from '../config/types.js';
import { Store } from '../stats/store.js';
import type { DecodedResource } from '../xds/resources.js';
import type { Subscription, SubscriptionCallbacks } from '../xds/subscription.js';
import type { FromWorker, ToWorker, WorkerLink } from './ipc.js';
import type { XdsFactory } from './role.js';
import { SubscriptionHub, SubscriptionRelay, subscriptionKey } from './subscription-relay.js';

beforeAll(() => initHashing());

const EDS = 'envoy.config.endpoint.v3.ClusterLoadAssignment';
const source: ConfigSource = { ads: {} };
const assignment = (name: string, port: number): DecodedResource[] => [
  { name, resource: { cluster_name: name, endpoints: [{ lb_endpoints: [{ port }] }] } },
];

/** A subscription factory whose subscriptions the test delivers to. */
class FakeFactory implements XdsFactory {
  readonly made: { callbacks: SubscriptionCallbacks; started: readonly string[] | undefined }[] = [];
  refuse: Error | undefined;

  subscribe(_source: ConfigSource, _typeName: string, callbacks: SubscriptionCallbacks): Subscription {
    if (this.refuse) throw this.refuse;
    const made = { callbacks, started: undefined as readonly string[] | undefined };
    this.made.push(made);
    return {
      start: (names) => {
        made.started = names;
      },
      updateResourceInterest: () => {},
      stop: () => {},
    };
  }
  pauseAds(): () => void {
    return () => {};
  }
  shutdown(): void {}
}

function worker(index = 0): WorkerLink & { sent: ToWorker[] } {
  const sent: ToWorker[] = [];
  return { index, sent, send: (m) => sent.push(m) };
}

const noCallbacks: SubscriptionCallbacks = { onConfigUpdate: () => {}, onConfigUpdateFailed: () => {} };

describe('SubscriptionHub', () => {
  it('hands the primary’s updates to workers watching the same source, type and names, late ones too', () => {
    const own = new FakeFactory();
    const hub = new SubscriptionHub(own);
    const applied: string[] = [];
    hub
      .subscribe(
        source,
        EDS,
        { onConfigUpdate: (_r, v) => applied.push(v), onConfigUpdateFailed: () => {} },
        new Store(),
      )
      .start(['web']);
    const early = worker(0);
    const other = worker(1);
    hub.watch(early, 7, subscriptionKey(source, EDS, ['web']));
    hub.watch(other, 1, subscriptionKey(source, EDS, ['api']));
    own.made[0]!.callbacks.onConfigUpdate(assignment('web', 1), 'v1');
    expect(applied).toEqual(['v1']);
    expect(early.sent).toEqual([{ t: 'xds', watch: 7, resources: assignment('web', 1), version: 'v1' }]);
    expect(other.sent).toEqual([]);
    const late = worker(2);
    hub.watch(late, 3, subscriptionKey(source, EDS, ['web']));
    expect(late.sent).toEqual([{ t: 'xds', watch: 3, resources: assignment('web', 1), version: 'v1' }]);
    hub.unwatch(late, 3);
    own.made[0]!.callbacks.onConfigUpdate(assignment('web', 2), 'v2');
    expect(late.sent).toHaveLength(1);
    expect(early.sent).toHaveLength(2);
  });

  it('sends an update once when two subscriptions of the primary (an old and a new cluster) both get it', () => {
    const own = new FakeFactory();
    const hub = new SubscriptionHub(own);
    for (let i = 0; i < 2; i++) hub.subscribe(source, EDS, noCallbacks, new Store()).start(['web']);
    const w = worker();
    hub.watch(w, 1, subscriptionKey(source, EDS, ['web']));
    for (const made of own.made) made.callbacks.onConfigUpdate(assignment('web', 1), 'v1');
    expect(w.sent).toHaveLength(1);
    own.made[1]!.callbacks.onConfigUpdate(assignment('web', 2), 'v2');
    expect(w.sent).toHaveLength(2);
  });

  it('hands on an update the primary rejects (owners apply updates in part), and the rejection still NACKs', () => {
    const own = new FakeFactory();
    const hub = new SubscriptionHub(own);
    const failing: SubscriptionCallbacks = {
      onConfigUpdate: () => {
        throw new Error('listener bad: no such cluster');
      },
      onConfigUpdateFailed: () => {},
    };
    hub.subscribe(source, EDS, failing, new Store()).start([]);
    const w = worker();
    hub.watch(w, 1, subscriptionKey(source, EDS, []));
    expect(() => own.made[0]!.callbacks.onConfigUpdate(assignment('web', 1), 'v1')).toThrow(
      /no such cluster/,
    );
    expect(w.sent).toHaveLength(1);
  });

  it('passes on an initial fetch timeout, but not one after an update', () => {
    const own = new FakeFactory();
    const hub = new SubscriptionHub(own);
    const failures: string[] = [];
    hub
      .subscribe(
        source,
        EDS,
        { onConfigUpdate: () => {}, onConfigUpdateFailed: (r) => failures.push(r) },
        new Store(),
      )
      .start(['web']);
    const w = worker();
    hub.watch(w, 1, subscriptionKey(source, EDS, ['web']));
    own.made[0]!.callbacks.onConfigUpdateFailed('FetchTimedout');
    expect(failures).toEqual(['FetchTimedout']);
    expect(w.sent).toEqual([{ t: 'xds-timeout', watch: 1 }]);
    own.made[0]!.callbacks.onConfigUpdate(assignment('web', 1), 'v1');
    own.made[0]!.callbacks.onConfigUpdateFailed('FetchTimedout');
    expect(w.sent.map((m) => m.t)).toEqual(['xds-timeout', 'xds']);
  });
});

describe('SubscriptionRelay', () => {
  function relayed() {
    const validator = new FakeFactory();
    const sent: FromWorker[] = [];
    const relay = new SubscriptionRelay(
      validator,
      (m) => sent.push(m),
      new LogRegistry('off').get('config', 'test'),
    );
    return { validator, sent, relay };
  }

  it('watches the primary’s subscription and applies what comes, rejecting as a subscription does', () => {
    const { sent, relay } = relayed();
    const updates: string[] = [];
    const failures: string[] = [];
    let reject = false;
    const sub = relay.subscribe(source, EDS, {
      onConfigUpdate: (_r, version) => {
        if (reject) throw new Error('bad');
        updates.push(version);
      },
      onConfigUpdateFailed: (reason) => failures.push(reason),
    });
    sub.start(['web']);
    expect(sent).toEqual([{ t: 'watch', watch: 1, key: subscriptionKey(source, EDS, ['web']) }]);
    relay.receive({ t: 'xds', watch: 1, resources: assignment('web', 1), version: 'v1' });
    reject = true;
    relay.receive({ t: 'xds', watch: 1, resources: assignment('web', 2), version: 'v2' });
    relay.receive({ t: 'xds-timeout', watch: 1 });
    expect(updates).toEqual(['v1']);
    expect(failures).toEqual(['UpdateRejected', 'FetchTimedout']);
    sub.stop();
    expect(sent[1]).toEqual({ t: 'unwatch', watch: 1 });
    relay.receive({ t: 'xds', watch: 1, resources: assignment('web', 3), version: 'v3' });
    expect(updates).toEqual(['v1']);
  });

  it('refuses the config sources the primary refuses', () => {
    const { validator, relay } = relayed();
    validator.refuse = new Error(
      "paths must refer to an existing path in the system: '/nope' does not exist",
    );
    expect(() => relay.subscribe({ path: '/nope' }, EDS, noCallbacks)).toThrow(/existing path/);
  });

  it('end to end with the hub: a worker’s subscription gets the primary’s update', () => {
    const own = new FakeFactory();
    const hub = new SubscriptionHub(own);
    hub.subscribe(source, EDS, noCallbacks, new Store()).start(['web']);
    own.made[0]!.callbacks.onConfigUpdate(assignment('web', 1), 'v1');
    const link = worker();
    const relayToHub = new SubscriptionRelay(
      new FakeFactory(),
      (m) => {
        if (m.t === 'watch') hub.watch(link, m.watch, m.key);
      },
      new LogRegistry('off').get('config', 'test'),
    );
    const got: DecodedResource[][] = [];
    relayToHub
      .subscribe(source, EDS, { onConfigUpdate: (r) => got.push(r), onConfigUpdateFailed: () => {} })
      .start(['web']);
    for (const m of link.sent) if (m.t === 'xds') relayToHub.receive(m);
    expect(got).toEqual([assignment('web', 1)]);
  });
});
