/**
 * Actions on a running node, in the inspector: a demo app's livez/readyz switches (per replica),
 * a proxy's health-check fail/ok, traffic-split sliders of its weighted routes, stop/start.
 * Switches and sliders show what the running lab holds, read back from it every READ_BACK_MS (so
 * a change made in another tab or through the API shows here too); while a change made here is on
 * its way, they show that change.
 */
import { clusterName, type Lab, LabIndex, type LabNode } from '@meshcraft/topology';
import { useMutation, useQuery } from '@tanstack/react-query';
import { useEffect, useRef, useState } from 'react';
import { errorInfo, type Outputs, useTRPC } from '../api/trpc.js';
import type { Selection } from '../editor/store.js';

type Probe = 'livez' | 'readyz';
type ProbeValue = 'OK' | 'FAIL';

const READ_BACK_MS = 2000;

function Segmented<T extends string>({
  label,
  value,
  options,
  onChange,
  testId,
}: {
  label: string;
  value: T | undefined;
  options: readonly T[];
  onChange: (v: T) => void;
  testId?: string;
}) {
  return (
    <div className="flex items-center gap-2 py-0.5 text-xs">
      <span className="w-28 truncate text-slate-600">{label}</span>
      <fieldset
        className="inline-flex overflow-hidden rounded border border-slate-300"
        aria-label={label}
        data-testid={testId}
      >
        {options.map((o) => (
          <button
            key={o}
            type="button"
            aria-pressed={value === o}
            onClick={() => onChange(o)}
            className={`px-2 py-0.5 ${value === o ? (o === 'FAIL' || o === 'fail' || o === 'stop' ? 'bg-red-600 text-white' : 'bg-emerald-600 text-white') : 'bg-white text-slate-600 hover:bg-slate-50'}`}
          >
            {o}
          </button>
        ))}
      </fieldset>
    </div>
  );
}

export function splitsOf(lab: Lab, nodeId: string) {
  const index = new LabIndex(lab);
  const proxy = index.proxyByNode.get(nodeId);
  if (!proxy) return [];
  return proxy.listeners.flatMap((l) =>
    (l.spec.virtualHosts ?? []).flatMap((vh) =>
      vh.routes
        .filter((r) => r.runtimeKeyPrefix)
        .map((r) => {
          const edges = index.edgesFrom(nodeId, { route: r.id });
          return {
            route: r.id,
            prefix: r.runtimeKeyPrefix!,
            total: r.totalWeight ?? edges.reduce((s, e) => s + (e.weight ?? 0), 0),
            clusters: edges.map((e) => {
              const c = index.cluster(e.to);
              return { id: e.to, name: c ? clusterName(c) : e.to, weight: e.weight ?? 0 };
            }),
          };
        })
        .filter((s) => s.clusters.length > 1),
    ),
  );
}

type Split = ReturnType<typeof splitsOf>[number];

/**
 * The weights a proxy splits a route by: each cluster's runtime key (`<prefix>.<cluster name>`)
 * when the proxy holds one, else the weight the lab configures (as Envoy does).
 */
export function heldWeights(
  split: Split,
  entries: Record<string, string> | undefined,
): { weights: number[]; fromRuntime: boolean } {
  let fromRuntime = false;
  const weights = split.clusters.map((c) => {
    const v = entries?.[`${split.prefix}.${c.name}`];
    if (v === undefined || v.trim() === '' || !Number.isFinite(Number(v))) return c.weight;
    fromRuntime = true;
    return Number(v);
  });
  return { weights, fromRuntime };
}

