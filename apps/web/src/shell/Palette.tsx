import { useReactFlow } from '@xyflow/react';
import { useEditorContext } from '../canvas/context.js';
import { KindIcon } from '../canvas/icons.js';
import { PALETTE, PALETTE_MIME, type PaletteKind } from '../editor/kinds.js';
import { addNode } from '../editor/ops.js';

const ICON_KIND: Record<PaletteKind, 'frontProxy' | 'service' | 'cluster' | 'client'> = {
  frontProxy: 'frontProxy',
  serviceSidecar: 'service',
  service: 'service',
  cluster: 'cluster',
  client: 'client',
};

/** Node kinds to drag onto the canvas; a click (or Enter) drops one in the middle of the view. */
export function Palette() {
  const { store } = useEditorContext();
  const { screenToFlowPosition } = useReactFlow();
  const addAtCentre = (kind: PaletteKind) => {
    const pane = document.querySelector('.react-flow')?.getBoundingClientRect();
    const centre = pane
      ? screenToFlowPosition({ x: pane.left + pane.width / 2, y: pane.top + pane.height / 2 })
      : { x: 0, y: 0 };
    let id = '';
    store.edit((l) => {
      const r = addNode(l, kind, centre);
      id = r.id;
      return r.lab;
    });
    store.select({ nodes: [id], edges: [] });
  };
  return (
    <div
      className="flex flex-col gap-0.5 rounded-lg border border-slate-200 bg-white/95 p-1.5 shadow-md"
      role="toolbar"
      aria-orientation="vertical"
      aria-label="Palette"
      data-testid="palette"
    >
      {PALETTE.map((p) => (
        <button
          key={p.kind}
          type="button"
          draggable
          data-testid={`palette-${p.kind}`}
          onDragStart={(e) => {
            e.dataTransfer.setData(PALETTE_MIME, p.kind);
            e.dataTransfer.effectAllowed = 'copy';
          }}
          onClick={() => addAtCentre(p.kind)}
          title={`${p.hint}. Drag onto the canvas, or click to add in the middle.`}
          className="flex w-36 cursor-grab items-center gap-2 rounded-md px-2 py-1 text-left text-xs text-slate-700 hover:bg-slate-100 active:cursor-grabbing"
        >
          <KindIcon kind={ICON_KIND[p.kind]} className="h-4 w-4 shrink-0 text-slate-500" />
          <span className="font-medium">{p.title}</span>
        </button>
      ))}
    </div>
  );
}
