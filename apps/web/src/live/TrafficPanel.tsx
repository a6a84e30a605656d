import type { Lab } from '@meshcraft/topology';
import { useMemo, useState } from 'react';
import type { ClusterStats } from '../api/types.js';
import { shareSeries, shareSubjects } from './derive.js';
import { type FrameStore, useFrames } from './frames.js';
import { ShareChart } from './ShareChart.js';

const fmt = (v: number) => (v >= 100 ? v.toFixed(0) : v.toFixed(1));

/** Shares over time for a chosen split or cluster, and every cluster's counters, per proxy. */
export function TrafficPanel({ lab, frames: store }: { lab: Lab; frames: FrameStore }) {
  const frames = useFrames(store);
  const subjects = useMemo(() => shareSubjects(lab), [lab]);
  const [chosen, setChosen] = useState(0);
  const subject = subjects[Math.min(chosen, subjects.length - 1)];
  const series = useMemo(
    () => (subject ? shareSeries(lab, frames, subject) : undefined),
    [lab, frames, subject],
  );
  const last = frames.at(-1);
  if (!last)
    return <p className="p-3 text-sm text-slate-500">Waiting for the first stats from the proxies…</p>;
  const rows: { proxy: string; c: ClusterStats }[] = last.proxies.flatMap((p) =>
    p.clusters.map((c) => ({ proxy: p.node, c })),
  );
  return (
    <div className="flex gap-4 p-3" data-testid="traffic">
      <div className="w-[30rem] shrink-0">
        <label className="mb-1 flex items-center gap-2 text-xs text-slate-600">
          Shares of
          <select
            className="rounded border border-slate-300 px-1 py-0.5 text-xs"
            value={chosen}
            onChange={(e) => setChosen(Number(e.target.value))}
            data-testid="chart-subject"
          >
            {subjects.map((s, i) => (
              <option key={s.title} value={i}>
                {s.title}
              </option>
            ))}
          </select>
        </label>
        {series && <ShareChart series={series} now={last.at} />}
      </div>
      <div className="min-w-0 flex-1 overflow-x-auto">
        <table className="h-fit w-full text-xs tabular-nums" data-testid="counters">
          <thead className="text-left text-slate-500">
            <tr>
              <th className="pr-2 font-medium">proxy</th>
              <th className="pr-2 font-medium">cluster</th>
              <th className="pr-2 text-right font-medium">rq/s</th>
              <th className="pr-2 text-right font-medium">2xx</th>
              <th className="pr-2 text-right font-medium">4xx</th>
              <th className="pr-2 text-right font-medium">5xx</th>
              <th className="pr-2 text-right font-medium">healthy</th>
              <th className="pr-2 text-right font-medium">ejected</th>
              <th className="pr-2 text-right font-medium">overflow</th>
              <th className="pr-2 text-right font-medium">retries</th>
              <th className="text-right font-medium">HC fails</th>
            </tr>
          </thead>
          <tbody>
            {rows.map(({ proxy, c }) => (
              <tr key={`${proxy}/${c.name}`} className="border-t border-slate-100">
                <td className="pr-2 font-mono">{proxy}</td>
                <td className="pr-2 font-mono">{c.name}</td>
                <td className="pr-2 text-right font-semibold">{fmt(c.rps)}</td>
                <td className="pr-2 text-right">{fmt(c.responses['2xx'])}</td>
                <td className="pr-2 text-right">{fmt(c.responses['4xx'])}</td>
                <td className={`pr-2 text-right ${c.responses['5xx'] > 0 ? 'text-red-600' : ''}`}>
                  {fmt(c.responses['5xx'])}
                </td>
                <td
                  className={`pr-2 text-right ${c.membership.healthy < c.membership.total ? 'text-red-600' : ''}`}
                >
                  {c.membership.healthy}/{c.membership.total}
                </td>
                <td className="pr-2 text-right">{c.ejectionsActive}</td>
                <td className="pr-2 text-right">
                  {(c.counters.pendingOverflow ?? 0) + (c.counters.connectionOverflow ?? 0)}
                </td>
                <td className="pr-2 text-right">{c.counters.retries ?? 0}</td>
                <td className="text-right">{c.counters.healthCheckFailures ?? 0}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </div>
  );
}
