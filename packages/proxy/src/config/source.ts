/**
 * Configuration text → plain values, the way Envoy reads it, plus line/column lookup for errors.
 *
 * YAML scalars follow Envoy's YAML→JSON conversion (source/common/protobuf/yaml_utility.cc), not
 * the YAML 1.2 core schema: quoted and block scalars are strings; plain `true/yes/on/y` (and their
 * negations, in lower, Upper or UPPER case) are booleans; integers that fit in int32 are numbers and
 * larger ones decimal strings; `~`/`null`/empty are null; everything else, floats included, is the
 * string as written. So `version: 1.0` in metadata stays "1.0", as in Envoy, and proto fields of
 * numeric type convert numeric strings themselves.
 */

import {
  Alias,
  isMap,
  isPair,
  isScalar,
  isSeq,
  LineCounter,
  type Node,
  parseAllDocuments,
  type Scalar,
} from 'yaml';
import { ConfigError, type SourcePath } from './errors.js';

export type ConfigFormat = 'yaml' | 'json';

export interface Location {
  line: number;
  column: number;
}

/** One parsed document: its value and a way back from a path in it to the text. */
export interface ParsedConfig {
  /** How the source is named in messages: a file path, or `--config-yaml`. */
  file: string;
  value: unknown;
  locate(path: SourcePath, at: 'key' | 'value'): Location | undefined;
}

/** Envoy picks the parser by file extension: `.yaml`/`.yml` are YAML, anything else is JSON. */
export function formatOf(path: string): ConfigFormat {
  return /\.ya?ml$/i.test(path) ? 'yaml' : 'json';
}

const YAML_TRUE = /^(?:y|Y|yes|Yes|YES|true|True|TRUE|on|On|ON)$/;
const YAML_FALSE = /^(?:n|N|no|No|NO|false|False|FALSE|off|Off|OFF)$/;
const YAML_NULL = /^(?:~|null|Null|NULL|)$/;
const INT32_MIN = -(2 ** 31);
const INT32_MAX = 2 ** 31 - 1;

function plainScalar(text: string): unknown {
  if (YAML_NULL.test(text)) return null;
  if (YAML_TRUE.test(text)) return true;
  if (YAML_FALSE.test(text)) return false;
  let int: bigint | undefined;
  if (/^[-+]?\d+$/.test(text)) int = BigInt(text);
  else if (/^0x[0-9a-fA-F]+$/.test(text) || /^0o[0-7]+$/.test(text)) int = BigInt(text);
  if (int !== undefined) {
    return int >= INT32_MIN && int <= INT32_MAX ? Number(int) : int.toString();
  }
  return text;
}

function scalarValue(node: Scalar): unknown {
  if (node.type !== 'PLAIN' || node.tag === 'tag:yaml.org,2002:str') return String(node.value ?? '');
  return plainScalar(node.source ?? '');
}

/** Envoy uses a mapping key's text as written (`1: x` has the key "1"). */
function keyText(key: unknown): string | undefined {
  if (!isScalar(key)) return undefined;
  return key.type === 'PLAIN' ? (key.source ?? String(key.value)) : String(key.value ?? '');
}

type Resolve = (alias: Alias) => Node | undefined;

function toValue(node: unknown, resolve: Resolve, depth = 0): unknown {
  if (depth > 512) throw new Error('YAML aliases nest too deeply');
  if (node instanceof Alias) return toValue(resolve(node), resolve, depth + 1);
  if (node === null || node === undefined) return null;
  if (isScalar(node)) return scalarValue(node);
  if (isSeq(node)) return node.items.map((item) => toValue(item, resolve, depth + 1));
  if (isMap(node)) {
    const out: Record<string, unknown> = {};
    for (const pair of node.items) {
      const key = keyText(pair.key);
      if (key === undefined) throw new Error('mapping keys must be plain strings');
      out[key] = toValue(pair.value, resolve, depth + 1);
    }
    return out;
  }
  return null;
}

