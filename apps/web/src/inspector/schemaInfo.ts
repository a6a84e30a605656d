/**
 * Reads the topology package's zod schemas (v4 `_zod.def`) to drive the inspector's forms: the
 * form for a node is generated from the same schema the server validates with, so a field added
 * there appears here without a second definition to keep in step.
 */
import {
  CircuitBreakerThresholds,
  HeaderMatch,
  HealthCheck,
  Listener,
  QueryParameterMatch,
  Route,
  VirtualHost,
} from '@meshcraft/topology';
import type { z } from 'zod';

export type Schema = z.ZodType;

interface Def {
  type: string;
  innerType?: Schema;
  shape?: Record<string, Schema>;
  element?: Schema;
  options?: Schema[];
  discriminator?: string;
  entries?: Record<string, string | number>;
  values?: unknown[];
  keyType?: Schema;
  valueType?: Schema;
  checks?: { _zod?: { def?: { check?: string; value?: number; inclusive?: boolean } } }[];
}

export function defOf(schema: Schema): Def {
  return (schema as unknown as { _zod: { def: Def } })._zod.def;
}

/** Strips `optional`/`default` wrappers; says whether the field may be left out. */
export function unwrap(schema: Schema): { schema: Schema; optional: boolean } {
  let s = schema;
  let optional = false;
  for (let i = 0; i < 8; i++) {
    const d = defOf(s);
    if ((d.type === 'optional' || d.type === 'default' || d.type === 'nullable') && d.innerType) {
      optional = true;
      s = d.innerType;
    } else break;
  }
  return { schema: s, optional };
}

export type Kind =
  | { kind: 'string'; multiline?: boolean }
  | { kind: 'number'; min?: number; max?: number }
  | { kind: 'boolean' }
  | { kind: 'enum'; values: (string | number)[] }
  | { kind: 'literal'; value: unknown }
  | { kind: 'object'; shape: Record<string, Schema> }
  | { kind: 'array'; element: Schema }
  | { kind: 'record'; value: Schema }
  | { kind: 'variants'; options: Schema[]; discriminator?: string }
  | { kind: 'scalars'; types: ('string' | 'number' | 'boolean')[] }
  | { kind: 'json' };

export function classify(schema: Schema): Kind {
  const d = defOf(schema);
  switch (d.type) {
    case 'string': {
      // Free text (descriptions, notes, bodies) is allowed far more than one line's worth.
      const long = (d.checks ?? []).some(
        (c) => c._zod?.def?.check === 'max_length' && (c._zod.def as { maximum?: number }).maximum! > 1024,
      );
      return { kind: 'string', multiline: long };
    }
    case 'number': {
      let min: number | undefined;
      let max: number | undefined;
      for (const c of d.checks ?? []) {
        const cd = c._zod?.def;
        if (cd?.check === 'greater_than' && typeof cd.value === 'number') min = cd.value;
        if (cd?.check === 'less_than' && typeof cd.value === 'number') max = cd.value;
      }
      return { kind: 'number', min, max };
    }
    case 'boolean':
      return { kind: 'boolean' };
    case 'enum':
      return { kind: 'enum', values: Object.values(d.entries ?? {}) };
    case 'literal':
      return { kind: 'literal', value: d.values?.[0] };
    case 'object':
      return { kind: 'object', shape: d.shape ?? {} };
    case 'array':
      return { kind: 'array', element: d.element! };
    case 'record':
      return { kind: 'record', value: d.valueType! };
    case 'union': {
      const options = d.options ?? [];
      const kinds = options.map((o) => classify(unwrap(o).schema));
      if (kinds.every((k) => k.kind === 'literal'))
        return { kind: 'enum', values: kinds.map((k) => (k as { value: string | number }).value) };
      if (kinds.every((k) => k.kind === 'string' || k.kind === 'number' || k.kind === 'boolean'))
        return {
          kind: 'scalars',
          types: [...new Set(kinds.map((k) => k.kind as 'string' | 'number' | 'boolean'))],
        };
      return { kind: 'variants', options, discriminator: d.discriminator };
    }
    default:
      return { kind: 'json' };
  }
}

