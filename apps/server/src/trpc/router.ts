/**
 * The console's API. The web app imports `AppRouter` as a type only (`@meshcraft/server/router`);
 * inputs and outputs are plain JSON values (no transformer): times are epoch milliseconds, binary
 * data is base64. Queries and mutations go over HTTP (`/trpc`), subscriptions over the WebSocket
 * on the same port (`/trpc`, tRPC's WS protocol). Errors carry `data.details` (code, hint, the
 * lab's issues with their paths, a failed container's log lines); see `ErrorDetails`.
 */
import { z } from 'zod';
import { readProbes, readRuntime, runtimeModify, setProbe, setProxyHealthcheck } from '../actions/admin.js';
import { listenerEndpoint } from '../lab-targets.js';
import { exportZipOf, renderPreview, validateLabInput } from '../labs/preview.js';
import { batched } from '../lifecycle/logs.js';
import { VERSION } from '../version.js';
import { procedure, router } from './init.js';
import {
  driverChoice,
  importSource,
  labDocument,
  labId,
  labName,
  labRef,
  loadStart,
  loadUpdate,
  statsWatch,
  target,
} from './schemas.js';

const images = z.enum(['meshcraft', 'upstream']).default('meshcraft');

const labs = router({
  /** The workspace's labs, then the library's. */
  list: procedure.query(({ ctx }) => ctx.app.workspace.list()),
  /** One lab: its document when valid, its text and issues always. */
  get: procedure.input(labRef).query(({ ctx, input }) => ctx.app.workspace.get(input)),
  /**
   * Validates and saves to the workspace (atomically); refuses an invalid lab, listing its issues.
   * When the lab is up, the saved version is applied to it while it runs (`live`: see LiveEdit).
   */
  save: procedure
    .input(
      z.object({
        lab: labDocument,
        baseRevision: z.string().max(64).optional(),
        overwrite: z.boolean().optional(),
      }),
    )
    .mutation(({ ctx, input }) =>
      ctx.app.save(input.lab, { baseRevision: input.baseRevision, overwrite: input.overwrite }),
    ),
  rename: procedure.input(z.object({ from: labName, to: labName })).mutation(async ({ ctx, input }) => {
    await ctx.app.mustBeDown(input.from, 'rename');
    return ctx.app.workspace.rename(input.from, input.to);
  }),
  duplicate: procedure
    .input(z.object({ from: labRef, to: labName, title: z.string().min(1).max(200).optional() }))
    .mutation(({ ctx, input }) => ctx.app.workspace.duplicate(input.from, input.to, input.title)),
  delete: procedure.input(z.object({ name: labName })).mutation(async ({ ctx, input }) => {
    await ctx.app.mustBeDown(input.name, 'delete');
    await ctx.app.workspace.remove(input.name);
    return { name: input.name };
  }),
  /** A lab from YAML, a course-style directory's text files or a ZIP (base64), saved to the workspace. */
  import: procedure
    .input(z.object({ source: importSource, name: labName.optional(), overwrite: z.boolean().optional() }))
    .mutation(({ ctx, input }) =>
      ctx.app.workspace.import(input.source, { name: input.name, overwrite: input.overwrite }),
    ),
  /** The exported project (compose, configs, README, the lab) as a ZIP, base64. */
  export: procedure
    .input(z.object({ ref: labRef, images }))
    .query(async ({ ctx, input }) => exportZipOf(await ctx.app.workspace.lab(input.ref), input.images)),
  /** Issues of a lab document (or of YAML text), without saving anything. */
  validate: procedure
    .input(z.union([z.object({ lab: labDocument }), z.object({ text: z.string().max(8 * 1024 * 1024) })]))
    .mutation(({ input }) => validateLabInput('lab' in input ? { value: input.lab } : { text: input.text })),
  /** Per-proxy Envoy YAML and the compose file, for the preview pane. */
  render: procedure
    .input(z.object({ lab: labDocument, images }))
    .mutation(({ input }) => renderPreview(input.lab, input.images)),
});

const lifecycle = router({
  /** Brings a saved lab up and resolves with its status when everything is ready; progress streams on `progress`. */
  up: procedure
    .input(labRef.extend({ driver: driverChoice.optional() }))
    .mutation(async ({ ctx, input }) =>
      ctx.app.up(await ctx.app.workspace.lab({ name: input.name, source: input.source }), input.driver),
    ),
  down: procedure.input(labId).mutation(async ({ ctx, input }) => {
    await ctx.app.down(input.labId);
    return { labId: input.labId };
  }),
  /** The lab's containers (null when it is not up) and the operation running on it, if any. */
  status: procedure.input(labId).query(async ({ ctx, input }) => ({
    status: (await ctx.app.runtime.status(input.labId)) ?? null,
    operation: ctx.app.operations.running(input.labId) ?? null,
  })),
  /** Every lab that is up, on either driver. */
  list: procedure.query(({ ctx }) => ctx.app.runtime.list()),
  /** Stops, starts or restarts a node (a node id, replica namespace or container name). */
  nodeAction: procedure
    .input(labId.extend({ target, action: z.enum(['stop', 'start', 'restart']) }))
    .mutation(({ ctx, input }) => ctx.app.nodeAction(input.labId, input.target, input.action)),
  /** The lab's lifecycle events: the latest operation's so far, then live ones. */
  progress: procedure
    .input(labId)
    .subscription(({ ctx, input, signal }) =>
      ctx.app.operations.watch(input.labId, signal ?? new AbortController().signal),
    ),
  /** How the console serves the lab's proxies: live or not (and why), and per proxy its stream, version and last NACK. */
  config: procedure.input(labId).query(({ ctx, input }) => ctx.app.live.status(input.labId)),
  /** The lab's config status, then live: edits applied by saves, and each proxy's ACKs, NACKs, connects and disconnects. */
  configEvents: procedure
    .input(labId)
    .subscription(({ ctx, input, signal }) =>
      ctx.app.live.watch(input.labId, signal ?? new AbortController().signal),
    ),
  /** A node's (or every node's) log lines, the last `tail` first, then as they are written; in batches. */
  logs: procedure
    .input(
      labId.extend({ target: target.optional(), tail: z.number().int().min(0).max(10_000).default(200) }),
    )
    .subscription(({ ctx, input, signal }) => {
      const s = signal ?? new AbortController().signal;
      return batched(
        ctx.app.runtime.logs(input.labId, input.target, { follow: true, tail: input.tail, signal: s }),
        s,
      );
    }),
});

