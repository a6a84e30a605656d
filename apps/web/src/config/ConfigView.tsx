/**
 * The rendered configuration of the lab being edited: each proxy's Envoy bootstrap and the
 * docker-compose file, as an export or the docker driver would write them, re-rendered as the
 * graph changes. Loaded on demand, so the renderer stays out of the main bundle.
 */
import {
  buildLayout,
  dockerAddressPlan,
  errorsOf,
  type Issue,
  type Lab,
  LabIndex,
  type RenderResult,
  render,
} from '@meshcraft/topology';
import { memo, useDeferredValue, useMemo, useRef, useState } from 'react';
import { highlightYaml, type TokenKind } from './highlight.js';

const TOKEN_CLASS: Record<TokenKind, string> = {
  key: 'text-sky-300',
  string: 'text-emerald-300',
  number: 'text-amber-300',
  literal: 'text-fuchsia-300',
  comment: 'text-slate-500 italic',
  punct: 'text-slate-400',
  plain: '',
};

export const Yaml = memo(function Yaml({ text }: { text: string }) {
  const lines = useMemo(() => highlightYaml(text), [text]);
  return (
    <pre
      className="min-h-full bg-slate-900 p-3 font-mono text-[12px] leading-[1.45] text-slate-200"
      data-testid="config-yaml"
    >
      {lines.map((tokens, i) => (
        // biome-ignore lint/suspicious/noArrayIndexKey: lines are positional
        <div key={i} className="flex">
          <span className="mr-3 inline-block w-8 shrink-0 select-none text-right text-slate-600">
            {i + 1}
          </span>
          <code className="whitespace-pre">
            {tokens.map((t, j) => (
              // biome-ignore lint/suspicious/noArrayIndexKey: tokens are positional
              <span key={j} className={TOKEN_CLASS[t.kind]}>
                {t.text}
              </span>
            ))}
          </code>
        </div>
      ))}
    </pre>
  );
});

type Rendered = { result: RenderResult } | { error: string };

function renderPreview(lab: Lab): Rendered {
  try {
    return { result: render(lab, dockerAddressPlan(buildLayout(new LabIndex(lab)))) };
  } catch (err) {
    return { error: (err as Error).message };
  }
}

export default function ConfigView({
  lab,
  issues,
  selectedNode,
}: {
  lab: Lab;
  issues: readonly Issue[];
  selectedNode?: string;
}) {
  const deferred = useDeferredValue(lab);
  const errors = errorsOf(issues).length;
  // The last lab that rendered stays on screen (dimmed) while the current one has errors.
  const lastGood = useRef<RenderResult | undefined>(undefined);
  const rendered = useMemo(() => (errors === 0 ? renderPreview(deferred) : undefined), [deferred, errors]);
  if (rendered && 'result' in rendered) lastGood.current = rendered.result;
  const result = lastGood.current;
  const [chosen, setChosen] = useState<string>();
  const files = useMemo(() => {
    if (!result) return [];
    const list = result.proxies.map((p) => ({
      key: p.namespace,
      node: p.node,
      title: `${p.container}`,
      text: p.yaml,
    }));
    if (result.compose)
      list.push({ key: '$compose', node: '', title: 'docker-compose.yaml', text: result.compose });
    return list;
  }, [result]);
  const followSelection = files.find((f) => f.node === selectedNode)?.key;
  const active =
    files.find((f) => f.key === chosen) ?? files.find((f) => f.key === followSelection) ?? files[0];
  const stale = errors > 0 || (rendered !== undefined && 'error' in rendered);
  return (
    <div className="flex h-full min-h-0 flex-col" data-testid="config-view">
      <div className="flex flex-wrap items-center gap-1 border-b border-slate-200 bg-white px-2 py-1">
        {files.map((f) => (
          <button
            key={f.key}
            type="button"
            onClick={() => setChosen(f.key)}
            className={`rounded px-2 py-0.5 font-mono text-xs ${f.key === active?.key ? 'bg-slate-800 text-white' : 'text-slate-600 hover:bg-slate-100'}`}
          >
            {f.title}
          </button>
        ))}
        {stale && (
          <span className="ml-auto text-xs text-red-600" role="status">
            {errors > 0
              ? `The lab has ${errors} problem${errors > 1 ? 's' : ''}; showing the last configuration that rendered.`
              : `Cannot render: ${(rendered as { error: string }).error}`}
          </span>
        )}
      </div>
      <div className={`min-h-0 flex-1 overflow-auto ${stale ? 'opacity-60' : ''}`}>
        {active ? (
          <Yaml text={active.text} />
        ) : (
          <p className="p-3 text-sm text-slate-500">
            {files.length === 0 && !stale
              ? 'Add a front proxy or a sidecar to see its Envoy configuration.'
              : 'Fix the problems to see the configuration.'}
          </p>
        )}
      </div>
    </div>
  );
}
