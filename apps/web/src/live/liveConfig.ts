/**
 * How a running lab's proxies are configured, as the console's control plane tells it: per proxy
 * its stream, the version it is served and whether it accepted it, the last save's outcome
 * (`LiveEdit`), and a short log of config events. Fed by `lifecycle.configEvents` (every tab's
 * saves, the proxies' ACKs, NACKs, connects and disconnects), by fresh reads of `lifecycle.config`
 * and by this tab's own saves; read as the header's one line, the panel's rows and the canvas's
 * per-node badges.
 */
import type { ConfigEvent, LiveConfigStatus, LiveEdit, ProxyOutcome } from '../api/types.js';

export type Tone = 'ok' | 'warn' | 'error';

export interface ConfigLogEntry {
  at: number;
  tone: Tone;
  text: string;
}

export interface LiveConfigState {
  status: LiveConfigStatus | null;
  lastEdit: LiveEdit | null;
  /** Oldest first, the last LOG_LIMIT. */
  log: ConfigLogEntry[];
}

export const EMPTY_CONFIG: LiveConfigState = { status: null, lastEdit: null, log: [] };

const LOG_LIMIT = 60;

const plural = (n: number, one: string, many: string) => `${n} ${n === 1 ? one : many}`;

/** `type.googleapis.com/envoy.config.cluster.v3.Cluster` → `Cluster`. */
export function shortType(typeUrl: string): string {
  return typeUrl.slice(typeUrl.lastIndexOf('.') + 1);
}

const FAILED: ReadonlySet<ProxyOutcome['state']> = new Set(['rejected', 'timeout', 'invalid']);

/** One line for a save's outcome. */
export function editSummary(edit: LiveEdit): { tone: Tone; text: string } {
  switch (edit.result) {
    case 'applied': {
      const applied = edit.proxies.filter((p) => p.outcome.state === 'applied').length;
      const pending = edit.proxies.filter((p) => p.outcome.state === 'pending').length;
      const updated = applied > 0 ? `${plural(applied, 'proxy', 'proxies')} updated` : 'saved';
      return {
        tone: 'ok',
        text: `${updated} in ${edit.ms} ms${pending > 0 ? ` · ${pending} to update when started` : ''}`,
      };
    }
    case 'unchanged':
      return { tone: 'ok', text: 'live: in sync (nothing the proxies run changed)' };
    case 'rejected': {
      const who = edit.proxies.filter((p) => FAILED.has(p.outcome.state)).map((p) => p.container);
      return {
        tone: 'error',
        text: `rejected by ${who.join(', ') || 'the control plane'}: previous config still serving`,
      };
    }
    case 'needsUp': {
      const [first, ...more] = edit.reasons;
      return {
        tone: 'warn',
        text: `needs Up: ${first?.message ?? 'the lab must be brought up again'}${more.length > 0 ? ` (+${more.length} more)` : ''}`,
      };
    }
  }
}

/** What the header says about the running lab's configuration; null until the first status. */
export function headline(state: LiveConfigState): { tone: Tone; text: string } | null {
  const { status, lastEdit } = state;
  if (!status) return null;
  if (!status.live) {
    return {
      tone: 'warn',
      text: `not live: ${status.problem ?? 'the lab was brought up outside the console, so saving changes only the workspace'}`,
    };
  }
  if (lastEdit?.result === 'needsUp' || lastEdit?.result === 'rejected') return editSummary(lastEdit);
  const behind = status.proxies.filter((p) => !p.inSync);
  if (behind.length > 0)
    return { tone: 'warn', text: `live: ${plural(behind.length, 'proxy', 'proxies')} out of sync` };
  return lastEdit ? editSummary(lastEdit) : { tone: 'ok', text: 'live: in sync' };
}

/** A proxy outcome in a few words. */
export function outcomeText(o: ProxyOutcome): string {
  switch (o.state) {
    case 'applied':
      return `applied ${o.version} in ${o.ms} ms`;
    case 'unchanged':
      return `unchanged (${o.version})`;
    case 'pending':
      return `not connected: gets ${o.version} when it starts`;
    case 'rejected':
      return `rejected ${o.version} (${shortType(o.typeUrl)}): ${o.message}`;
    case 'timeout':
      return `did not answer: ${o.message}`;
    case 'invalid':
      return `not valid Envoy config: ${o.message}`;
    case 'restored':
      return `took it, then got ${o.version} back`;
  }
}