function locateIn(
  root: unknown,
  path: SourcePath,
  at: 'key' | 'value',
  resolve: Resolve,
): [number, number] | undefined {
  let node: unknown = root;
  let keyNode: unknown;
  for (const segment of path) {
    if (node instanceof Alias) node = resolve(node);
    keyNode = undefined;
    if (typeof segment === 'number' && isSeq(node)) {
      node = node.items[segment];
    } else if (typeof segment === 'string' && isMap(node)) {
      const pair = node.items.find((p) => isPair(p) && keyText(p.key) === segment);
      if (!pair) return rangeOf(node);
      keyNode = pair.key;
      node = pair.value;
    } else {
      break;
    }
  }
  const valueRange = rangeOf(node);
  const keyRange = rangeOf(keyNode);
  const emptyValue = node === null || node === undefined || (isScalar(node) && node.source === '');
  if (keyRange && (at === 'key' || emptyValue || !valueRange)) return keyRange;
  return valueRange;
}

function rangeOf(node: unknown): [number, number] | undefined {
  const range = (node as { range?: [number, number, number] } | null)?.range;
  return range ? [range[0], range[1]] : undefined;
}

function yamlSyntaxError(
  text: string,
  file: string,
  error: { message: string; pos: [number, number] },
  lines: LineCounter,
) {
  // Indentation errors start at the line's indentation; point at what is mis-indented instead.
  let offset = error.pos[0];
  while (text[offset] === ' ' || text[offset] === '\t') offset++;
  const { line, col } = lines.linePos(offset);
  const reason = error.message.replace(/ at line \d+, column \d+[\s\S]*$/, '');
  return new ConfigError(`malformed YAML: ${reason}`, { file, line, column: col });
}

function parseYamlDocuments(text: string, file: string): ParsedConfig[] {
  const lines = new LineCounter();
  const docs = parseAllDocuments(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  for (const doc of docs) {
    const [first] = doc.errors;
    if (first) throw yamlSyntaxError(text, file, first, lines);
  }
  return docs.map((doc) => {
    const resolve: Resolve = (alias) => alias.resolve(doc) as Node | undefined;
    let value: unknown;
    try {
      value = toValue(doc.contents, resolve);
    } catch (e) {
      throw new ConfigError(`malformed YAML: ${(e as Error).message}`, { file });
    }
    return {
      file,
      value,
      locate(path, at) {
        const range = locateIn(doc.contents, path, at, resolve);
        if (!range) return undefined;
        const { line, col } = lines.linePos(range[0]);
        return { line, column: col };
      },
    };
  });
}

function jsonSyntaxError(text: string, file: string, error: Error): ConfigError {
  const position = /position (\d+)/.exec(error.message);
  const reason = error.message.replace(/ in JSON at position \d+.*$/, '').replace(/^JSON\.parse: /, '');
  if (!position) return new ConfigError(`malformed JSON: ${reason}`, { file });
  const before = text.slice(0, Number(position[1]));
  const line = before.split('\n').length;
  const column = before.length - before.lastIndexOf('\n');
  return new ConfigError(`malformed JSON: ${reason}`, { file, line, column });
}

function parseJson(text: string, file: string): ParsedConfig {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw jsonSyntaxError(text, file, e as Error);
  }
  let located: ParsedConfig | undefined;
  return {
    file,
    value,
    locate(path, at) {
      // JSON is YAML, so the YAML parser finds the node; only done when an error needs a position.
      located ??= parseYamlDocuments(text, file)[0];
      return located?.locate(path, at);
    },
  };
}

/**
 * Every document in a YAML stream (`---`/`...` separated). Configs hold one; the course notes'
 * excerpts use `...` to elide parts, which makes them several.
 */
export function parseConfigDocuments(text: string, file: string): ParsedConfig[] {
  return parseYamlDocuments(text, file);
}

/** Parses one configuration document; syntax errors become ConfigErrors with line and column. */
export function parseConfig(text: string, file: string, format: ConfigFormat): ParsedConfig {
  if (format === 'json') return parseJson(text, file);
  const docs = parseYamlDocuments(text, file).filter((d) => d.value !== null);
  if (docs.length > 1) {
    throw new ConfigError(
      `the YAML holds ${docs.length} documents (separated by '---' or '...'); an Envoy config is a single document`,
      { file },
    );
  }
  return docs[0] ?? { file, value: null, locate: () => undefined };
}
