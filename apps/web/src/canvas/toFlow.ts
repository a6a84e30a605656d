/**
 * The lab as React Flow nodes and edges. Each flow element is rebuilt only when its lab element,
 * its selection, its issue counts or its measured size changed, so React Flow (and the memoised
 * node components) skip everything else on each edit.
 */
import type { Lab, LabEdge, LabNode } from '@meshcraft/topology';
import type { Edge, Node } from '@xyflow/react';
import { edgeSource, sourceHandleOf, TARGET_HANDLE } from '../editor/handles.js';
import type { EdgeLabel } from '../editor/labels.js';
import type { IssueCounts } from './context.js';

export interface LabNodeData extends Record<string, unknown> {
  node: LabNode;
  issues?: IssueCounts;
}

export interface LabEdgeData extends Record<string, unknown> {
  edge: LabEdge;
  /** Static label: the route's match (or a member's port and priority), and the configured weight. */
  label?: string;
  weight?: string;
  issues?: IssueCounts;
}

export type LabFlowNode = Node<LabNodeData, 'lab'>;
export type LabFlowEdge = Edge<LabEdgeData, 'lab'>;

interface Size {
  width: number;
  height: number;
}

export class FlowCache {
  private nodes = new WeakMap<LabNode, LabFlowNode>();
  private edges = new WeakMap<LabEdge, LabFlowEdge>();

  toNodes(
    lab: Lab,
    selected: ReadonlySet<string>,
    issues: ReadonlyMap<string, IssueCounts>,
    sizes: ReadonlyMap<string, Size>,
  ): LabFlowNode[] {
    return lab.spec.nodes.map((n, i) => {
      const old = this.nodes.get(n);
      const isSelected = selected.has(n.id);
      const counts = issues.get(n.id);
      const size = sizes.get(n.id);
      if (old && old.selected === isSelected && sameCounts(old.data.issues, counts) && old.measured === size)
        return old;
      const fresh: LabFlowNode = {
        id: n.id,
        type: 'lab',
        position: n.position ?? { x: (i % 6) * 260, y: Math.floor(i / 6) * 160 },
        data: { node: n, issues: counts },
        selected: isSelected,
        ...(size ? { measured: size } : {}),
      };
      this.nodes.set(n, fresh);
      return fresh;
    });
  }

  toEdges(
    lab: Lab,
    selected: ReadonlySet<string>,
    issues: ReadonlyMap<string, IssueCounts>,
    labels: ReadonlyMap<string, EdgeLabel>,
  ): LabFlowEdge[] {
    return lab.spec.edges.map((e) => {
      const old = this.edges.get(e);
      const isSelected = selected.has(e.id);
      const counts = issues.get(e.id);
      const { text: label, weight } = labels.get(e.id) ?? {};
      if (
        old &&
        old.selected === isSelected &&
        sameCounts(old.data?.issues, counts) &&
        old.data?.label === label &&
        old.data?.weight === weight
      )
        return old;
      const fresh: LabFlowEdge = {
        id: e.id,
        type: 'lab',
        source: edgeSource(e),
        sourceHandle: sourceHandleOf(e),
        target: e.to,
        targetHandle: TARGET_HANDLE,
        selected: isSelected,
        data: { edge: e, label, weight, issues: counts },
      };
      this.edges.set(e, fresh);
      return fresh;
    });
  }
}

function sameCounts(a: IssueCounts | undefined, b: IssueCounts | undefined): boolean {
  return (
    a === b || (a !== undefined && b !== undefined && a.errors === b.errors && a.warnings === b.warnings)
  );
}
