/**
 * A lab's life on the server: its status, the progress of up/down, and — while it runs — the
 * stats stream feeding the canvas overlay and the charts. Stats go straight into external stores
 * (overlay by key, frames by window), never into React state here, so a frame re-renders only the
 * elements whose numbers moved.
 */
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useSubscription } from '@trpc/tanstack-react-query';
import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import { type ErrorInfo, errorInfo, fromDetails, type LabStatus, useTRPC } from '../api/trpc.js';
import type { LifecycleEvent, StatsFrame } from '../api/types.js';
import type { LabStore } from '../editor/store.js';
import { deriveOverlay } from './derive.js';
import type { FrameStore } from './frames.js';
import { type LiveOverlay, sameEdgeLive, sameNodeLive } from './store.js';

export type Driver = 'auto' | 'local' | 'docker';

export function useRun(labId: string | undefined, store: LabStore, live: LiveOverlay, frames: FrameStore) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const enabled = labId !== undefined;
  const input = useMemo(() => ({ labId: labId ?? '' }), [labId]);
  const [events, setEvents] = useState<LifecycleEvent[]>([]);
  const [failure, setFailure] = useState<ErrorInfo>();
  /** The last `up` seen to finish (from any tab): each one starts a new run of the lab. */
  const [lastUp, setLastUp] = useState(0);

  const statusQuery = useQuery({
    ...trpc.lifecycle.status.queryOptions(input),
    enabled,
    refetchInterval: (q) => (q.state.data?.status || q.state.data?.operation ? 3000 : 10_000),
  });
  const status: LabStatus | null = statusQuery.data?.status ?? null;
  const operation = statusQuery.data?.operation ?? null;
  const refresh = useCallback(
    () => queryClient.invalidateQueries({ queryKey: trpc.lifecycle.status.queryKey(input) }),
    [queryClient, trpc, input],
  );

  useSubscription(
    trpc.lifecycle.progress.subscriptionOptions(input, {
      enabled,
      onData: (e) => {
        setEvents((prev) => (e.type === 'started' ? [e] : [...prev, e]));
        if (e.type === 'failed') setFailure(fromDetails(e.error));
        if (e.type === 'started') setFailure(undefined);
        if (e.type === 'finished' || e.type === 'failed') void refresh();
        if (e.type === 'finished' && e.operation.kind === 'up') setLastUp(e.operation.id);
      },
    }),
  );

  const statusRef = useRef(status);
  statusRef.current = status;
  const lastFrame = useRef<StatsFrame | undefined>(undefined);
  const applyOverlay = useCallback(() => {
    const s = statusRef.current;
    if (!s) {
      live.clear();
      return;
    }
    const o = deriveOverlay(store.getState().lab, lastFrame.current, s.containers);
    live.nodes.replace(o.nodes, sameNodeLive);
    live.edges.replace(o.edges, sameEdgeLive);
  }, [live, store]);

  // A new status (a node stopped or started) recolours the nodes without waiting for a frame.
  // biome-ignore lint/correctness/useExhaustiveDependencies: status is read through statusRef
  useEffect(applyOverlay, [status, applyOverlay]);

  useSubscription(
    trpc.stats.watch.subscriptionOptions(
      { labId: labId ?? '', intervalMs: 1000 },
      {
        enabled: enabled && status !== null,
        onData: (m) => {
          if (m.type === 'snapshot') {
            frames.reset(m.frames);
            lastFrame.current = m.frames.at(-1);
          } else if (m.type === 'frame') {
            frames.push(m.frame);
            lastFrame.current = m.frame;
          } else {
            lastFrame.current = undefined;
            void refresh();
          }
          applyOverlay();
        },
      },
    ),
  );

  useEffect(() => {
    if (!enabled) {
      frames.reset([]);
      lastFrame.current = undefined;
      live.clear();
      setEvents([]);
      setFailure(undefined);
    }
  }, [enabled, frames, live]);

  const up = useMutation({
    ...trpc.lifecycle.up.mutationOptions(),
    onMutate: () => {
      setFailure(undefined);
      return undefined;
    },
    onError: (err) => setFailure(errorInfo(err)),
    onSettled: () => void refresh(),
  });
  const down = useMutation({
    ...trpc.lifecycle.down.mutationOptions(),
    onError: (err) => setFailure(errorInfo(err)),
    onSettled: () => void refresh(),
  });

  /** Up is under way: containers may exist, but the lab is not ready to use until it finishes. */
  const starting = up.isPending || operation?.kind === 'up';
  const running = status !== null && !starting;
  return {
    status,
    operation,
    events,
    failure,
    dismissFailure: () => setFailure(undefined),
    busy: up.isPending || down.isPending || operation !== null,
    starting,
    /** The lab is up and ready. */
    running,
    /** Identifies the current run while the lab is up (a new one after each up), else undefined. */
    runKey: running ? lastUp : undefined,
    /** Brings up the saved lab `name` (default: the open one; a first save has just created it). */
    up: (driver: Driver, name = labId) => name && up.mutate({ name, source: 'workspace', driver }),
    down: () => labId && down.mutate({ labId }),
    /** Down, then up with the saved lab: what only a new run can apply (a changed app version, new containers). */
    upAgain: async (driver: Driver) => {
      if (!labId) return;
      try {
        await down.mutateAsync({ labId });
      } catch {
        // The failure is shown (onError); the lab stays as it was.
        return;
      }
      up.mutate({ name: labId, source: 'workspace', driver });
    },
    refresh,
  };
}
