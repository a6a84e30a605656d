/**
 * The running lab's configuration in detail: what the last save did (per proxy: what changed and
 * whether it took it, how long it took, or why not), whether only a new run can apply it, every
 * proxy's stream and version now, and the config events as they came.
 */
import type { LiveEdit, ProxyEdit } from '../api/types.js';
import { TONE_STYLE } from './LiveStatus.js';
import { editSummary, type LiveConfigState, outcomeText } from './liveConfig.js';

const time = (at: number) => new Date(at).toLocaleTimeString();

const CELL = 'px-2 py-1 align-top';

function ProxyRows({ proxies }: { proxies: readonly ProxyEdit[] }) {
  return (
    <table className="mt-1 w-full text-left text-xs">
      <thead className="text-[11px] text-slate-500">
        <tr>
          <th className={CELL}>proxy</th>
          <th className={CELL}>what the save changes in it</th>
          <th className={CELL}>outcome</th>
        </tr>
      </thead>
      <tbody>
        {proxies.map((p) => (
          <tr
            key={p.nodeId}
            className="border-t border-slate-100"
            data-testid={`live-proxy-${p.container}`}
            data-state={p.outcome.state}
          >
            <td className={`${CELL} font-mono`}>
              {p.container}
              {p.container !== p.node && <span className="text-slate-400"> · {p.node}</span>}
            </td>
            <td className={`${CELL} font-mono text-slate-600`}>
              {p.changes.length === 0
                ? '—'
                : p.changes.map((c) => `${c.kind} ${c.name} ${c.change}`).join(', ')}
            </td>
            <td
              className={`${CELL} ${p.outcome.state === 'rejected' || p.outcome.state === 'timeout' || p.outcome.state === 'invalid' ? 'text-red-700' : 'text-slate-700'}`}
            >
              {outcomeText(p.outcome)}
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function LastEdit({ edit, onUpAgain, busy }: { edit: LiveEdit; onUpAgain: () => void; busy: boolean }) {
  const summary = editSummary(edit);
  return (
    <section data-testid="live-edit" data-result={edit.result}>
      <h3 className={`text-sm font-semibold ${TONE_STYLE[summary.tone].text}`}>
        Last save at {time(edit.at)}: {summary.text}
      </h3>
      {edit.result === 'rejected' && (
        <div className="mt-1 rounded border border-red-200 bg-red-50 p-2 text-xs text-red-800">
          <p className="font-mono" data-testid="live-message">
            {edit.message}
          </p>
          <p className="mt-1 text-slate-700">
            The running lab keeps serving its previous configuration: no proxy runs any part of this save. The
            edit itself is saved in the workspace and still in the editor: change it and save again, or undo
            it.
          </p>
        </div>
      )}
      {edit.result === 'needsUp' && (
        <div className="mt-1 rounded border border-amber-200 bg-amber-50 p-2 text-xs text-amber-900">
          <p>
            Saved in the workspace and kept in the editor, but the running lab cannot take it while it runs:
          </p>
          <ul className="mt-1 list-disc pl-5 font-mono" data-testid="live-reasons">
            {edit.reasons.map((r) => (
              <li key={`${r.container ?? ''}:${r.message}`}>{r.message}</li>
            ))}
          </ul>
          <p className="mt-1">Nothing in the running lab was changed.</p>
          <button
            type="button"
            className="mt-1.5 rounded bg-amber-600 px-2 py-0.5 font-medium text-white disabled:opacity-50"
            onClick={onUpAgain}
            disabled={busy}
            data-testid="up-again-panel"
          >
            Up again with the saved lab
          </button>
          <span className="ml-2 text-slate-600">(down, then up: its load generators stop)</span>
        </div>
      )}
      {edit.result !== 'needsUp' && <ProxyRows proxies={edit.proxies} />}
    </section>
  );
}

export function LiveConfigPanel({
  state,
  onUpAgain,
  busy,
}: {
  state: LiveConfigState;
  onUpAgain: () => void;
  busy: boolean;
}) {
  const { status, lastEdit, log } = state;
  if (!status) return <p className="p-3 text-sm text-slate-500">Reading the lab’s configuration…</p>;
  return (
    <div className="flex gap-6 p-3" data-testid="live-panel">
      <div className="min-w-0 flex-1 space-y-3">
        {!status.live && (
          <p className="rounded border border-amber-200 bg-amber-50 p-2 text-xs text-amber-900">
            Saving does not change this running lab:{' '}
            {status.problem ??
              'it was brought up outside the console (meshcraft up), so its proxies read their configuration only when they start. Bring it down and up from the console to edit it while it runs.'}
          </p>
        )}
        {lastEdit ? (
          <LastEdit edit={lastEdit} onUpAgain={onUpAgain} busy={busy} />
        ) : (
          status.live && (
            <p className="text-xs text-slate-600">
              Saving applies the lab to its running proxies over xDS, without restarting anything; what became
              of each save shows here.
            </p>
          )
        )}
        <section>
          <h3 className="text-xs font-semibold uppercase tracking-wide text-slate-500">Proxies now</h3>
          <table className="mt-1 w-full text-left text-xs">
            <thead className="text-[11px] text-slate-500">
              <tr>
                <th className={CELL}>proxy</th>
                <th className={CELL}>stream</th>
                <th className={CELL}>served version</th>
                <th className={CELL}>accepted it</th>
                <th className={CELL}>last rejection</th>
              </tr>
            </thead>
            <tbody>
              {status.proxies.map((p) => (
                <tr
                  key={p.nodeId}
                  className="border-t border-slate-100"
                  data-testid={`live-sync-${p.container}`}
                  data-in-sync={p.inSync}
                >
                  <td className={`${CELL} font-mono`}>{p.container}</td>
                  <td className={CELL}>{p.connected ? 'connected' : 'not connected'}</td>
                  <td className={`${CELL} font-mono`}>{p.version ?? '—'}</td>
                  <td className={`${CELL} ${p.inSync ? 'text-emerald-700' : 'text-amber-700'}`}>
                    {p.inSync ? 'yes' : 'not yet'}
                  </td>
                  <td className={`${CELL} text-slate-600`}>
                    {p.lastNack
                      ? `${new Date(p.lastNack.at).toLocaleTimeString()} · ${p.lastNack.version}: ${p.lastNack.message}`
                      : '—'}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </section>
      </div>
      <section className="w-80 shrink-0">
        <h3 className="text-xs font-semibold uppercase tracking-wide text-slate-500">Config events</h3>
        <ol className="mt-1 space-y-0.5 text-[11px]" data-testid="live-log">
          {log.length === 0 && <li className="text-slate-400">none yet</li>}
          {log
            .slice()
            .reverse()
            .map((e, i) => (
              // biome-ignore lint/suspicious/noArrayIndexKey: entries are appended only; equal ones may repeat
              <li key={i} className={TONE_STYLE[e.tone].text}>
                <span className="text-slate-400">{time(e.at)}</span> {e.text}
              </li>
            ))}
        </ol>
      </section>
    </div>
  );
}
