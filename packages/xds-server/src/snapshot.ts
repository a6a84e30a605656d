/**
 * A snapshot: everything one node gets — listeners, route configurations, clusters and endpoint
 * assignments — at one version, as go-control-plane's snapshot cache holds it. Resources are
 * validated against Envoy's protos (the same validation meshcraft-proxy applies to its config),
 * normalized, and encoded once, so every stream serves the same bytes.
 */

import { createHash } from 'node:crypto';
import {
  CLUSTER,
  CLUSTER_LOAD_ASSIGNMENT,
  type Cluster,
  type ClusterLoadAssignment,
  ConfigError,
  encodeMessage,
  LISTENER,
  type Listener,
  normalizeResource,
  type PackedAny,
  ROUTE_CONFIGURATION,
  type RouteConfiguration,
  resourceName,
  typeUrl,
} from '@meshcraft/proxy';

/** A node's resources, as Envoy v3 objects (YAML/JSON spellings Envoy accepts). */
export interface Resources {
  listeners?: Listener[];
  routes?: RouteConfiguration[];
  clusters?: Cluster[];
  endpoints?: ClusterLoadAssignment[];
}

/** Which field of Resources holds which type, in the order ADS pushes them (CDS, EDS, LDS, RDS). */
export const PUSH_ORDER: [keyof Resources, string][] = [
  ['clusters', CLUSTER],
  ['endpoints', CLUSTER_LOAD_ASSIGNMENT],
  ['listeners', LISTENER],
  ['routes', ROUTE_CONFIGURATION],
];

export interface SnapshotResource {
  name: string;
  /** Normalized proto3 JSON (with `"@type"` for REST responses). */
  json: Record<string, unknown>;
  /** Encoded once, lazily, for gRPC. */
  packed(): PackedAny;
}

export class Snapshot {
  private constructor(
    readonly version: string,
    /** By type name, then resource name, in the order given. */
    readonly resources: ReadonlyMap<string, ReadonlyMap<string, SnapshotResource>>,
    /** What was given, for `snapshot()` readers. */
    readonly source: Resources,
  ) {}

  /**
   * Validates (unless `validate` is false: resources are then only encoded, which lets a test push
   * something a proxy must reject) and indexes a node's resources. Throws a ConfigError naming the
   * resource (`clusters[1].connect_timeout: ...`) or a duplicate name. Without a `version`, the
   * version is a digest of the content: the same resources always have the same version (a
   * proxy that has them is sent nothing, even by a restarted control plane) and different ones
   * never do.
   */
  static build(resources: Resources, version?: string, { validate = true } = {}): Snapshot {
    const byType = new Map<string, Map<string, SnapshotResource>>();
    for (const [field, typeName] of PUSH_ORDER) {
      const named = new Map<string, SnapshotResource>();
      (resources[field] ?? []).forEach((raw, i) => {
        const path = `${field}[${i}]`;
        const json = validate
          ? normalizeResource(typeName, raw, path)
          : stripType(raw as unknown as Record<string, unknown>);
        const name = resourceName(typeName, json);
        if (!name) throw new ConfigError(`a ${typeName} needs a name`, { fieldPath: path });
        if (named.has(name)) {
          throw new ConfigError(`duplicate name '${name}'; names of one type must be unique`, {
            fieldPath: path,
          });
        }
        let packed: PackedAny | undefined;
        named.set(name, {
          name,
          json: { '@type': typeUrl(typeName), ...json },
          packed: () => {
            packed ??= { type_url: typeUrl(typeName), value: encodeMessage(typeName, json) };
            return packed;
          },
        });
      });
      byType.set(typeName, named);
    }
    return new Snapshot(version ?? digest(byType), byType, resources);
  }

  /** The resources of a type a request asks for: all of them, or those named. */
  select(typeName: string, names: readonly string[]): SnapshotResource[] {
    const all = this.resources.get(typeName) ?? new Map<string, SnapshotResource>();
    if (names.length === 0) return [...all.values()];
    return names.flatMap((n) => all.get(n) ?? []);
  }
}

function digest(byType: Map<string, Map<string, SnapshotResource>>): string {
  const hash = createHash('sha256');
  for (const [typeName, named] of byType) {
    for (const r of named.values()) hash.update(`${typeName}\0${JSON.stringify(r.json)}\0`);
  }
  return hash.digest('hex').slice(0, 16);
}

function stripType(value: Record<string, unknown>): Record<string, unknown> {
  const { '@type': _type, ...rest } = value;
  return rest;
}
