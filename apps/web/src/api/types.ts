/** Shapes of the server's subscription messages, inferred from its router. */
import type { Outputs } from './trpc.js';

type Yielded<T> = T extends AsyncIterable<infer U> ? U : never;

export type StatsMessage = Yielded<Outputs['stats']['watch']>;
export type StatsFrame = Extract<StatsMessage, { type: 'frame' }>['frame'];
export type ProxyStats = StatsFrame['proxies'][number];
export type ClusterStats = ProxyStats['clusters'][number];
export type EndpointStats = ClusterStats['endpoints'][number];
export type LifecycleEvent = Yielded<Outputs['lifecycle']['progress']>;
export type LogLine = Yielded<Outputs['lifecycle']['logs']>[number];
export type LoadSnapshots = Yielded<Outputs['loadgen']['watch']>;
export type ConfigEvent = Yielded<Outputs['lifecycle']['configEvents']>;
export type LiveConfigStatus = Outputs['lifecycle']['config'];
export type LiveEdit = NonNullable<Outputs['labs']['save']['live']>;
export type ProxyEdit = Extract<LiveEdit, { proxies: unknown }>['proxies'][number];
export type ProxyOutcome = ProxyEdit['outcome'];
export type SaveOutcome = Outputs['labs']['save'];