export function SplitSlider({ labId, node, split }: { labId: string; node: string; split: Split }) {
  const trpc = useTRPC();
  const runtime = useQuery({
    ...trpc.actions.runtime.queryOptions({ labId, target: node }),
    refetchInterval: READ_BACK_MS,
  });
  // A node with replicas runs one proxy per replica, all given the same keys: the first speaks for all.
  const held = heldWeights(split, runtime.data?.[0]?.entries);
  /** This tab's change, shown until the proxy is read back holding it. */
  const [moving, setMoving] = useState<number[]>();
  const changes = useRef(0);
  const [error, setError] = useState<string>();
  const modify = useMutation({
    ...trpc.actions.runtimeModify.mutationOptions(),
    onError: (e) => {
      setError(errorInfo(e).message);
      setMoving(undefined);
    },
    onSuccess: async () => {
      setError(undefined);
      const sent = changes.current;
      await runtime.refetch();
      if (changes.current === sent) setMoving(undefined);
    },
  });
  const pending = useRef<ReturnType<typeof setTimeout>>(undefined);
  useEffect(() => () => clearTimeout(pending.current), []);
  const send = (next: number[]) => {
    setMoving(next);
    changes.current++;
    clearTimeout(pending.current);
    // Dragging sends at most every 150 ms; the last position always goes out.
    pending.current = setTimeout(() => {
      modify.mutate({
        labId,
        target: node,
        values: Object.fromEntries(
          split.clusters.map((c, i) => [`${split.prefix}.${c.name}`, String(next[i])]),
        ),
      });
    }, 150);
  };
  const weights = moving ?? held.weights;
  const two = split.clusters.length === 2;
  return (
    <div className="py-1 text-xs" data-testid={`split-${node}-${split.route}`}>
      <div className="mb-0.5 font-medium text-slate-700">Traffic split · route {split.route}</div>
      {split.clusters.map((c, i) =>
        two && i === 1 ? (
          <div key={c.id} className="flex items-center gap-2 text-slate-600">
            <span className="w-28 truncate font-mono">{c.id}</span>
            <span className="tabular-nums" data-testid={`weight-${c.id}`}>
              {weights[1]}
            </span>
          </div>
        ) : (
          <label key={c.id} className="flex items-center gap-2 text-slate-600">
            <span className="w-28 truncate font-mono">{c.id}</span>
            <input
              type="range"
              min={0}
              max={split.total || 100}
              value={weights[i]}
              aria-label={`weight of ${c.id}`}
              data-testid={`slider-${c.id}`}
              className="flex-1 accent-indigo-600"
              onChange={(e) => {
                const v = Number(e.target.value);
                send(two ? [v, (split.total || 100) - v] : weights.map((w, j) => (j === i ? v : w)));
              }}
            />
            <span className="w-8 text-right tabular-nums" data-testid={`weight-${c.id}`}>
              {weights[i]}
            </span>
          </label>
        ),
      )}
      <p
        className="text-[11px] text-slate-500"
        data-testid="split-source"
        data-source={held.fromRuntime ? 'runtime' : 'config'}
      >
        {runtime.isPending
          ? 'reading the proxy’s runtime…'
          : held.fromRuntime
            ? `runtime keys hold the split (the lab configures ${split.clusters.map((c) => c.weight).join('/')}; weight edits change traffic once no key is set)`
            : 'the configured weights (no runtime key set)'}
      </p>
      {runtime.isError && (
        <p className="text-amber-700">could not read the runtime: {errorInfo(runtime.error).message}</p>
      )}
      {error && <p className="text-red-600">{error}</p>}
    </div>
  );
}

type ProbeStates = Outputs['actions']['probes'];

