/**
 * protobuf's MergeFrom on normalized values, which is how Envoy applies `--config-yaml` over the
 * `-c` file: repeated fields are appended, maps merged key by key, singular messages merged field
 * by field, and scalars replaced — except by their default value (`false`, `0`, `""`, an enum's
 * zero value), since proto3 cannot tell a default from "not set". A oneof member replaces the
 * member set before it.
 */

import { envoyApi, type Field } from './envoy-protos.js';
import { isPlainObject } from './proto-json.js';
import {
  ANY,
  DURATION,
  type DurationParts,
  formatDurationParts,
  LIST_VALUE,
  parseDurationString,
  STRUCT,
  VALUE,
  WRAPPERS,
} from './wkt.js';

type Obj = Record<string, unknown>;

function isDefaultScalar(field: Field, value: unknown): boolean {
  if (field.kind === 'enum') return envoyApi().enum(field.type)?.values[value as string] === 0;
  return value === false || value === 0 || value === '';
}

/** A Duration merges its seconds and nanos separately, like any other message. */
function mergeDuration(target: string, source: string): string {
  const a = parseDurationString(target) as DurationParts;
  const b = parseDurationString(source) as DurationParts;
  return formatDurationParts({
    seconds: b.seconds !== 0n ? b.seconds : a.seconds,
    nanos: b.nanos !== 0 ? b.nanos : a.nanos,
  });
}

function mergeValue(typeName: string, target: unknown, source: unknown): unknown {
  if (typeName in WRAPPERS) return source === false || source === 0 || source === '' ? target : source;
  switch (typeName) {
    case DURATION:
      return mergeDuration(target as string, source as string);
    case STRUCT:
      return { ...(target as Obj), ...(source as Obj) };
    case LIST_VALUE:
      return [...(target as unknown[]), ...(source as unknown[])];
    case VALUE:
      if (isPlainObject(target) && isPlainObject(source)) return { ...target, ...source };
      if (Array.isArray(target) && Array.isArray(source)) return [...target, ...source];
      return source;
    case ANY:
      return source;
    default:
      return isPlainObject(target) && isPlainObject(source) ? mergeMessage(typeName, target, source) : source;
  }
}

/** `target.MergeFrom(source)` for two normalized values of the message `typeName`. */
export function mergeMessage(typeName: string, target: Obj, source: Obj): Obj {
  const message = envoyApi().message(typeName);
  if (!message) throw new Error(`${typeName} is not a message of Envoy's v3 API`);
  const out: Obj = { ...target };
  for (const field of message.fields) {
    if (!(field.name in source)) continue;
    const value = source[field.name];
    const current = out[field.name];
    if (field.oneof) {
      for (const other of message.fields)
        if (other.oneof === field.oneof && other !== field) delete out[other.name];
    }
    if (field.map) {
      out[field.name] = { ...((current as Obj) ?? {}), ...(value as Obj) };
    } else if (field.repeated) {
      out[field.name] = [...((current as unknown[]) ?? []), ...(value as unknown[])];
    } else if (field.kind === 'message') {
      out[field.name] = current === undefined ? value : mergeValue(field.type, current, value);
    } else if (field.oneof || field.presence || !isDefaultScalar(field, value)) {
      out[field.name] = value;
    }
  }
  const ordered: Obj = {};
  for (const field of message.fields) if (field.name in out) ordered[field.name] = out[field.name];
  return ordered;
}
