/**
 * The running lab's configuration state (see liveConfig.ts), from `lifecycle.configEvents`. One
 * subscription per run: when the lab is brought up again the control plane serves it afresh
 * (new versions, no last edit), so the stream is opened again from its first `status`. An ACK, a
 * NACK, a connect or a disconnect says something changed about one proxy; whether it is now in
 * sync is read back from `lifecycle.config` rather than worked out here.
 */
import { useCallback, useEffect, useReducer } from 'react';
import { errorInfo, useTRPCClient } from '../api/trpc.js';
import type { ConfigEvent, LiveConfigStatus, LiveEdit } from '../api/types.js';
import {
  configBadges,
  EMPTY_CONFIG,
  type LiveConfigState,
  reduceConfig,
  withEdit,
  withStatus,
} from './liveConfig.js';
import { type LiveOverlay, sameBadge } from './store.js';

type Action =
  | { type: 'reset' }
  | { type: 'event'; event: ConfigEvent }
  | { type: 'status'; status: LiveConfigStatus }
  | { type: 'edit'; edit: LiveEdit }
  | { type: 'failed'; message: string };

function reducer(state: LiveConfigState, a: Action): LiveConfigState {
  switch (a.type) {
    case 'reset':
      return EMPTY_CONFIG;
    case 'event':
      return reduceConfig(state, a.event);
    case 'status':
      return withStatus(state, a.status);
    case 'edit':
      return withEdit(state, a.edit);
    case 'failed':
      return { ...state, log: [...state.log, { at: Date.now(), tone: 'error', text: a.message }] };
  }
}

/** Events of a burst (a push answered by every proxy, type by type) are read back once. */
const READ_BACK_DELAY_MS = 250;

/**
 * @param run identifies the lab's current run (undefined while it is not up): a new value opens
 * the stream again.
 */
export function useLiveConfig(labId: string | undefined, run: number | undefined, live: LiveOverlay) {
  const client = useTRPCClient();
  const [state, dispatch] = useReducer(reducer, EMPTY_CONFIG);

  useEffect(() => {
    dispatch({ type: 'reset' });
    if (labId === undefined || run === undefined) return;
    let closed = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const readBack = () => {
      clearTimeout(timer);
      timer = setTimeout(() => {
        client.lifecycle.config.query({ labId }).then(
          (status) => !closed && dispatch({ type: 'status', status }),
          (err: unknown) =>
            !closed &&
            dispatch({
              type: 'failed',
              message: `could not read the config status: ${errorInfo(err).message}`,
            }),
        );
      }, READ_BACK_DELAY_MS);
    };
    const sub = client.lifecycle.configEvents.subscribe(
      { labId },
      {
        onData: (event) => {
          dispatch({ type: 'event', event });
          if (event.type !== 'status') readBack();
        },
        onError: (err) =>
          dispatch({ type: 'failed', message: `config events stopped: ${errorInfo(err).message}` }),
      },
    );
    return () => {
      closed = true;
      clearTimeout(timer);
      sub.unsubscribe();
    };
  }, [client, labId, run]);

  // Badges reach the canvas through the keyed store: only nodes whose badge changed re-render.
  useEffect(() => {
    live.config.replace(configBadges(state), sameBadge);
  }, [state, live]);

  /** This tab's save answered with what became of it in the running lab. */
  const noteSave = useCallback((edit: LiveEdit) => dispatch({ type: 'edit', edit }), []);

  return { state, noteSave };
}
