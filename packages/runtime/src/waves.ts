/**
 * Start order: a container starts once everything it depends on is ready — a sidecar before the
 * app that joins its namespace, the services a proxy's clusters point at before the proxy (so
 * its first health checks find them up). Containers on a dependency cycle start together.
 */
export interface Startable {
  name: string;
  dependsOn: string[];
}

/** Waves of `items` to start one after another; dependencies outside `items` count as up. */
export function startWaves<T extends Startable>(items: T[]): T[][] {
  const pending = new Set(items.map((i) => i.name));
  const waves: T[][] = [];
  let left = [...items];
  while (left.length > 0) {
    const wave = left.filter((i) => i.dependsOn.every((d) => d === i.name || !pending.has(d)));
    const next = wave.length > 0 ? wave : left;
    waves.push(next);
    for (const i of next) pending.delete(i.name);
    left = left.filter((i) => !next.includes(i));
  }
  return waves;
}