const actions = router({
  /** POST livez|readyz=OK|FAIL to the demoapp(s) of a node or replica. */
  setProbe: procedure
    .input(labId.extend({ target, probe: z.enum(['livez', 'readyz']), value: z.enum(['OK', 'FAIL']) }))
    .mutation(async ({ ctx, input }) =>
      setProbe(await ctx.app.runningStatus(input.labId), input.target, input.probe, input.value),
    ),
  /** A proxy's POST /healthcheck/fail|ok (it then fails or passes others' health checks). */
  healthcheck: procedure
    .input(labId.extend({ target, value: z.enum(['fail', 'ok']) }))
    .mutation(async ({ ctx, input }) =>
      setProxyHealthcheck(await ctx.app.runningStatus(input.labId), input.target, input.value),
    ),
  /** POST /runtime_modify with the given keys (a weighted route's `<runtimeKeyPrefix>.<cluster>` for the split slider). */
  runtimeModify: procedure
    .input(labId.extend({ target, values: z.record(z.string().max(256), z.string().max(256)) }))
    .mutation(async ({ ctx, input }) =>
      runtimeModify(await ctx.app.runningStatus(input.labId), input.target, input.values),
    ),
  /** The runtime keys a proxy holds now (GET /runtime), per proxy container. */
  runtime: procedure
    .input(labId.extend({ target }))
    .query(async ({ ctx, input }) => readRuntime(await ctx.app.runningStatus(input.labId), input.target)),
  /** What livez and readyz answer now (GET /livez, /readyz), per demoapp container of a node or replica. */
  probes: procedure
    .input(labId.extend({ target }))
    .query(async ({ ctx, input }) => readProbes(await ctx.app.runningStatus(input.labId), input.target)),
});

const loadgen = router({
  start: procedure.input(loadStart).mutation(async ({ ctx, input }) => {
    const { labId: id, target: to, durationSeconds, count, body, ...settings } = input;
    const endpoint = listenerEndpoint(await ctx.app.runningStatus(id), to.node, to.listener);
    return ctx.app.loadgens.start(
      id,
      { node: to.node, listener: to.listener, host: endpoint.host, port: endpoint.port },
      { ...settings, durationSeconds, count, body },
    );
  }),
  /** Changes a running generator (rate, concurrency, method, path, headers, variations). */
  update: procedure.input(loadUpdate).mutation(({ ctx, input }) => {
    const { id, ...patch } = input;
    const defined = Object.fromEntries(Object.entries(patch).filter(([, v]) => v !== undefined));
    return ctx.app.loadgens.update(id, defined);
  }),
  stop: procedure
    .input(z.object({ id: z.string().uuid() }))
    .mutation(({ ctx, input }) => ctx.app.loadgens.stop(input.id)),
  list: procedure.input(labId).query(({ ctx, input }) => ctx.app.loadgens.list(input.labId)),
  /** The lab's generators with their tallies, twice a second while any runs. */
  watch: procedure
    .input(labId)
    .subscription(({ ctx, input, signal }) =>
      ctx.app.loadgens.watch(input.labId, signal ?? new AbortController().signal),
    ),
});

const stats = router({
  /** Live stats of every proxy of a lab: a snapshot of the rolling window, then a frame per interval. */
  watch: procedure
    .input(statsWatch)
    .subscription(({ ctx, input, signal }) =>
      ctx.app.collector.watch(
        input.labId,
        { intervalMs: input.intervalMs, history: input.history },
        signal ?? new AbortController().signal,
      ),
    ),
});

const meta = router({
  /** What the UI shows in its header: version, workspace, the default driver and what `auto` would pick now. */
  info: procedure.query(async ({ ctx }) => {
    const docker = await ctx.app.runtime.docker.available().then(
      () => ({ available: true, message: 'a Docker engine answers' }),
      (err: Error) => ({ available: false, message: err.message.split('\n')[0]! }),
    );
    return {
      version: VERSION,
      workspace: ctx.app.workspace.dir,
      defaultDriver: ctx.app.defaultDriver,
      docker,
    };
  }),
});

export const appRouter = router({ labs, lifecycle, actions, loadgen, stats, meta });

export type AppRouter = typeof appRouter;
