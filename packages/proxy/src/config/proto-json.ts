/**
 * Validates a JSON value (parsed from YAML or JSON) against one of Envoy's API messages and returns
 * its normalized form (see types.ts): canonical snake_case names, lists for repeated fields, enum
 * names, canonical duration strings, plain wrapper values, numbers for numeric strings, Any as
 * `{"@type", ...fields}`, defaults left out.
 *
 * It accepts what Envoy's JSON parser accepts (proto and JSON field names, case-insensitive enum
 * names and enum numbers, numbers as strings, durations as `"1s"` or `{seconds, nanos}`) plus the
 * leniencies the course relies on (a single mapping where a list is expected, `typed_config: {}`),
 * and rejects what Envoy rejects — unknown fields, wrong types, unknown enum values, two members of
 * a oneof, protoc-gen-validate rules, unknown or v2 `@type`s, unknown extension names — with the
 * field path of the offending value.
 */

import { type EnvoyApi, envoyApi, type Field, type Message } from './envoy-protos.js';
import { ConfigError, type ConfigWarning, type SourcePath } from './errors.js';
import {
  findExtension,
  isProtocolOptionsKey,
  slotCategory,
  suggestExtension,
  TYPE_URL_PREFIX,
  typeMismatch,
  typeUrl,
} from './extensions.js';
import { closest } from './suggest.js';
import type { Any } from './types.js';
import { checkFieldRules, type EnumLookup, type Fail } from './validate-rules.js';
import {
  ANY,
  DURATION,
  type DurationParts,
  durationInRange,
  FIELD_MASK,
  formatDurationParts,
  hasSpecialJson,
  LIST_VALUE,
  parseDurationString,
  STRUCT,
  TIMESTAMP,
  VALUE,
  WRAPPERS,
} from './wkt.js';

export interface NormalizeOptions {
  /** Check protoc-gen-validate rules (default true). Off for the halves of a --config-yaml merge. */
  rules?: boolean;
  /** Receives a warning for every deprecated field or enum value used. */
  warnings?: ConfigWarning[];
  /** Receives, for every normalized field path, where its value was in the input. */
  sources?: Map<string, SourcePath>;
  /** Field path of the value, for messages (`resources[2]`). */
  path?: string;
  /** Input path of the value, if it is part of a larger document. */
  sourcePath?: SourcePath;
}

/** Where a value is: its canonical field path and the path of the input node it came from. */
interface Loc {
  field: string;
  src: SourcePath;
}

function fieldLoc(loc: Loc, name: string, key: string): Loc {
  return { field: loc.field ? `${loc.field}.${name}` : name, src: [...loc.src, key] };
}

function elementLoc(loc: Loc, index: number, wrapped: boolean): Loc {
  return { field: `${loc.field}[${index}]`, src: wrapped ? loc.src : [...loc.src, index] };
}

export function mapKeyPath(path: string, key: string): string {
  return /^[A-Za-z_][A-Za-z0-9_]*$/.test(key) ? `${path}.${key}` : `${path}[${JSON.stringify(key)}]`;
}

