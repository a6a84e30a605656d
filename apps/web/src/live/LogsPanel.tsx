import type { Lab } from '@meshcraft/topology';
import { useSubscription } from '@trpc/tanstack-react-query';
import { useEffect, useRef, useState } from 'react';
import { useTRPC } from '../api/trpc.js';
import type { LogLine } from '../api/types.js';

const MAX_LINES = 2000;

/** A node's container logs (all containers when none is chosen), following as they are written. */
export function LogsPanel({ lab, labId, node }: { lab: Lab; labId: string; node?: string }) {
  const trpc = useTRPC();
  const [target, setTarget] = useState(node ?? '');
  const [lines, setLines] = useState<LogLine[]>([]);
  const bottom = useRef<HTMLDivElement>(null);
  useEffect(() => {
    if (node) setTarget(node);
  }, [node]);
  // biome-ignore lint/correctness/useExhaustiveDependencies: a new target starts a new stream
  useEffect(() => setLines([]), [target]);
  useSubscription(
    trpc.lifecycle.logs.subscriptionOptions(
      { labId, target: target || undefined, tail: 200 },
      { onData: (batch) => setLines((prev) => [...prev, ...batch].slice(-MAX_LINES)) },
    ),
  );
  // biome-ignore lint/correctness/useExhaustiveDependencies: scroll on new lines
  useEffect(() => bottom.current?.scrollIntoView({ block: 'end' }), [lines]);
  return (
    <div className="flex h-full min-h-0 flex-col" data-testid="logs">
      <div className="flex items-center gap-2 border-b border-slate-200 px-2 py-1 text-xs">
        <label htmlFor="logs-node">Logs of</label>
        <select
          id="logs-node"
          className="rounded border border-slate-300 px-1 py-0.5"
          value={target}
          onChange={(e) => setTarget(e.target.value)}
        >
          <option value="">every node</option>
          {lab.spec.nodes
            .filter((n) => n.kind !== 'cluster')
            .map((n) => (
              <option key={n.id} value={n.id}>
                {n.id}
              </option>
            ))}
        </select>
        <span className="text-slate-400">{lines.length} lines</span>
      </div>
      <pre className="min-h-0 flex-1 overflow-auto bg-slate-900 p-2 font-mono text-[11px] leading-4 text-slate-200">
        {lines.map((l, i) => (
          // biome-ignore lint/suspicious/noArrayIndexKey: log lines are positional
          <div key={i}>
            <span className="text-sky-400">{l.container}</span> {l.text}
          </div>
        ))}
        <div ref={bottom} />
      </pre>
    </div>
  );
}
