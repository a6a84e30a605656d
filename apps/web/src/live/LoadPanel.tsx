/**
 * The built-in load generator: pick a proxy listener, a rate and concurrency, headers, and a list
 * of User-Agents to rotate through (for ring-hash labs); start, change while it runs, stop. The
 * tallies by ServerName and by status come from the server twice a second.
 */
import { type Lab, LabIndex } from '@meshcraft/topology';
import { useMutation } from '@tanstack/react-query';
import { useSubscription } from '@trpc/tanstack-react-query';
import { useMemo, useState } from 'react';
import { errorInfo, useTRPC } from '../api/trpc.js';
import type { LoadSnapshots } from '../api/types.js';

const INPUT = 'rounded border border-slate-300 px-1.5 py-0.5 text-xs';

export function parseHeaderLines(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const i = line.indexOf(':');
    if (i > 0) out[line.slice(0, i).trim()] = line.slice(i + 1).trim();
  }
  return out;
}

function targetsOf(lab: Lab): { node: string; listener: string }[] {
  const out: { node: string; listener: string }[] = [];
  for (const p of new LabIndex(lab).proxies)
    for (const l of p.listeners)
      if (l.direction === 'ingress' && l.protocol === 'http')
        out.push({ node: p.node.id, listener: l.spec.name });
  return out;
}