function entryLoc(loc: Loc, key: string): Loc {
  return { field: mapKeyPath(loc.field, key), src: [...loc.src, key] };
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function describe(value: unknown): string {
  if (value === null) return 'nothing (null)';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  if (typeof value === 'string') return `the string ${JSON.stringify(value)}`;
  if (typeof value === 'number') return `the number ${value}`;
  return String(value);
}

/** `envoy.config.cluster.v3.Cluster` → `Cluster`, for messages. */
function shortName(name: string): string {
  return name.slice(name.lastIndexOf('.') + 1);
}

/** Hints for fields the v3 API removed (they are `reserved`), mostly v2 fields. */
const REMOVED_FIELD_HINTS: Record<string, string> = {
  config: 'the untyped v2 "config" is gone: write typed_config with an "@type" naming the v3 config message',
  tls_context: 'configure TLS with transport_socket {name: envoy.transport_sockets.tls, typed_config: ...}',
  hosts: 'list the endpoints under load_assignment',
  regex: 'use safe_regex',
  regex_match: 'use string_match: {safe_regex: ...}',
  per_filter_config: 'use typed_per_filter_config',
  runtime: 'use layered_runtime',
  request_mirror_policy: 'use request_mirror_policies (a list)',
  idle_timeout: 'use common_http_protocol_options.idle_timeout',
  use_http2: 'use codec_client_type: HTTP2',
  service_name: 'use service_name_matcher',
};

/** Advice printed with the "Using deprecated option" warning of fields the course notes use. */
const DEPRECATION_HINTS: Record<string, string> = {
  'envoy.config.bootstrap.v3.Admin.access_log_path': 'use admin.access_log with an access logger instead',
  'envoy.config.cluster.v3.Cluster.http2_protocol_options':
    'use typed_extension_protocol_options with envoy.extensions.upstreams.http.v3.HttpProtocolOptions',
  'envoy.config.route.v3.HeaderMatcher.exact_match': 'use string_match: {exact: ...}',
  'envoy.config.cluster.v3.Cluster.max_requests_per_connection':
    'use common_http_protocol_options.max_requests_per_connection in HttpProtocolOptions',
};

/** `udpa.type.v1.TypedStruct` carries an extension's config as a Struct plus its type URL. */
const TYPED_STRUCTS = new Set(['udpa.type.v1.TypedStruct', 'xds.type.v3.TypedStruct']);

/** Envoy v2 API packages: `envoy.api.v2.*`, `envoy.config.filter.*.v2.*`, `....v2alpha.*`. */
function isV2TypeName(name: string): boolean {
  return name.startsWith('envoy.') && /\.v2(alpha\d*)?\./.test(name);
}

const API_VERSION = 'envoy.config.core.v3.ApiVersion';

const INT_RANGES: Record<string, [bigint, bigint]> = {
  int32: [-(2n ** 31n), 2n ** 31n - 1n],
  sint32: [-(2n ** 31n), 2n ** 31n - 1n],
  sfixed32: [-(2n ** 31n), 2n ** 31n - 1n],
  uint32: [0n, 2n ** 32n - 1n],
  fixed32: [0n, 2n ** 32n - 1n],
  int64: [-(2n ** 63n), 2n ** 63n - 1n],
  sint64: [-(2n ** 63n), 2n ** 63n - 1n],
  sfixed64: [-(2n ** 63n), 2n ** 63n - 1n],
  uint64: [0n, 2n ** 64n - 1n],
  fixed64: [0n, 2n ** 64n - 1n],
};

// protobuf's JSON parser (safe_strtob) takes these spellings of booleans.
const TRUE_STRINGS = new Set(['true', 't', 'yes', 'y', '1', 'on']);
const FALSE_STRINGS = new Set(['false', 'f', 'no', 'n', '0', 'off']);

class Normalizer {
  private readonly checkRules: boolean;
  private readonly enums: EnumLookup;

  constructor(
    private readonly api: EnvoyApi,
    private readonly options: NormalizeOptions,
  ) {
    this.checkRules = options.rules ?? true;
    this.enums = {
      zero: (name) => {
        const values = this.api.enum(name)?.values ?? {};
        return Object.keys(values).find((k) => values[k] === 0);
      },
      number: (name, value) => this.api.enum(name)?.values[value],
    };
  }

  error(loc: Loc, reason: string, at: 'key' | 'value' = 'value'): ConfigError {
    return new ConfigError(reason, { fieldPath: loc.field, source: { path: loc.src, at } });
  }

  private warn(loc: Loc, text: string): void {
    this.options.warnings?.push({ fieldPath: loc.field, text, source: { path: loc.src, at: 'key' } });
  }

  private record(loc: Loc): void {
    this.options.sources?.set(loc.field, loc.src);
  }

  message(message: Message, value: unknown, loc: Loc, via?: Field): unknown {
    const special = this.wellKnown(message, value, loc);
    if (special !== NOT_SPECIAL) return special;
    if (!isPlainObject(value)) {
      throw this.error(
        loc,
        `expected a mapping (an Envoy ${shortName(message.name)}), got ${describe(value)}`,
      );
    }
    const out: Record<string, unknown> = {};
    const inputKey = new Map<string, string>();
    const oneofMember = new Map<string, string>();
    const locs = new Map<string, Loc>();
    for (const [key, raw] of Object.entries(value)) {
      const field = message.field(key);
      if (!field) throw this.unknownField(message, key, value, loc);
      const floc = fieldLoc(loc, field.name, key);
      const earlier = inputKey.get(field.name);
      if (earlier !== undefined) throw this.error(floc, `set twice, as '${earlier}' and as '${key}'`, 'key');
      inputKey.set(field.name, key);
      // proto3 JSON: null means "not set" (except for a google.protobuf.Value, where it is a value).
      if (raw === null && field.type !== VALUE) continue;
      const normalized = this.field(field, raw, floc);
      if (normalized === undefined) continue;
      if (field.oneof) {
        const other = oneofMember.get(field.oneof);
        if (other) {
          throw this.error(
            floc,
            `cannot be set together with '${other}': they are alternatives (oneof '${field.oneof}' of ${shortName(message.name)})`,
            'key',
          );
        }
        oneofMember.set(field.oneof, field.name);
      }
      out[field.name] = normalized;
      locs.set(field.name, floc);
      this.record(floc);
      this.deprecation(field, floc);
    }
    if (this.checkRules) this.rules(message, out, loc, locs);
    this.checkExtensionSlot(message, out, loc, via);
    const ordered: Record<string, unknown> = {};
    for (const field of message.fields) if (field.name in out) ordered[field.name] = out[field.name];
    return ordered;
  }

  private field(field: Field, raw: unknown, loc: Loc): unknown {
    if (field.map) {
      if (!isPlainObject(raw))
        throw this.error(loc, `expected a mapping of keys to values, got ${describe(raw)}`);
      const out: Record<string, unknown> = {};
      for (const [key, item] of Object.entries(raw)) {
        const eloc = entryLoc(loc, key);
        this.mapKey(field, key, eloc);
        if (item === null) throw this.error(eloc, 'has no value');
        const normalized = this.singular(field, item, eloc);
        if (normalized !== undefined) out[key] = normalized;
        this.record(eloc);
      }
      return out;
    }
    if (field.repeated) {
      // Envoy accepts a single value where a list is expected (the course writes
      // `listeners:`, `filters:`, `tls_certificates:` and `expected_statuses:` as one mapping).
      const wrapped = !Array.isArray(raw);
      const items = wrapped ? [raw] : (raw as unknown[]);
      return items.map((item, i) => {
        const eloc = elementLoc(loc, i, wrapped);
        if (item === null && field.type !== VALUE) throw this.error(eloc, 'is an empty list entry');
        const normalized = this.singular(field, item, eloc);
        if (normalized === undefined)
          throw this.error(eloc, 'is an empty list entry (an Any needs an "@type")');
        this.record(eloc);
        return normalized;
      });
    }
    return this.singular(field, raw, loc);
  }

  private mapKey(field: Field, key: string, loc: Loc): void {
    if (field.map !== 'string' && field.map !== 'bool') this.scalar(field.map as string, key, loc);
    if (field.map === 'bool' && key !== 'true' && key !== 'false') {
      throw this.error(loc, `map key must be true or false, got '${key}'`, 'key');
    }
    if (field.fullName === 'envoy.config.cluster.v3.Cluster.typed_extension_protocol_options') {
      if (!isProtocolOptionsKey(key)) {
        throw this.error(
          loc,
          `Didn't find a registered network or http filter or protocol options implementation for name: '${key}'`,
          'key',
        );
      }
    }
  }

  private singular(field: Field, raw: unknown, loc: Loc): unknown {
    if (field.kind === 'scalar') return this.scalar(field.type, raw, loc);
    if (field.kind === 'enum') return this.enumValue(field.type, raw, loc);
    const message = this.api.message(field.type);
    if (!message) throw this.error(loc, `internal: message ${field.type} is missing from the API schema`);
    return this.message(message, raw, loc, field);
  }

  private scalar(type: string, raw: unknown, loc: Loc): unknown {
    switch (type) {
      case 'string':
        if (typeof raw === 'string') return raw;
        if (typeof raw === 'number' || typeof raw === 'boolean') {
          throw this.error(loc, `expected a string, got ${describe(raw)} (put it in quotes: "${raw}")`);
        }
        throw this.error(loc, `expected a string, got ${describe(raw)}`);
      case 'bytes':
        if (typeof raw === 'string' && /^[A-Za-z0-9+/_-]*={0,2}$/.test(raw)) return raw;
        throw this.error(loc, `expected base64-encoded bytes, got ${describe(raw)}`);
      case 'bool':
        if (typeof raw === 'boolean') return raw;
        if (typeof raw === 'string' && TRUE_STRINGS.has(raw.toLowerCase())) return true;
        if (typeof raw === 'string' && FALSE_STRINGS.has(raw.toLowerCase())) return false;
        throw this.error(loc, `expected true or false, got ${describe(raw)}`);
      case 'double':
      case 'float': {
        if (typeof raw === 'number') return raw;
        if (typeof raw === 'string' && /^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(raw.trim())) {
          return Number(raw);
        }
        if (raw === 'NaN' || raw === 'Infinity' || raw === '-Infinity') return raw;
        throw this.error(loc, `expected a number, got ${describe(raw)}`);
      }
      default:
        return this.integer(type, raw, loc);
    }
  }

  private integer(type: string, raw: unknown, loc: Loc): number | string {
    let value: bigint | undefined;
    if (typeof raw === 'number' && Number.isInteger(raw)) value = BigInt(raw);
    else if (typeof raw === 'string' && /^[-+]?\d+$/.test(raw.trim())) value = BigInt(raw.trim());
    const [min, max] = INT_RANGES[type] ?? [0n, 0n];
    if (value === undefined) {
      throw this.error(
        loc,
        `expected ${type.includes('uint') ? 'a non-negative whole number' : 'a whole number'}, got ${describe(raw)}`,
      );
    }
    if (value < min || value > max)
      throw this.error(loc, `${value} is out of range for ${type} (${min} to ${max})`);
    const n = Number(value);
    return Number.isSafeInteger(n) ? n : value.toString();
  }

  private enumValue(enumName: string, raw: unknown, loc: Loc): string | number {
    const schema = this.api.enum(enumName);
    const values = schema?.values ?? {};
    const names = Object.keys(values);
    let name: string | undefined;
    if (typeof raw === 'string') {
      // Envoy parses enum names case-insensitively: `strict_dns`, `round_robin`, `auto`.
      name = names.find((n) => n === raw) ?? names.find((n) => n.toLowerCase() === raw.toLowerCase());
      if (!name) {
        const guess = closest(raw, names);
        throw this.error(
          loc,
          `unknown value '${raw}' for ${shortName(enumName)}${guess ? ` (did you mean '${guess}'?)` : ''}; ` +
            `expected one of ${names.join(', ')}`,
        );
      }
    } else if (typeof raw === 'number' && Number.isInteger(raw)) {
      name = names.find((n) => values[n] === raw);
      if (!name) return raw; // proto3 enums are open; enum.defined_only rules catch undefined numbers
    } else {
      throw this.error(loc, `expected one of ${names.join(', ')}, got ${describe(raw)}`);
    }
    if (enumName === API_VERSION && name === 'V2') {
      // Deprecated (not disallowed) in the protos, but Envoy removed the v2 xDS API in 1.19.
      throw this.error(
        loc,
        'the v2 xDS API is no longer supported by Envoy (since 1.19) or meshcraft-proxy; use V3',
      );
    }
    if (schema?.disallowed?.includes(name)) {
      throw this.error(
        loc,
        `Using deprecated option '${enumName}.${name}' — it is no longer allowed (Envoy rejects it by default)`,
      );
    }
    if (schema?.deprecated?.includes(name)) {
      this.warn(loc, `Using deprecated option '${enumName}.${name}'`);
    }
    return name;
  }

  private wellKnown(message: Message, value: unknown, loc: Loc): unknown {
    const wrapped = WRAPPERS[message.name];
    if (wrapped) {
      // A wrapper is written as its plain value; `{value: x}` is accepted too.
      const inner =
        isPlainObject(value) && Object.keys(value).length === 1 && 'value' in value ? value.value : value;
      return this.scalar(wrapped, inner, loc);
    }
    switch (message.name) {
      case DURATION:
        return this.duration(value, loc);
      case TIMESTAMP:
        if (
          typeof value === 'string' &&
          /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?(Z|[+-]\d\d:\d\d)$/.test(value)
        ) {
          return value;
        }
        throw this.error(
          loc,
          `expected an RFC 3339 timestamp such as "2022-06-27T07:30:53Z", got ${describe(value)}`,
        );
      case FIELD_MASK:
        if (typeof value === 'string') return value;
        throw this.error(loc, `expected a comma-separated list of field paths, got ${describe(value)}`);
      case STRUCT:
        if (!isPlainObject(value)) throw this.error(loc, `expected a mapping, got ${describe(value)}`);
        return structuredClone(value);
      case LIST_VALUE:
        return structuredClone(Array.isArray(value) ? value : [value]);
      case VALUE:
        return structuredClone(value);
      case ANY:
        return this.any(value, loc);
      default:
        return NOT_SPECIAL;
    }
  }

  private duration(value: unknown, loc: Loc): string {
    let parts: DurationParts | undefined;
    if (typeof value === 'string') {
      parts = parseDurationString(value.trim());
      if (!parts) {
        const hint = /^\d+(\.\d+)?\s*(ms|us|ns|m|h|min)$/.test(value.trim())
          ? `; Envoy durations are seconds with an 's' suffix ("0.25s" for 250ms)`
          : '';
        throw this.error(loc, `expected a duration such as "0.25s" or "5s", got ${describe(value)}${hint}`);
      }
    } else if (isPlainObject(value)) {
      const { seconds = 0, nanos = 0, ...rest } = value;
      const extra = Object.keys(rest)[0];
      if (extra !== undefined) {
        throw this.error(
          fieldLoc(loc, extra, extra),
          'unknown field of a duration (it has seconds and nanos)',
          'key',
        );
      }
      const s = this.integer('int64', seconds, fieldLoc(loc, 'seconds', 'seconds'));
      const n = this.integer('int32', nanos, fieldLoc(loc, 'nanos', 'nanos'));
      parts = { seconds: BigInt(s), nanos: Number(n) };
    } else if (typeof value === 'number') {
      throw this.error(loc, `a duration needs its unit: write "${value}s" for ${value} seconds`);
    } else {
      throw this.error(loc, `expected a duration such as "0.25s", got ${describe(value)}`);
    }
    if (!durationInRange(parts))
      throw this.error(loc, 'is not a valid duration (out of range, or mixed signs)');
    return formatDurationParts(parts);
  }

  private any(value: unknown, loc: Loc): Any | undefined {
    if (!isPlainObject(value))
      throw this.error(loc, `expected a mapping with an "@type", got ${describe(value)}`);
    const { '@type': url, ...fields } = value;
    if (url === undefined || url === null) {
      // `typed_config: {}` is how the course writes "no config"; Envoy treats it as unset.
      if (Object.keys(fields).length === 0) return undefined;
      throw this.error(loc, `has fields but no "@type"; add "@type": type.googleapis.com/<config message>`);
    }
    const typeLoc = entryLoc(loc, '@type');
    if (typeof url !== 'string' || !url.includes('/')) {
      throw this.error(
        typeLoc,
        `expected a type URL such as type.googleapis.com/<message>, got ${describe(url)}`,
      );
    }
    const typeName = url.slice(url.lastIndexOf('/') + 1);
    const message = this.typeNamed(typeName, typeLoc);
    if (TYPED_STRUCTS.has(typeName)) return this.typedStruct(fields, loc);
    if (hasSpecialJson(typeName)) {
      return {
        '@type': typeUrl(typeName),
        value: this.message(message, fields.value, fieldLoc(loc, 'value', 'value')),
      };
    }
    const normalized = this.message(message, fields, loc) as Record<string, unknown>;
    return { '@type': typeUrl(typeName), ...normalized };
  }

  /** The message an `@type` names, or an error that says what to write instead. */
  typeNamed(typeName: string, loc: Loc): Message {
    if (isV2TypeName(typeName)) {
      const v3 = this.api.v3Replacement(typeName);
      throw this.error(
        loc,
        `'${typeName}' is an Envoy v2 API type; Envoy (since 1.18) and meshcraft-proxy accept only v3` +
          (v3 ? `: use '${TYPE_URL_PREFIX}${v3}'` : ', and it has no direct v3 replacement'),
      );
    }
    const message = this.api.message(typeName);
    if (message) return message;
    const guess = closest(typeName, this.api.messageNames());
    throw this.error(
      loc,
      `unknown type '${typeName}': no such message in Envoy's v3 API` +
        (guess ? ` (did you mean '${TYPE_URL_PREFIX}${guess}'?)` : ''),
    );
  }

  /** Unpacks `{type_url, value: {...}}` into the Any it stands for, as Envoy does. */
  private typedStruct(fields: Record<string, unknown>, loc: Loc): Any | undefined {
    const url = fields.type_url;
    const urlLoc = fieldLoc(loc, 'type_url', 'type_url');
    if (typeof url !== 'string' || !url.includes('/')) {
      throw this.error(urlLoc, `a TypedStruct needs a type_url, got ${describe(url)}`);
    }
    const typeName = url.slice(url.lastIndexOf('/') + 1);
    const message = this.typeNamed(typeName, urlLoc);
    const normalized = this.message(message, fields.value ?? {}, fieldLoc(loc, 'value', 'value'));
    return { '@type': typeUrl(typeName), ...(normalized as Record<string, unknown>) };
  }

  private unknownField(message: Message, key: string, value: Record<string, unknown>, loc: Loc): ConfigError {
    const floc = fieldLoc(loc, key, key);
    if (message.reserved.includes(key)) {
      const hint = REMOVED_FIELD_HINTS[key];
      return this.error(
        floc,
        `unknown field: '${key}' was removed from ${shortName(message.name)} in Envoy's v3 API` +
          ` (this looks like a v2 config)${hint ? `; ${hint}` : ''}`,
        'key',
      );
    }
    const names = message.fields.flatMap((f) => (f.json === f.name ? [f.name] : [f.name, f.json]));
    const guess = closest(key, names);
    if (guess)
      return this.error(floc, `unknown field (did you mean '${message.field(guess)?.name}'?)`, 'key');
    // A key that belongs to a sibling whose value is empty was most likely meant to be indented under it.
    for (const field of message.fields) {
      const sibling = Object.keys(value).find((k) => message.field(k) === field);
      if (field.kind !== 'message' || sibling === undefined || value[sibling] !== null) continue;
      if (this.api.message(field.type)?.field(key)) {
        return this.error(
          floc,
          `unknown field of ${shortName(message.name)}; '${key}' is a field of '${sibling}', which is empty here —` +
            ` indent '${key}' under '${sibling}:'`,
          'key',
        );
      }
    }
    return this.error(floc, `unknown field: ${message.name} has no field '${key}'`, 'key');
  }

  private deprecation(field: Field, loc: Loc): void {
    if (!field.deprecated && !field.disallowed) return;
    const from = field.message.file ? ` from file ${field.message.file}` : '';
    if (field.disallowed) {
      throw this.error(
        loc,
        `Using deprecated option '${field.fullName}'${from}: it is no longer allowed (Envoy rejects it by default)`,
        'key',
      );
    }
    const since = typeof field.deprecated === 'string' ? ` (deprecated in API v${field.deprecated})` : '';
    const hint = DEPRECATION_HINTS[field.fullName];
    this.warn(loc, `Using deprecated option '${field.fullName}'${from}${since}${hint ? `; ${hint}` : ''}`);
  }

  private rules(message: Message, out: Record<string, unknown>, loc: Loc, locs: Map<string, Loc>): void {
    for (const field of message.fields) {
      if (!field.rules) continue;
      const present = out[field.name];
      const floc = locs.get(field.name) ?? {
        field: fieldLoc(loc, field.name, field.name).field,
        src: loc.src,
      };
      const fail: Fail = (reason, element) => {
        const at =
          element === undefined
            ? floc
            : typeof element === 'number'
              ? elementLoc(floc, element, false)
              : entryLoc(floc, element);
        throw this.error(at, reason, present === undefined ? 'key' : 'value');
      };
      checkFieldRules(field, present, fail, this.enums);
    }
    for (const oneof of message.oneofs) {
      if (oneof.required && !oneof.fields.some((f) => f in out)) {
        throw this.error(
          loc,
          `one of ${oneof.fields.map((f) => `'${f}'`).join(', ')} must be set (oneof '${oneof.name}' of ${shortName(message.name)})`,
          'key',
        );
      }
    }
  }

  /**
   * Extension slots (filters, access loggers, transport sockets, ...): a config `@type` must fit the
   * slot; without one the name must be a known extension of the slot's category.
   */
  private checkExtensionSlot(message: Message, out: Record<string, unknown>, loc: Loc, via?: Field): void {
    const category = slotCategory(message.name, via?.fullName);
    if (!category || out.config_discovery) return;
    const name = typeof out.name === 'string' ? out.name : '';
    const config = out.typed_config as Any | undefined;
    if (config) {
      const typeName = config['@type'].slice(TYPE_URL_PREFIX.length);
      const problem = typeMismatch(category, typeName);
      if (problem) {
        throw this.error(
          fieldLoc(loc, 'typed_config', 'typed_config'),
          `Didn't find a registered implementation for '${name}' with type URL: '${typeName}' (${problem})`,
        );
      }
      return;
    }
    // An optional HTTP filter may name an extension this Envoy build lacks.
    if (!name || out.is_optional === true || findExtension(category, name)) return;
    const guess = suggestExtension(category, name);
    throw this.error(
      fieldLoc(loc, 'name', 'name'),
      `Didn't find a registered implementation for name: '${name}'` +
        (guess ? ` (did you mean '${guess}'?)` : '') +
        `; a ${category} without typed_config must use a known extension name`,
    );
  }
}

const NOT_SPECIAL = Symbol('not a well-known type');

/**
 * Validates `value` as the Envoy message `typeName` (e.g. `envoy.config.cluster.v3.Cluster`) and
 * returns its normalized form. Throws ConfigError naming the field path of the first problem.
 */
export function normalizeMessage(
  typeName: string,
  value: unknown,
  options: NormalizeOptions = {},
): Record<string, unknown> {
  const api = envoyApi();
  const message = api.message(typeName);
  if (!message) throw new Error(`${typeName} is not a message of Envoy's v3 API`);
  const normalizer = new Normalizer(api, options);
  const loc: Loc = { field: options.path ?? '', src: options.sourcePath ?? [] };
  if (value === null || value === undefined) value = {};
  return normalizer.message(message, value, loc) as Record<string, unknown>;
}

/**
 * The message a type URL or name denotes, as `normalizeMessage` expects it; v2 and unknown types
 * are ConfigErrors (naming the v3 replacement of a v2 type) at `path`.
 */
export function messageTypeOf(typeUrlOrName: string, path = ''): string {
  const typeName = typeUrlOrName.slice(typeUrlOrName.lastIndexOf('/') + 1);
  const api = envoyApi();
  return new Normalizer(api, {}).typeNamed(typeName, { field: path, src: [] }).name;
}
