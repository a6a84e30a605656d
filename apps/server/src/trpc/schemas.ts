/**
 * Input schemas of the API. Lab documents are checked by the topology package (so errors carry
 * its paths and sentences), not here; names are checked by the workspace (so a bad one gets the
 * rule spelled out). These schemas bound sizes and shapes.
 */
import type { Lab } from '@meshcraft/topology';
import { z } from 'zod';
import { HTTP_METHODS, MAX_DURATION_SECONDS } from '../loadgen/generator.js';
import { POLL_INTERVAL } from '../stats/collector.js';

export const labName = z.string().min(1).max(200);
export const labSource = z.enum(['workspace', 'library']);
export const labRef = z.object({ name: labName, source: labSource.optional() });
export const labId = z.object({ labId: labName });
export const target = z.string().min(1).max(200);
export const driverChoice = z.enum(['auto', 'docker', 'local']);

/** A lab document as the web app holds it; validated by topology's parseLabObject. */
export const labDocument = z.custom<Lab>((v) => v !== null && typeof v === 'object' && !Array.isArray(v), {
  message: 'a lab document is an object with apiVersion, kind: Lab, metadata and spec',
});

const text = z.string().max(8 * 1024 * 1024);

export const importSource = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('yaml'), text }),
  z.object({ kind: z.literal('files'), files: z.record(z.string().min(1).max(1024), text) }),
  z.object({ kind: z.literal('zip'), base64: text }),
]);

const headerName = z.string().regex(/^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,256}$/, 'must be an HTTP header name');
const headerValue = z
  .string()
  .max(4096)
  .regex(/^[^\r\n\0]*$/, 'must be one line');

export const headerVariation = z.object({
  header: headerName,
  values: z.array(headerValue).min(1).max(1000),
  mode: z.enum(['cycle', 'random']).default('cycle'),
});

const loadPatch = {
  method: z.enum(HTTP_METHODS),
  path: z
    .string()
    .regex(/^\/[^\s]*$/, 'must start with / and contain no spaces')
    .max(2048),
  headers: z.record(headerName, headerValue),
  vary: z.array(headerVariation).max(8),
  rate: z.number().min(0).max(5000),
  concurrency: z.number().int().min(1).max(256),
};

export const loadStart = z.object({
  labId: labName,
  /** A front proxy or sidecar node (or replica), and one of its listeners (default: its first). */
  target: z.object({ node: target, listener: z.string().max(200).optional() }),
  method: loadPatch.method.default('GET'),
  path: loadPatch.path.default('/'),
  headers: loadPatch.headers.default({}),
  vary: loadPatch.vary.default([]),
  rate: loadPatch.rate.default(10),
  concurrency: loadPatch.concurrency.default(1),
  durationSeconds: z.number().int().min(1).max(MAX_DURATION_SECONDS).default(MAX_DURATION_SECONDS),
  count: z.number().int().min(1).max(10_000_000).optional(),
  body: z
    .string()
    .max(64 * 1024)
    .optional(),
});

export const loadUpdate = z.object({
  id: z.string().uuid(),
  method: loadPatch.method.optional(),
  path: loadPatch.path.optional(),
  headers: loadPatch.headers.optional(),
  vary: loadPatch.vary.optional(),
  rate: loadPatch.rate.optional(),
  concurrency: loadPatch.concurrency.optional(),
});

export const statsWatch = z.object({
  labId: labName,
  intervalMs: z.number().int().min(POLL_INTERVAL.min).max(POLL_INTERVAL.max).default(POLL_INTERVAL.default),
  /** Frames of the rolling window the first message carries (default: the whole window). */
  history: z.number().int().min(0).max(1000).optional(),
});
