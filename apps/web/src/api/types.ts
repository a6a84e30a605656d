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
