/**
 * Reading and writing lab documents.
 *
 * `parseLab` never throws for bad input: whatever the text (not YAML, not a lab, a newer
 * apiVersion, megabytes of junk, alias bombs, deep nesting), it returns issues with a path,
 * a sentence and, for YAML text, the line and column. A lab is returned only when there is no
 * error, so callers cannot half-save an invalid one. Browser-safe.
 */
import { isMap, isScalar, isSeq, LineCounter, parseDocument, stringify, type Node as YamlNode } from 'yaml';
import type { z } from 'zod';
import { fromZodIssues, type Issue, IssueList, type PathSegment } from './issues.js';
import { API_GROUP, API_VERSION, type Lab, LabSchema } from './schema.js';
import { validateSemantics } from './validate.js';

/** A lab file is a few kilobytes; refuse anything this large before parsing it. */
export const MAX_LAB_BYTES = 1024 * 1024;
/** YAML aliases expanded per document: blocks "billion laughs" documents. */
const MAX_ALIASES = 200;
/** Nesting deeper than any lab needs; deeper input is junk and could exhaust the stack. */
const MAX_DEPTH = 64;

export interface ParseResult {
  /** The lab, present exactly when there are no errors. */
  lab?: Lab;
  issues: Issue[];
}

/** Parses and fully validates a lab from YAML (or JSON) text. */
export function parseLab(text: string): ParseResult {
  const out = new IssueList();
  const size = byteLength(text);
  if (size > MAX_LAB_BYTES) {
    out.error(
      [],
      `the file is ${formatBytes(size)}, larger than any lab (at most ${formatBytes(MAX_LAB_BYTES)}); check that this is a lab file`,
    );
    return { issues: out.items };
  }
  if (text.includes('\u0000')) {
    out.error([], 'the file contains NUL bytes, so it is binary data, not a YAML lab file');
    return { issues: out.items };
  }
  if (text.trim() === '') {
    out.error([], 'the file is empty; a lab starts with apiVersion, kind: Lab, metadata and spec');
    return { issues: out.items };
  }
  const lines = new LineCounter();
  let doc: ReturnType<typeof parseDocument>;
  let value: unknown;
  try {
    doc = parseDocument(text, { lineCounter: lines, uniqueKeys: true, prettyErrors: false, strict: true });
    if (doc.errors.length > 0) {
      for (const e of doc.errors.slice(0, 5)) {
        const pos = lines.linePos(e.pos[0]);
        out.items.push({
          severity: 'error',
          path: [],
          at: '(document)',
          message: `not valid YAML: ${firstLine(e.message)}`,
          line: pos.line,
          column: pos.col,
        });
      }
      return { issues: out.items };
    }
    if (depthOf(doc.contents as YamlNode | null) > MAX_DEPTH) {
      out.error(
        [],
        `the document nests deeper than ${MAX_DEPTH} levels, far more than a lab has; check that this is a lab file`,
      );
      return { issues: out.items };
    }
    value = doc.toJS({ maxAliasCount: MAX_ALIASES });
  } catch (err) {
    out.error([], `could not read the file as YAML: ${firstLine((err as Error).message)}`);
    return { issues: out.items };
  }
  const result = parseLabObject(value);
  const locate = (i: Issue): Issue => {
    const node = nodeAt(doc.contents as YamlNode | null, i.path);
    if (!node?.range) return i;
    const pos = lines.linePos(node.range[0]);
    return { ...i, line: pos.line, column: pos.col };
  };
  return { lab: result.lab, issues: result.issues.map(locate) };
}

