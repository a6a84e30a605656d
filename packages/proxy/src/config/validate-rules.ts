/**
 * protoc-gen-validate, the way Envoy runs it on every config message: the `(validate.rules)` field
 * options of the API protos, checked against normalized values. Only the rule kinds Envoy's API uses
 * are implemented; each failure is phrased for a person, not as PGV's "value length must be at
 * least 1 runes".
 */

import type { Field } from './envoy-protos.js';
import { DURATION, durationNanos, WRAPPERS } from './wkt.js';

type RuleSet = { [rule: string]: unknown };

/** Reports a violation, optionally at one element of a list or map (`element` is its index or key). */
export type Fail = (reason: string, element?: number | string) => never;

/** The PGV rule kind that applies to values of a field type (wrappers use their scalar's rules). */
function ruleKind(field: Pick<Field, 'kind' | 'type'>): string {
  if (field.kind === 'scalar') return field.type;
  if (field.kind === 'enum') return 'enum';
  if (field.type === DURATION) return 'duration';
  if (field.type === 'google.protobuf.Any') return 'any';
  return WRAPPERS[field.type] ?? 'message';
}

const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

/** gt/gte/lt/lte; `bound` turns a rule's bound into the value's kind of number. */
function compare(
  value: number | bigint,
  rules: RuleSet,
  bound: (b: unknown) => number | bigint,
  show: (v: unknown) => string,
  fail: Fail,
): void {
  const n = (b: unknown) => {
    const converted = bound(b);
    return typeof value === 'bigint' ? BigInt(converted) : Number(converted);
  };
  const { gt, gte, lt, lte } = rules;
  if (gt !== undefined && !(value > n(gt))) fail(`must be greater than ${show(n(gt))} (got ${show(value)})`);
  if (gte !== undefined && !(value >= n(gte))) fail(`must be at least ${show(n(gte))} (got ${show(value)})`);
  if (lt !== undefined && !(value < n(lt))) fail(`must be less than ${show(n(lt))} (got ${show(value)})`);
  if (lte !== undefined && !(value <= n(lte))) fail(`must be at most ${show(n(lte))} (got ${show(value)})`);
}

function durationRuleNanos(bound: unknown): bigint {
  const { seconds = 0, nanos = 0 } = bound as { seconds?: number; nanos?: number };
  return BigInt(seconds) * 1_000_000_000n + BigInt(nanos);
}

function showNanos(ns: unknown): string {
  const n = BigInt(ns as bigint);
  const whole = n / 1_000_000_000n;
  const frac = (n < 0n ? -n : n) % 1_000_000_000n;
  return frac === 0n ? `${whole}s` : `${whole}.${frac.toString().padStart(9, '0').replace(/0+$/, '')}s`;
}

