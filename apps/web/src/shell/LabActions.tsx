/**
 * What can be done to the lab selected in the list: duplicate it (a library lab becomes a
 * workspace copy under a new name), rename it, or delete it from the workspace after a
 * confirmation. A lab that is up can be neither renamed nor deleted (its containers, network and
 * the console's records of it carry its name): the actions say so, and the server refuses too.
 */
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { errorInfo, type LabEntry, useTRPC } from '../api/trpc.js';
import { type LabKey, useDraftKeys } from './drafts.js';

const BUTTON =
  'rounded border border-slate-300 bg-white px-1.5 py-px text-[11px] text-slate-700 hover:bg-slate-100';
const NAME = /^[a-z0-9][a-z0-9_.-]{0,62}$/;

/** Why `name` cannot be the new name of a lab, before asking the server; undefined when it can. */
export function renameProblem(from: string, name: string, drafts: readonly LabKey[]): string | undefined {
  if (!NAME.test(name)) return 'lower-case letters, digits, "_", "." or "-"';
  if (name === from) return 'that is its name already';
  // The draft would be taken for the renamed lab's unsaved edits.
  if (drafts.some((d) => d.source === 'workspace' && d.name === name))
    return `'${name}' has unsaved edits in this browser; choose another name`;
  return undefined;
}

export function LabActions({
  lab,
  isUp,
  onOpen,
  onDeleted,
  onRenamed,
}: {
  lab: LabEntry;
  isUp: boolean;
  onOpen: (k: LabKey) => void;
  onDeleted: (name: string) => void;
  onRenamed: (from: string, to: string, revision: string) => void;
}) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const drafts = useDraftKeys();
  const [mode, setMode] = useState<'idle' | 'duplicate' | 'rename' | 'delete'>('idle');
  const [name, setName] = useState(`${lab.name}-copy`);
  const [newName, setNewName] = useState(lab.name);
  const [error, setError] = useState<string>();
  const refresh = () => queryClient.invalidateQueries({ queryKey: trpc.labs.list.queryKey() });
  const onError = (err: unknown) => {
    const e = errorInfo(err);
    setError(`${e.message}${e.hint ? ` — ${e.hint}` : ''}`);
  };
  const duplicate = useMutation({
    ...trpc.labs.duplicate.mutationOptions(),
    onError,
    onSuccess: (r) => {
      setMode('idle');
      void refresh();
      onOpen({ name: r.name, source: 'workspace' });
    },
  });
  const rename = useMutation({
    ...trpc.labs.rename.mutationOptions(),
    onError,
    onSuccess: (r, v) => {
      setMode('idle');
      setError(undefined);
      void refresh();
      onRenamed(v.from, r.name, r.revision);
    },
  });
  const problem = mode === 'rename' ? renameProblem(lab.name, newName, drafts) : undefined;
  const remove = useMutation({
    ...trpc.labs.delete.mutationOptions(),
    onError,
    onSuccess: () => {
      setMode('idle');
      void refresh();
      onDeleted(lab.name);
    },
  });
  return (
    <div className="px-2 pb-1.5 pt-0.5 text-[11px]" data-testid="lab-actions">
      {mode === 'idle' && (
        <div className="flex gap-1">
          <button type="button" className={BUTTON} onClick={() => setMode('duplicate')}>
            {lab.source === 'library' ? 'Copy to workspace…' : 'Duplicate…'}
          </button>
          {lab.source === 'workspace' && (
            <>
              <button
                type="button"
                className={BUTTON}
                onClick={() => {
                  setNewName(lab.name);
                  setMode('rename');
                }}
                disabled={isUp}
                title={isUp ? 'Bring the lab down first: what runs is named after it' : undefined}
                data-testid="lab-rename"
              >
                Rename…
              </button>
              <button
                type="button"
                className={BUTTON}
                onClick={() => setMode('delete')}
                disabled={isUp}
                title={isUp ? 'Bring the lab down first' : undefined}
                data-testid="lab-delete"
              >
                Delete…
              </button>
            </>
          )}
        </div>
      )}
      {mode === 'idle' && isUp && lab.source === 'workspace' && (
        <p className="mt-0.5 text-slate-500" data-testid="lab-up-note">
          Up: bring it down to rename or delete it.
        </p>
      )}
      {mode === 'rename' && (
        <form
          className="flex flex-col gap-0.5"
          onSubmit={(e) => {
            e.preventDefault();
            if (!problem) rename.mutate({ from: lab.name, to: newName });
          }}
        >
          <div className="flex gap-1">
            <input
              aria-label="New name"
              data-testid="lab-rename-name"
              className="min-w-0 flex-1 rounded border border-slate-300 px-1 font-mono"
              value={newName}
              onChange={(e) => setNewName(e.target.value)}
              onKeyDown={(e) => e.key === 'Escape' && setMode('idle')}
            />
            <button
              type="submit"
              className={BUTTON}
              disabled={problem !== undefined || rename.isPending}
              data-testid="lab-rename-confirm"
            >
              Rename
            </button>
            <button type="button" className={BUTTON} onClick={() => setMode('idle')}>
              Cancel
            </button>
          </div>
          {problem && newName !== lab.name && <p className="text-red-600">{problem}</p>}
        </form>
      )}
      {mode === 'duplicate' && (
        <form
          className="flex gap-1"
          onSubmit={(e) => {
            e.preventDefault();
            if (NAME.test(name)) duplicate.mutate({ from: { name: lab.name, source: lab.source }, to: name });
          }}
        >
          <input
            aria-label="Name of the copy"
            className="min-w-0 flex-1 rounded border border-slate-300 px-1 font-mono"
            value={name}
            onChange={(e) => setName(e.target.value)}
          />
          <button type="submit" className={BUTTON} disabled={!NAME.test(name) || duplicate.isPending}>
            Copy
          </button>
          <button type="button" className={BUTTON} onClick={() => setMode('idle')}>
            Cancel
          </button>
        </form>
      )}
      {mode === 'delete' && (
        <div className="flex items-center gap-1">
          <span className="text-red-700">Delete '{lab.name}'?</span>
          <button
            type="button"
            className={`${BUTTON} border-red-300 text-red-700`}
            onClick={() => remove.mutate({ name: lab.name })}
            disabled={remove.isPending}
            data-testid="lab-delete-confirm"
          >
            Delete
          </button>
          <button type="button" className={BUTTON} onClick={() => setMode('idle')}>
            Keep
          </button>
        </div>
      )}
      {error && (
        <p className="mt-0.5 text-red-600" role="alert">
          {error}
        </p>
      )}
    </div>
  );
}