export function NodeActions({ lab, labId, node }: { lab: Lab; labId: string; node: LabNode }) {
  const trpc = useTRPC();
  const [error, setError] = useState<string>();
  const onError = (e: unknown) => setError(errorInfo(e).message);
  const onSuccess = () => setError(undefined);
  const demoapp = node.kind === 'service' && node.app.role === 'demoapp';
  const probes = useQuery({
    ...trpc.actions.probes.queryOptions({ labId, target: node.id }),
    enabled: demoapp,
    refetchInterval: READ_BACK_MS,
  });
  /** Probe values set here, by `<target>/<probe>`, shown until the app is read back holding them. */
  const [setting, setSetting] = useState<Record<string, ProbeValue>>({});
  const probe = useMutation({
    ...trpc.actions.setProbe.mutationOptions(),
    onError,
    onSuccess,
    onSettled: async (_data, _err, v) => {
      await probes.refetch();
      const key = `${v.target}/${v.probe}`;
      setSetting((s) => {
        if (s[key] !== v.value) return s;
        const { [key]: _, ...rest } = s;
        return rest;
      });
    },
  });
  const healthcheck = useMutation({ ...trpc.actions.healthcheck.mutationOptions(), onError, onSuccess });
  const nodeAction = useMutation({ ...trpc.lifecycle.nodeAction.mutationOptions(), onError, onSuccess });
  const hasProxy =
    node.kind === 'frontProxy' ||
    ((node.kind === 'service' || node.kind === 'client') && node.sidecar !== undefined);
  const replicas = node.kind === 'service' ? (node.replicas ?? 1) : 1;
  const targets =
    replicas > 1 ? Array.from({ length: replicas }, (_, i) => `${node.id}-${i + 1}`) : [node.id];
  const setProbe = (target: string, p: Probe, value: ProbeValue) => {
    setSetting((s) => ({ ...s, [`${target}/${p}`]: value }));
    probe.mutate({ labId, target, probe: p, value });
  };
  const held = (data: ProbeStates | undefined, target: string, p: Probe) =>
    data?.find((a) => a.namespace === target)?.[p];
  return (
    <section
      className="border-t border-slate-200 bg-slate-50 px-3 py-2"
      aria-label="Live actions"
      data-testid="node-actions"
    >
      <h3 className="mb-1 text-[11px] font-semibold uppercase tracking-wide text-slate-500">Live</h3>
      {demoapp &&
        targets.flatMap((t) =>
          (['livez', 'readyz'] as const).map((p) => (
            <Segmented
              key={`${t}/${p}`}
              label={`${replicas > 1 ? `replica ${t.slice(node.id.length + 1)} ` : ''}${p}`}
              value={setting[`${t}/${p}`] ?? held(probes.data, t, p)}
              options={['OK', 'FAIL'] as const}
              onChange={(v) => setProbe(t, p, v)}
              testId={`probe-${t}-${p}`}
            />
          )),
        )}
      {demoapp && probes.isError && (
        <p className="text-xs text-amber-700">
          could not read livez/readyz: {errorInfo(probes.error).message}
        </p>
      )}
      {hasProxy && (
        <Segmented
          label="proxy healthcheck"
          value={undefined}
          options={['ok', 'fail'] as const}
          onChange={(v) => healthcheck.mutate({ labId, target: node.id, value: v })}
          testId={`healthcheck-${node.id}`}
        />
      )}
      {splitsOf(lab, node.id).map((s) => (
        <SplitSlider key={s.route} labId={labId} node={node.id} split={s} />
      ))}
      {node.kind !== 'cluster' && (
        <div className="mt-1 flex gap-2">
          {(['stop', 'start', 'restart'] as const).map((a) => (
            <button
              key={a}
              type="button"
              disabled={nodeAction.isPending}
              onClick={() => nodeAction.mutate({ labId, target: node.id, action: a })}
              className="rounded border border-slate-300 bg-white px-2 py-0.5 text-xs text-slate-700 hover:bg-slate-100 disabled:opacity-50"
            >
              {nodeAction.isPending && nodeAction.variables?.action === a ? `${a}…` : a}
            </button>
          ))}
        </div>
      )}
      {error && (
        <p className="mt-1 text-xs text-red-600" role="alert">
          {error}
        </p>
      )}
    </section>
  );
}

/** The live actions for the selection: a node's, or the split slider of a selected route edge. */
export function LiveActions({ lab, labId, selection }: { lab: Lab; labId: string; selection: Selection }) {
  if (selection.nodes.length === 1 && selection.edges.length === 0) {
    const node = lab.spec.nodes.find((n) => n.id === selection.nodes[0]);
    return node ? <NodeActions lab={lab} labId={labId} node={node} /> : null;
  }
  if (selection.edges.length === 1 && selection.nodes.length === 0) {
    const edge = lab.spec.edges.find((e) => e.id === selection.edges[0]);
    if (!edge || edge.kind === 'membership') return null;
    const split = splitsOf(lab, edge.from.node).find((s) => s.route === edge.from.route);
    return split ? (
      <div className="border-t border-slate-200 bg-slate-50 px-3 py-2">
        <SplitSlider labId={labId} node={edge.from.node} split={split} />
      </div>
    ) : null;
  }
  return null;
}