export function LoadPanel({ lab, labId }: { lab: Lab; labId: string }) {
  const trpc = useTRPC();
  const targets = useMemo(() => targetsOf(lab), [lab]);
  const preset =
    lab.spec.nodes.find((n) => n.kind === 'client' && n.load)?.kind === 'client'
      ? lab.spec.nodes.find((n) => n.kind === 'client' && n.load)
      : undefined;
  const load = preset?.kind === 'client' ? preset.load : undefined;
  const [target, setTarget] = useState(
    load ? `${load.node}/${load.listener}` : targets[0] ? `${targets[0].node}/${targets[0].listener}` : '',
  );
  const [path, setPath] = useState(load?.path ?? '/');
  const [rate, setRate] = useState(load?.rate ?? 20);
  const [concurrency, setConcurrency] = useState(load?.concurrency ?? 2);
  const [headers, setHeaders] = useState(
    Object.entries(load?.headers ?? {})
      .map(([k, v]) => `${k}: ${v}`)
      .join('\n'),
  );
  const [agents, setAgents] = useState((load?.userAgents ?? []).join('\n'));
  const [error, setError] = useState<string>();
  const [snapshots, setSnapshots] = useState<LoadSnapshots>([]);

  useSubscription(trpc.loadgen.watch.subscriptionOptions({ labId }, { onData: setSnapshots }));
  const running = snapshots.find((s) => s.state === 'running');

  const settings = () => {
    const userAgents = agents
      .split('\n')
      .map((a) => a.trim())
      .filter(Boolean);
    return {
      path,
      rate,
      concurrency,
      headers: parseHeaderLines(headers),
      vary: userAgents.length ? [{ header: 'User-Agent', values: userAgents, mode: 'cycle' as const }] : [],
    };
  };
  const onError = (err: unknown) => {
    const e = errorInfo(err);
    setError(e.hint ? `${e.message} — ${e.hint}` : e.message);
  };
  // A mutation's answer is the generator's state: shown at once, before the next watch message.
  const onSuccess = (snapshot: LoadSnapshots[number]) => {
    setError(undefined);
    setSnapshots((prev) => [snapshot, ...prev.filter((s) => s.id !== snapshot.id)]);
  };
  const start = useMutation({ ...trpc.loadgen.start.mutationOptions(), onError, onSuccess });
  const update = useMutation({ ...trpc.loadgen.update.mutationOptions(), onError, onSuccess });
  const stop = useMutation({ ...trpc.loadgen.stop.mutationOptions(), onError, onSuccess });

  const [node, listener] = target.split('/');
  return (
    <div className="flex gap-4 p-3 text-xs" data-testid="load-panel">
      <div className="grid w-80 shrink-0 grid-cols-[auto_1fr] items-center gap-x-2 gap-y-1">
        <label htmlFor="load-target">Target</label>
        <select id="load-target" className={INPUT} value={target} onChange={(e) => setTarget(e.target.value)}>
          {targets.map((t) => (
            <option key={`${t.node}/${t.listener}`} value={`${t.node}/${t.listener}`}>
              {t.node} · {t.listener}
            </option>
          ))}
        </select>
        <label htmlFor="load-path">Path</label>
        <input id="load-path" className={INPUT} value={path} onChange={(e) => setPath(e.target.value)} />
        <label htmlFor="load-rate">Rate/s</label>
        <input
          id="load-rate"
          type="number"
          min={0}
          max={5000}
          className={INPUT}
          value={rate}
          onChange={(e) => setRate(Number(e.target.value))}
        />
        <label htmlFor="load-conc">Concurrency</label>
        <input
          id="load-conc"
          type="number"
          min={1}
          max={256}
          className={INPUT}
          value={concurrency}
          onChange={(e) => setConcurrency(Number(e.target.value))}
        />
        <label htmlFor="load-headers" className="self-start">
          Headers
        </label>
        <textarea
          id="load-headers"
          className={`${INPUT} h-10 font-mono`}
          placeholder="x-canary: true"
          value={headers}
          onChange={(e) => setHeaders(e.target.value)}
        />
        <label htmlFor="load-agents" className="self-start">
          Rotate User-Agent
        </label>
        <textarea
          id="load-agents"
          className={`${INPUT} h-10 font-mono`}
          placeholder="one per line"
          value={agents}
          onChange={(e) => setAgents(e.target.value)}
        />
        <div className="col-span-2 mt-1 flex gap-2">
          {running ? (
            <>
              <button
                type="button"
                className="rounded bg-slate-700 px-2 py-1 text-white"
                onClick={() => update.mutate({ id: running.id, ...settings() })}
              >
                Apply
              </button>
              <button
                type="button"
                className="rounded bg-red-600 px-2 py-1 text-white"
                onClick={() => stop.mutate({ id: running.id })}
                data-testid="load-stop"
              >
                Stop load
              </button>
            </>
          ) : (
            <button
              type="button"
              className="rounded bg-emerald-600 px-2 py-1 text-white disabled:opacity-50"
              disabled={!node || start.isPending}
              onClick={() => node && start.mutate({ labId, target: { node, listener }, ...settings() })}
              data-testid="load-start"
            >
              Start load
            </button>
          )}
        </div>
        {error && (
          <p className="col-span-2 text-red-600" role="alert">
            {error}
          </p>
        )}
      </div>
      <div className="min-w-0 flex-1 space-y-2">
        {snapshots.length === 0 && <p className="text-slate-500">No load has run in this lab yet.</p>}
        {snapshots.map((s) => {
          const total = Object.values(s.byServerName).reduce((a, b) => a + b, 0);
          return (
            <div key={s.id} className="rounded border border-slate-200 p-2" data-testid="load-snapshot">
              <div className="mb-1 flex gap-3 text-slate-600">
                <span className={s.state === 'running' ? 'font-semibold text-emerald-700' : ''}>
                  {s.state}
                </span>
                <span>
                  {s.target.node} {s.settings.method} {s.settings.path}
                </span>
                <span className="tabular-nums">{s.rps.toFixed(1)} rq/s</span>
                <span className="tabular-nums">{s.completed} done</span>
                <span className="tabular-nums">p50 {s.latencyMs.p50.toFixed(1)} ms</span>
              </div>
              {Object.entries(s.byServerName)
                .sort()
                .map(([name, n]) => (
                  <div key={name} className="flex items-center gap-2">
                    <span className="w-28 truncate font-mono">{name}</span>
                    <div className="h-2 flex-1 rounded bg-slate-100">
                      <div
                        className="h-2 rounded bg-indigo-500 transition-[width] duration-500"
                        style={{ width: `${total ? (n / total) * 100 : 0}%` }}
                      />
                    </div>
                    <span className="w-20 text-right tabular-nums">
                      {n} ({total ? Math.round((n / total) * 100) : 0}%)
                    </span>
                  </div>
                ))}
              <div className="mt-1 text-slate-500">
                {Object.entries(s.byStatus)
                  .map(([code, n]) => `${code}: ${n}`)
                  .join(' · ')}
                {Object.keys(s.errors).length > 0 && (
                  <span className="ml-2 text-red-600">
                    {Object.entries(s.errors)
                      .map(([e, n]) => `${e}: ${n}`)
                      .join(' · ')}
                  </span>
                )}
              </div>
            </div>
          );
        })}
      </div>
    </div>
  );
}
