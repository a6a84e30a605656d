import { BaseEdge, EdgeLabelRenderer, type EdgeProps, getBezierPath } from '@xyflow/react';
import { memo } from 'react';
import { useKeyed } from '../live/store.js';
import { useEditorContext } from './context.js';
import { useRenderCount } from './renderCount.js';
import type { LabFlowEdge } from './toFlow.js';

/** Seconds per dash cycle: busier edges flow faster, within what the eye can follow. */
export function flowSeconds(rps: number): number {
  return Math.max(0.3, Math.min(2.5, 2.5 / Math.log2(2 + rps)));
}

function LabEdgeViewImpl(props: EdgeProps<LabFlowEdge>) {
  const { id, data, selected, sourceX, sourceY, targetX, targetY, sourcePosition, targetPosition } = props;
  useRenderCount('edge', id);
  const { live } = useEditorContext();
  const state = useKeyed(live.edges, id);
  const [path, labelX, labelY] = getBezierPath({
    sourceX,
    sourceY,
    targetX,
    targetY,
    sourcePosition,
    targetPosition,
  });
  const membership = data?.edge.kind === 'membership';
  const flowing = state !== undefined && state.rps > 0.05;
  const stroke = data?.issues?.errors ? '#ef4444' : selected ? '#3b82f6' : membership ? '#d97706' : '#7c3aed';
  return (
    <>
      <BaseEdge
        id={id}
        path={path}
        className={flowing ? 'mc-flow' : undefined}
        style={{
          stroke,
          strokeWidth: selected ? 2.5 : flowing ? 1.5 + Math.min(3, state.share * 4) : 1.5,
          ...(flowing ? { animationDuration: `${flowSeconds(state.rps)}s` } : {}),
          ...(state && !flowing ? { strokeDasharray: '4 4', opacity: 0.5 } : {}),
        }}
      />
      {(data?.label || data?.weight || state) && (
        <EdgeLabelRenderer>
          <div
            className="mc-detail nodrag nopan pointer-events-auto absolute z-10 rounded border border-slate-200 bg-white px-1.5 py-px font-mono text-[10px] text-slate-600"
            style={{ transform: `translate(-50%, -50%) translate(${labelX}px, ${labelY}px)` }}
            data-testid={`edge-label-${id}`}
          >
            {[data?.label, state ? undefined : data?.weight].filter(Boolean).join(' · ')}
            {state && (
              <span
                className="font-semibold text-slate-800"
                data-testid={`edge-share-${id}`}
                data-share={Math.round(state.share * 100)}
              >
                {data?.label ? ' · ' : ''}
                {state.rps.toFixed(1)}/s · {Math.round(state.share * 100)}%
              </span>
            )}
          </div>
        </EdgeLabelRenderer>
      )}
    </>
  );
}

export const LabEdgeView = memo(LabEdgeViewImpl);
