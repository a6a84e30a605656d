/**
 * `ensureImage`: the runtime image exists and matches its inputs, or is (re)built through the
 * Docker API with its output streamed as progress.
 */
import type Docker from 'dockerode';
import { isNotFound } from '../docker/engine.js';
import { LABELS } from '../docker/labels.js';
import { lastLines, RuntimeError } from '../errors.js';
import type { OnProgress } from '../types.js';
import { type ImageFlavour, imageContext, packContext } from './context.js';

export const RUNTIME_IMAGE = 'meshcraft-runtime:latest';

export interface EnsureImageOptions {
  tag?: string;
  flavour?: ImageFlavour;
  onProgress?: OnProgress;
}

export interface ImageResult {
  tag: string;
  hash: string;
  built: boolean;
  ms: number;
}

const inFlight = new Map<string, Promise<ImageResult>>();

/** Concurrent callers for one tag share one check (and one build). */
export function ensureImage(docker: Docker, options: EnsureImageOptions = {}): Promise<ImageResult> {
  const tag = options.tag ?? RUNTIME_IMAGE;
  let p = inFlight.get(tag);
  if (!p) {
    p = checkOrBuild(docker, tag, options).finally(() => inFlight.delete(tag));
    inFlight.set(tag, p);
  }
  return p;
}

export function defaultFlavour(): ImageFlavour {
  return process.env.MESHCRAFT_IMAGE_FLAVOUR === 'slim' ? 'slim' : 'scratch';
}

async function checkOrBuild(docker: Docker, tag: string, options: EnsureImageOptions): Promise<ImageResult> {
  const started = performance.now();
  const progress = options.onProgress ?? (() => {});
  const flavour = options.flavour ?? defaultFlavour();
  progress({ step: 'image', phase: 'check', message: `checking the runtime image ${tag}` });
  const context = await imageContext(flavour);
  const current = await docker
    .getImage(tag)
    .inspect()
    .catch((err) => {
      if (isNotFound(err)) return undefined;
      throw err;
    });
  if (current?.Config?.Labels?.[LABELS.imageHash] === context.hash) {
    progress({ step: 'image', phase: 'ready', message: `runtime image ${tag} is up to date` });
    return { tag, hash: context.hash, built: false, ms: performance.now() - started };
  }
  progress({
    step: 'image',
    phase: 'build',
    message: current
      ? `building the runtime image ${tag}: its inputs changed`
      : `building the runtime image ${tag} (${flavour === 'scratch' ? "from this machine's node, no registry needed" : 'from node:20-bookworm-slim'})`,
  });
  const output: string[] = [];
  const stream = await docker.buildImage(packContext(context.entries), {
    t: tag,
    labels: { [LABELS.imageHash]: context.hash },
    rm: true,
    forcerm: true,
  });
  const failure = await new Promise<string | undefined>((resolve) => {
    docker.modem.followProgress(
      stream,
      (err: Error | null) => resolve(err?.message),
      (event: { stream?: string; status?: string; error?: string }) => {
        const text = event.error ?? event.stream ?? event.status;
        if (!text) return;
        for (const line of lastLines(text, Number.POSITIVE_INFINITY)) {
          output.push(line);
          progress({ step: 'image', phase: 'build', message: line });
        }
      },
    );
  });
  if (failure) {
    throw new RuntimeError(
      'IMAGE_BUILD_FAILED',
      `building the runtime image ${tag} failed: ${failure}`,
      flavour === 'slim'
        ? 'the slim image needs a registry; without one, use the scratch flavour (unset MESHCRAFT_IMAGE_FLAVOUR)'
        : 'see the build output above; the scratch image needs ldd, sh and curl on this machine',
      { logs: [{ container: 'image build', lines: output.slice(-20) }] },
    );
  }
  // The previous build is now untagged; drop it unless a running lab still uses it.
  if (current)
    await docker
      .getImage(current.Id)
      .remove()
      .catch(() => {});
  progress({ step: 'image', phase: 'ready', message: `runtime image ${tag} built` });
  return { tag, hash: context.hash, built: true, ms: performance.now() - started };
}
