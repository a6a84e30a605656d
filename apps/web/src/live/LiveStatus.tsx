/**
 * The header's one line about a running lab's configuration: in sync, what the last save did to
 * it, or why it does not run the saved lab (with "Up again" when only a new run can). A click
 * opens the details.
 */
import { headline, type LiveConfigState, type Tone } from './liveConfig.js';

export const TONE_STYLE: Record<Tone, { text: string; dot: string }> = {
  ok: { text: 'text-emerald-700', dot: 'bg-emerald-500' },
  warn: { text: 'text-amber-800', dot: 'bg-amber-500' },
  error: { text: 'text-red-700', dot: 'bg-red-500' },
};

export function LiveStatus({
  state,
  onOpen,
  onUpAgain,
  busy,
}: {
  state: LiveConfigState;
  onOpen: () => void;
  onUpAgain: () => void;
  busy: boolean;
}) {
  const h = headline(state);
  if (!h) return null;
  const style = TONE_STYLE[h.tone];
  return (
    <span className="flex min-w-0 items-center gap-1.5">
      <button
        type="button"
        className={`flex min-w-0 items-center gap-1.5 rounded px-1.5 py-0.5 text-xs hover:bg-slate-100 ${style.text}`}
        onClick={onOpen}
        title={`${h.text} — show the details`}
        data-testid="live-status"
        data-tone={h.tone}
        data-result={state.lastEdit?.result ?? 'none'}
        aria-live="polite"
      >
        <span className={`h-2 w-2 shrink-0 rounded-full ${style.dot}`} />
        <span className="truncate">{h.text}</span>
      </button>
      {state.lastEdit?.result === 'needsUp' && (
        <button
          type="button"
          className="shrink-0 rounded bg-amber-600 px-2 py-0.5 text-xs font-medium text-white disabled:opacity-50"
          onClick={onUpAgain}
          disabled={busy}
          title="Bring the lab down and up again with the saved version (load generators stop)"
          data-testid="up-again"
        >
          Up again
        </button>
      )}
    </span>
  );
}
