import {
  Background,
  type Connection,
  Controls,
  type EdgeChange,
  MiniMap,
  type NodeChange,
  ReactFlow,
  type ReactFlowState,
  useReactFlow,
  useStore,
} from '@xyflow/react';
import { type DragEvent, useCallback, useMemo, useRef, useState } from 'react';
import { edgeForConnection } from '../editor/handles.js';
import { isPaletteKind, PALETTE_MIME } from '../editor/kinds.js';
import { edgeLabels } from '../editor/labels.js';
import { addEdge, addNode, moveNodes, type XY } from '../editor/ops.js';
import { useEditor } from '../editor/store.js';
import { type IssueCounts, useEditorContext } from './context.js';
import { LabEdgeView } from './LabEdgeView.js';
import { LabNodeView } from './LabNodeView.js';
import { FlowCache, type LabFlowEdge, type LabFlowNode } from './toFlow.js';

const nodeTypes = { lab: LabNodeView };

const KIND_COLOUR: Record<string, string> = {
  frontProxy: '#8b5cf6',
  service: '#0ea5e9',
  cluster: '#f59e0b',
  client: '#10b981',
  controlPlane: '#f43f5e',
};

/** Below this zoom, text on nodes and edges is too small to read, and is not drawn (see styles.css). */
export const DETAIL_ZOOM = 0.45;
const isFar = (s: ReactFlowState) => s.transform[2] < DETAIL_ZOOM;

function minimapColour(n: LabFlowNode): string {
  return KIND_COLOUR[n.data.node.kind] ?? '#94a3b8';
}
const edgeTypes = { lab: LabEdgeView };

interface Props {
  issueCounts: ReadonlyMap<string, IssueCounts>;
  /** Called with a sentence when a drag ends on something it cannot connect to. */
  onRefused: (message: string) => void;
}

export function Canvas({ issueCounts, onRefused }: Props) {
  const { store } = useEditorContext();
  const lab = useEditor(store, (s) => s.lab);
  const selection = useEditor(store, (s) => s.selection);
  const { screenToFlowPosition } = useReactFlow();
  const far = useStore(isFar);
  const cache = useRef(new FlowCache()).current;
  const [sizes, setSizes] = useState<ReadonlyMap<string, { width: number; height: number }>>(new Map());

  const selectedNodes = useMemo(() => new Set(selection.nodes), [selection.nodes]);
  const selectedEdges = useMemo(() => new Set(selection.edges), [selection.edges]);
  const labels = useMemo(() => edgeLabels(lab), [lab]);
  const nodes = useMemo(
    () => cache.toNodes(lab, selectedNodes, issueCounts, sizes),
    [cache, lab, selectedNodes, issueCounts, sizes],
  );
  const edges = useMemo(
    () => cache.toEdges(lab, selectedEdges, issueCounts, labels),
    [cache, lab, selectedEdges, issueCounts, labels],
  );

  const onNodesChange = useCallback(
    (changes: NodeChange<LabFlowNode>[]) => {
      const moves = new Map<string, XY>();
      let dragEnded = false;
      const measured = new Map<string, { width: number; height: number }>();
      const selected = new Set(store.getState().selection.nodes);
      let selectionChanged = false;
      for (const c of changes) {
        if (c.type === 'position' && c.position) {
          moves.set(c.id, c.position);
          if (c.dragging === false) dragEnded = true;
        } else if (c.type === 'position' && c.dragging === false) dragEnded = true;
        else if (c.type === 'dimensions' && c.dimensions) measured.set(c.id, c.dimensions);
        else if (c.type === 'select') {
          selectionChanged = true;
          if (c.selected) selected.add(c.id);
          else selected.delete(c.id);
        }
      }
      if (moves.size)
        store.edit((l) => moveNodes(l, moves), { coalesce: `move:${[...moves.keys()].sort().join(',')}` });
      if (dragEnded) store.seal();
      if (measured.size) setSizes((prev) => new Map([...prev, ...measured]));
      if (selectionChanged) store.select({ nodes: [...selected], edges: store.getState().selection.edges });
    },
    [store],
  );

  const onEdgesChange = useCallback(
    (changes: EdgeChange<LabFlowEdge>[]) => {
      const selected = new Set(store.getState().selection.edges);
      let changed = false;
      for (const c of changes) {
        if (c.type !== 'select') continue;
        changed = true;
        if (c.selected) selected.add(c.id);
        else selected.delete(c.id);
      }
      if (changed) store.select({ nodes: store.getState().selection.nodes, edges: [...selected] });
    },
    [store],
  );

  const isValidConnection = useCallback(
    (c: Connection | LabFlowEdge) => 'edge' in edgeForConnection(store.getState().lab, c),
    [store],
  );

  const onConnect = useCallback(
    (c: Connection) => {
      const result = edgeForConnection(store.getState().lab, c);
      if ('refused' in result) onRefused(result.refused);
      else {
        store.edit((l) => addEdge(l, result.edge));
        store.select({ nodes: [], edges: [result.edge.id] });
      }
    },
    [store, onRefused],
  );

  const onDragOver = useCallback((e: DragEvent) => {
    if (!e.dataTransfer.types.includes(PALETTE_MIME)) return;
    e.preventDefault();
    e.dataTransfer.dropEffect = 'copy';
  }, []);

  const onDrop = useCallback(
    (e: DragEvent) => {
      const kind = e.dataTransfer.getData(PALETTE_MIME);
      if (!isPaletteKind(kind)) return;
      e.preventDefault();
      // Drop point is the node's centre-left, where the pointer holds a palette card.
      const p = screenToFlowPosition({ x: e.clientX, y: e.clientY });
      let id = '';
      store.edit((l) => {
        const r = addNode(l, kind, { x: p.x - 20, y: p.y - 30 });
        id = r.id;
        return r.lab;
      });
      store.select({ nodes: [id], edges: [] });
    },
    [store, screenToFlowPosition],
  );

  return (
    <ReactFlow<LabFlowNode, LabFlowEdge>
      nodes={nodes}
      edges={edges}
      nodeTypes={nodeTypes}
      edgeTypes={edgeTypes}
      onNodesChange={onNodesChange}
      onEdgesChange={onEdgesChange}
      onConnect={onConnect}
      isValidConnection={isValidConnection}
      onDragOver={onDragOver}
      onDrop={onDrop}
      deleteKeyCode={null}
      multiSelectionKeyCode={['Shift', 'Meta', 'Control']}
      selectionKeyCode="Shift"
      minZoom={0.1}
      maxZoom={2.5}
      onlyRenderVisibleElements
      proOptions={{ hideAttribution: true }}
      className={`bg-slate-50 ${far ? 'mc-far' : ''}`}
    >
      {/* Zoomed far out the dots crowd into a grey wash that costs a full repaint per pan step. */}
      {!far && <Background gap={24} size={1} color="#cbd5e1" />}
      <MiniMap
        pannable
        zoomable
        nodeColor={minimapColour}
        nodeStrokeWidth={2}
        className="!rounded-md !border !border-slate-200"
      />
      <Controls showInteractive={false} />
    </ReactFlow>
  );
}
