/**
 * Loading configuration the way Envoy does: the bootstrap from `-c` and/or `--config-yaml`, xDS
 * resources, and filesystem-subscription files. Everything returned is validated and normalized
 * (types.ts); every problem is a ConfigError with the field path and, for text, line and column.
 */

import { readFileSync } from 'node:fs';
import { ConfigError, type ConfigWarning, formatLocated, type SourcePath } from './errors.js';
import { registerLocator } from './feature-gate.js';
import { mergeMessage } from './merge.js';
import { isPlainObject, messageTypeOf, normalizeMessage } from './proto-json.js';
import { checkSemantics } from './semantic.js';
import { formatOf, type Location, type ParsedConfig, parseConfig } from './source.js';
import type { Bootstrap, DiscoveryResponse } from './types.js';

export { ConfigError } from './errors.js';
export {
  assertImplemented,
  NOT_IMPLEMENTED,
  type UnsupportedFeature,
  unsupportedFeatures,
} from './feature-gate.js';

const BOOTSTRAP = 'envoy.config.bootstrap.v3.Bootstrap';
const DISCOVERY_RESPONSE = 'envoy.service.discovery.v3.DiscoveryResponse';

/** The xDS resource types meshcraft-proxy reads (LDS, CDS, EDS, RDS, SDS). */
export const RESOURCE_TYPES = [
  'envoy.config.listener.v3.Listener',
  'envoy.config.cluster.v3.Cluster',
  'envoy.config.endpoint.v3.ClusterLoadAssignment',
  'envoy.config.route.v3.RouteConfiguration',
  'envoy.extensions.transport_sockets.tls.v3.Secret',
];

/** One parsed input and what the normalizer recorded about where each field came from. */
interface Origin {
  parsed: ParsedConfig;
  sources: Map<string, SourcePath>;
}

/** The nearest field path at or above `fieldPath` that the normalizer recorded an input node for. */
function recordedPath(origin: Origin, fieldPath: string): string | undefined {
  let path = fieldPath;
  while (path) {
    if (origin.sources.has(path)) return path;
    const cut = Math.max(path.lastIndexOf('.'), path.lastIndexOf('['));
    path = cut > 0 ? path.slice(0, cut) : '';
  }
  return undefined;
}

function locate(origin: Origin, fieldPath: string, at: 'key' | 'value'): Location | undefined {
  const recorded = recordedPath(origin, fieldPath);
  const path = recorded === undefined ? undefined : origin.sources.get(recorded);
  return path ? origin.parsed.locate(path, at) : undefined;
}

/** The same error, with the file, line and column of the problem attached. */
function located(error: ConfigError, origin: Origin | undefined): ConfigError {
  if (!origin || error.file) return error;
  const where = error.source
    ? origin.parsed.locate(error.source.path, error.source.at)
    : locate(origin, error.fieldPath, 'value');
  return new ConfigError(error.reason, { fieldPath: error.fieldPath, file: origin.parsed.file, ...where });
}

function withOrigin<T>(origin: Origin | undefined, run: () => T): T {
  try {
    return run();
  } catch (e) {
    throw e instanceof ConfigError ? located(e, origin) : e;
  }
}

function formatWarnings(warnings: ConfigWarning[], origin: Origin | undefined): string[] {
  return warnings.map((w) => {
    const where = origin && w.source ? origin.parsed.locate(w.source.path, w.source.at) : undefined;
    return formatLocated(w.text, { fieldPath: w.fieldPath, file: origin?.parsed.file, ...where });
  });
}

