/**
 * Auto-layout in columns by traffic direction: clients, then the proxies they reach, then clusters,
 * then services (and on, for service-to-service egress). Columns come from longest paths over the
 * edges (cycles through egress edges are cut at the first revisit); rows follow the average row
 * of a node's predecessors, so edges run mostly straight. Small, deterministic and instant for the
 * few hundred nodes a lab can have.
 */
import type { Lab } from '@meshcraft/topology';
import { edgeSource } from './handles.js';
import type { XY } from './ops.js';

export const COLUMN_GAP = 300;
export const ROW_GAP = 150;

const KIND_COLUMN: Record<string, number> = {
  client: 0,
  controlPlane: 0,
  frontProxy: 1,
  cluster: 2,
  service: 3,
};

export function autoLayout(lab: Lab): Map<string, XY> {
  const ids = lab.spec.nodes.map((n) => n.id);
  const preds = new Map<string, string[]>(ids.map((id) => [id, []]));
  for (const e of lab.spec.edges) {
    const s = edgeSource(e);
    if (preds.has(s) && preds.has(e.to) && s !== e.to) preds.get(e.to)!.push(s);
  }
  const column = new Map<string, number>();
  const visiting = new Set<string>();
  const columnOf = (id: string): number => {
    const known = column.get(id);
    if (known !== undefined) return known;
    if (visiting.has(id)) return 0;
    visiting.add(id);
    const kind = lab.spec.nodes.find((n) => n.id === id)?.kind ?? 'service';
    let c = preds.get(id)!.length === 0 ? (KIND_COLUMN[kind] ?? 0) : 0;
    for (const p of preds.get(id)!) c = Math.max(c, columnOf(p) + 1);
    visiting.delete(id);
    column.set(id, c);
    return c;
  };
  for (const id of ids) columnOf(id);

  const columns = new Map<number, string[]>();
  for (const id of ids) {
    const c = column.get(id)!;
    columns.set(c, [...(columns.get(c) ?? []), id]);
  }
  const row = new Map<string, number>();
  for (const c of [...columns.keys()].sort((a, b) => a - b)) {
    const members = columns.get(c)!;
    const weight = (id: string) => {
      const rows = preds
        .get(id)!
        .map((p) => row.get(p))
        .filter((r): r is number => r !== undefined);
      return rows.length ? rows.reduce((a, b) => a + b, 0) / rows.length : members.indexOf(id);
    };
    const ordered = [...members].sort(
      (a, b) => weight(a) - weight(b) || members.indexOf(a) - members.indexOf(b),
    );
    ordered.forEach((id, i) => {
      row.set(id, i);
    });
  }
  const tallest = Math.max(0, ...[...columns.values()].map((m) => m.length));
  const out = new Map<string, XY>();
  for (const id of ids) {
    const c = column.get(id)!;
    const offset = ((tallest - columns.get(c)!.length) * ROW_GAP) / 2;
    out.set(id, { x: c * COLUMN_GAP, y: offset + row.get(id)! * ROW_GAP });
  }
  return out;
}
