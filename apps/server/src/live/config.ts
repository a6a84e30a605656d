/**
 * Live edits. The console runs one xDS control plane; a lab it brings up has every proxy that has
 * no configuration mechanism of its own take its listeners, routes, clusters and endpoints from it
 * over ADS (the control plane listens on this machine's address on the lab's network). Saving a
 * running lab then reaches those proxies over their open streams, without restarting anything:
 *
 * 1. the runtime renders the edited lab for the running lab's plan and says what would need the
 *    lab up again (new containers, changed environments, files, Docker's published ports); a
 *    listener moving to another address needs it too — a proxy does not move a running listener;
 * 2. every changed proxy's resources are validated before any is pushed;
 * 3. each changed proxy gets its snapshot and the console waits for its ACK;
 * 4. if any proxy rejects its part (NACK) or does not answer, every changed proxy is given its
 *    previous snapshot back, so the lab never runs half an edit; otherwise the edited lab is
 *    recorded as what runs.
 *
 * A restarted console listens where it listened for each running lab and serves the same
 * resources again (same versions: the proxies are sent nothing new).
 */
import { EventEmitter } from 'node:events';
import {
  type ControlPlaneAddress,
  type ControlPlaneHook,
  type EditPlan,
  type RenderedView,
  type RestartReason,
  type Runtime,
  RuntimeError,
  type XdsResourcesView,
} from '@meshcraft/runtime';
import type { Lab } from '@meshcraft/topology';
import {
  type AckEvent,
  ConfigError,
  ControlPlane,
  checkResources,
  type NackEvent,
  RejectedError,
  type Resources,
} from '@meshcraft/xds-server';
import { Channel } from '../async-channel.js';
import { ConsoleError } from '../errors.js';
import { movedListeners, type ResourceChange, resourceChanges } from './changes.js';

/** How long a changed proxy has to accept or reject its part of an edit. */
export const ACK_TIMEOUT_MS = 5000;

/** A proxy the console serves: where it is in the lab, and its node id at the control plane. */
export interface ProxyRef {
  node: string;
  namespace: string;
  container: string;
  nodeId: string;
}

/** What became of one proxy's part of an edit. */
export type ProxyOutcome =
  /** Its resources did not change. */
  | { state: 'unchanged'; version: string }
  /** It accepted (ACKed) the new version, `ms` after it was pushed. */
  | { state: 'applied'; version: string; ms: number; at: number }
  /** Not connected now (stopped): it gets the new version when it connects. */
  | { state: 'pending'; version: string }
  /** It rejected the version (NACK) with this message, and keeps serving what it had. */
  | { state: 'rejected'; version: string; typeUrl: string; message: string }
  /** It did not answer within ACK_TIMEOUT_MS. */
  | { state: 'timeout'; version: string; message: string }
  /** Its resources are not valid Envoy config (checked before anything was pushed). */
  | { state: 'invalid'; message: string }
  /** It accepted the new version, then got its previous one back because another proxy did not. */
  | { state: 'restored'; version: string };

export interface ProxyEdit extends ProxyRef {
  /** Its resources the edit adds, changes or removes, by name. */
  changes: ResourceChange[];
  outcome: ProxyOutcome;
}

/** The result of saving a running lab, as `labs.save` returns it and `lifecycle.configEvents` streams it. */
export type LiveEdit =
  /** Every changed proxy accepted its part; the lab runs the saved version. */
  | { result: 'applied'; labId: string; at: number; ms: number; proxies: ProxyEdit[] }
  /** Nothing the proxies run changed (a title, a position); the lab runs the saved version. */
  | { result: 'unchanged'; labId: string; at: number; ms: number; proxies: ProxyEdit[] }
  /** A proxy refused its part (or it was invalid, or unanswered): every proxy serves what it served before. */
  | { result: 'rejected'; labId: string; at: number; ms: number; message: string; proxies: ProxyEdit[] }
  /** It cannot be applied while the lab runs; nothing was changed. */
  | { result: 'needsUp'; labId: string; at: number; reasons: RestartReason[] };