/** The variant of a union of objects a value is in: by discriminator, else the first whose keys cover the value's. */
export function variantOf(k: Extract<Kind, { kind: 'variants' }>, value: unknown): number {
  if (value === null || typeof value !== 'object') return 0;
  const v = value as Record<string, unknown>;
  const i = k.options.findIndex((o) => {
    const c = classify(o);
    if (c.kind !== 'object') return false;
    if (k.discriminator) return defOf(c.shape[k.discriminator]!).values?.[0] === v[k.discriminator];
    return Object.keys(v).every((key) => key in c.shape);
  });
  return Math.max(0, i);
}

/** What tells variants apart in a menu: the discriminator value, or the keys only that variant has. */
export function variantLabel(k: Extract<Kind, { kind: 'variants' }>, index: number): string {
  const c = classify(k.options[index]!);
  if (c.kind !== 'object') return `form ${index + 1}`;
  if (k.discriminator) return String(defOf(c.shape[k.discriminator]!).values?.[0]);
  const others = k.options
    .filter((_, i) => i !== index)
    .flatMap((o) => Object.keys((classify(o) as { shape?: object }).shape ?? {}));
  const own = Object.keys(c.shape).filter((key) => !others.includes(key));
  return own.join(', ') || `form ${index + 1}`;
}

/** Sensible first values for list items a person adds, where the bare minimum would be unhelpful. */
const STARTERS = new Map<Schema, (siblings: unknown[]) => unknown>([
  [
    HealthCheck,
    () => ({
      timeout: '1s',
      interval: '5s',
      unhealthyThreshold: 2,
      healthyThreshold: 2,
      http: { path: '/livez' },
    }),
  ],
  [Listener, (s) => ({ name: `listener_${s.length}`, port: 10000 + s.length })],
  [VirtualHost, (s) => ({ name: `vh_${s.length}`, domains: ['*'], routes: [] })],
  [Route, (s) => ({ id: `route-${s.length + 1}`, match: { prefix: '/' } })],
  [HeaderMatch, () => ({ name: 'x-header', exact: '' })],
  [QueryParameterMatch, () => ({ name: 'param', exact: '' })],
  [CircuitBreakerThresholds, () => ({ maxConnections: 1, maxPendingRequests: 1, maxRequests: 1 })],
]);

/** A new value for a schema: its starter if it has one, else the required fields filled with their simplest values. */
export function initialValue(schema: Schema, siblings: unknown[] = []): unknown {
  const { schema: s } = unwrap(schema);
  const starter = STARTERS.get(s);
  if (starter) return starter(siblings);
  const k = classify(s);
  switch (k.kind) {
    case 'string':
      return '';
    case 'number':
      return k.min ?? 0;
    case 'boolean':
      return true;
    case 'enum':
      return k.values[0];
    case 'literal':
      return k.value;
    case 'object': {
      const out: Record<string, unknown> = {};
      for (const [key, f] of Object.entries(k.shape)) if (!unwrap(f).optional) out[key] = initialValue(f);
      return out;
    }
    case 'array':
      return [];
    case 'record':
      return {};
    case 'variants':
      return initialValue(k.options[0]!);
    case 'scalars':
      return k.types.includes('string') ? '' : k.types[0] === 'number' ? 0 : true;
    case 'json':
      return {};
  }
}

/** `unhealthyThreshold` → `Unhealthy threshold`. */
export function humanize(key: string): string {
  const words = key
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .replace(/_/g, ' ')
    .toLowerCase();
  return words.charAt(0).toUpperCase() + words.slice(1);
}

/** Text typed into a number field: a number when it reads as one; otherwise the text, for validation to name. */
export function parseNumberInput(text: string): number | string | undefined {
  const t = text.trim();
  if (t === '') return undefined;
  return /^-?\d+(\.\d+)?$/.test(t) ? Number(t) : text;
}

/** Text typed into a field that accepts strings, numbers or booleans. */
export function parseScalarInput(text: string, types: readonly string[]): unknown {
  if (text === '') return undefined;
  if (types.includes('boolean') && (text === 'true' || text === 'false')) return text === 'true';
  if (types.includes('number') && /^-?\d+(\.\d+)?$/.test(text.trim())) return Number(text);
  return text;
}
