/**
 * A stacked area chart of shares over time (each band one endpoint or one split destination, the
 * bands adding up to 100%), over the last minute. Plain SVG: a handful of paths redrawn once per
 * frame, cheap enough to keep out of a charting library's weight.
 */
import { memo } from 'react';
import type { ShareSeries } from './derive.js';

export const SERIES_COLOURS = [
  '#6366f1',
  '#f59e0b',
  '#10b981',
  '#ef4444',
  '#06b6d4',
  '#a855f7',
  '#84cc16',
  '#f97316',
];

const W = 560;
const H = 150;
/** The chart shows at most the last minute, and at least ten seconds, of what it has. */
const MAX_SPAN_MS = 60_000;
const MIN_SPAN_MS = 10_000;

export const ShareChart = memo(function ShareChart({ series, now }: { series: ShareSeries; now: number }) {
  const points = series.points.filter((p) => p.at >= now - MAX_SPAN_MS);
  const span = Math.min(MAX_SPAN_MS, Math.max(MIN_SPAN_MS, now - (points[0]?.at ?? now)));
  const x = (at: number) => ((at - (now - span)) / span) * W;
  const y = (v: number) => H - v * H;
  const bands = series.keys.map((_, k) => {
    const top: string[] = [];
    const bottom: string[] = [];
    for (const p of points) {
      if (!p.values) continue;
      const below = p.values.slice(0, k).reduce((a, b) => a + b, 0);
      top.push(`${x(p.at).toFixed(1)},${y(below + p.values[k]!).toFixed(1)}`);
      bottom.unshift(`${x(p.at).toFixed(1)},${y(below).toFixed(1)}`);
    }
    return top.length ? `M${top.join('L')}L${bottom.join('L')}Z` : '';
  });
  const latest = [...points].reverse().find((p) => p.values)?.values;
  return (
    <figure className="m-0 flex items-start gap-3" data-testid="share-chart">
      <svg
        viewBox={`0 0 ${W} ${H}`}
        className="h-36 min-w-0 flex-1 rounded border border-slate-200 bg-white"
        preserveAspectRatio="none"
        role="img"
        aria-label={`shares over the last ${Math.round(span / 1000)} seconds`}
      >
        {[0.25, 0.5, 0.75].map((g) => (
          <line key={g} x1={0} x2={W} y1={y(g)} y2={y(g)} stroke="#e2e8f0" strokeDasharray="3 3" />
        ))}
        {bands.map((d, k) => (
          <path
            key={series.keys[k]}
            d={d}
            fill={SERIES_COLOURS[k % SERIES_COLOURS.length]}
            fillOpacity={0.75}
          />
        ))}
      </svg>
      <figcaption className="min-w-40 space-y-0.5 text-xs">
        {series.keys.map((key, k) => (
          <div
            key={key}
            className="flex items-center gap-1.5"
            data-testid={`share-${key}`}
            data-share={latest ? Math.round(latest[k]! * 100) : ''}
          >
            <span
              className="h-2.5 w-2.5 rounded-sm"
              style={{ background: SERIES_COLOURS[k % SERIES_COLOURS.length] }}
            />
            <span className="font-mono text-slate-700">{key}</span>
            <span className="ml-auto font-semibold tabular-nums text-slate-800">
              {latest ? `${Math.round(latest[k]! * 100)}%` : '–'}
            </span>
          </div>
        ))}
        {series.keys.length === 0 && <span className="text-slate-500">No endpoints yet.</span>}
      </figcaption>
    </figure>
  );
});
