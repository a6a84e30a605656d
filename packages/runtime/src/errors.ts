/**
 * Errors a person can act on: each says what went wrong and what to do about it, and carries a
 * code a program can switch on and, when a container or process failed, its last log lines.
 */

export type RuntimeErrorCode =
  /** No Docker engine answers on the configured socket. */
  | 'DOCKER_UNAVAILABLE'
  /** A fixed port the lab needs is held by something else. */
  | 'PORT_IN_USE'
  /** No address block for the lab's network could be found or created. */
  | 'SUBNET_IN_USE'
  /** The runtime image could not be built. */
  | 'IMAGE_BUILD_FAILED'
  /** The bundled programs the image and the local driver run have not been built. */
  | 'PROGRAMS_MISSING'
  /** A container or process of the lab exited while it was coming up. */
  | 'EXITED'
  /** Something did not become ready in time. */
  | 'NOT_READY'
  /** `up` of a lab that is already up. */
  | 'LAB_RUNNING'
  | 'LAB_NOT_FOUND'
  | 'NODE_NOT_FOUND'
  /** The lab needs something this driver cannot run (an image on the local driver, a missing program). */
  | 'UNSUPPORTED';

export interface ContainerLogs {
  container: string;
  lines: string[];
}

export class RuntimeError extends Error {
  readonly code: RuntimeErrorCode;
  /** What to do about it, in a sentence. */
  readonly hint: string;
  readonly logs: ContainerLogs[];

  constructor(
    code: RuntimeErrorCode,
    problem: string,
    hint: string,
    options: { logs?: ContainerLogs[]; cause?: unknown } = {},
  ) {
    super(`${problem}\n${hint}${formatLogs(options.logs ?? [])}`, { cause: options.cause });
    this.name = 'RuntimeError';
    this.code = code;
    this.hint = hint;
    this.logs = options.logs ?? [];
  }
}

function formatLogs(logs: ContainerLogs[]): string {
  return logs
    .map(
      (l) =>
        `\n--- last log lines of ${l.container} ---\n${l.lines.length ? l.lines.join('\n') : '(no output)'}`,
    )
    .join('');
}

/** The last `n` non-empty lines of a text. */
export function lastLines(text: string, n: number): string[] {
  return text
    .split('\n')
    .map((l) => l.trimEnd())
    .filter((l) => l.length > 0)
    .slice(-n);
}
