import { useEffect, useRef } from 'react';
import { keyLabel, SHORTCUTS } from './shortcuts.js';

export function HelpOverlay({ onClose }: { onClose: () => void }) {
  const close = useRef<HTMLButtonElement>(null);
  useEffect(() => close.current?.focus(), []);
  return (
    <div className="fixed inset-0 z-50 flex items-center justify-center">
      <button
        type="button"
        aria-label="Close help"
        className="absolute inset-0 cursor-default bg-slate-900/40"
        onClick={onClose}
      />
      <div
        role="dialog"
        aria-modal="true"
        aria-labelledby="help-title"
        className="relative w-[28rem] rounded-lg bg-white p-4 shadow-xl"
        data-testid="help"
      >
        <h2 id="help-title" className="mb-2 text-sm font-semibold text-slate-800">
          Keyboard shortcuts
        </h2>
        <table className="w-full text-xs">
          <tbody>
            {SHORTCUTS.map((s) => (
              <tr key={`${s.command}:${s.keys.join()}:${s.shift}`} className="border-t border-slate-100">
                <td className="py-1 pr-3">
                  <kbd className="rounded border border-slate-300 bg-slate-50 px-1.5 py-px font-mono text-[11px]">
                    {keyLabel(s)}
                  </kbd>
                </td>
                <td className="py-1 text-slate-600">{s.description}</td>
              </tr>
            ))}
            <tr className="border-t border-slate-100">
              <td className="py-1 pr-3">
                <kbd className="rounded border border-slate-300 bg-slate-50 px-1.5 py-px font-mono text-[11px]">
                  Shift + drag
                </kbd>
              </td>
              <td className="py-1 text-slate-600">
                Select with a box; Shift or Ctrl + click adds to the selection
              </td>
            </tr>
          </tbody>
        </table>
        <button
          ref={close}
          type="button"
          className="mt-3 rounded bg-slate-800 px-3 py-1 text-xs text-white"
          onClick={onClose}
        >
          Close
        </button>
      </div>
    </div>
  );
}
