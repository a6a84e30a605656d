import type { NodeKind } from '@meshcraft/topology';

const PATHS: Record<NodeKind, string> = {
  // A hexagon: Envoy's own mark is one.
  frontProxy: 'M12 2l8.66 5v10L12 22l-8.66-5V7z M8 12h8 M13 9l3 3-3 3',
  service: 'M4 5h16v6H4z M4 13h16v6H4z M7 8h.01 M7 16h.01',
  cluster:
    'M6 6a2 2 0 1 0 .01 0 M18 6a2 2 0 1 0 .01 0 M12 18a2 2 0 1 0 .01 0 M12 10v6 M7.5 7.5L11 10 M16.5 7.5L13 10',
  client: 'M3 5h18v11H3z M8 20h8 M12 16v4',
  controlPlane: 'M12 3v3 M12 18v3 M3 12h3 M18 12h3 M12 8a4 4 0 1 0 .01 0',
};

export function KindIcon({ kind, className }: { kind: NodeKind; className?: string }) {
  return (
    <svg
      viewBox="0 0 24 24"
      className={className}
      fill="none"
      stroke="currentColor"
      strokeWidth={1.8}
      strokeLinecap="round"
      strokeLinejoin="round"
      aria-hidden="true"
    >
      <path d={PATHS[kind]} />
    </svg>
  );
}
