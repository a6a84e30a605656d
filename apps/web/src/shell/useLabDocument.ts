/**
 * The open lab: loading it from the server (or from its draft), keeping the draft in step with
 * edits, and saving. A save is checked locally first, so an invalid lab is never sent and the
 * person sees exactly which fields are wrong; whatever happens, the edits stay in the editor and
 * in the draft.
 */
import { errorsOf, type Issue, type Lab, validateLab } from '@meshcraft/topology';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useCallback, useEffect, useRef, useState } from 'react';
import { errorInfo, useTRPC, useTRPCClient } from '../api/trpc.js';
import type { SaveOutcome } from '../api/types.js';
import { emptyLab } from '../editor/ops.js';
import { type LabStore, useEditor } from '../editor/store.js';
import { dropDraft, type LabKey, moveDraft, readDraft, writeDraft } from './drafts.js';

export type SaveState =
  | { kind: 'saved' }
  | { kind: 'unsaved' }
  | { kind: 'saving' }
  | { kind: 'invalid'; errors: number }
  | { kind: 'failed'; message: string; hint?: string; issues: Issue[] };

export interface OpenLab extends LabKey {
  revision?: string;
  /** Never saved: exists only in this editor and its draft. */
  isNew: boolean;
  /** Set when a draft was restored on open, so the person knows these edits are not on the server. */
  restoredDraftAt?: number;
}

const DRAFT_DELAY_MS = 250;

/** @param onSaved told of every save the server took, with what became of it in the running lab. */
export function useLabDocument(store: LabStore, onSaved?: (outcome: SaveOutcome) => void) {
  const trpc = useTRPC();
  const client = useTRPCClient();
  const queryClient = useQueryClient();
  const [open, setOpen] = useState<OpenLab>();
  const [loadError, setLoadError] = useState<string>();
  const [saveFailure, setSaveFailure] = useState<Extract<SaveState, { kind: 'failed' | 'invalid' }>>();
  const revision = useEditor(store, (s) => s.revision);
  const savedRevision = useEditor(store, (s) => s.savedRevision);
  const openRef = useRef(open);
  openRef.current = open;
  const onSavedRef = useRef(onSaved);
  onSavedRef.current = onSaved;

  const openLab = useCallback(
    async (key: LabKey) => {
      setLoadError(undefined);
      setSaveFailure(undefined);
      try {
        const doc = await client.labs.get.query(key);
        const draft = readDraft(key);
        const base: OpenLab = { name: doc.name, source: doc.source, revision: doc.revision, isNew: false };
        if (draft) {
          store.load(doc.lab ?? draft.lab);
          store.edit(() => draft.lab);
          setOpen({ ...base, restoredDraftAt: draft.savedAt });
        } else if (doc.lab) {
          store.load(doc.lab);
          setOpen(base);
        } else {
          setLoadError(
            `lab '${doc.name}' does not validate (${errorsOf(doc.issues).length} errors); fix it in its file: ${doc.issues[0]?.message ?? ''}`,
          );
        }
      } catch (err) {
        const draft = readDraft(key);
        if (draft) {
          store.load(draft.lab);
          setOpen({ ...key, isNew: true, restoredDraftAt: draft.savedAt });
          store.markSaved(-1);
        } else setLoadError(errorInfo(err).message);
      }
    },
    [client, store],
  );

  const newLab = useCallback(
    (name: string) => {
      store.load(emptyLab(name, name));
      // A new lab is unsaved from the start.
      store.markSaved(-1);
      setSaveFailure(undefined);
      setOpen({ name, source: 'workspace', isNew: true });
    },
    [store],
  );

  // Keep the draft in step with the editor.
  useEffect(() => {
    const o = openRef.current;
    if (!o) return;
    const timer = setTimeout(() => {
      if (revision === savedRevision) return;
      writeDraft(o, { lab: store.getState().lab, baseRevision: o.revision, savedAt: Date.now() });
    }, DRAFT_DELAY_MS);
    return () => clearTimeout(timer);
  }, [revision, savedRevision, store]);

  const save = useMutation({
    mutationFn: async () => {
      const o = openRef.current;
      const { lab, revision: at } = store.getState();
      const errors = errorsOf(validateLab(lab)).length;
      if (errors > 0) {
        setSaveFailure({ kind: 'invalid', errors });
        // Keep the work: the draft holds it even though the server refuses it.
        if (o) writeDraft(o, { lab, baseRevision: o.revision, savedAt: Date.now() });
        return undefined;
      }
      const result = await client.labs.save.mutate({
        lab: lab as Lab,
        baseRevision: o?.source === 'workspace' && !o.isNew ? o.revision : undefined,
        overwrite: o?.isNew || o?.source === 'library' || o?.name !== lab.metadata.name ? false : undefined,
      });
      return { result, at, previous: o };
    },
    onSuccess: (r) => {
      if (!r) return;
      setSaveFailure(undefined);
      store.markSaved(r.at);
      if (r.previous) dropDraft(r.previous);
      const next: OpenLab = {
        name: r.result.name,
        source: 'workspace',
        revision: r.result.revision,
        isNew: false,
      };
      dropDraft(next);
      setOpen(next);
      void queryClient.invalidateQueries({ queryKey: trpc.labs.list.queryKey() });
      onSavedRef.current?.(r.result);
    },
    onError: (err) => {
      const info = errorInfo(err);
      setSaveFailure({
        kind: 'failed',
        message: info.message,
        hint: info.hint,
        issues: info.issues as Issue[],
      });
    },
  });

  let state: SaveState;
  if (save.isPending) state = { kind: 'saving' };
  else if (saveFailure && revision !== savedRevision) state = saveFailure;
  else state = revision === savedRevision ? { kind: 'saved' } : { kind: 'unsaved' };

  const discardDraft = useCallback(() => {
    const o = openRef.current;
    if (!o) return;
    dropDraft(o);
    if (o.isNew) newLab(o.name);
    else void openLab(o);
  }, [newLab, openLab]);

  /** Saves; resolves true when the lab on the server is now the one in the editor. */
  const saveNow = useCallback(async () => {
    try {
      const r = await save.mutateAsync();
      return r !== undefined;
    } catch {
      return false;
    }
  }, [save]);

  /** The open lab was deleted on the server: what the editor holds stays, as an unsaved new lab. */
  const detach = useCallback(
    (name: string) => {
      const o = openRef.current;
      if (!o || o.name !== name || o.source !== 'workspace') return;
      store.markSaved(-1);
      setOpen({ name, source: 'workspace', isNew: true });
    },
    [store],
  );

  /**
   * The open lab was renamed on the server (to `to`, now at `revision`): the editor, its undo
   * history and its unsaved edits follow the new name, so nothing later saves under the old one.
   */
  const renamed = useCallback(
    (from: string, to: string, revision: string) => {
      const o = openRef.current;
      if (!o || o.isNew || o.source !== 'workspace' || o.name !== from) return;
      store.rename(to);
      moveDraft({ name: from, source: 'workspace' }, { name: to, source: 'workspace' }, revision);
      setOpen({ ...o, name: to, revision });
    },
    [store],
  );

  return { open, loadError, state, openLab, newLab, save: saveNow, discardDraft, detach, renamed };
}
