/**
 * What can be done to the lab selected in the list: duplicate it (a library lab becomes a
 * workspace copy under a new name), or delete it from the workspace after a confirmation. The
 * server refuses both for a lab that is up, and says so.
 */
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { errorInfo, type LabEntry, useTRPC } from '../api/trpc.js';
import type { LabKey } from './drafts.js';

const BUTTON =
  'rounded border border-slate-300 bg-white px-1.5 py-px text-[11px] text-slate-700 hover:bg-slate-100';
const NAME = /^[a-z0-9][a-z0-9_.-]{0,62}$/;

export function LabActions({
  lab,
  onOpen,
  onDeleted,
}: {
  lab: LabEntry;
  onOpen: (k: LabKey) => void;
  onDeleted: (name: string) => void;
}) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const [mode, setMode] = useState<'idle' | 'duplicate' | 'delete'>('idle');
  const [name, setName] = useState(`${lab.name}-copy`);
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
            <button
              type="button"
              className={BUTTON}
              onClick={() => setMode('delete')}
              data-testid="lab-delete"
            >
              Delete…
            </button>
          )}
        </div>
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
