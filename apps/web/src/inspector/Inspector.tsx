import {
  ClientNode,
  ClusterNode,
  ControlPlaneNode,
  EgressEdge,
  FrontProxyNode,
  type Issue,
  LabIndex,
  LabMetadataSchema,
  LabSpecSchema,
  MembershipEdge,
  Route,
  RouteEdge,
  routesOf,
  ServiceNode,
} from '@meshcraft/topology';
import { type ReactNode, useCallback, useEffect, useMemo, useState } from 'react';
import { useEditorContext } from '../canvas/context.js';
import { KindIcon } from '../canvas/icons.js';
import { KIND_TITLE } from '../editor/kinds.js';
import { renameNode } from '../editor/ops.js';
import { fieldId, type Path, setIn, startsWith } from '../editor/paths.js';
import { useEditor } from '../editor/store.js';
import { Field, Fields, FormContext, type FormContextValue, Section } from './SchemaForm.js';
import { classify, humanize, type Schema } from './schemaInfo.js';

const NODE_SCHEMA: Record<string, Schema> = {
  frontProxy: FrontProxyNode,
  service: ServiceNode,
  cluster: ClusterNode,
  client: ClientNode,
  controlPlane: ControlPlaneNode,
};
const EDGE_SCHEMA: Record<string, Schema> = {
  route: RouteEdge,
  egress: EgressEdge,
  membership: MembershipEdge,
};

/** What a person looks for first in each kind; everything else sits under "More settings". */
const PRIMARY: Record<string, readonly string[]> = {
  frontProxy: ['label', 'listeners', 'admin'],
  service: ['label', 'replicas', 'app', 'sidecar'],
  cluster: [
    'label',
    'discovery',
    'lbPolicy',
    'connectTimeout',
    'healthChecks',
    'outlierDetection',
    'circuitBreakers',
    'tls',
  ],
  client: ['label', 'tool', 'load', 'sidecar'],
  controlPlane: ['label', 'port'],
};
const HIDDEN = ['kind', 'id', 'position'];

export function Inspector({ issues, footer }: { issues: readonly Issue[]; footer?: ReactNode }) {
  const { store } = useEditorContext();
  const lab = useEditor(store, (s) => s.lab);
  const selection = useEditor(store, (s) => s.selection);
  const reveal = useEditor(store, (s) => s.reveal);

  const set = useCallback(
    (path: Path, value: unknown) =>
      store.edit((l) => setIn(l, path, value), { coalesce: `field:${path.join('.')}` }),
    [store],
  );
  const form: FormContextValue = useMemo(
    () => ({ doc: lab, issues, set, seal: () => store.seal(), reveal }),
    [lab, issues, set, store, reveal],
  );

  // Bring a revealed field into view once the sections on its way have opened.
  useEffect(() => {
    if (!reveal) return;
    const handle = requestAnimationFrame(() => {
      for (let n = reveal.path.length; n >= 0; n--) {
        const el = document.getElementById(fieldId(reveal.path.slice(0, n)));
        if (el) {
          el.scrollIntoView({ block: 'center' });
          el.focus({ preventScroll: true });
          return;
        }
      }
    });
    return () => cancelAnimationFrame(handle);
  }, [reveal]);

  let body: ReactNode;
  const nodeIndex =
    selection.nodes.length === 1 && selection.edges.length === 0
      ? lab.spec.nodes.findIndex((n) => n.id === selection.nodes[0])
      : -1;
  const edgeIndex =
    selection.edges.length === 1 && selection.nodes.length === 0
      ? lab.spec.edges.findIndex((e) => e.id === selection.edges[0])
      : -1;
  if (nodeIndex >= 0) body = <NodeForm index={nodeIndex} issues={issues} />;
  else if (edgeIndex >= 0) body = <EdgeForm index={edgeIndex} />;
  else if (selection.nodes.length + selection.edges.length > 1)
    body = (
      <p className="p-3 text-sm text-slate-600">
        {selection.nodes.length} nodes and {selection.edges.length} edges selected. Press <kbd>Delete</kbd> to
        remove them, <kbd>Ctrl</kbd>+<kbd>C</kbd> to copy.
      </p>
    );
  else body = <LabForm />;

  return (
    <FormContext.Provider value={form}>
      <div className="flex h-full flex-col" data-testid="inspector">
        <div className="min-h-0 flex-1 overflow-y-auto px-3 py-2">{body}</div>
        {footer}
      </div>
    </FormContext.Provider>
  );
}

function IssueLinks({ issues, within }: { issues: readonly Issue[]; within: Path }) {
  const { store } = useEditorContext();
  const mine = issues.filter((i) => startsWith(i.path, within));
  if (mine.length === 0) return null;
  return (
    <ul className="mb-2 space-y-1 rounded border border-red-200 bg-red-50 p-2" aria-label="Problems">
      {mine.map((i) => (
        <li key={`${i.at}:${i.message}`}>
          <button
            type="button"
            className={`text-left text-xs underline-offset-2 hover:underline ${i.severity === 'error' ? 'text-red-700' : 'text-amber-800'}`}
            onClick={() => store.reveal(i.path)}
          >
            <span className="font-mono text-[10px] text-slate-500">
              {i.at.replace(/^spec\.(nodes|edges)\[\d+\]\.?/, '') || 'node'}
            </span>{' '}
            {i.message}
          </button>
        </li>
      ))}
    </ul>
  );
}

