/** A path into the parsed input: mapping keys as written, and list indexes. */
export type SourcePath = readonly (string | number)[];

/** Where in the input a problem is: the node at `path`, or the key that introduces it. */
export interface SourceRef {
  path: SourcePath;
  at: 'key' | 'value';
}

export interface ConfigErrorDetails {
  fieldPath?: string;
  file?: string;
  line?: number;
  column?: number;
  /** @internal lets the loader turn `path` into a line and column. */
  source?: SourceRef;
}

/**
 * A configuration Envoy would refuse. The message reads like
 * `envoy.yaml:14:9: static_resources.clusters[0].conect_timeout: unknown field (did you mean 'connect_timeout'?)`;
 * `fieldPath`, `line` and `column` are there for programs (the console highlights the line).
 */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  /** What is wrong, without the location. */
  readonly reason: string;
  /** Canonical proto field path, e.g. `static_resources.clusters[0].connect_timeout`; empty for the whole document. */
  readonly fieldPath: string;
  readonly file?: string;
  /** 1-based, when the input was YAML or JSON text. */
  readonly line?: number;
  readonly column?: number;
  /** @internal */
  readonly source?: SourceRef;

  constructor(reason: string, details: ConfigErrorDetails = {}) {
    super(formatLocated(reason, details));
    this.reason = reason;
    this.fieldPath = details.fieldPath ?? '';
    this.file = details.file;
    this.line = details.line;
    this.column = details.column;
    this.source = details.source;
  }
}

/** `file:line:column: field.path: text`, leaving out whatever is unknown. */
export function formatLocated(
  text: string,
  where: { fieldPath?: string; file?: string; line?: number; column?: number },
): string {
  let prefix = '';
  if (where.file) {
    prefix = where.file;
    if (where.line !== undefined) prefix += `:${where.line}:${where.column ?? 1}`;
    prefix += ': ';
  }
  if (where.fieldPath) prefix += `${where.fieldPath}: `;
  return prefix + text;
}

/** A message for a field that Envoy accepts but reports, like its "Using deprecated option" log lines. */
export interface ConfigWarning {
  fieldPath: string;
  text: string;
  source?: SourceRef;
}
