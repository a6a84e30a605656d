/**
 * Keyboard shortcuts: one table, read by the key handler and by the help overlay, so what the
 * overlay lists is exactly what works. Shortcuts do not fire while a text field has focus (except
 * save, which works everywhere).
 */
export type Command =
  | 'undo'
  | 'redo'
  | 'copy'
  | 'cut'
  | 'paste'
  | 'duplicate'
  | 'delete'
  | 'selectAll'
  | 'save'
  | 'fitView'
  | 'autoLayout'
  | 'help'
  | 'escape'
  | 'toggleConfig';

export interface Shortcut {
  command: Command;
  keys: string[];
  /** `mod` is Ctrl, or ⌘ on a Mac. */
  mod?: boolean;
  shift?: boolean;
  description: string;
  /** Fires even while typing in a field. */
  global?: boolean;
}

export const SHORTCUTS: readonly Shortcut[] = [
  { command: 'save', keys: ['s'], mod: true, description: 'Save the lab', global: true },
  { command: 'undo', keys: ['z'], mod: true, description: 'Undo' },
  { command: 'redo', keys: ['z'], mod: true, shift: true, description: 'Redo' },
  { command: 'redo', keys: ['y'], mod: true, description: 'Redo' },
  {
    command: 'copy',
    keys: ['c'],
    mod: true,
    description: 'Copy the selected nodes (with the edges between them)',
  },
  { command: 'cut', keys: ['x'], mod: true, description: 'Cut the selected nodes' },
  { command: 'paste', keys: ['v'], mod: true, description: 'Paste' },
  { command: 'duplicate', keys: ['d'], mod: true, description: 'Duplicate the selected nodes' },
  { command: 'selectAll', keys: ['a'], mod: true, description: 'Select every node' },
  { command: 'delete', keys: ['Delete', 'Backspace'], description: 'Delete the selection' },
  { command: 'fitView', keys: ['f'], description: 'Zoom to fit' },
  { command: 'autoLayout', keys: ['l'], description: 'Auto-layout (undoable)' },
  { command: 'toggleConfig', keys: ['c'], description: 'Show or hide the rendered configuration' },
  { command: 'help', keys: ['?'], description: 'Show this help' },
  { command: 'escape', keys: ['Escape'], description: 'Close a dialog, clear the selection' },
];

export interface KeyLike {
  key: string;
  ctrlKey: boolean;
  metaKey: boolean;
  shiftKey: boolean;
  altKey: boolean;
}

export function commandFor(e: KeyLike, typing: boolean): Command | undefined {
  if (e.altKey) return undefined;
  const mod = e.ctrlKey || e.metaKey;
  const key = e.key.length === 1 ? e.key.toLowerCase() : e.key;
  for (const s of SHORTCUTS) {
    if (!s.keys.includes(key) && !(key === '?' && s.keys.includes('?'))) continue;
    if (Boolean(s.mod) !== mod) continue;
    // `?` is typed with Shift; other keys must match Shift exactly.
    if (key !== '?' && Boolean(s.shift) !== e.shiftKey) continue;
    if (typing && !s.global) return undefined;
    return s.command;
  }
  return undefined;
}

export function isTyping(target: EventTarget | null): boolean {
  if (!(target instanceof HTMLElement)) return false;
  return target.isContentEditable || ['INPUT', 'TEXTAREA', 'SELECT'].includes(target.tagName);
}

export function keyLabel(s: Shortcut): string {
  const mac = typeof navigator !== 'undefined' && /Mac|iPhone|iPad/.test(navigator.platform);
  const parts = [
    s.mod ? (mac ? '⌘' : 'Ctrl') : '',
    s.shift ? 'Shift' : '',
    s.keys.map((k) => (k.length === 1 ? k.toUpperCase() : k)).join(' / '),
  ];
  return parts.filter(Boolean).join(' + ');
}
