import type { Issue, Lab } from '@meshcraft/topology';
import { useEditorContext } from '../canvas/context.js';

/** Every issue of the lab; a click selects the node or edge it concerns and focuses the field. */
export function ProblemsPanel({ issues, lab }: { issues: readonly Issue[]; lab: Lab }) {
  const { store } = useEditorContext();
  if (issues.length === 0)
    return <p className="p-3 text-sm text-emerald-700">No problems: the lab is valid.</p>;
  const open = (i: Issue) => {
    if (i.nodeId && lab.spec.nodes.some((n) => n.id === i.nodeId))
      store.select({ nodes: [i.nodeId], edges: [] });
    else if (i.edgeId) store.select({ nodes: [], edges: [i.edgeId] });
    else store.select({ nodes: [], edges: [] });
    store.reveal(i.path);
  };
  return (
    <ul className="divide-y divide-slate-100 text-xs" data-testid="problems">
      {issues.map((i) => (
        <li key={`${i.at}:${i.message}`}>
          <button
            type="button"
            className="flex w-full gap-2 px-3 py-1.5 text-left hover:bg-slate-50"
            onClick={() => open(i)}
          >
            <span className={i.severity === 'error' ? 'text-red-600' : 'text-amber-600'}>
              {i.severity === 'error' ? '●' : '▲'}
            </span>
            <span className="font-mono text-slate-500">{i.nodeId ?? i.edgeId ?? i.at}</span>
            <span className="text-slate-700">{i.message}</span>
          </button>
        </li>
      ))}
    </ul>
  );
}