export interface ProxyConfigStatus extends ProxyRef {
  /** It has a stream open to the control plane now. */
  connected: boolean;
  /** The version the control plane serves it. */
  version: string | null;
  /** It accepted that version of every type it was sent. */
  inSync: boolean;
  /** Its last rejection, if any. */
  lastNack: { version: string; typeUrl: string; message: string; at: string } | null;
}

export interface LiveConfigStatus {
  labId: string;
  /** The console serves the lab's proxies, so saving the lab changes them while it runs. */
  live: boolean;
  /** Where the lab's proxies reach the control plane. */
  controlPlane: ControlPlaneAddress | null;
  /** Why saving the lab cannot change it while it runs, when `live` is false and the lab is up. */
  problem: string | null;
  proxies: ProxyConfigStatus[];
  /**
   * What became of the last save since the lab came up (in this console): after `rejected` or
   * `needsUp` the workspace holds a version the lab does not run.
   */
  lastEdit: LiveEdit | null;
}

export type ConfigEvent =
  | { type: 'status'; at: number; status: LiveConfigStatus }
  | { type: 'edit'; at: number; edit: LiveEdit }
  | { type: 'ack'; at: number; proxy: ProxyRef; typeUrl: string; version: string }
  | { type: 'nack'; at: number; proxy: ProxyRef; typeUrl: string; version: string; message: string }
  | { type: 'connect' | 'disconnect'; at: number; proxy: ProxyRef };

/** One served proxy's side of an edit. */
interface Part {
  ref: ProxyRef;
  before: XdsResourcesView;
  after: XdsResourcesView;
  changes: ResourceChange[];
}

interface ServedLab {
  address: ControlPlaneAddress;
  /** By node id. */
  proxies: Map<string, ProxyRef>;
  /** Set when a restarted console could not serve the lab again. */
  problem?: string;
  lastEdit?: LiveEdit;
}

export class LiveConfig {
  private readonly cp = new ControlPlane();
  private readonly labs = new Map<string, ServedLab>();
  private readonly events = new EventEmitter();
  /** Per lab: the tail of its chain of edits, so two saves never interleave. */
  private readonly edits = new Map<string, Promise<unknown>>();
  private restored: Promise<void> = Promise.resolve();

  constructor(
    private readonly runtime: Runtime,
    /** The lifecycle operation running on a lab (an edit waits for no `up` or `down`). */
    private readonly operation: (labId: string) => string | undefined,
  ) {
    this.events.setMaxListeners(0);
    this.cp.on('ack', (e: AckEvent) => this.relay(e.nodeId, (proxy) => ({ type: 'ack', ...base(e), proxy })));
    this.cp.on('nack', (e: NackEvent) =>
      this.relay(e.nodeId, (proxy) => ({ type: 'nack', ...base(e), message: e.message, proxy })),
    );
    for (const type of ['connect', 'disconnect'] as const) {
      this.cp.on(type, (e: { nodeId: string }) =>
        this.relay(e.nodeId, (proxy) => ({ type, at: Date.now(), proxy })),
      );
    }
  }

  /** For `up`: the lab's proxies take their configuration from this control plane. */
  hook(): ControlPlaneHook {
    return {
      listen: async (labId, host) => {
        this.release(labId);
        const port = await this.cp.listen(host, 0);
        this.labs.set(labId, { address: { host, port }, proxies: new Map() });
        return port;
      },
      serve: async (labId, rendered) => this.serve(this.labs.get(labId)!, rendered),
    };
  }

  /** Stops serving a lab (it went down, or did not come up): its address and its proxies' snapshots. */
  release(labId: string): void {
    const lab = this.labs.get(labId);
    if (!lab) return;
    this.labs.delete(labId);
    if (!lab.problem) this.cp.unlisten(lab.address.host, lab.address.port);
    for (const nodeId of lab.proxies.keys()) this.cp.deleteSnapshot(nodeId);
  }

