/**
 * What `up`/`down` are doing, step by step and container by container, with the driver in use; a
 * failure shows the server's sentence, what to do, and the failed containers' last log lines.
 */
import type { ErrorInfo } from '../api/trpc.js';
import type { LifecycleEvent } from '../api/types.js';

type Progress = Extract<LifecycleEvent, { type: 'progress' }>['event'];

interface ContainerRow {
  name: string;
  action?: string;
  ready?: boolean;
  message: string;
}

export function summarise(events: readonly LifecycleEvent[]) {
  let driver: string | undefined;
  const steps: { step: string; message: string }[] = [];
  const containers = new Map<string, ContainerRow>();
  let done: { message: string; ms: number } | undefined;
  for (const e of events) {
    if (e.type !== 'progress') continue;
    const p: Progress = e.event;
    if (p.step === 'driver') driver = p.driver;
    else if (p.step === 'container')
      containers.set(p.container, {
        ...containers.get(p.container),
        name: p.container,
        action: p.action,
        message: p.message,
      });
    // A readiness event naming no container is the wait as a whole ("waiting for a, b to be ready").
    else if (p.step === 'ready' && p.container)
      containers.set(p.container, {
        ...containers.get(p.container),
        name: p.container,
        ready: p.ready,
        message: p.message,
      });
    else if (p.step === 'done') done = { message: p.message, ms: p.ms };
    else {
      const last = steps.at(-1);
      if (last?.step === p.step) last.message = p.message;
      else steps.push({ step: p.step, message: p.message });
    }
  }
  return { driver, steps, containers: [...containers.values()], done };
}

/** A container is done when ready or when the whole operation finished; failed when it failed before being ready. */
export function rowState(c: { ready?: boolean }, finished: boolean, failed: boolean): 'ok' | 'busy' | 'bad' {
  if (c.ready === true || (finished && !failed)) return 'ok';
  return failed ? 'bad' : 'busy';
}

function Icon({ state }: { state: 'ok' | 'busy' | 'bad' }) {
  if (state === 'ok') return <span className="text-emerald-600">✓</span>;
  if (state === 'bad') return <span className="text-red-600">✕</span>;
  return (
    <span className="inline-block h-2.5 w-2.5 animate-spin rounded-full border-2 border-slate-300 border-t-blue-500" />
  );
}

export function RunProgress({
  events,
  failure,
  running,
  onClose,
}: {
  events: readonly LifecycleEvent[];
  failure?: ErrorInfo;
  running: boolean;
  onClose: () => void;
}) {
  const first = events[0];
  const kind = first?.type === 'started' ? first.operation.kind : undefined;
  const s = summarise(events);
  const finished = events.some((e) => e.type === 'finished');
  return (
    <section
      className="w-96 rounded-lg border border-slate-200 bg-white shadow-lg"
      aria-label="Progress"
      data-testid="run-progress"
    >
      <header className="flex items-center gap-2 border-b border-slate-100 px-3 py-2">
        <h2 className="text-sm font-semibold text-slate-800">
          {kind ? `${kind[0]!.toUpperCase()}${kind.slice(1)}` : 'Lab'}{' '}
          {failure ? 'failed' : finished ? 'done' : running ? 'in progress' : ''}
        </h2>
        {s.driver && (
          <span className="rounded bg-slate-100 px-1.5 text-[11px] text-slate-600" data-testid="driver">
            driver: {s.driver}
          </span>
        )}
        <button
          type="button"
          className="ml-auto text-xs text-slate-500 hover:text-slate-800"
          onClick={onClose}
          aria-label="Close progress"
        >
          ✕
        </button>
      </header>
      <div className="max-h-80 overflow-y-auto px-3 py-2 text-xs">
        <ol className="space-y-0.5">
          {s.steps.map((st, i) => (
            <li key={`${st.step}:${st.message}`} className="flex gap-2">
              <Icon state={i < s.steps.length - 1 || finished ? 'ok' : failure ? 'bad' : 'busy'} />
              <span className="text-slate-700">{st.message}</span>
            </li>
          ))}
        </ol>
        {s.containers.length > 0 && (
          <table className="mt-2 w-full">
            <tbody>
              {s.containers.map((c) => (
                <tr key={c.name} className="border-t border-slate-100" data-testid={`container-${c.name}`}>
                  <td className="py-0.5 pr-2">
                    <Icon state={rowState(c, finished, failure !== undefined)} />
                  </td>
                  <td className="py-0.5 pr-2 font-mono text-slate-700">{c.name}</td>
                  <td className="py-0.5 text-slate-500">{c.ready === true ? 'ready' : (c.action ?? '')}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
        {s.done && <p className="mt-2 text-emerald-700">{s.done.message}</p>}
        {failure && (
          <div
            className="mt-2 rounded border border-red-200 bg-red-50 p-2"
            role="alert"
            data-testid="run-failure"
          >
            <p className="font-semibold text-red-800">{failure.message}</p>
            {failure.hint && <p className="mt-1 text-red-700">{failure.hint}</p>}
            {failure.issues.map((i) => (
              <p key={`${i.at}:${i.message}`} className="mt-1 text-red-700">
                {i.at}: {i.message}
              </p>
            ))}
            {failure.logs.map((l) => (
              <div key={l.container} className="mt-2">
                <p className="font-mono text-[11px] text-slate-600">last lines of {l.container}</p>
                <pre className="mt-0.5 max-h-40 overflow-auto rounded bg-slate-900 p-2 text-[11px] text-slate-200">
                  {l.lines.join('\n') || '(no output)'}
                </pre>
              </div>
            ))}
          </div>
        )}
      </div>
    </section>
  );
}
