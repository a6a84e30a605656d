import type { Issue } from '@meshcraft/topology';
import { createContext, useContext } from 'react';
import type { LabStore } from '../editor/store.js';
import type { LiveOverlay } from '../live/store.js';

export interface EditorContextValue {
  store: LabStore;
  live: LiveOverlay;
}

export const EditorContext = createContext<EditorContextValue | null>(null);

export function useEditorContext(): EditorContextValue {
  const ctx = useContext(EditorContext);
  if (!ctx) throw new Error('EditorContext is missing');
  return ctx;
}

/** Error and warning counts per node and edge id, for badges. */
export interface IssueCounts {
  errors: number;
  warnings: number;
}

export function countIssues(issues: readonly Issue[]): Map<string, IssueCounts> {
  const out = new Map<string, IssueCounts>();
  for (const i of issues) {
    const id = i.nodeId ?? i.edgeId;
    if (!id) continue;
    const c = out.get(id) ?? { errors: 0, warnings: 0 };
    if (i.severity === 'error') c.errors++;
    else c.warnings++;
    out.set(id, c);
  }
  return out;
}
