/**
 * Errors a person can cause through the console: each names the problem and what to do about it,
 * and carries a code that the API maps to an HTTP status and the CLI to an exit code. Runtime
 * errors (`RuntimeError` of @meshcraft/runtime) and lab issues pass through with their own details.
 */
import type { ContainerLogs, RuntimeErrorCode } from '@meshcraft/runtime';
import { RuntimeError } from '@meshcraft/runtime';
import type { Issue } from '@meshcraft/topology';

export type ConsoleErrorCode =
  /** A lab name or path that is not allowed (traversal, bad characters). */
  | 'BAD_NAME'
  /** A lab document with errors; `issues` lists them. */
  | 'INVALID_LAB'
  /** Input that is well-formed but makes no sense here (a target that is no proxy, an empty file). */
  | 'BAD_INPUT'
  | 'NOT_FOUND'
  /** Something of that name already exists. */
  | 'EXISTS'
  /** The lab changed on disk since the caller read it. */
  | 'CONFLICT'
  /** The action needs the lab down (or up) and it is not. */
  | 'LAB_STATE'
  /** Another operation on the same lab is still running. */
  | 'BUSY'
  /** Library labs are read-only; save a copy to the workspace. */
  | 'READ_ONLY'
  /** A proxy's admin or an app did not answer. */
  | 'UNREACHABLE';

export class ConsoleError extends Error {
  readonly code: ConsoleErrorCode;
  /** What to do about it, in a sentence. */
  readonly hint: string;
  readonly issues: Issue[];

  constructor(
    code: ConsoleErrorCode,
    problem: string,
    hint: string,
    options: { issues?: Issue[]; cause?: unknown } = {},
  ) {
    super(problem, { cause: options.cause });
    this.name = 'ConsoleError';
    this.code = code;
    this.hint = hint;
    this.issues = options.issues ?? [];
  }
}

/** What the API and the CLI tell a person about any error: serialisable, no stack. */
export interface ErrorDetails {
  code: ConsoleErrorCode | RuntimeErrorCode | 'INTERNAL';
  message: string;
  hint?: string;
  issues?: Issue[];
  logs?: ContainerLogs[];
}

export function errorDetails(err: unknown): ErrorDetails {
  if (err instanceof ConsoleError) {
    return { code: err.code, message: err.message, hint: err.hint, issues: err.issues };
  }
  if (err instanceof RuntimeError) {
    // RuntimeError's message carries the hint and the logs after the first line.
    return { code: err.code, message: err.message.split('\n')[0]!, hint: err.hint, logs: err.logs };
  }
  return { code: 'INTERNAL', message: err instanceof Error ? err.message : String(err) };
}

/** The one-line-per-fact text of an error, for a terminal. */
export function describeError(details: ErrorDetails): string {
  const lines = [details.message];
  for (const i of details.issues ?? []) {
    const where = i.line !== undefined ? `line ${i.line}, column ${i.column}: ` : '';
    lines.push(`  ${i.severity}: ${where}${i.at}: ${i.message}`);
  }
  if (details.hint) lines.push(details.hint);
  for (const l of details.logs ?? []) {
    lines.push(`--- last log lines of ${l.container} ---`, ...(l.lines.length ? l.lines : ['(no output)']));
  }
  return lines.join('\n');
}