/** Validates a lab given as a JavaScript value (as the server receives it from the web app). */
export function parseLabObject(value: unknown): ParseResult {
  const out = new IssueList(value);
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    out.error(
      [],
      `a lab is a mapping with apiVersion, kind: Lab, metadata and spec; this is ${describe(value)}`,
    );
    return { issues: out.items };
  }
  if (isCyclic(value)) {
    out.error(
      [],
      'the document contains itself (a YAML alias pointing at one of its own ancestors); a lab is a tree, so write the repeated part out',
    );
    return { issues: out.items };
  }
  const v = value as Record<string, unknown>;
  if (v.kind !== 'Lab') {
    out.error(
      ['kind'],
      v.kind === undefined
        ? `'kind' is missing; a lab file says kind: Lab`
        : `kind '${String(v.kind)}' is not a lab; this file describes something else (expected kind: Lab)`,
    );
    return { issues: out.items };
  }
  const version = checkApiVersion(v.apiVersion, out);
  if (!version) return { issues: out.items };
  const parsed = LabSchema.safeParse(v);
  if (!parsed.success) {
    fromZodIssues(v, parsed.error.issues as z.core.$ZodIssue[], out);
    return { issues: out.items };
  }
  const issues = validateSemantics(parsed.data);
  return { lab: issues.some((i) => i.severity === 'error') ? undefined : parsed.data, issues };
}

/** The same as parseLabObject, for a lab already typed (edits in the web app before saving). */
export function validateLab(lab: Lab): Issue[] {
  return parseLabObject(lab).issues;
}

function checkApiVersion(apiVersion: unknown, out: IssueList): string | undefined {
  if (apiVersion === undefined) {
    out.error(['apiVersion'], `'apiVersion' is missing; this meshcraft writes apiVersion: ${API_VERSION}`);
    return undefined;
  }
  if (typeof apiVersion !== 'string') {
    out.error(['apiVersion'], `'apiVersion' must be a string such as ${API_VERSION}`);
    return undefined;
  }
  const [group, version] = apiVersion.split('/');
  if (group !== API_GROUP || !version) {
    out.error(
      ['apiVersion'],
      `apiVersion '${apiVersion}' is not a meshcraft lab version; expected ${API_VERSION}`,
    );
    return undefined;
  }
  const have = versionRank(API_VERSION.split('/')[1]!)!;
  const want = versionRank(version);
  if (!want) {
    out.error(
      ['apiVersion'],
      `apiVersion '${apiVersion}' has an unknown version '${version}'; expected ${API_VERSION}`,
    );
    return undefined;
  }
  if (compareRank(want, have) > 0) {
    out.error(
      ['apiVersion'],
      `this lab was written for ${apiVersion}, newer than this meshcraft understands (${API_VERSION}); upgrade meshcraft to open it`,
    );
    return undefined;
  }
  if (compareRank(want, have) < 0) {
    // No older version has been released; when one exists, its migration goes here.
    out.error(
      ['apiVersion'],
      `apiVersion '${apiVersion}' predates ${API_VERSION} and there is no migration for it`,
    );
    return undefined;
  }
  return version;
}

type Rank = [major: number, stage: number, minor: number];

/** `v1alpha1` < `v1alpha2` < `v1beta1` < `v1` < `v2alpha1`. */
function versionRank(v: string): Rank | undefined {
  const m = /^v(\d{1,4})(?:(alpha|beta)(\d{1,4}))?$/.exec(v);
  if (!m) return undefined;
  const stage = m[2] === 'alpha' ? 0 : m[2] === 'beta' ? 1 : 2;
  return [Number(m[1]), stage, Number(m[3] ?? 0)];
}

function compareRank(a: Rank, b: Rank): number {
  return a[0] - b[0] || a[1] - b[1] || a[2] - b[2];
}

function nodeAt(root: YamlNode | null, path: readonly PathSegment[]): YamlNode | undefined {
  let node: YamlNode | null | undefined = root;
  let keyNode: YamlNode | undefined;
  for (const seg of path) {
    if (isMap(node)) {
      const pair = node.items.find((p) => isScalar(p.key) && p.key.value === seg);
      if (!pair) return keyNode ?? node;
      keyNode = pair.key as YamlNode;
      node = pair.value as YamlNode | null;
    } else if (isSeq(node) && typeof seg === 'number') {
      node = node.items[seg] as YamlNode | null;
      keyNode = undefined;
    } else {
      return node ?? keyNode;
    }
  }
  return node ?? keyNode;
}

