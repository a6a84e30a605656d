import type { SaveState } from './useLabDocument.js';

export function SaveIndicator({ state, onShowProblems }: { state: SaveState; onShowProblems: () => void }) {
  const base = 'flex items-center gap-1.5 text-xs';
  switch (state.kind) {
    case 'saved':
      return (
        <span className={`${base} text-emerald-700`} data-testid="save-state" data-state="saved">
          <span className="h-2 w-2 rounded-full bg-emerald-500" /> Saved
        </span>
      );
    case 'unsaved':
      return (
        <span className={`${base} text-amber-700`} data-testid="save-state" data-state="unsaved">
          <span className="h-2 w-2 rounded-full bg-amber-500" /> Unsaved changes
        </span>
      );
    case 'saving':
      return (
        <span className={`${base} text-slate-600`} data-testid="save-state" data-state="saving">
          <span className="h-2 w-2 animate-pulse rounded-full bg-slate-400" /> Saving…
        </span>
      );
    case 'invalid':
      return (
        <button
          type="button"
          className={`${base} text-red-700 underline-offset-2 hover:underline`}
          onClick={onShowProblems}
          data-testid="save-state"
          data-state="error"
          aria-live="assertive"
        >
          <span className="h-2 w-2 rounded-full bg-red-500" /> Not saved: {state.errors} problem
          {state.errors > 1 ? 's' : ''} to fix (your edits are kept)
        </button>
      );
    case 'failed':
      return (
        <span
          className={`${base} min-w-0 max-w-md text-red-700`}
          data-testid="save-state"
          data-state="error"
          role="alert"
          title={state.hint}
        >
          <span className="h-2 w-2 shrink-0 rounded-full bg-red-500" />
          <span className="truncate">
            Not saved: {state.message}
            {state.hint ? ` — ${state.hint}` : ''}
          </span>
        </span>
      );
  }
}
