/**
 * Render counters per canvas element, read by the browser performance test (through
 * `window.__meshcraftRenders`) to show that a stats update re-renders only the nodes and edges
 * whose numbers changed. Counting is one Map write per render.
 */
const counts = new Map<string, number>();

declare global {
  interface Window {
    __meshcraftRenders?: Map<string, number>;
  }
}

if (typeof window !== 'undefined') window.__meshcraftRenders = counts;

export function useRenderCount(kind: 'node' | 'edge', id: string): void {
  const key = `${kind}:${id}`;
  counts.set(key, (counts.get(key) ?? 0) + 1);
}
