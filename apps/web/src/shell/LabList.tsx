import { useQuery } from '@tanstack/react-query';
import { type ReactNode, useState } from 'react';
import { type LabEntry, useTRPC } from '../api/trpc.js';
import { type LabKey, useDraftKeys } from './drafts.js';
import { LabActions } from './LabActions.js';

function Entry({
  lab,
  active,
  draft,
  onOpen,
  actions,
}: {
  lab: LabEntry;
  active: boolean;
  draft: boolean;
  onOpen: () => void;
  actions?: ReactNode;
}) {
  return (
    <li>
      <button
        type="button"
        onClick={onOpen}
        title={lab.description ?? lab.title}
        data-testid={`lab-${lab.source}-${lab.name}`}
        className={`w-full rounded px-2 py-1 text-left ${active ? 'bg-blue-50 text-blue-800' : 'text-slate-700 hover:bg-slate-100'}`}
      >
        <div className="truncate text-xs font-medium">{lab.title}</div>
        <div className="flex gap-1 truncate font-mono text-[10px] text-slate-400">
          {lab.name}
          {!lab.valid && <span className="text-red-500">· {lab.errors} errors</span>}
          {draft && <span className="text-amber-600">· unsaved changes</span>}
        </div>
      </button>
      {active && actions}
    </li>
  );
}

export function LabList({
  current,
  onOpen,
  onNew,
  onDeleted,
  onRenamed,
  openIsUp,
}: {
  current?: LabKey;
  onOpen: (k: LabKey) => void;
  onNew: (name: string) => void;
  onDeleted: (name: string) => void;
  onRenamed: (from: string, to: string, revision: string) => void;
  /** The open lab is up (or an operation runs on it). */
  openIsUp: boolean;
}) {
  const trpc = useTRPC();
  const labs = useQuery(trpc.labs.list.queryOptions());
  const [filter, setFilter] = useState('');
  const [naming, setNaming] = useState<string>();
  const drafts = useDraftKeys();
  const hasDraft = (l: LabKey) => drafts.some((d) => d.name === l.name && d.source === l.source);
  // Labs never saved exist only as drafts in this browser; they are listed so none is lost from sight.
  const unsaved = drafts.filter(
    (d) =>
      d.source === 'workspace' &&
      !(labs.data ?? []).some((l) => l.source === 'workspace' && l.name === d.name),
  );
  const shown = (labs.data ?? []).filter((l) =>
    `${l.name} ${l.title} ${l.tags.join(' ')}`.toLowerCase().includes(filter.toLowerCase()),
  );
  const section = (source: 'workspace' | 'library', title: string) => {
    const list = shown.filter((l) => l.source === source);
    return (
      <div className="mb-3">
        <h2 className="px-2 pb-1 text-[11px] font-semibold uppercase tracking-wide text-slate-500">
          {title} <span className="font-normal">({list.length})</span>
        </h2>
        <ul>
          {source === 'workspace' &&
            unsaved.map((d) => (
              <li key={`draft:${d.name}`}>
                <button
                  type="button"
                  onClick={() => onOpen(d)}
                  data-testid={`lab-draft-${d.name}`}
                  className={`w-full rounded px-2 py-1 text-left ${current?.name === d.name && current.source === 'workspace' ? 'bg-blue-50 text-blue-800' : 'text-slate-700 hover:bg-slate-100'}`}
                >
                  <div className="truncate text-xs font-medium">{d.name}</div>
                  <div className="font-mono text-[10px] text-amber-600">
                    never saved · kept in this browser
                  </div>
                </button>
              </li>
            ))}
          {list.map((l) => (
            <Entry
              key={`${l.source}:${l.name}`}
              lab={l}
              active={current?.name === l.name && current.source === l.source}
              draft={hasDraft(l)}
              onOpen={() => onOpen({ name: l.name, source: l.source })}
              actions={
                <LabActions
                  lab={l}
                  isUp={openIsUp}
                  onOpen={onOpen}
                  onDeleted={onDeleted}
                  onRenamed={onRenamed}
                />
              }
            />
          ))}
          {list.length === 0 && unsaved.length === 0 && source === 'workspace' && (
            <li className="px-2 text-xs text-slate-400">
              No labs yet: create one, or open a library lab and save it.
            </li>
          )}
        </ul>
      </div>
    );
  };
  const nameOk = naming !== undefined && /^[a-z0-9][a-z0-9_.-]{0,62}$/.test(naming);
  return (
    <nav className="flex h-full flex-col" aria-label="Labs" data-testid="lab-list">
      <div className="space-y-1 border-b border-slate-200 p-2">
        {naming === undefined ? (
          <button
            type="button"
            className="w-full rounded bg-blue-600 px-2 py-1 text-xs font-medium text-white hover:bg-blue-700"
            onClick={() => setNaming('')}
            data-testid="new-lab"
          >
            + New lab
          </button>
        ) : (
          <form
            onSubmit={(e) => {
              e.preventDefault();
              if (!nameOk) return;
              onNew(naming);
              setNaming(undefined);
            }}
          >
            <input
              // biome-ignore lint/a11y/noAutofocus: the field appears because the person asked to type a name
              autoFocus
              aria-label="New lab name"
              data-testid="new-lab-name"
              className="w-full rounded border border-slate-300 px-2 py-1 font-mono text-xs"
              placeholder="my-lab"
              value={naming}
              onChange={(e) => setNaming(e.target.value)}
              onKeyDown={(e) => e.key === 'Escape' && setNaming(undefined)}
            />
            {naming !== '' && !nameOk && (
              <p className="mt-0.5 text-[11px] text-red-600">lower-case letters, digits, "_", "." or "-"</p>
            )}
          </form>
        )}
        <input
          aria-label="Filter labs"
          className="w-full rounded border border-slate-200 px-2 py-1 text-xs"
          placeholder="Filter…"
          value={filter}
          onChange={(e) => setFilter(e.target.value)}
        />
      </div>
      <div className="min-h-0 flex-1 overflow-y-auto p-1">
        {labs.isPending && <p className="p-2 text-xs text-slate-500">Loading labs…</p>}
        {labs.isError && (
          <p className="p-2 text-xs text-red-600" role="alert">
            Cannot list labs: {labs.error.message}
          </p>
        )}
        {labs.data && (
          <>
            {section('workspace', 'Workspace')}
            {section('library', 'Library')}
          </>
        )}
      </div>
    </nav>
  );
}