  /**
   * After a console restart: listens again where the running labs' proxies reach the control plane,
   * and serves them what they run. Edits wait for it.
   */
  restore(): Promise<void> {
    this.restored = this.restoreNow();
    return this.restored;
  }

  private async restoreNow(): Promise<void> {
    for (const { labId } of await this.runtime.list()) {
      const deployment = await this.runtime.deployment(labId).catch(() => undefined);
      const address = deployment?.controlPlane;
      if (!deployment || !address) continue;
      const lab: ServedLab = { address, proxies: new Map() };
      this.labs.set(labId, lab);
      try {
        await this.cp.listen(address.host, address.port);
      } catch (err) {
        lab.problem = `the console could not listen again at ${address.host}:${address.port}, where the proxies of '${labId}' reach it (${(err as Error).message}); they keep the configuration they have, and the lab must be brought up again to change it while it runs`;
        continue;
      }
      this.serve(lab, deployment.rendered);
    }
  }

  private serve(lab: ServedLab, rendered: RenderedView): void {
    for (const p of rendered.proxies) {
      if (!p.xds) continue;
      try {
        this.cp.setSnapshot(p.xds.nodeId, asResources(p.xds.resources));
      } catch (err) {
        if (!(err instanceof ConfigError)) throw err;
        throw new ConsoleError(
          'INVALID_LAB',
          `the configuration of ${p.container} is not valid Envoy configuration: ${err.message}`,
          `fix the raw Envoy fields ('extra') of node '${p.node}' it comes from`,
          { cause: err },
        );
      }
      lab.proxies.set(p.xds.nodeId, {
        node: p.node,
        namespace: p.namespace,
        container: p.container,
        nodeId: p.xds.nodeId,
      });
    }
  }

  /**
   * Applies a saved lab to its running copy; null when the lab is not up. All or nothing: see the
   * file comment. Resolves once every changed proxy has answered (or ACK_TIMEOUT_MS passed).
   */
  async apply(labId: string, lab: Lab): Promise<LiveEdit | null> {
    await this.restored;
    const before = this.edits.get(labId) ?? Promise.resolve();
    const run = before.then(() => this.applyNow(labId, lab));
    const tail = run.catch(() => {});
    this.edits.set(labId, tail);
    try {
      const edit = await run;
      if (edit) {
        const served = this.labs.get(labId);
        if (served) served.lastEdit = edit;
        this.emit(labId, { type: 'edit', at: edit.at, edit });
      }
      return edit;
    } finally {
      if (this.edits.get(labId) === tail) this.edits.delete(labId);
    }
  }