export interface ConfigBadge {
  kind: 'rejected' | 'outOfSync';
  title: string;
}

/** Badges for the canvas, by lab node id: proxies that refused the last save, or run behind what they are served. */
export function configBadges(state: LiveConfigState): Map<string, ConfigBadge> {
  const out = new Map<string, ConfigBadge>();
  const add = (node: string, badge: ConfigBadge) => {
    const had = out.get(node);
    if (!had) out.set(node, badge);
    else
      out.set(node, {
        kind: had.kind === 'rejected' || badge.kind === 'rejected' ? 'rejected' : 'outOfSync',
        title: `${had.title}\n${badge.title}`,
      });
  };
  if (state.lastEdit?.result === 'rejected') {
    for (const p of state.lastEdit.proxies)
      if (FAILED.has(p.outcome.state))
        add(p.node, {
          kind: 'rejected',
          title: `${p.container} ${outcomeText(p.outcome)}; it keeps serving its previous config`,
        });
  }
  for (const p of state.status?.proxies ?? []) {
    if (p.inSync || p.version === null) continue;
    const refused = p.lastNack !== null && p.lastNack.version === p.version;
    add(p.node, {
      kind: refused ? 'rejected' : 'outOfSync',
      title: refused
        ? `${p.container} rejected ${p.version}: ${p.lastNack!.message}`
        : p.connected
          ? `${p.container} has not accepted ${p.version} yet`
          : `${p.container} is not connected: gets ${p.version} when it starts`,
    });
  }
  return out;
}

function logged(state: LiveConfigState, entry: ConfigLogEntry): ConfigLogEntry[] {
  return [...state.log, entry].slice(-LOG_LIMIT);
}

/** A save's outcome, from the save's answer or from the event stream (the same edit is taken once). */
export function withEdit(state: LiveConfigState, edit: LiveEdit): LiveConfigState {
  const last = state.lastEdit;
  if (last && (last.at > edit.at || (last.at === edit.at && last.result === edit.result))) return state;
  return { ...state, lastEdit: edit, log: logged(state, { at: edit.at, ...editSummary(edit) }) };
}

/**
 * A fresh status: what the control plane serves each proxy, and the last edit it knows of. A
 * status read while a save was being applied may not know that save yet: an older or missing
 * last edit never replaces a newer one (a lab brought up again starts from an empty state).
 */
export function withStatus(state: LiveConfigState, status: LiveConfigStatus): LiveConfigState {
  const next = { ...state, status };
  return status.lastEdit ? withEdit(next, status.lastEdit) : next;
}

function withProxy(
  state: LiveConfigState,
  nodeId: string,
  patch: Partial<LiveConfigStatus['proxies'][number]>,
): LiveConfigStatus | null {
  if (!state.status) return null;
  return {
    ...state.status,
    proxies: state.status.proxies.map((p) => (p.nodeId === nodeId ? { ...p, ...patch } : p)),
  };
}

export function reduceConfig(state: LiveConfigState, e: ConfigEvent): LiveConfigState {
  switch (e.type) {
    case 'status':
      return withStatus(state, e.status);
    case 'edit':
      return withEdit(state, e.edit);
    case 'ack':
      return {
        ...state,
        log: logged(state, {
          at: e.at,
          tone: 'ok',
          text: `${e.proxy.container} accepted ${shortType(e.typeUrl)} ${e.version}`,
        }),
      };
    case 'nack':
      return {
        ...state,
        status: withProxy(state, e.proxy.nodeId, {
          lastNack: {
            version: e.version,
            typeUrl: e.typeUrl,
            message: e.message,
            at: new Date(e.at).toISOString(),
          },
        }),
        log: logged(state, {
          at: e.at,
          tone: 'error',
          text: `${e.proxy.container} rejected ${shortType(e.typeUrl)} ${e.version}: ${e.message}`,
        }),
      };
    case 'connect':
    case 'disconnect':
      return {
        ...state,
        status: withProxy(state, e.proxy.nodeId, { connected: e.type === 'connect' }),
        log: logged(state, {
          at: e.at,
          tone: e.type === 'connect' ? 'ok' : 'warn',
          text: `${e.proxy.container} ${e.type === 'connect' ? 'connected to' : 'disconnected from'} the control plane`,
        }),
      };
  }
}