// protoc-gen-validate's well-known regexes for HTTP header names and values.
const HEADER_NAME_STRICT = /^:?[0-9a-zA-Z!#$%&'*+\-.^_|~`]+$/;
const HEADER_VALUE_STRICT = /^[^\u0000-\u0008\u000A-\u001F\u007F]*$/;
const HEADER_LOOSE = /^[^\u0000\u000A\u000D]*$/;

function checkString(value: string, rules: RuleSet, fail: Fail): void {
  if (rules.ignore_empty && value === '') return;
  const length = [...value].length;
  const bytes = Buffer.byteLength(value);
  const min = rules.min_len as number | undefined;
  if (min !== undefined && length < min) {
    fail(min === 1 ? 'must not be empty' : `must be at least ${plural(min, 'character')} long`);
  }
  if (rules.max_len !== undefined && length > (rules.max_len as number)) {
    fail(`must be at most ${plural(rules.max_len as number, 'character')} long (got ${length})`);
  }
  if (rules.max_bytes !== undefined && bytes > (rules.max_bytes as number)) {
    fail(`must be at most ${plural(rules.max_bytes as number, 'byte')} long (got ${bytes})`);
  }
  if (typeof rules.pattern === 'string' && !new RegExp(rules.pattern, 'u').test(value)) {
    fail(`must match the pattern ${rules.pattern}`);
  }
  if (rules.in !== undefined) {
    const allowed = ([] as unknown[]).concat(rules.in);
    if (!allowed.includes(value)) fail(`must be one of ${allowed.map((a) => `'${a}'`).join(', ')}`);
  }
  const strict = rules.strict !== false;
  if (rules.well_known_regex === 'HTTP_HEADER_NAME') {
    const ok = (strict ? HEADER_NAME_STRICT : HEADER_LOOSE).test(value);
    if (!ok) fail(`'${value}' is not a valid HTTP header name`);
  }
  if (rules.well_known_regex === 'HTTP_HEADER_VALUE') {
    const ok = (strict ? HEADER_VALUE_STRICT : HEADER_LOOSE).test(value);
    if (!ok) fail('is not a valid HTTP header value (it contains control characters)');
  }
}

/** Looks up enum values; normalized enums are names, PGV rules name numbers. */
export interface EnumLookup {
  /** The name of an enum's zero value, which an unset enum field has. */
  zero(enumName: string): string | undefined;
  number(enumName: string, valueName: string): number | undefined;
}

/** Checks the rules of one value (a scalar, enum, wrapper, duration or message) of a field's type. */
function checkValue(
  field: Pick<Field, 'kind' | 'type'>,
  rules: { [kind: string]: RuleSet | undefined },
  value: unknown,
  fail: Fail,
  enums: EnumLookup,
): void {
  const kind = ruleKind(field);
  const own = rules[kind];
  if (!own) return;
  switch (kind) {
    case 'string':
      checkString(value as string, own, fail);
      return;
    case 'bool':
      if (own.const !== undefined && value !== own.const) fail(`must be ${own.const}`);
      return;
    case 'bytes': {
      const length = Buffer.from(value as string, 'base64').length;
      if (own.min_len !== undefined && length < (own.min_len as number)) {
        fail(`must be at least ${plural(own.min_len as number, 'byte')} long`);
      }
      if (own.max_len !== undefined && length > (own.max_len as number)) {
        fail(`must be at most ${plural(own.max_len as number, 'byte')} long`);
      }
      return;
    }
    case 'enum': {
      if (own.defined_only && typeof value === 'number')
        fail(`${value} is not a defined value of ${field.type}`);
      const number = typeof value === 'number' ? value : enums.number(field.type, value as string);
      if (own.not_in !== undefined && ([] as unknown[]).concat(own.not_in).includes(number)) {
        fail(`${value} is not allowed here`);
      }
      return;
    }
    case 'duration':
      compare(durationNanos(value as string), own, durationRuleNanos, showNanos, fail);
      return;
    case 'any':
    case 'message':
      return;
    default: {
      // Numeric kinds; 64-bit values beyond 2^53 are kept as decimal strings.
      const numeric = typeof value === 'string' ? BigInt(value) : (value as number);
      compare(numeric, own, (b) => b as number, String, fail);
    }
  }
}

/** The value a proto3 scalar has when the config does not set it; PGV checks that too. */
function defaultValue(field: Field, enums: EnumLookup): unknown {
  if (field.kind === 'enum') return enums.zero(field.type);
  if (field.type === 'string' || field.type === 'bytes') return '';
  if (field.type === 'bool') return false;
  return 0;
}

/** Checks a field's rules against its normalized value, `undefined` when the config leaves it out. */
export function checkFieldRules(field: Field, value: unknown, fail: Fail, enums: EnumLookup): void {
  const rules = field.rules as { [kind: string]: RuleSet | undefined } | undefined;
  if (!rules) return;
  const { repeated, map } = rules;
  if (value === undefined) {
    // An unset oneof member is not validated (the oneof's own `required` covers "one must be set").
    if (field.oneof) return;
    const required = rules.message?.required || rules.duration?.required || rules.any?.required;
    if (required) fail('is required');
    if (repeated?.min_items)
      fail(`needs at least ${plural(repeated.min_items as number, 'entry', 'entries')}`);
    if (map?.min_pairs) fail(`needs at least ${plural(map.min_pairs as number, 'entry', 'entries')}`);
    // Unset messages are not validated; unset proto3 scalars have their default value.
    if (field.repeated || field.map || field.kind === 'message' || field.presence) return;
    checkValue(field, rules, defaultValue(field, enums), fail, enums);
    return;
  }
  if (field.map) {
    const entries = Object.entries(value as Record<string, unknown>);
    if (map?.min_pairs !== undefined && entries.length < (map.min_pairs as number)) {
      fail(`needs at least ${plural(map.min_pairs as number, 'entry', 'entries')}`);
    }
    const keyRules = map?.keys as { [kind: string]: RuleSet } | undefined;
    const valueRules = map?.values as { [kind: string]: RuleSet } | undefined;
    for (const [key, item] of entries) {
      const failAt: Fail = (reason) => fail(reason, key);
      if (keyRules) {
        checkValue({ kind: 'scalar', type: field.map }, keyRules, key, (r) => failAt(`key ${r}`), enums);
      }
      if (valueRules) checkValue(field, valueRules, item, failAt, enums);
    }
    return;
  }
  if (field.repeated) {
    const items = value as unknown[];
    if (repeated?.min_items !== undefined && items.length < (repeated.min_items as number)) {
      fail(`needs at least ${plural(repeated.min_items as number, 'entry', 'entries')}`);
    }
    if (repeated?.max_items !== undefined && items.length > (repeated.max_items as number)) {
      fail(`takes at most ${plural(repeated.max_items as number, 'entry', 'entries')} (got ${items.length})`);
    }
    if (repeated?.unique) {
      const seen = new Set<string>();
      items.forEach((item, i) => {
        const key = JSON.stringify(item);
        if (seen.has(key)) fail('duplicates an earlier entry; entries must be unique', i);
        seen.add(key);
      });
    }
    const itemRules = repeated?.items as { [kind: string]: RuleSet } | undefined;
    if (itemRules) {
      items.forEach((item, i) => {
        checkValue(field, itemRules, item, (r) => fail(r, i), enums);
      });
    }
    return;
  }
  checkValue(field, rules, value, fail, enums);
}
