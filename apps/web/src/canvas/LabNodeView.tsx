import { Handle, type NodeProps, Position } from '@xyflow/react';
import { memo } from 'react';
import { hasTarget, MEMBERS_HANDLE, portChips, routeHandles, TARGET_HANDLE } from '../editor/handles.js';
import { KIND_TITLE } from '../editor/kinds.js';
import { type EndpointHealth, useKeyed } from '../live/store.js';
import { useEditorContext } from './context.js';
import { KindIcon } from './icons.js';
import { useRenderCount } from './renderCount.js';
import type { LabFlowNode } from './toFlow.js';

const KIND_ACCENT: Record<string, string> = {
  frontProxy: 'text-violet-600 bg-violet-50',
  service: 'text-sky-600 bg-sky-50',
  cluster: 'text-amber-600 bg-amber-50',
  client: 'text-emerald-600 bg-emerald-50',
  controlPlane: 'text-rose-600 bg-rose-50',
};

export const HEALTH_STYLE: Record<EndpointHealth, { dot: string; label: string }> = {
  healthy: { dot: 'bg-emerald-500', label: 'healthy' },
  failedActiveHc: { dot: 'bg-red-500', label: 'failed active health check' },
  ejected: { dot: 'bg-orange-500', label: 'outlier-ejected' },
  unhealthy: { dot: 'bg-red-400', label: 'unhealthy (as its control plane says)' },
  degraded: { dot: 'bg-yellow-400', label: 'degraded' },
  stopped: { dot: 'bg-slate-400', label: 'stopped' },
  unknown: { dot: 'bg-slate-300', label: 'no data yet' },
};

/** The overall health a node shows: the worst of its endpoints; a node without endpoints (a proxy, a client) shows whether it runs. */
export function nodeHealth(endpoints: readonly EndpointHealth[], running: boolean): EndpointHealth {
  if (!running) return 'stopped';
  if (endpoints.length === 0) return 'healthy';
  for (const h of ['failedActiveHc', 'unhealthy', 'ejected', 'degraded', 'stopped'] as const)
    if (endpoints.includes(h)) return h;
  return endpoints.every((e) => e === 'unknown') ? 'unknown' : 'healthy';
}

