import { describe, expect, it } from 'vitest';
import { type DiscoveryResponse, DiscoveryServer, ProtocolError } from './discovery.js';
import { Snapshot } from './snapshot.js';

const CDS = 'type.googleapis.com/envoy.config.cluster.v3.Cluster';
const EDS = 'type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment';
const LDS = 'type.googleapis.com/envoy.config.listener.v3.Listener';
const RDS = 'type.googleapis.com/envoy.config.route.v3.RouteConfiguration';

const snapshot = (version: string, clusters: string[]) =>
  Snapshot.build(
    {
      clusters: clusters.map((name) => ({
        name,
        type: 'EDS',
        eds_cluster_config: { eds_config: { ads: {} } },
      })),
      endpoints: clusters.map((name) => ({ cluster_name: name })),
      listeners: [
        {
          name: 'l',
          address: { socket_address: { address: '127.0.0.1', port_value: 80 } },
          filter_chains: [
            {
              filters: [
                {
                  name: 'envoy.filters.network.http_connection_manager',
                  typed_config: {
                    '@type':
                      'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager',
                    stat_prefix: 'http',
                    rds: { config_source: { ads: {} }, route_config_name: 'r' },
                  },
                },
              ],
            },
          ],
        },
      ],
      routes: [{ name: 'r' }],
    },
    version,
  );

function stream(server: DiscoveryServer, kind = 'ads') {
  const sent: DiscoveryResponse[] = [];
  const s = server.openStream(kind, (r) => sent.push(r));
  return { s, sent };
}

const node = { id: 'front', cluster: 'web' };

describe('the server side of state-of-the-world xDS', () => {
  it('answers a first request, holds on an ACK, and pushes the next snapshot', () => {
    const server = new DiscoveryServer();
    server.setSnapshot('front', snapshot('1', ['a', 'b']));
    const { s, sent } = stream(server);
    s.handle({ node, type_url: CDS });
    expect(sent).toHaveLength(1);
    expect(sent[0]).toMatchObject({ version_info: '1', type_url: CDS, nonce: '1' });
    expect(sent[0]!.resources.map((r) => r.name)).toEqual(['a', 'b']);
    s.handle({ type_url: CDS, version_info: '1', response_nonce: '1' });
    expect(sent).toHaveLength(1);
    expect(server.nodeStatus('front')?.types[CDS]?.acked?.version).toBe('1');
    server.setSnapshot('front', snapshot('2', ['a']));
    expect(sent).toHaveLength(2);
    expect(sent[1]!.resources.map((r) => r.name)).toEqual(['a']);
  });

  it('records a NACK and does not resend the rejected version; ignores stale nonces', () => {
    const server = new DiscoveryServer();
    server.setSnapshot('front', snapshot('1', ['a']));
    const { s, sent } = stream(server);
    s.handle({ node, type_url: CDS });
    server.setSnapshot('front', snapshot('2', ['a', 'b'])); // held: '1' is not answered yet
    expect(sent).toHaveLength(1);
    s.handle({
      type_url: CDS,
      version_info: '',
      response_nonce: '1',
      error_detail: { code: 13, message: 'bad' },
    });
    // The NACK of version 1 is answered with version 2, which it has not seen.
    expect(sent).toHaveLength(2);
    expect(server.nodeStatus('front')?.types[CDS]?.nacked).toMatchObject({ version: '1', message: 'bad' });
    s.handle({ type_url: CDS, version_info: '', response_nonce: '1' }); // stale
    expect(sent).toHaveLength(2);
    s.handle({
      type_url: CDS,
      version_info: '',
      response_nonce: sent[1]!.nonce,
      error_detail: { message: 'worse' },
    });
    expect(sent).toHaveLength(2); // version 2 was rejected: not sent again until it changes
  });

  it('serves named types by name, answers a change of names, and pushes ADS types in order', () => {
    const server = new DiscoveryServer();
    const { s, sent } = stream(server);
    for (const type_url of [LDS, RDS, EDS, CDS])
      s.handle({ node, type_url, resource_names: type_url === EDS ? ['a'] : [] });
    expect(sent).toHaveLength(0); // no snapshot for the node yet
    server.setSnapshot('front', snapshot('1', ['a', 'b']));
    expect(sent.map((r) => r.type_url)).toEqual([CDS, EDS, LDS, RDS]);
    expect(sent[1]!.resources.map((r) => r.name)).toEqual(['a']);
    s.handle({
      type_url: EDS,
      version_info: '1',
      response_nonce: sent[1]!.nonce,
      resource_names: ['a', 'b'],
    });
    expect(sent.at(-1)!.resources.map((r) => r.name)).toEqual(['a', 'b']);
  });

  it('sends nothing to a reconnecting client that holds the current version', () => {
    const server = new DiscoveryServer();
    server.setSnapshot('front', snapshot('7', ['a']));
    const { s, sent } = stream(server);
    s.handle({ node, type_url: CDS, version_info: '7' });
    expect(sent).toHaveLength(0);
    server.setSnapshot('front', snapshot('8', ['a']));
    expect(sent.map((r) => r.version_info)).toEqual(['8']);
  });

  it('refuses a stream without a node, and another type on a per-type stream', () => {
    const server = new DiscoveryServer();
    expect(() => stream(server).s.handle({ type_url: CDS })).toThrow(ProtocolError);
    const { s } = stream(server, 'envoy.config.cluster.v3.Cluster');
    expect(() => s.handle({ node, type_url: LDS })).toThrow(
      /on the envoy\.config\.cluster\.v3\.Cluster stream/,
    );
  });

  it('serves only the node the snapshot is for', () => {
    const server = new DiscoveryServer();
    server.setSnapshot('front', snapshot('1', ['a']));
    const { s, sent } = stream(server);
    s.handle({ node: { id: 'other' }, type_url: CDS });
    expect(sent).toHaveLength(0);
  });
});

describe('snapshots', () => {
  it('validate resources against Envoy protos, naming the field, and refuse duplicate names', () => {
    expect(() => Snapshot.build({ clusters: [{ name: 'a', connect_timeout: '-1s' }] }, '1')).toThrow(
      /clusters\[0\]\.connect_timeout/,
    );
    expect(() => Snapshot.build({ clusters: [{ name: 'a' }, { name: 'a' }] }, '1')).toThrow(
      /clusters\[1\]: duplicate name 'a'/,
    );
  });
});
