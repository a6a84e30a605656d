/** Protobuf well-known types that have their own JSON form. */

import { formatDuration } from '../common/duration.js';
import type { ScalarType } from './envoy-protos.js';

/** Wrapper messages (`UInt32Value`, ...) are written as the plain value they wrap. */
export const WRAPPERS: Record<string, ScalarType> = {
  'google.protobuf.DoubleValue': 'double',
  'google.protobuf.FloatValue': 'float',
  'google.protobuf.Int64Value': 'int64',
  'google.protobuf.UInt64Value': 'uint64',
  'google.protobuf.Int32Value': 'int32',
  'google.protobuf.UInt32Value': 'uint32',
  'google.protobuf.BoolValue': 'bool',
  'google.protobuf.StringValue': 'string',
  'google.protobuf.BytesValue': 'bytes',
};

export const DURATION = 'google.protobuf.Duration';
export const TIMESTAMP = 'google.protobuf.Timestamp';
export const STRUCT = 'google.protobuf.Struct';
export const VALUE = 'google.protobuf.Value';
export const LIST_VALUE = 'google.protobuf.ListValue';
export const FIELD_MASK = 'google.protobuf.FieldMask';
export const ANY = 'google.protobuf.Any';

/** Messages whose JSON is not an object of their fields; inside an Any they sit under `value`. */
export function hasSpecialJson(typeName: string): boolean {
  return (
    typeName in WRAPPERS ||
    [DURATION, TIMESTAMP, STRUCT, VALUE, LIST_VALUE, FIELD_MASK, ANY].includes(typeName)
  );
}

/** protobuf's Duration range: ±10,000 years. */
const MAX_SECONDS = 315_576_000_000n;

export interface DurationParts {
  seconds: bigint;
  nanos: number;
}

/** Parses the proto3 JSON form `"-1.5s"`; undefined if it is not one. */
export function parseDurationString(text: string): DurationParts | undefined {
  const m = /^(-)?(\d+)(?:\.(\d{1,9}))?s$/.exec(text);
  if (!m) return undefined;
  const sign = m[1] ? -1 : 1;
  const seconds = BigInt(m[2] as string) * BigInt(sign);
  const nanos = Number((m[3] ?? '').padEnd(9, '0')) * sign;
  return { seconds, nanos };
}

export function durationInRange({ seconds, nanos }: DurationParts): boolean {
  const s = seconds < 0n ? -seconds : seconds;
  return (
    s <= MAX_SECONDS &&
    Math.abs(nanos) <= 999_999_999 &&
    (seconds === 0n || nanos === 0 || seconds > 0n === nanos > 0)
  );
}

/** The canonical string (`"0.250s"`), as Envoy's config_dump prints it. */
export function formatDurationParts({ seconds, nanos }: DurationParts): string {
  return formatDuration(Number(seconds) * 1000 + nanos / 1e6);
}

/** Nanoseconds of a normalized duration string. */
export function durationNanos(text: string): bigint {
  const parts = parseDurationString(text);
  if (!parts) throw new Error(`not a normalized duration: ${text}`);
  return parts.seconds * 1_000_000_000n + BigInt(parts.nanos);
}