  private async applyNow(labId: string, lab: Lab): Promise<LiveEdit | null> {
    const at = Date.now();
    const started = performance.now();
    const needsUp = (reasons: RestartReason[]): LiveEdit => ({ result: 'needsUp', labId, at, reasons });
    const operation = this.operation(labId);
    if (operation === 'down') return null;
    if (operation === 'up') {
      return needsUp([
        {
          message: `lab '${labId}' was coming up when this was saved, with the version saved before; bring it up again to run this one`,
        },
      ]);
    }
    if (!(await this.runtime.status(labId))) return null;
    let plan: EditPlan;
    try {
      plan = await this.runtime.planEdit(labId, lab);
    } catch (err) {
      if (err instanceof RuntimeError && err.code === 'LAB_NOT_FOUND')
        return needsUp([{ message: `${err.message.split('\n')[0]}; ${err.hint}` }]);
      throw err;
    }
    const served = this.labs.get(labId);
    if (!plan.controlPlane || !served || served.problem) {
      return needsUp([
        {
          message:
            served?.problem ??
            `lab '${labId}' was brought up without the console's control plane (with meshcraft up on the command line), so its proxies read their configuration only when they start; bring it up from the console to change it while it runs`,
        },
      ]);
    }
    if (plan.restart.length > 0) return needsUp(plan.restart);

    const parts = this.parts(plan);
    const moved = parts.flatMap((p) =>
      movedListeners(p.before, p.after).map((m) => ({
        container: p.ref.container,
        message: `${m} on ${p.ref.container}; a running proxy does not move a listener to another address (Envoy refuses that too)`,
      })),
    );
    if (moved.length > 0) return needsUp(moved);

    const checked = parts.map((p): Part & { version?: string; invalid?: string } => {
      try {
        return { ...p, version: checkResources(asResources(p.after)) };
      } catch (err) {
        if (!(err instanceof ConfigError)) throw err;
        return { ...p, invalid: `${p.ref.container}: ${err.message}` };
      }
    });
    const ms = () => Math.round(performance.now() - started);
    const invalid = checked.filter((p) => p.invalid !== undefined);
    if (invalid.length > 0) {
      return {
        result: 'rejected',
        labId,
        at,
        ms: ms(),
        message: `not valid Envoy configuration, so nothing was pushed: ${invalid.map((p) => p.invalid).join('; ')}`,
        proxies: checked.map((p) => ({
          ...p.ref,
          changes: p.changes,
          outcome:
            p.invalid !== undefined
              ? { state: 'invalid', message: p.invalid }
              : { state: 'unchanged', version: this.cp.snapshot(p.ref.nodeId)!.version },
        })),
      };
    }

    const changed = checked.filter((p) => p.version !== this.cp.snapshot(p.ref.nodeId)?.version);
    const previous = new Map(changed.map((p) => [p.ref.nodeId, this.cp.snapshot(p.ref.nodeId)!]));
    const outcomes = new Map<string, ProxyOutcome>(
      await Promise.all(changed.map(async (p) => [p.ref.nodeId, await this.push(p.ref, p.after)] as const)),
    );
    const proxies = (): ProxyEdit[] =>
      checked.map((p) => ({
        ...p.ref,
        changes: p.changes,
        outcome: outcomes.get(p.ref.nodeId) ?? { state: 'unchanged', version: p.version! },
      }));
    const failed = [...outcomes.values()].filter(
      (o): o is Extract<ProxyOutcome, { state: 'rejected' | 'timeout' }> =>
        o.state === 'rejected' || o.state === 'timeout',
    );
    if (failed.length > 0) {
      await Promise.all(
        changed.map(async (p) => {
          const old = previous.get(p.ref.nodeId)!;
          this.cp.setSnapshot(p.ref.nodeId, old.resources);
          // Answered once every proxy holds its previous version again (or could not say so in time).
          if (this.connected(p.ref.nodeId)) await this.waitForAck(p.ref.nodeId, old.version).catch(() => {});
          if (outcomes.get(p.ref.nodeId)!.state === 'applied')
            outcomes.set(p.ref.nodeId, { state: 'restored', version: old.version });
        }),
      );
      const first = failed[0]!;
      const who = checked.find((p) => outcomes.get(p.ref.nodeId) === first)?.ref.container;
      return {
        result: 'rejected',
        labId,
        at,
        ms: ms(),
        message: `${who} ${first.state === 'rejected' ? 'rejected' : 'did not answer'} the change: ${first.message}. Every proxy keeps what it had; fix the lab and save again.`,
        proxies: proxies(),
      };
    }
    await plan.commit();
    return { result: changed.length > 0 ? 'applied' : 'unchanged', labId, at, ms: ms(), proxies: proxies() };
  }

  /** Each served proxy of the edited lab: what it runs now and what the edit gives it. */
  private parts(plan: EditPlan): Part[] {
    return plan.next!.proxies.flatMap((p) => {
      if (!p.xds) return [];
      const before = plan.rendered.proxies.find((q) => q.xds?.nodeId === p.xds!.nodeId)!.xds!.resources;
      const ref = { node: p.node, namespace: p.namespace, container: p.container, nodeId: p.xds.nodeId };
      return [{ ref, before, after: p.xds.resources, changes: resourceChanges(before, p.xds.resources) }];
    });
  }