function depthOf(node: YamlNode | null): number {
  // Iterative, so a hostile document cannot overflow the stack while we measure it.
  let max = 0;
  const stack: [YamlNode | null, number][] = [[node, 1]];
  while (stack.length > 0) {
    const [n, d] = stack.pop()!;
    if (d > max) max = d;
    if (d > MAX_DEPTH) return d;
    if (isMap(n)) for (const p of n.items) stack.push([p.value as YamlNode | null, d + 1]);
    else if (isSeq(n)) for (const item of n.items) stack.push([item as YamlNode | null, d + 1]);
  }
  return max;
}

/** Whether a value refers to one of its own ancestors (shared, non-circular references are fine). */
function isCyclic(root: unknown): boolean {
  const onPath = new Set<object>();
  const stack: { v: object; children: unknown[]; i: number }[] = [];
  const enter = (v: unknown): boolean => {
    if (v === null || typeof v !== 'object') return false;
    if (onPath.has(v)) return true;
    onPath.add(v);
    stack.push({ v, children: Array.isArray(v) ? v : Object.values(v), i: 0 });
    return false;
  };
  if (enter(root)) return true;
  while (stack.length > 0) {
    const top = stack[stack.length - 1]!;
    if (top.i < top.children.length) {
      if (enter(top.children[top.i++])) return true;
    } else {
      onPath.delete(top.v);
      stack.pop();
    }
  }
  return false;
}

function byteLength(text: string): number {
  return new TextEncoder().encode(text).length;
}

function formatBytes(n: number): string {
  return n >= 1024 * 1024 ? `${(n / 1024 / 1024).toFixed(1)} MB` : `${Math.ceil(n / 1024)} KB`;
}

function firstLine(s: string): string {
  return s.split('\n')[0]!.trim();
}

function describe(v: unknown): string {
  if (v === null || v === undefined) return 'empty';
  if (Array.isArray(v)) return 'a list';
  return `a ${typeof v}`;
}

/**
 * Writes a lab as YAML: keys in the schema's order (apiVersion, kind, metadata, spec, view; in a
 * node, kind and id first), so saving the same lab always gives the same bytes and diffs stay small.
 */
export function stringifyLab(lab: Lab): string {
  return stringify(canonical(LabSchema, lab), { lineWidth: 0, indent: 2, aliasDuplicateObjects: false });
}

type AnySchema = z.ZodType;

function canonical(schema: AnySchema | undefined, value: unknown): unknown {
  if (value === null || typeof value !== 'object') return value;
  const s = unwrap(schema);
  const def = (s as { _zod?: { def?: { type?: string } } } | undefined)?._zod?.def as
    | {
        type?: string;
        element?: AnySchema;
        shape?: Record<string, AnySchema>;
        options?: AnySchema[];
        valueType?: AnySchema;
        discriminator?: string;
      }
    | undefined;
  if (Array.isArray(value))
    return value.map((v) => canonical(def?.type === 'array' ? def.element : undefined, v));
  const obj = value as Record<string, unknown>;
  if (def?.type === 'object' && def.shape) {
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(def.shape))
      if (obj[key] !== undefined) out[key] = canonical(def.shape[key], obj[key]);
    for (const key of Object.keys(obj))
      if (!(key in out) && obj[key] !== undefined) out[key] = canonical(undefined, obj[key]);
    return out;
  }
  if (def?.type === 'union' && def.options) {
    const match = def.options.find((o) => o.safeParse(value).success);
    return canonical(match, value);
  }
  if (def?.type === 'record') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(obj)) if (v !== undefined) out[k] = canonical(def.valueType, v);
    return out;
  }
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(obj)) if (v !== undefined) out[k] = canonical(undefined, v);
  return out;
}

function unwrap(schema: AnySchema | undefined): AnySchema | undefined {
  let s = schema;
  for (let i = 0; i < 8 && s; i++) {
    const def = (s as { _zod?: { def?: { type?: string; innerType?: AnySchema } } })._zod?.def;
    if (def?.type === 'optional' || def?.type === 'nullable' || def?.type === 'default') s = def.innerType;
    else break;
  }
  return s;
}
