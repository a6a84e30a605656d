import { errorsOf, type Issue, validateLab } from '@meshcraft/topology';
import { useQuery } from '@tanstack/react-query';
import { ReactFlowProvider, useReactFlow } from '@xyflow/react';
import { lazy, Suspense, useCallback, useDeferredValue, useEffect, useMemo, useRef, useState } from 'react';
import { ConnectionBanner } from '../api/connection.js';
import { type createClients, errorInfo, useTRPC, useTRPCClient } from '../api/trpc.js';
import type { SaveOutcome } from '../api/types.js';
import { Canvas } from '../canvas/Canvas.js';
import { countIssues, EditorContext, type EditorContextValue } from '../canvas/context.js';
import { autoLayout } from '../editor/autolayout.js';
import {
  copyFragment,
  emptyLab,
  type Fragment,
  moveNodes,
  pasteFragment,
  removeElements,
} from '../editor/ops.js';
import { LabStore, useEditor } from '../editor/store.js';
import { Inspector } from '../inspector/Inspector.js';
import { FrameStore } from '../live/frames.js';
import { LiveStatus } from '../live/LiveStatus.js';
import { LiveOverlay } from '../live/store.js';
import { useLiveConfig } from '../live/useLiveConfig.js';
import { type Driver, useRun } from '../live/useRun.js';
import type { LabKey } from './drafts.js';
import { LabList } from './LabList.js';
import { Palette } from './Palette.js';
import { ProblemsPanel } from './ProblemsPanel.js';
import { SaveIndicator } from './SaveIndicator.js';
import { commandFor, isTyping } from './shortcuts.js';
import { useLabDocument } from './useLabDocument.js';

// Loaded when first shown: the renderer, and everything that only matters once a lab runs.
const ConfigView = lazy(() => import('../config/ConfigView.js'));
const liveChunks = {
  traffic: () => import('../live/TrafficPanel.js'),
  load: () => import('../live/LoadPanel.js'),
  logs: () => import('../live/LogsPanel.js'),
  progress: () => import('../live/RunProgress.js'),
  actions: () => import('../live/NodeActions.js'),
  config: () => import('../live/LiveConfigPanel.js'),
};
const TrafficPanel = lazy(() => liveChunks.traffic().then((m) => ({ default: m.TrafficPanel })));
const LoadPanel = lazy(() => liveChunks.load().then((m) => ({ default: m.LoadPanel })));
const LogsPanel = lazy(() => liveChunks.logs().then((m) => ({ default: m.LogsPanel })));
const RunProgress = lazy(() => liveChunks.progress().then((m) => ({ default: m.RunProgress })));
const LiveActions = lazy(() => liveChunks.actions().then((m) => ({ default: m.LiveActions })));
const LiveConfigPanel = lazy(() => liveChunks.config().then((m) => ({ default: m.LiveConfigPanel })));
const HelpOverlay = lazy(() => import('./HelpOverlay.js').then((m) => ({ default: m.HelpOverlay })));
const importExport = () => import('./importExport.js');

type Tab = 'problems' | 'config' | 'live' | 'traffic' | 'load' | 'logs';

const withoutPositions = (key: string, value: unknown) => (key === 'position' ? undefined : value);

function readHash(): LabKey | undefined {
  const m = /^#\/(workspace|library)\/([^/]+)$/.exec(window.location.hash);
  return m ? { source: m[1] as LabKey['source'], name: decodeURIComponent(m[2]!) } : undefined;
}

type WSClient = ReturnType<typeof createClients>['wsClient'];

export function App({ ws }: { ws: WSClient }) {
  const editor: EditorContextValue = useMemo(
    () => ({ store: new LabStore(emptyLab('untitled')), live: new LiveOverlay() }),
    [],
  );
  return (
    <EditorContext.Provider value={editor}>
      <ReactFlowProvider>
        <Console editor={editor} ws={ws} />
      </ReactFlowProvider>
    </EditorContext.Provider>
  );
}

interface Notice {
  id: number;
  tone: 'info' | 'error';
  title: string;
  lines?: string[];
}

