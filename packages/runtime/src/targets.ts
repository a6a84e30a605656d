/**
 * Which containers a node action or a log request means: a node id (all its containers and
 * replicas), a namespace id (one replica) or a container name.
 */
import { RuntimeError } from './errors.js';

export interface LabMember {
  name: string;
  node: string;
  namespace: string;
  /** Owns its network namespace; the others of the namespace join it. */
  owner: boolean;
}

export function selectMembers<T extends LabMember>(
  labId: string,
  members: T[],
  target: string | undefined,
): T[] {
  if (target === undefined) return members;
  const hit = members.filter((m) => m.node === target || m.namespace === target || m.name === target);
  if (hit.length === 0) {
    const names = [...new Set(members.flatMap((m) => [m.node, m.name]))].sort();
    throw new RuntimeError(
      'NODE_NOT_FOUND',
      `lab '${labId}' has no node, namespace or container named '${target}'`,
      `use one of: ${names.join(', ')}`,
    );
  }
  return hit;
}

/**
 * The containers a stop, start or restart of `selected` must touch: a namespace's owner takes the
 * others of its namespace along, because they lose their network when the owner stops and must be
 * started again after it.
 */
export function withNamespaceMates<T extends LabMember>(members: T[], selected: T[]): T[] {
  const namespaces = new Set(selected.filter((m) => m.owner).map((m) => m.namespace));
  return members.filter((m) => selected.includes(m) || namespaces.has(m.namespace));
}

/** Start order: owners, then the containers joining them. Stop order is the reverse. */
export function startOrder<T extends LabMember>(members: T[]): T[][] {
  return [members.filter((m) => m.owner), members.filter((m) => !m.owner)].filter((g) => g.length > 0);
}
