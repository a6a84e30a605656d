/** Terminal output of the CLI: aligned tables, progress lines, and JSON for scripts. */
import type { LabStatus, ProgressEvent } from '@meshcraft/runtime';

export function table(headers: string[], rows: string[][]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(headers), ...rows.map(line)].join('\n');
}

export function progressLine(event: ProgressEvent): string {
  const mark = event.step === 'ready' ? (event.ready ? '✓' : '…') : event.step === 'rollback' ? '!' : '·';
  return `  ${mark} ${event.message}`;
}

export function statusTable(status: LabStatus): string {
  const rows = status.containers.map((c) => [
    c.name,
    c.node,
    c.role,
    c.state + (c.exitCode !== undefined ? ` (${c.exitCode})` : ''),
    c.address ?? '',
    c.ports.map((p) => `${p.name}=${p.host}:${p.hostPort}`).join(' '),
  ]);
  return [
    `lab ${status.labId}: ${status.state} on the ${status.driver} driver (network ${status.network.name}${status.network.subnet ? ` ${status.network.subnet}` : ''})`,
    table(['CONTAINER', 'NODE', 'ROLE', 'STATE', 'ADDRESS', 'PORTS'], rows),
    ...status.notes.map((n) => `note: ${n}`),
  ].join('\n');
}

export function json(value: unknown): string {
  return JSON.stringify(value, null, 2);
}