function NodeForm({ index, issues }: { index: number; issues: readonly Issue[] }) {
  const { store } = useEditorContext();
  const node = useEditor(store, (s) => s.lab.spec.nodes[index]!);
  const path: Path = ['spec', 'nodes', index];
  const schema = NODE_SCHEMA[node.kind]!;
  const shape = (classify(schema) as { shape: Record<string, Schema> }).shape;
  const primary = PRIMARY[node.kind]!;
  const rest = Object.keys(shape).filter((k) => !primary.includes(k) && !HIDDEN.includes(k));
  return (
    <div data-testid="node-form">
      <div className="mb-2 flex items-center gap-2">
        <KindIcon kind={node.kind} className="h-5 w-5 text-slate-500" />
        <span className="text-xs font-semibold uppercase tracking-wide text-slate-500">
          {KIND_TITLE[node.kind]}
        </span>
      </div>
      <IdField current={node.id} path={[...path, 'id']} />
      <IssueLinks issues={issues} within={path} />
      {primary
        .filter((k) => k in shape)
        .map((k) => (
          <Field key={k} schema={shape[k]!} path={[...path, k]} label={humanize(k)} />
        ))}
      <Section
        path={[...path, '$more']}
        covers={rest.map((k) => [...path, k])}
        title="More settings"
        defaultOpen={false}
      >
        {rest.map((k) => (
          <Field key={k} schema={shape[k]!} path={[...path, k]} label={humanize(k)} />
        ))}
      </Section>
    </div>
  );
}

/** The node id is a reference other elements use: it changes on Enter or blur, and never onto another node's id. */
function IdField({ current, path }: { current: string; path: Path }) {
  const { store } = useEditorContext();
  const [text, setText] = useState(current);
  const [error, setError] = useState<string>();
  useEffect(() => {
    setText(current);
    setError(undefined);
  }, [current]);
  const commit = () => {
    const next = text.trim();
    if (next === current) return;
    if (store.getState().lab.spec.nodes.some((n) => n.id === next)) {
      setError(`'${next}' is already the id of another node`);
      return;
    }
    if (!/^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/.test(next)) {
      setError(
        'an id is letters, digits, "_", "." or "-", starting with a letter or digit, at most 63 characters',
      );
      return;
    }
    setError(undefined);
    store.edit((l) => renameNode(l, current, next));
    store.select({ nodes: [next], edges: [] });
  };
  return (
    <div className="py-1">
      <label htmlFor={fieldId(path)} className="mb-0.5 block text-xs font-medium text-slate-600">
        Id
      </label>
      <input
        id={fieldId(path)}
        className="w-full rounded border border-slate-300 px-2 py-1 font-mono text-sm aria-[invalid=true]:border-red-400"
        value={text}
        aria-invalid={error !== undefined}
        onChange={(e) => setText(e.target.value)}
        onBlur={commit}
        onKeyDown={(e) => {
          if (e.key === 'Enter') commit();
          if (e.key === 'Escape') setText(current);
        }}
      />
      {error && <p className="text-xs text-red-600">{error}</p>}
    </div>
  );
}

function EdgeForm({ index }: { index: number }) {
  const { store } = useEditorContext();
  const lab = useEditor(store, (s) => s.lab);
  const edge = lab.spec.edges[index]!;
  const path: Path = ['spec', 'edges', index];
  const shape = (classify(EDGE_SCHEMA[edge.kind]!) as { shape: Record<string, Schema> }).shape;
  // Route edges carry traffic chosen by a route on the proxy: its match is edited here too.
  const route =
    edge.kind !== 'membership' && edge.from.route !== undefined
      ? new LabIndex(lab).proxyByNode
          .get(edge.from.node)
          ?.listeners.flatMap(routesOf)
          .find((r) => r.spec.id === edge.from.route)
      : undefined;
  const routeShape = (classify(Route) as { shape: Record<string, Schema> }).shape;
  return (
    <div data-testid="edge-form">
      <div className="mb-2 text-xs font-semibold uppercase tracking-wide text-slate-500">
        {humanize(edge.kind)} edge
      </div>
      <p className="mb-1 font-mono text-xs text-slate-500">{edge.id}</p>
      <Fields shape={shape} path={path} skip={['kind', 'id', 'from', 'to']} />
      {route && (
        <Section
          path={route.path}
          title={`Route '${route.spec.id}' on ${route.listener.spec.name}`}
          defaultOpen
        >
          <Fields shape={routeShape} path={route.path} skip={['id']} />
        </Section>
      )}
    </div>
  );
}

function LabForm() {
  const shape = (classify(LabMetadataSchema) as { shape: Record<string, Schema> }).shape;
  const specShape = (classify(LabSpecSchema) as { shape: Record<string, Schema> }).shape;
  return (
    <div data-testid="lab-form">
      <div className="mb-2 text-xs font-semibold uppercase tracking-wide text-slate-500">Lab</div>
      <Fields shape={shape} path={['metadata']} skip={['tryThis', 'source']} />
      <Field schema={specShape.network!} path={['spec', 'network']} label="Network" />
      <p className="mt-3 text-xs text-slate-500">
        Select a node or an edge to edit it. Drag node kinds from the palette onto the canvas.
      </p>
    </div>
  );
}
