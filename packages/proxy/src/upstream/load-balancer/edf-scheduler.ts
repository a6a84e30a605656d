/**
 * Earliest-deadline-first scheduling, Envoy's `EdfScheduler`: every entry is due at
 * `current time + 1 / weight`; a pick takes the earliest deadline (ties in insertion order) and
 * re-inserts the entry with the weight it has *now*, so weighted round robin works with
 * fractional weights (locality availability) and weights that change between picks (least
 * request's `weight / (active + 1)^bias`).
 */

interface Entry<T> {
  deadline: number;
  order: number;
  item: T;
}

export class EdfScheduler<T> {
  private readonly heap: Entry<T>[] = [];
  private currentTime = 0;
  private nextOrder = 0;

  /**
   * A scheduler holding `items`, advanced by `seed % items.length` picks so that schedulers
   * built from the same list do not all start at the same entry (Envoy's `createWithPicks`).
   */
  static createWithPicks<T>(items: readonly T[], weight: (item: T) => number, seed: number): EdfScheduler<T> {
    const scheduler = new EdfScheduler<T>();
    for (const item of items) scheduler.add(weight(item), item);
    const picks = items.length === 0 ? 0 : seed % items.length;
    for (let i = 0; i < picks; i++) scheduler.pickAndAdd(weight);
    return scheduler;
  }

  add(weight: number, item: T): void {
    if (!(weight > 0)) throw new Error(`EDF weight must be positive, got ${weight}`);
    this.push({ deadline: this.currentTime + 1 / weight, order: this.nextOrder++, item });
  }

  /** The entry with the earliest deadline, re-added with `weight(entry)`; undefined when empty. */
  pickAndAdd(weight: (item: T) => number): T | undefined {
    const top = this.pop();
    if (!top) return undefined;
    this.currentTime = top.deadline;
    this.add(weight(top.item), top.item);
    return top.item;
  }

  get size(): number {
    return this.heap.length;
  }

  private static before<T>(a: Entry<T>, b: Entry<T>): boolean {
    return a.deadline < b.deadline || (a.deadline === b.deadline && a.order < b.order);
  }

  private push(e: Entry<T>): void {
    const h = this.heap;
    h.push(e);
    let i = h.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!EdfScheduler.before(h[i]!, h[parent]!)) break;
      [h[i], h[parent]] = [h[parent]!, h[i]!];
      i = parent;
    }
  }

  private pop(): Entry<T> | undefined {
    const h = this.heap;
    const top = h[0];
    const last = h.pop();
    if (h.length > 0 && last) {
      h[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let min = i;
        if (l < h.length && EdfScheduler.before(h[l]!, h[min]!)) min = l;
        if (r < h.length && EdfScheduler.before(h[r]!, h[min]!)) min = r;
        if (min === i) break;
        [h[i], h[min]] = [h[min]!, h[i]!];
        i = min;
      }
    }
    return top;
  }
}
