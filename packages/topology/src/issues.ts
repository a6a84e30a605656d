/**
 * Problems found in a lab: where (a path into the document, the node or edge it concerns, and the
 * YAML line and column when the lab came from a file) and what, in a sentence a person can act on.
 * Browser-safe.
 */
import type { z } from 'zod';

export type PathSegment = string | number;

export interface Issue {
  severity: 'error' | 'warning';
  /** Path into the document, e.g. `['spec', 'nodes', 3, 'listeners', 0, 'port']`. */
  path: PathSegment[];
  /** The same path written `spec.nodes[3].listeners[0].port`. */
  at: string;
  message: string;
  /** The node or edge the path runs through, so an editor can highlight it. */
  nodeId?: string;
  edgeId?: string;
  /** 1-based position in the YAML text, when the lab was parsed from text. */
  line?: number;
  column?: number;
}

export function formatPath(path: readonly PathSegment[]): string {
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else out += out === '' ? seg : `.${seg}`;
  }
  return out === '' ? '(document)' : out;
}

/** The thrown form of a list of issues: an error whose message lists them, one per line. */
export class LabError extends Error {
  constructor(
    readonly issues: Issue[],
    summary = 'the lab is not valid',
  ) {
    super(`${summary}:\n${issues.map((i) => `  - ${describeIssue(i)}`).join('\n')}`);
    this.name = 'LabError';
  }
}

export function describeIssue(i: Issue): string {
  const where = i.line !== undefined ? `line ${i.line}, column ${i.column}: ` : '';
  return `${where}${i.at}: ${i.message}`;
}

export function errorsOf(issues: readonly Issue[]): Issue[] {
  return issues.filter((i) => i.severity === 'error');
}

export class IssueList {
  readonly items: Issue[] = [];
  constructor(private readonly doc?: unknown) {}

  error(path: PathSegment[], message: string): void {
    this.add('error', path, message);
  }

  warning(path: PathSegment[], message: string): void {
    this.add('warning', path, message);
  }

  add(severity: Issue['severity'], path: PathSegment[], message: string): void {
    this.items.push({ severity, path, at: formatPath(path), message, ...owners(this.doc, path) });
  }
}

/** The node and edge ids a path runs through (`spec.nodes[3]` → that node's id). */
export function owners(doc: unknown, path: readonly PathSegment[]): { nodeId?: string; edgeId?: string } {
  if (path[0] !== 'spec' || typeof path[2] !== 'number') return {};
  const list = path[1] === 'nodes' ? 'nodes' : path[1] === 'edges' ? 'edges' : undefined;
  if (!list) return {};
  const item = (doc as { spec?: Record<string, unknown> } | undefined)?.spec?.[list];
  const entry = Array.isArray(item) ? item[path[2]] : undefined;
  const id = entry && typeof entry === 'object' ? (entry as { id?: unknown }).id : undefined;
  if (typeof id !== 'string') return {};
  return list === 'nodes' ? { nodeId: id } : { edgeId: id };
}

function valueAt(doc: unknown, path: readonly PathSegment[]): unknown {
  let v = doc;
  for (const seg of path) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<string | number, unknown>)[seg];
  }
  return v;
}

function fieldName(path: readonly PathSegment[]): string {
  for (let i = path.length - 1; i >= 0; i--) {
    const seg = path[i];
    if (typeof seg === 'string') return seg;
  }
  return 'the document';
}

function show(v: unknown): string {
  if (typeof v === 'string') return `'${v.length > 60 ? `${v.slice(0, 57)}...` : v}'`;
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a mapping';
  return String(v);
}

/** Turns zod's issues into sentences that name the field and say what is expected. */
export function fromZodIssues(doc: unknown, zodIssues: readonly z.core.$ZodIssue[], out: IssueList): void {
  for (const zi of zodIssues) {
    const path = zi.path.filter((p): p is PathSegment => typeof p !== 'symbol');
    out.error(path, zodMessage(doc, path, zi));
  }
}

function zodMessage(doc: unknown, path: PathSegment[], zi: z.core.$ZodIssue): string {
  const field = fieldName(path);
  const value = valueAt(doc, path);
  switch (zi.code) {
    case 'unrecognized_keys': {
      const keys = zi.keys.map((k) => `'${k}'`).join(', ');
      return `unknown field${zi.keys.length > 1 ? 's' : ''} ${keys}: remove ${zi.keys.length > 1 ? 'them' : 'it'} or check the spelling`;
    }
    case 'invalid_type':
      if (value === undefined) return `'${field}' is required`;
      return `'${field}' must be ${article(zi.expected)}, not ${show(value)}`;
    case 'invalid_value':
      if (zi.values.length === 1) return `'${field}' must be ${show(zi.values[0])}, not ${show(value)}`;
      return `'${field}' must be one of ${zi.values.map(show).join(', ')}, not ${show(value)}`;
    case 'invalid_union': {
      if ('discriminator' in zi && zi.discriminator) {
        const options = (zi as { options?: unknown[] }).options ?? [];
        return value === undefined
          ? `'${zi.discriminator}' is required (one of ${options.map(show).join(', ')})`
          : `'${field}' must be one of ${options.map(show).join(', ')}, not ${show(value)}`;
      }
      return `'${field}' does not match any allowed form (${describeUnion(zi.errors)})`;
    }
    case 'too_small':
    case 'too_big':
    case 'invalid_format':
    case 'custom':
      return zi.message.startsWith('must') || zi.message.startsWith('is ')
        ? `'${field}' ${zi.message}`
        : `'${field}': ${zi.message}`;
    default:
      return `'${field}': ${zi.message}`;
  }
}

function describeUnion(branches: readonly (readonly z.core.$ZodIssue[])[]): string {
  const best = [...branches].sort((a, b) => a.length - b.length)[0] ?? [];
  const first = best[0];
  if (!first) return 'no branch matched';
  const sub = first.path.filter((p): p is PathSegment => typeof p !== 'symbol');
  return `closest form: ${sub.length ? `${formatPath(sub)} ` : ''}${first.message}`;
}

function article(type: string): string {
  if (type === 'array') return 'a list';
  if (type === 'object') return 'a mapping';
  return /^[aeiou]/.test(type) ? `an ${type}` : `a ${type}`;
}
