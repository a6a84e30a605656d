/**
 * Start order: a container starts once everything it depends on is ready — a sidecar before the
 * app that joins its namespace, the services a proxy's clusters point at before the proxy (so
 * its first health checks find them up). Each starts as soon as its own dependencies are ready,
 * not when a whole wave is; containers on a dependency cycle start together.
 */
export interface Startable {
  name: string;
  dependsOn: string[];
}

/** Waves of `items`: each depends only on earlier ones; dependencies outside `items` count as up. */
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

/**
 * Runs `start` (start the item and wait until it is ready) for every item once the items it
 * depends on have finished theirs. On the first failure the others are told through `cancelled`
 * (a promise that rejects), nothing more is started, and it rejects with that failure once every
 * started item has settled — so a rollback after it races with nothing.
 */
export async function startAsReady<T extends Startable>(
  items: T[],
  start: (item: T, cancelled: Promise<never>) => Promise<void>,
): Promise<void> {
  let cancel: (err: unknown) => void = () => {};
  const cancelled = new Promise<never>((_, reject) => {
    cancel = reject;
  });
  cancelled.catch(() => {});
  let failure: { error: unknown } | undefined;
  const fail = (error: unknown) => {
    if (!failure) {
      failure = { error };
      cancel(error);
    }
    throw error;
  };
  const waveOf = new Map<string, number>();
  const waves = startWaves(items);
  waves.forEach((wave, i) => {
    for (const item of wave) waveOf.set(item.name, i);
  });
  const done = new Map<string, Promise<void>>();
  for (const [i, wave] of waves.entries()) {
    for (const item of wave) {
      // Only dependencies of an earlier wave: within a wave (a cycle) everything starts together.
      const deps = item.dependsOn.filter((d) => (waveOf.get(d) ?? i) < i).map((d) => done.get(d)!);
      done.set(
        item.name,
        Promise.all(deps)
          .then(() => {
            if (failure) throw failure.error;
            return start(item, cancelled);
          })
          .catch(fail),
      );
    }
  }
  await Promise.allSettled(done.values());
  if (failure) throw failure.error;
}
