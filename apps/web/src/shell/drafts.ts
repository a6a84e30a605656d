/**
 * Unsaved work survives reloads, crashes and refused saves: every change to a lab that differs
 * from what the server has is kept in localStorage under the lab's name and source, and offered
 * back when that lab is opened again. A successful save removes the draft.
 */
import type { Lab } from '@meshcraft/topology';
import { useSyncExternalStore } from 'react';

export interface LabKey {
  name: string;
  source: 'workspace' | 'library';
}

export interface Draft {
  lab: Lab;
  /** The server revision the edits started from (absent for a lab never saved). */
  baseRevision?: string;
  savedAt: number;
}

const PREFIX = 'meshcraft:draft:';

function key(k: LabKey): string {
  return `${PREFIX}${k.source}:${k.name}`;
}

export function readDraft(k: LabKey, storage: Storage = localStorage): Draft | undefined {
  try {
    const raw = storage.getItem(key(k));
    if (!raw) return undefined;
    const d = JSON.parse(raw) as Draft;
    return d && typeof d === 'object' && d.lab ? d : undefined;
  } catch {
    return undefined;
  }
}

export function writeDraft(k: LabKey, draft: Draft, storage: Storage = localStorage): boolean {
  try {
    const had = storage.getItem(key(k)) !== null;
    storage.setItem(key(k), JSON.stringify(draft));
    if (!had) changed();
    return true;
  } catch {
    // Storage full or disabled: the edits stay in this tab, and the save indicator still says unsaved.
    return false;
  }
}

export function dropDraft(k: LabKey, storage: Storage = localStorage): void {
  if (storage.getItem(key(k)) === null) return;
  storage.removeItem(key(k));
  changed();
}

/** The lab was renamed on the server: its unsaved edits follow it, under the new name. */
export function moveDraft(
  from: LabKey,
  to: LabKey,
  baseRevision: string,
  storage: Storage = localStorage,
): void {
  const draft = readDraft(from, storage);
  if (!draft) return;
  const lab = { ...draft.lab, metadata: { ...draft.lab.metadata, name: to.name } };
  if (writeDraft(to, { ...draft, lab, baseRevision }, storage)) dropDraft(from, storage);
}

// Which labs have drafts, for views that list them: told when a draft appears or goes.
const listeners = new Set<() => void>();
let cached: LabKey[] | undefined;

function changed(): void {
  cached = undefined;
  for (const l of listeners) l();
}

function subscribe(l: () => void): () => void {
  listeners.add(l);
  return () => listeners.delete(l);
}

export function useDraftKeys(): LabKey[] {
  return useSyncExternalStore(subscribe, () => {
    cached ??= draftKeys();
    return cached;
  });
}

/** Labs with drafts, for the lab list's "unsaved" marks (new labs exist only as drafts). */
export function draftKeys(storage: Storage = localStorage): LabKey[] {
  const out: LabKey[] = [];
  for (let i = 0; i < storage.length; i++) {
    const k = storage.key(i);
    if (!k?.startsWith(PREFIX)) continue;
    const [source, ...name] = k.slice(PREFIX.length).split(':');
    if (source === 'workspace' || source === 'library') out.push({ source, name: name.join(':') });
  }
  return out;
}