function LabNodeViewImpl({ id, data, selected }: NodeProps<LabFlowNode>) {
  useRenderCount('node', id);
  const { live } = useEditorContext();
  const state = useKeyed(live.nodes, id);
  const config = useKeyed(live.config, id);
  const { node, issues } = data;
  const routes = routeHandles(node);
  const chips = portChips(node);
  const health = state ? nodeHealth(state.endpoints, state.running) : undefined;
  const title = node.label ?? node.id;
  const subtitle =
    node.kind === 'service'
      ? `${node.app.role === 'demoapp' ? `demoapp ${node.app.version ?? 'v1.0'}` : node.app.image}${node.sidecar ? ' + sidecar' : ''}${(node.replicas ?? 1) > 1 ? ` ×${node.replicas}` : ''}`
      : node.kind === 'cluster'
        ? `${node.discovery} · ${node.lbPolicy ?? 'ROUND_ROBIN'}${node.healthChecks?.length ? ' · HC' : ''}`
        : KIND_TITLE[node.kind];
  return (
    <div
      data-testid={`node-${id}`}
      data-health={health ?? 'none'}
      className={`min-w-48 rounded-lg border bg-white transition-colors ${
        selected
          ? 'border-blue-500 ring-2 ring-blue-200'
          : issues?.errors
            ? 'border-red-300'
            : 'border-slate-300'
      } ${health === 'failedActiveHc' || health === 'unhealthy' || health === 'ejected' ? 'bg-red-50' : health === 'stopped' ? 'opacity-60' : ''}`}
    >
      {hasTarget(node) && (
        <Handle
          type="target"
          position={Position.Left}
          id={TARGET_HANDLE}
          className="!h-3 !w-3 !border-2 !border-white !bg-slate-500"
        />
      )}
      <div className="flex items-center gap-2 px-3 pt-2">
        <span className={`rounded-md p-1 ${KIND_ACCENT[node.kind]}`}>
          <KindIcon kind={node.kind} className="h-4 w-4" />
        </span>
        <div className="min-w-0 flex-1">
          <div className="truncate text-sm font-semibold text-slate-800">{title}</div>
          <div className="mc-detail truncate text-[11px] text-slate-500">{subtitle}</div>
        </div>
        {issues?.errors ? (
          <span
            className="rounded-full bg-red-100 px-1.5 text-[10px] font-semibold text-red-700"
            title={`${issues.errors} problem(s)`}
          >
            {issues.errors}
          </span>
        ) : issues?.warnings ? (
          <span
            className="rounded-full bg-amber-100 px-1.5 text-[10px] font-semibold text-amber-700"
            title={`${issues.warnings} warning(s)`}
          >
            {issues.warnings}
          </span>
        ) : null}
        {config && (
          <span
            className={`rounded px-1 text-[10px] font-semibold ${config.kind === 'rejected' ? 'bg-red-600 text-white' : 'bg-amber-100 text-amber-800'}`}
            title={config.title}
            data-testid={`config-badge-${id}`}
            data-kind={config.kind}
          >
            {config.kind === 'rejected' ? 'NACK' : 'out of sync'}
          </span>
        )}
        {health && (
          <span
            className={`h-2.5 w-2.5 rounded-full ${HEALTH_STYLE[health].dot}`}
            title={HEALTH_STYLE[health].label}
            data-testid={`health-${id}`}
          />
        )}
      </div>
      {chips.length > 0 && (
        <div className="mc-detail flex flex-wrap gap-1 px-3 pt-1.5">
          {chips.map((c) => (
            <span
              key={`${c.direction}:${c.port}:${c.protocol}`}
              className="rounded bg-slate-100 px-1.5 py-px font-mono text-[10px] text-slate-600"
            >
              {c.direction === 'egress' ? '↗' : c.direction === 'app' ? 'app' : ''}:{c.port}
              {c.protocol !== 'http' && c.protocol !== 'app' ? `/${c.protocol}` : ''}
            </span>
          ))}
        </div>
      )}
      {state && state.endpoints.length > 1 && (
        <ul className="flex gap-1 px-3 pt-1.5" aria-label="replicas">
          {state.endpoints.map((h, i) => (
            <li
              // biome-ignore lint/suspicious/noArrayIndexKey: one mark per replica, in replica order
              key={i}
              className={`h-2 w-4 rounded-sm ${HEALTH_STYLE[h].dot}`}
              title={`replica ${i + 1}: ${HEALTH_STYLE[h].label}`}
            />
          ))}
        </ul>
      )}
      <div className="pb-2 pt-1">
        {routes.map((r) => (
          <div
            key={r.id}
            className="relative flex items-center justify-end px-3 py-0.5 text-[11px] text-slate-600"
          >
            <span className="mc-detail truncate font-mono" title={`${r.direction} listener ${r.listener}`}>
              {r.direction === 'egress' ? '↗ ' : ''}
              {r.label}
            </span>
            <Handle
              type="source"
              position={Position.Right}
              id={r.id}
              className="!h-3 !w-3 !border-2 !border-white !bg-violet-500"
              style={{ right: -6 }}
            />
          </div>
        ))}
        {node.kind === 'cluster' && (
          <div className="relative flex items-center justify-end px-3 py-0.5 text-[11px] text-slate-500">
            members
            <Handle
              type="source"
              position={Position.Right}
              id={MEMBERS_HANDLE}
              className="!h-3 !w-3 !border-2 !border-white !bg-amber-500"
              style={{ right: -6 }}
            />
          </div>
        )}
      </div>
    </div>
  );
}

export const LabNodeView = memo(LabNodeViewImpl);
