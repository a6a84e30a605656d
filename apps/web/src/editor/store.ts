/**
 * The document being edited, with undo/redo and the selection. Every edit is a pure function of
 * the lab (see ops.ts); the store keeps the labs before and after, so undo is a pointer move.
 * Edits that share a `coalesce` key within a short window (typing in one field, one node drag)
 * become one undo step.
 */
import type { Lab } from '@meshcraft/topology';
import { useSyncExternalStore } from 'react';
import type { Path } from './paths.js';

export interface Selection {
  nodes: readonly string[];
  edges: readonly string[];
}

export interface EditorState {
  lab: Lab;
  /** Bumped on every change of the document, undo and redo included. */
  revision: number;
  /** The revision last saved (or loaded); unequal means unsaved changes. */
  savedRevision: number;
  selection: Selection;
  canUndo: boolean;
  canRedo: boolean;
  /** A field to bring into view and focus (set by a click on an issue). */
  reveal?: { path: Path; seq: number };
}

const HISTORY_LIMIT = 200;
const COALESCE_MS = 1000;
const NO_SELECTION: Selection = { nodes: [], edges: [] };

export interface EditOptions {
  /** Edits with the same key in quick succession undo together. */
  coalesce?: string;
}

export class LabStore {
  private state: EditorState;
  private past: Lab[] = [];
  private future: Lab[] = [];
  private last?: { key: string; at: number };
  private readonly listeners = new Set<() => void>();

  constructor(
    lab: Lab,
    private readonly now: () => number = () => Date.now(),
  ) {
    this.state = {
      lab,
      revision: 0,
      savedRevision: 0,
      selection: NO_SELECTION,
      canUndo: false,
      canRedo: false,
    };
  }

  subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  getState = (): EditorState => this.state;

  private set(patch: Partial<EditorState>): void {
    this.state = { ...this.state, ...patch, canUndo: this.past.length > 0, canRedo: this.future.length > 0 };
    for (const l of this.listeners) l();
  }

  /** Replaces the document (a lab opened or imported): history starts afresh, nothing is unsaved. */
  load(lab: Lab): void {
    this.past = [];
    this.future = [];
    this.last = undefined;
    const revision = this.state.revision + 1;
    this.set({ lab, revision, savedRevision: revision, selection: NO_SELECTION, reveal: undefined });
  }

  edit(change: (lab: Lab) => Lab, options: EditOptions = {}): void {
    const before = this.state.lab;
    const after = change(before);
    if (after === before) return;
    const t = this.now();
    const merge =
      options.coalesce !== undefined && this.last?.key === options.coalesce && t - this.last.at < COALESCE_MS;
    if (!merge) {
      this.past.push(before);
      if (this.past.length > HISTORY_LIMIT) this.past.shift();
    }
    this.future = [];
    this.last = options.coalesce !== undefined ? { key: options.coalesce, at: t } : undefined;
    this.set({
      lab: after,
      revision: this.state.revision + 1,
      selection: pruneSelection(after, this.state.selection),
    });
  }

  /** Ends coalescing, so the next edit is its own undo step (a drag ended, a field lost focus). */
  seal(): void {
    this.last = undefined;
  }

  undo(): void {
    const previous = this.past.pop();
    if (!previous) return;
    this.future.push(this.state.lab);
    this.last = undefined;
    this.set({
      lab: previous,
      revision: this.state.revision + 1,
      selection: pruneSelection(previous, this.state.selection),
    });
  }

  redo(): void {
    const next = this.future.pop();
    if (!next) return;
    this.past.push(this.state.lab);
    this.last = undefined;
    this.set({
      lab: next,
      revision: this.state.revision + 1,
      selection: pruneSelection(next, this.state.selection),
    });
  }

  select(selection: Selection): void {
    const s = this.state.selection;
    if (sameList(s.nodes, selection.nodes) && sameList(s.edges, selection.edges)) return;
    this.set({ selection });
  }

  reveal(path: Path): void {
    this.set({ reveal: { path, seq: (this.state.reveal?.seq ?? 0) + 1 } });
  }

  /**
   * The lab was renamed where it is saved: the document, and every version of it undo and redo
   * hold, carries the new name, so a later save or undo never brings the old name back. Not an
   * edit: nothing becomes unsaved by it.
   */
  rename(name: string): void {
    const relabel = (l: Lab): Lab => ({ ...l, metadata: { ...l.metadata, name } });
    this.past = this.past.map(relabel);
    this.future = this.future.map(relabel);
    this.set({ lab: relabel(this.state.lab) });
  }

  /** Records that the document as of `revision` is saved. */
  markSaved(revision: number): void {
    this.set({ savedRevision: revision });
  }
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

function pruneSelection(lab: Lab, s: Selection): Selection {
  if (s.nodes.length === 0 && s.edges.length === 0) return s;
  const nodes = s.nodes.filter((id) => lab.spec.nodes.some((n) => n.id === id));
  const edges = s.edges.filter((id) => lab.spec.edges.some((e) => e.id === id));
  return nodes.length === s.nodes.length && edges.length === s.edges.length ? s : { nodes, edges };
}

/** Subscribes a component to one slice of the editor state; it re-renders only when that slice changes. */
export function useEditor<T>(store: LabStore, select: (s: EditorState) => T): T {
  return useSyncExternalStore(store.subscribe, () => select(store.getState()));
}
