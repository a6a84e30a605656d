/**
 * Whether the console server is reachable, from the WebSocket client's own state: while it
 * reconnects, the header says so, and that nothing typed is lost (edits live in the editor and
 * in the browser's drafts until the server is back).
 */
import type { createWSClient } from '@trpc/client';
import { useSyncExternalStore } from 'react';

type WSClient = ReturnType<typeof createWSClient>;

export function useServerReachable(ws: WSClient): boolean {
  return useSyncExternalStore(
    (onChange) => {
      const sub = ws.connectionState.subscribe({ next: onChange });
      return () => sub.unsubscribe();
    },
    () => {
      const s = ws.connectionState.get();
      return !(s.state === 'connecting' && s.error !== null);
    },
  );
}

export function ConnectionBanner({ ws }: { ws: WSClient }) {
  const reachable = useServerReachable(ws);
  if (reachable) return null;
  return (
    <span
      className="shrink-0 whitespace-nowrap rounded bg-amber-100 px-2 py-0.5 text-xs text-amber-900"
      role="status"
      data-testid="connection-lost"
      title="The console server does not answer; reconnecting. Your edits are kept in this browser until it is back."
    >
      Server unreachable · reconnecting · edits kept
    </span>
  );
}
