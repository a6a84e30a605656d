/**
 * What an edit changes in one proxy's resources, by name, and the one change of a served resource
 * a running proxy cannot take: a listener moving to another address (Envoy refuses to update a
 * listener's address, so does meshcraft-proxy; it needs the proxy started again).
 */
import type { XdsResourcesView } from '@meshcraft/runtime';

export type ResourceKind = 'listener' | 'route' | 'cluster' | 'endpoints';

export interface ResourceChange {
  kind: ResourceKind;
  name: string;
  change: 'added' | 'changed' | 'removed';
}

const KINDS: [keyof XdsResourcesView, ResourceKind][] = [
  ['listeners', 'listener'],
  ['routes', 'route'],
  ['clusters', 'cluster'],
  ['endpoints', 'endpoints'],
];

type Named = Record<string, unknown>;

function nameOf(kind: ResourceKind, r: Named): string {
  return String(kind === 'endpoints' ? r.cluster_name : r.name);
}

function byName(kind: ResourceKind, list: Named[]): Map<string, string> {
  return new Map(list.map((r) => [nameOf(kind, r), JSON.stringify(r)]));
}

export function resourceChanges(before: XdsResourcesView, after: XdsResourcesView): ResourceChange[] {
  const out: ResourceChange[] = [];
  for (const [field, kind] of KINDS) {
    const was = byName(kind, before[field]);
    const now = byName(kind, after[field]);
    for (const [name, json] of now) {
      const old = was.get(name);
      if (old === undefined) out.push({ kind, name, change: 'added' });
      else if (old !== json) out.push({ kind, name, change: 'changed' });
    }
    for (const name of was.keys()) if (!now.has(name)) out.push({ kind, name, change: 'removed' });
  }
  return out;
}

function addressOf(listener: Named): string {
  const sa = ((listener.address as Named | undefined)?.socket_address ?? {}) as Named;
  return `${String(sa.address)}:${String(sa.port_value)}`;
}

/** Listeners kept by name but bound elsewhere: `listener 'x' moves from a:p to b:q`. */
export function movedListeners(before: XdsResourcesView, after: XdsResourcesView): string[] {
  const was = new Map(before.listeners.map((l) => [String(l.name), addressOf(l)]));
  return after.listeners.flatMap((l) => {
    const old = was.get(String(l.name));
    const now = addressOf(l);
    return old !== undefined && old !== now
      ? [`listener '${String(l.name)}' moves from ${old} to ${now}`]
      : [];
  });
}
