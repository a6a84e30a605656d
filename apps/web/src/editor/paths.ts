/**
 * Immutable reads and writes at a document path (`['spec', 'nodes', 3, 'listeners', 0, 'port']`),
 * the same paths the topology package's issues carry, so a form field, its value and its messages
 * share one address.
 */
import { formatPath, type PathSegment } from '@meshcraft/topology';

export type Path = readonly PathSegment[];

export function getIn(value: unknown, path: Path): unknown {
  let v = value;
  for (const seg of path) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<PathSegment, unknown>)[seg];
  }
  return v;
}

/**
 * A copy of `value` with `next` at `path`, sharing every untouched branch (so memoised views of
 * other nodes keep their identity). `undefined` removes an object key; missing objects on the way
 * are created.
 */
export function setIn<T>(value: T, path: Path, next: unknown): T {
  if (path.length === 0) return next as T;
  const [head, ...rest] = path as [PathSegment, ...PathSegment[]];
  const current = value as unknown;
  const child =
    current !== null && typeof current === 'object'
      ? (current as Record<PathSegment, unknown>)[head]
      : undefined;
  const updated = setIn(child, rest, next);
  if (updated === child && (updated !== undefined || child === undefined)) return value;
  if (Array.isArray(current)) {
    const copy = current.slice();
    copy[head as number] = updated;
    return copy as T;
  }
  const copy: Record<PathSegment, unknown> = { ...((current as Record<PathSegment, unknown>) ?? {}) };
  if (updated === undefined) delete copy[head];
  else copy[head] = updated;
  return copy as T;
}

/** The DOM id of the form field editing `path`; issue links focus it. */
export function fieldId(path: Path): string {
  return `field:${formatPath(path)}`;
}

export function samePath(a: Path, b: Path): boolean {
  return a.length === b.length && a.every((s, i) => s === b[i]);
}

export function startsWith(path: Path, prefix: Path): boolean {
  return prefix.length <= path.length && prefix.every((s, i) => s === path[i]);
}