function readConfigFile(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (e) {
    const reason = (e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message;
    throw new ConfigError(`Unable to read file: ${reason}`, { file: path });
  }
}

export interface LoadBootstrapOptions {
  /** Envoy's `-c`: a `.yaml`/`.yml` (YAML) or `.json` (JSON) file. */
  path?: string;
  /** Envoy's `--config-yaml`, merged over the file (protobuf MergeFrom: lists appended, messages merged). */
  yaml?: string;
}

export interface LoadedBootstrap {
  bootstrap: Bootstrap;
  /** Envoy's "Using deprecated option ..." messages, with file:line:column where known. */
  warnings: string[];
}

/**
 * Validates one parsed document as the message `typeName`, with Envoy's semantic checks; problems
 * come with the document's file, line and column. `excerpt` is for pieces of a larger message
 * (documentation snippets), whose required fields may be elsewhere: it skips validation rules.
 */
export function validateDocument(
  typeName: string,
  parsed: ParsedConfig,
  { excerpt = false }: { excerpt?: boolean } = {},
): { value: Record<string, unknown>; warnings: string[] } {
  const origin: Origin = { parsed, sources: new Map() };
  const warnings: ConfigWarning[] = [];
  const value = withOrigin(origin, () => {
    const normalized = normalizeMessage(typeName, parsed.value, {
      rules: !excerpt,
      warnings,
      sources: origin.sources,
    });
    checkSemantics(typeName, normalized);
    return normalized;
  });
  registerLocator(value, (fieldPath) => ({ file: parsed.file, ...locate(origin, fieldPath, 'key') }));
  return { value, warnings: formatWarnings(warnings, origin) };
}

/**
 * Loads and validates an Envoy v3 bootstrap, as `envoy -c <path> --config-yaml <yaml>` would.
 * Throws ConfigError for anything Envoy would refuse at start.
 */
export function loadBootstrap({ path, yaml }: LoadBootstrapOptions): LoadedBootstrap {
  const inputs: ParsedConfig[] = [];
  if (path !== undefined) inputs.push(parseConfig(readConfigFile(path), path, formatOf(path)));
  if (yaml !== undefined) inputs.push(parseConfig(yaml, '--config-yaml', 'yaml'));
  const [file, override] = inputs;
  if (!file) throw new ConfigError('no configuration given: pass a config file (-c) or --config-yaml');
  if (!override) {
    const { value, warnings } = validateDocument(BOOTSTRAP, file);
    return { bootstrap: value as Bootstrap, warnings };
  }

  // Each input must be a valid bootstrap on its own, but rules such as "required" apply to the merge.
  const [first, second] = [file, override].map((parsed): Origin => ({ parsed, sources: new Map() })) as [
    Origin,
    Origin,
  ];
  const [base, over] = [first, second].map((o) =>
    withOrigin(o, () => normalizeMessage(BOOTSTRAP, o.parsed.value, { rules: false, sources: o.sources })),
  ) as [Record<string, unknown>, Record<string, unknown>];
  // A field of the merged config is located in the input that has more of its path; appended list
  // entries keep their index only in the first input, so ties stay unlocated.
  const originOf = (fieldPath: string): Origin | undefined => {
    const a = recordedPath(first, fieldPath)?.length ?? -1;
    const b = recordedPath(second, fieldPath)?.length ?? -1;
    return a === b ? undefined : a > b ? first : second;
  };
  const warnings: ConfigWarning[] = [];
  let bootstrap: Bootstrap;
  try {
    bootstrap = normalizeMessage(BOOTSTRAP, mergeMessage(BOOTSTRAP, base, over), { warnings }) as Bootstrap;
    checkSemantics(BOOTSTRAP, bootstrap as Record<string, unknown>);
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    // The error's input path refers to the merged value, not to either text: locate by field path.
    throw located(new ConfigError(e.reason, { fieldPath: e.fieldPath }), originOf(e.fieldPath));
  }
  registerLocator(bootstrap, (fieldPath) => {
    const from = originOf(fieldPath);
    return from ? { file: from.parsed.file, ...locate(from, fieldPath, 'key') } : undefined;
  });
  return { bootstrap, warnings: formatWarnings(warnings, undefined) };
}

function resourceType(typeUrl: string, path: string): string {
  const typeName = messageTypeOf(typeUrl, path);
  if (!RESOURCE_TYPES.includes(typeName)) {
    throw new ConfigError(
      `${typeName} is not an xDS resource type meshcraft-proxy reads (${RESOURCE_TYPES.map((t) => t.slice(t.lastIndexOf('.') + 1)).join(', ')})`,
      { fieldPath: path },
    );
  }
  return typeName;
}

/**
 * Validates and normalizes one xDS resource of `typeUrl` (a type URL or message name, e.g.
 * `type.googleapis.com/envoy.config.cluster.v3.Cluster`). `value` may carry an `"@type"`, which must
 * match. `path` prefixes field paths in errors (`resources[2]`).
 */
export function normalizeResource(
  typeUrl: string,
  value: unknown,
  path = '',
  warnings: string[] = [],
): Record<string, unknown> {
  const typeName = resourceType(typeUrl, path);
  let body = value;
  if (isPlainObject(value) && '@type' in value) {
    const { '@type': declared, ...rest } = value;
    const at = path ? `${path}["@type"]` : '"@type"';
    const declaredType = messageTypeOf(String(declared), at);
    if (declaredType !== typeName) {
      throw new ConfigError(`the resource is a ${declaredType}, but a ${typeName} was expected`, {
        fieldPath: at,
      });
    }
    body = rest;
  }
  const found: ConfigWarning[] = [];
  const normalized = normalizeMessage(typeName, body, { path, warnings: found });
  checkSemantics(typeName, normalized, path);
  warnings.push(...formatWarnings(found, undefined));
  return normalized;
}

export interface LoadedDiscoveryResponse {
  response: DiscoveryResponse;
  warnings: string[];
}

/**
 * Loads a filesystem-subscription file (`version_info` + `resources[]`, each with an `@type`), as
 * Envoy's `path` config sources read them: YAML if the name ends in `.yaml`/`.yml`, JSON otherwise.
 */
export function loadDiscoveryResponseFile(path: string): LoadedDiscoveryResponse {
  const parsed = parseConfig(readConfigFile(path), path, formatOf(path));
  const origin: Origin = { parsed, sources: new Map() };
  const warnings: ConfigWarning[] = [];
  const response = withOrigin(origin, () => {
    const normalized = normalizeMessage(DISCOVERY_RESPONSE, parsed.value, {
      warnings,
      sources: origin.sources,
    });
    const typeUrl = normalized.type_url as string | undefined;
    const declaredType = typeUrl === undefined ? undefined : resourceType(typeUrl, 'type_url');
    let firstType: string | undefined;
    ((normalized.resources ?? []) as { '@type': string }[]).forEach((resource, i) => {
      const at = `resources[${i}]`;
      const typeName = resourceType(resource['@type'], `${at}["@type"]`);
      if (declaredType !== undefined && typeName !== declaredType) {
        throw new ConfigError(`the resource is a ${typeName}, but type_url says ${typeUrl}`, {
          fieldPath: `${at}["@type"]`,
        });
      }
      firstType ??= typeName;
      if (typeName !== firstType) {
        throw new ConfigError(
          `the resource is a ${typeName}, but resources[0] is a ${firstType}; a discovery response holds one resource type`,
          { fieldPath: `${at}["@type"]` },
        );
      }
      checkSemantics(typeName, resource as unknown as Record<string, unknown>, at);
    });
    return normalized as DiscoveryResponse;
  });
  return { response, warnings: formatWarnings(warnings, origin) };
}