function Console({ editor, ws }: { editor: EditorContextValue; ws: WSClient }) {
  const { store, live } = editor;
  const trpc = useTRPC();
  const client = useTRPCClient();
  const flow = useReactFlow();
  const frames = useMemo(() => new FrameStore(), []);
  const liveSave = useRef<(outcome: SaveOutcome) => void>(undefined);
  const doc = useLabDocument(store, (outcome) => liveSave.current?.(outcome));
  const lab = useEditor(store, (s) => s.lab);
  const selection = useEditor(store, (s) => s.selection);
  const canUndo = useEditor(store, (s) => s.canUndo);
  const canRedo = useEditor(store, (s) => s.canRedo);
  const deferredLab = useDeferredValue(lab);
  // Where a node sits never changes what is valid: a drag re-validates nothing.
  const semantics = useMemo(() => JSON.stringify(deferredLab.spec, withoutPositions), [deferredLab]);
  // biome-ignore lint/correctness/useExhaustiveDependencies: keyed on the lab less its positions (and metadata, which follows it)
  const issues: Issue[] = useMemo(() => validateLab(deferredLab), [semantics, deferredLab.metadata]);
  const issueCounts = useMemo(() => countIssues(issues), [issues]);
  const errors = errorsOf(issues).length;
  const [tab, setTab] = useState<Tab>('problems');
  const [showBottom, setShowBottom] = useState(true);
  const [help, setHelp] = useState(false);
  const [notices, setNotices] = useState<Notice[]>([]);
  const [driver, setDriver] = useState<Driver>('local');
  const [showProgress, setShowProgress] = useState(false);
  const clipboard = useRef<Fragment | undefined>(undefined);
  const importInput = useRef<HTMLInputElement>(null);
  const info = useQuery(trpc.meta.info.queryOptions());

  const notify = useCallback((n: Omit<Notice, 'id'>) => {
    const id = Date.now() + Math.random();
    setNotices((prev) => [...prev.slice(-3), { ...n, id }]);
    if (n.tone === 'info') setTimeout(() => setNotices((prev) => prev.filter((x) => x.id !== id)), 4000);
  }, []);

  // The open lab follows the address bar, so a reload reopens it.
  const { open, openLab, newLab } = doc;
  useEffect(() => {
    const k = readHash();
    if (k) void openLab(k);
  }, [openLab]);
  useEffect(() => {
    if (open) window.history.replaceState(null, '', `#/${open.source}/${encodeURIComponent(open.name)}`);
  }, [open]);
  // A newly opened lab is framed once its nodes are measured.
  const openedName = open ? `${open.source}/${open.name}` : undefined;
  useEffect(() => {
    if (!openedName) return;
    const t = setTimeout(() => {
      // An empty lab starts at 100 %, so dropped nodes have their natural size.
      if (store.getState().lab.spec.nodes.length === 0) void flow.setViewport({ x: 0, y: 0, zoom: 1 });
      else void flow.fitView({ padding: 0.2, maxZoom: 1.2 });
    }, 60);
    return () => clearTimeout(t);
  }, [openedName, flow, store]);

  const labId = open && !open.isNew && open.source === 'workspace' ? open.name : undefined;
  const run = useRun(labId, store, live, frames);
  const running = run.running;
  const liveConfig = useLiveConfig(labId, run.runKey, live);
  // What became of this tab's save in the running lab; when it is not running what was saved, say why at once.
  liveSave.current = (outcome) => {
    if (!outcome.live) return;
    liveConfig.noteSave(outcome.live);
    if (outcome.live.result === 'rejected' || outcome.live.result === 'needsUp') {
      setTab('live');
      setShowBottom(true);
    }
  };
  useEffect(() => {
    if (run.busy || run.failure) setShowProgress(true);
  }, [run.busy, run.failure]);
  // A successful run's progress steps aside after a moment; a failure stays until dismissed.
  const finished = run.events.at(-1)?.type === 'finished';
  useEffect(() => {
    if (!finished || run.failure) return;
    const t = setTimeout(() => setShowProgress(false), 4000);
    return () => clearTimeout(t);
  }, [finished, run.failure]);
  useEffect(() => {
    if (running) setTab((t) => (t === 'problems' || t === 'config' ? 'traffic' : t));
  }, [running]);
  // Fetch the running-lab panels while the lab comes up, so they are there when it is.
  useEffect(() => {
    if (running || run.busy) for (const load of Object.values(liveChunks)) void load();
  }, [running, run.busy]);

  const save = doc.save;
  const onSave = useCallback(async () => {
    const ok = await save();
    if (!ok && errorsOf(validateLab(store.getState().lab)).length > 0) {
      setTab('problems');
      setShowBottom(true);
    }
    return ok;
  }, [save, store]);

  const onUp = async () => {
    const s = store.getState();
    if (s.revision !== s.savedRevision || !labId) {
      if (!(await onSave())) {
        notify({
          tone: 'error',
          title: 'Up needs a saved, valid lab',
          lines: ['Fix the problems listed below, save, then press Up. Your edits are kept.'],
        });
        return;
      }
    }
    setShowProgress(true);
    run.up(driver, store.getState().lab.metadata.name);
  };

  /** Runs the saved lab anew (after saving what the editor holds), so an edit that needs Up runs. */
  const onUpAgain = async () => {
    const s = store.getState();
    if (s.revision !== s.savedRevision && !(await onSave())) {
      notify({
        tone: 'error',
        title: 'Up again needs a saved, valid lab',
        lines: [
          'Fix the problems listed below and save; the lab keeps running as it is. Your edits are kept.',
        ],
      });
      return;
    }
    setShowProgress(true);
    void run.upAgain(run.status?.driver ?? driver);
  };

  const onImport = async (file: File) => {
    const read = await (await importExport()).readImportFile(file);
    if ('issues' in read) {
      notify({
        tone: 'error',
        title: `${file.name} is not a valid lab; nothing was changed`,
        lines: read.issues
          .slice(0, 8)
          .map(
            (i) =>
              `${i.line !== undefined ? `line ${i.line}, column ${i.column}: ` : ''}${i.at}: ${i.message}`,
          ),
      });
      return;
    }
    try {
      const r = await client.labs.import.mutate({ source: read.input });
      notify({ tone: 'info', title: `Imported ${r.name}` });
      await openLab({ name: r.name, source: 'workspace' });
    } catch (err) {
      const e = errorInfo(err);
      notify({
        tone: 'error',
        title: `${file.name} could not be imported; nothing was changed`,
        lines: [
          e.message,
          ...(e.hint ? [e.hint] : []),
          ...e.issues.slice(0, 6).map((i) => `${i.at}: ${i.message}`),
        ],
      });
    }
  };

  const onExport = async () => {
    const s = store.getState();
    const { base64ToBlob, downloadBlob, downloadLabYaml } = await importExport();
    if (!labId || s.revision !== s.savedRevision) {
      downloadLabYaml(s.lab);
      notify({
        tone: 'info',
        title: 'Downloaded the lab file as it is in the editor',
        lines: ['Save the lab to export the full project (compose, Envoy configs, README).'],
      });
      return;
    }
    try {
      const z = await client.labs.export.query({
        ref: { name: labId, source: 'workspace' },
        images: 'meshcraft',
      });
      downloadBlob(z.fileName, base64ToBlob(z.base64, 'application/zip'));
    } catch (err) {
      notify({ tone: 'error', title: `Export failed: ${errorInfo(err).message}` });
    }
  };

  const zoomToFit = useCallback(() => void flow.fitView({ padding: 0.2, duration: 300 }), [flow]);

  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if (help && e.key !== 'Escape') return;
      const command = commandFor(e, isTyping(e.target));
      if (!command) return;
      e.preventDefault();
      const s = store.getState();
      const selectedNodes = new Set(s.selection.nodes);
      switch (command) {
        case 'undo':
          return store.undo();
        case 'redo':
          return store.redo();
        case 'save':
          return void onSave();
        case 'copy':
        case 'cut':
          if (selectedNodes.size === 0) return;
          clipboard.current = copyFragment(s.lab, selectedNodes);
          if (command === 'cut') store.edit((l) => removeElements(l, selectedNodes, new Set()));
          return;
        case 'paste':
        case 'duplicate': {
          const fragment = command === 'paste' ? clipboard.current : copyFragment(s.lab, selectedNodes);
          if (!fragment || fragment.nodes.length === 0) return;
          let ids: string[] = [];
          store.edit((l) => {
            const r = pasteFragment(l, fragment, { x: 40, y: 40 });
            ids = r.ids;
            return r.lab;
          });
          if (command === 'paste')
            clipboard.current = {
              ...fragment,
              nodes: fragment.nodes.map((n) => ({
                ...n,
                position: { x: (n.position?.x ?? 0) + 40, y: (n.position?.y ?? 0) + 40 },
              })),
            };
          return store.select({ nodes: ids, edges: [] });
        }
        case 'delete':
          return store.edit((l) => removeElements(l, selectedNodes, new Set(s.selection.edges)));
        case 'selectAll':
          return store.select({ nodes: s.lab.spec.nodes.map((n) => n.id), edges: [] });
        case 'fitView':
          return zoomToFit();
        case 'autoLayout':
          store.edit((l) => moveNodes(l, autoLayout(l)));
          return void setTimeout(zoomToFit, 50);
        case 'toggleConfig':
          setShowBottom(true);
          return setTab((t) => (t === 'config' ? 'problems' : 'config'));
        case 'help':
          return setHelp(true);
        case 'escape':
          if (help) return setHelp(false);
          return store.select({ nodes: [], edges: [] });
      }
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [store, help, zoomToFit, onSave]);

  const selectedNode =
    selection.nodes.length === 1 && selection.edges.length === 0
      ? lab.spec.nodes.find((n) => n.id === selection.nodes[0])
      : undefined;
  const onRefused = useCallback(
    (m: string) => notify({ tone: 'error', title: `Cannot connect: ${m}` }),
    [notify],
  );
  const docker = info.data?.docker;

  const tabs: { id: Tab; title: string; when: boolean }[] = [
    { id: 'problems', title: `Problems${issues.length ? ` (${issues.length})` : ''}`, when: true },
    { id: 'config', title: 'Config', when: true },
    { id: 'live', title: 'Live config', when: running },
    { id: 'traffic', title: 'Traffic', when: running },
    { id: 'load', title: 'Load', when: running },
    { id: 'logs', title: 'Logs', when: running },
  ];

  return (
    <div className="grid h-screen grid-cols-[15rem_1fr_20rem] grid-rows-[3rem_1fr] bg-white text-slate-800">
      <header className="col-span-3 flex items-center gap-3 border-b border-slate-200 px-3">
        <span className="font-semibold tracking-tight text-slate-900">meshcraft</span>
        <span className="truncate text-sm text-slate-600" data-testid="lab-title">
          {open ? `${lab.metadata.title}` : 'No lab open'}
          {open?.source === 'library' && (
            <span className="ml-1 rounded bg-slate-100 px-1 text-[10px] text-slate-500">
              library · saving makes a workspace copy
            </span>
          )}
        </span>
        {open && (
          <SaveIndicator
            state={doc.state}
            onShowProblems={() => {
              setTab('problems');
              setShowBottom(true);
            }}
          />
        )}
        {running && (
          <LiveStatus
            state={liveConfig.state}
            busy={run.busy}
            onUpAgain={() => void onUpAgain()}
            onOpen={() => {
              setTab('live');
              setShowBottom(true);
            }}
          />
        )}
        {open?.restoredDraftAt && doc.state.kind !== 'saved' && (
          <span className="text-xs text-slate-500">
            restored unsaved edits from {new Date(open.restoredDraftAt).toLocaleTimeString()}{' '}
            <button type="button" className="underline" onClick={doc.discardDraft}>
              discard
            </button>
          </span>
        )}
        <ConnectionBanner ws={ws} />
        <div className="ml-auto flex shrink-0 items-center gap-1">
          <ToolButton label="Undo (Ctrl+Z)" onClick={() => store.undo()} disabled={!canUndo} testId="undo">
            ↶
          </ToolButton>
          <ToolButton
            label="Redo (Ctrl+Shift+Z)"
            onClick={() => store.redo()}
            disabled={!canRedo}
            testId="redo"
          >
            ↷
          </ToolButton>
          <ToolButton
            label="Auto-layout (L)"
            onClick={() => {
              store.edit((l) => moveNodes(l, autoLayout(l)));
              setTimeout(zoomToFit, 50);
            }}
            testId="layout"
          >
            Layout
          </ToolButton>
          <ToolButton label="Zoom to fit (F)" onClick={zoomToFit} testId="fit">
            Fit
          </ToolButton>
          <ToolButton
            label="Import a .lab.yaml or an exported .zip"
            onClick={() => importInput.current?.click()}
            testId="import"
          >
            Import
          </ToolButton>
          <input
            ref={importInput}
            type="file"
            accept=".yaml,.yml,.zip"
            className="hidden"
            data-testid="import-file"
            onChange={(e) => {
              const f = e.target.files?.[0];
              e.target.value = '';
              if (f) void onImport(f);
            }}
          />
          <ToolButton
            label="Export the project (compose + Envoy configs)"
            onClick={() => void onExport()}
            disabled={!open}
            testId="export"
          >
            Export
          </ToolButton>
          <ToolButton label="Save (Ctrl+S)" onClick={() => void onSave()} disabled={!open} testId="save">
            Save
          </ToolButton>
          <ToolButton label="Keyboard shortcuts (?)" onClick={() => setHelp(true)} testId="help-button">
            ?
          </ToolButton>
          <span className="mx-1 h-6 w-px bg-slate-200" />
          <label className="flex items-center gap-1 text-xs text-slate-600">
            driver
            <select
              className="rounded border border-slate-300 px-1 py-0.5 text-xs"
              value={driver}
              onChange={(e) => setDriver(e.target.value as Driver)}
              disabled={running || run.busy}
              data-testid="driver-select"
            >
              <option value="local">local processes</option>
              <option value="docker">docker{docker && !docker.available ? ' (not available)' : ''}</option>
              <option value="auto">auto</option>
            </select>
          </label>
          {running ? (
            <button
              type="button"
              className="shrink-0 whitespace-nowrap rounded bg-red-600 px-3 py-1 text-sm font-medium text-white disabled:opacity-50"
              disabled={run.busy}
              onClick={() => run.down()}
              data-testid="down"
            >
              {run.operation?.kind === 'down' ? 'Stopping…' : `Down · ${run.status?.driver}`}
            </button>
          ) : (
            <button
              type="button"
              className="shrink-0 whitespace-nowrap rounded bg-emerald-600 px-3 py-1 text-sm font-medium text-white disabled:opacity-50"
              disabled={!open || run.busy || errors > 0}
              title={errors > 0 ? 'Fix the problems first' : 'Bring the lab up'}
              onClick={() => void onUp()}
              data-testid="up"
            >
              {run.busy ? 'Starting…' : 'Up'}
            </button>
          )}
        </div>
      </header>

      <aside className="row-start-2 min-h-0 border-r border-slate-200 bg-slate-50">
        <LabList
          current={open}
          onOpen={(k) => void openLab(k)}
          onNew={newLab}
          onDeleted={doc.detach}
          onRenamed={doc.renamed}
          openIsUp={run.status !== null || run.busy}
        />
      </aside>

      <main className="row-start-2 flex min-h-0 min-w-0 flex-col">
        <div className="relative min-h-0 flex-1">
          {doc.loadError && (
            <p className="absolute inset-x-0 top-0 z-10 bg-red-50 p-2 text-sm text-red-700" role="alert">
              {doc.loadError}
            </p>
          )}
          <Canvas issueCounts={issueCounts} onRefused={onRefused} />
          <div className="absolute left-3 top-3 z-10">
            <Palette />
          </div>
          {showProgress && (run.events.length > 0 || run.failure) && (
            <div className="absolute right-3 top-3 z-10">
              <Suspense fallback={null}>
                <RunProgress
                  events={run.events}
                  failure={run.failure}
                  running={run.busy}
                  onClose={() => {
                    setShowProgress(false);
                    run.dismissFailure();
                  }}
                />
              </Suspense>
            </div>
          )}
          <div
            className="pointer-events-none absolute inset-x-0 bottom-3 z-20 flex flex-col items-center gap-2"
            aria-live="polite"
          >
            {notices.map((n) => (
              <div
                key={n.id}
                className={`pointer-events-auto max-w-xl rounded-md border px-3 py-2 text-xs shadow-md ${n.tone === 'error' ? 'border-red-200 bg-red-50 text-red-800' : 'border-slate-200 bg-white text-slate-700'}`}
                role={n.tone === 'error' ? 'alert' : 'status'}
                data-testid="notice"
              >
                <div className="flex gap-3">
                  <span className="font-semibold">{n.title}</span>
                  <button
                    type="button"
                    className="ml-auto text-slate-400 hover:text-slate-700"
                    aria-label="Dismiss"
                    onClick={() => setNotices((prev) => prev.filter((x) => x.id !== n.id))}
                  >
                    ✕
                  </button>
                </div>
                {n.lines?.filter(Boolean).map((l) => (
                  <div key={l} className="mt-0.5 font-mono text-[11px]">
                    {l}
                  </div>
                ))}
              </div>
            ))}
          </div>
        </div>
        <div className={`flex flex-col border-t border-slate-200 ${showBottom ? 'h-72' : ''}`}>
          <div className="flex items-center gap-1 bg-slate-50 px-2" role="tablist">
            {tabs
              .filter((t) => t.when)
              .map((t) => (
                <button
                  key={t.id}
                  type="button"
                  role="tab"
                  aria-selected={showBottom && tab === t.id}
                  data-testid={`tab-${t.id}`}
                  className={`border-b-2 px-2 py-1 text-xs ${showBottom && tab === t.id ? 'border-blue-600 text-blue-700' : 'border-transparent text-slate-600 hover:text-slate-900'} ${t.id === 'problems' && errors > 0 ? 'text-red-700' : ''}`}
                  onClick={() => {
                    setTab(t.id);
                    setShowBottom(true);
                  }}
                >
                  {t.title}
                </button>
              ))}
            <button
              type="button"
              className="ml-auto text-xs text-slate-500"
              onClick={() => setShowBottom(!showBottom)}
              aria-label={showBottom ? 'Hide panel' : 'Show panel'}
            >
              {showBottom ? '▾' : '▴'}
            </button>
          </div>
          {showBottom && (
            <div className="min-h-0 flex-1 overflow-auto" role="tabpanel">
              <Suspense fallback={<p className="p-3 text-sm text-slate-500">Loading…</p>}>
                {tab === 'problems' && <ProblemsPanel issues={issues} lab={lab} />}
                {tab === 'config' && <ConfigView lab={lab} issues={issues} selectedNode={selectedNode?.id} />}
                {tab === 'live' && running && (
                  <LiveConfigPanel
                    state={liveConfig.state}
                    busy={run.busy}
                    onUpAgain={() => void onUpAgain()}
                  />
                )}
                {tab === 'traffic' && running && <TrafficPanel lab={lab} frames={frames} />}
                {tab === 'load' && running && labId && <LoadPanel lab={lab} labId={labId} />}
                {tab === 'logs' && running && labId && (
                  <LogsPanel lab={lab} labId={labId} node={selectedNode?.id} />
                )}
              </Suspense>
            </div>
          )}
        </div>
      </main>

      <aside className="row-start-2 min-h-0 border-l border-slate-200">
        <Inspector
          issues={issues}
          footer={
            running && labId ? (
              <Suspense fallback={null}>
                <LiveActions lab={lab} labId={labId} selection={selection} />
              </Suspense>
            ) : null
          }
        />
      </aside>
      {help && (
        <Suspense fallback={null}>
          <HelpOverlay onClose={() => setHelp(false)} />
        </Suspense>
      )}
    </div>
  );
}

function ToolButton({
  label,
  onClick,
  disabled,
  children,
  testId,
}: {
  label: string;
  onClick: () => void;
  disabled?: boolean;
  children: React.ReactNode;
  testId: string;
}) {
  return (
    <button
      type="button"
      title={label}
      aria-label={label}
      onClick={onClick}
      disabled={disabled}
      data-testid={testId}
      className="rounded px-2 py-1 text-xs text-slate-700 hover:bg-slate-100 disabled:opacity-40"
    >
      {children}
    </button>
  );
}