  /** Gives one proxy its new resources and waits for its answer. */
  private async push(ref: ProxyRef, resources: XdsResourcesView): Promise<ProxyOutcome> {
    const pushed = performance.now();
    const version = this.cp.setSnapshot(ref.nodeId, asResources(resources));
    if (!this.connected(ref.nodeId)) return { state: 'pending', version };
    try {
      await this.waitForAck(ref.nodeId, version);
      return { state: 'applied', version, ms: Math.round(performance.now() - pushed), at: Date.now() };
    } catch (err) {
      if (err instanceof RejectedError)
        return { state: 'rejected', version, typeUrl: err.nack.typeUrl, message: err.nack.message };
      return { state: 'timeout', version, message: (err as Error).message };
    }
  }

  /**
   * Until the node accepted `version` of every type it subscribes to: a type still waiting for its
   * answer to an earlier version gets this one only after that answer, so waiting for the types
   * already sent this version would end too soon.
   */
  private waitForAck(nodeId: string, version: string): Promise<void> {
    const types = this.cp.nodes().find((n) => n.id === nodeId)?.types ?? {};
    const typeUrls = Object.keys(types).filter((t) => types[t]!.sent);
    return this.cp.waitForAck(nodeId, version, { typeUrls, timeoutMs: ACK_TIMEOUT_MS });
  }

  private connected(nodeId: string): boolean {
    return (this.cp.nodes().find((n) => n.id === nodeId)?.streams ?? 0) > 0;
  }

  /** How the console serves a lab's proxies now (once running labs are served again after a restart). */
  async status(labId: string): Promise<LiveConfigStatus> {
    await this.restored;
    return this.statusNow(labId);
  }

  private statusNow(labId: string): LiveConfigStatus {
    const lab = this.labs.get(labId);
    const nodes = new Map(this.cp.nodes().map((n) => [n.id, n]));
    return {
      labId,
      live: lab !== undefined && !lab.problem,
      controlPlane: lab?.address ?? null,
      problem: lab?.problem ?? null,
      proxies: [...(lab?.proxies.values() ?? [])].map((ref) => {
        const node = nodes.get(ref.nodeId);
        const version = this.cp.snapshot(ref.nodeId)?.version ?? null;
        const types = Object.entries(node?.types ?? {});
        const sent = types.filter(([, t]) => t.sent);
        const nacks = types
          .flatMap(([typeUrl, t]) => (t.nacked ? [{ typeUrl, ...t.nacked }] : []))
          .sort((a, b) => a.at.localeCompare(b.at));
        return {
          ...ref,
          connected: (node?.streams ?? 0) > 0,
          version,
          inSync: sent.length > 0 && sent.every(([, t]) => t.acked?.version === version),
          lastNack: nacks.at(-1) ?? null,
        };
      }),
      lastEdit: lab?.lastEdit ?? null,
    };
  }

  /** The lab's status now, then its config events, until `signal` aborts. */
  async *watch(labId: string, signal: AbortSignal): AsyncGenerator<ConfigEvent> {
    const channel = new Channel<ConfigEvent>();
    channel.push({ type: 'status', at: Date.now(), status: await this.status(labId) });
    const listener = (e: ConfigEvent) => channel.push(e);
    this.events.on(labId, listener);
    try {
      yield* channel.drain(signal);
    } finally {
      this.events.off(labId, listener);
    }
  }

  async close(): Promise<void> {
    await this.cp.close();
  }

  private relay(nodeId: string, event: (proxy: ProxyRef) => ConfigEvent): void {
    const labId = nodeId.slice(0, nodeId.indexOf('/'));
    const proxy = this.labs.get(labId)?.proxies.get(nodeId);
    if (proxy) this.emit(labId, event(proxy));
  }

  private emit(labId: string, event: ConfigEvent): void {
    this.events.emit(labId, event);
  }
}

/** Rendered Envoy JSON as the control plane takes it; it validates what it is given. */
function asResources(view: XdsResourcesView): Resources {
  return view as unknown as Resources;
}

function base(e: AckEvent): { at: number; typeUrl: string; version: string } {
  return { at: Date.now(), typeUrl: e.typeUrl, version: e.version };
}
