/**
 * The protocol-buffers binary encoding of Envoy's API messages, for xDS over gRPC. It converts
 * between bytes and the *normalized* proto3-JSON form the rest of the proxy reads (config/types.ts):
 * snake_case names, enum names, duration strings, plain wrapper values, Any as `{"@type", ...}`.
 *
 * It is driven by the same schema the config validator uses (config/envoy-protos.ts), so a resource
 * decoded here goes through exactly the validation a config file gets, and the control plane
 * encodes the resources it validated with the same field numbers the proxy decodes.
 */

import { envoyApi, type Field, type Message } from '../config/envoy-protos.js';
import { ConfigError } from '../config/errors.js';
import { typeUrl } from '../config/extensions.js';
import {
  ANY,
  DURATION,
  FIELD_MASK,
  formatDurationParts,
  hasSpecialJson,
  LIST_VALUE,
  parseDurationString,
  STRUCT,
  TIMESTAMP,
  VALUE,
  WRAPPERS,
} from '../config/wkt.js';

type Json = Record<string, unknown>;

const VARINT = 0;
const FIXED64 = 1;
const LENGTH_DELIMITED = 2;
const FIXED32 = 5;

const EMPTY = new Uint8Array(0);
const utf8 = new TextEncoder();
const utf8Decoder = new TextDecoder('utf-8', { fatal: false });

function wireTypeOf(scalarOrKind: string): number {
  switch (scalarOrKind) {
    case 'double':
    case 'fixed64':
    case 'sfixed64':
      return FIXED64;
    case 'float':
    case 'fixed32':
    case 'sfixed32':
      return FIXED32;
    case 'string':
    case 'bytes':
    case 'message':
      return LENGTH_DELIMITED;
    default:
      return VARINT;
  }
}

// ---------------------------------------------------------------------------------------------
// Writing

class Writer {
  private chunks: Uint8Array[] = [];
  private buf = new Uint8Array(256);
  private pos = 0;

  private ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    this.chunks.push(this.buf.subarray(0, this.pos));
    this.buf = new Uint8Array(Math.max(256, n * 2));
    this.pos = 0;
  }

  byte(b: number): void {
    this.ensure(1);
    this.buf[this.pos++] = b;
  }

  varint(value: bigint): void {
    // Negative int32/int64/enum values are written as their 64-bit two's complement.
    let v = BigInt.asUintN(64, value);
    this.ensure(10);
    while (v >= 0x80n) {
      this.buf[this.pos++] = Number(v & 0x7fn) | 0x80;
      v >>= 7n;
    }
    this.buf[this.pos++] = Number(v);
  }

  smallVarint(value: number): void {
    this.ensure(5);
    let v = value >>> 0;
    while (v >= 0x80) {
      this.buf[this.pos++] = (v & 0x7f) | 0x80;
      v >>>= 7;
    }
    this.buf[this.pos++] = v;
  }

  tag(id: number, wireType: number): void {
    this.smallVarint(((id << 3) | wireType) >>> 0);
  }

  bytes(data: Uint8Array): void {
    this.smallVarint(data.length);
    this.ensure(data.length);
    this.buf.set(data, this.pos);
    this.pos += data.length;
  }

  fixed(size: 4 | 8, write: (view: DataView) => void): void {
    this.ensure(size);
    write(new DataView(this.buf.buffer, this.buf.byteOffset + this.pos, size));
    this.pos += size;
  }

  finish(): Uint8Array {
    if (this.chunks.length === 0) return this.buf.slice(0, this.pos);
    const all = [...this.chunks, this.buf.subarray(0, this.pos)];
    const out = new Uint8Array(all.reduce((n, c) => n + c.length, 0));
    let at = 0;
    for (const c of all) {
      out.set(c, at);
      at += c.length;
    }
    return out;
  }
}

function integer(value: unknown): bigint {
  if (typeof value === 'bigint') return value;
  if (typeof value === 'number') return BigInt(Math.trunc(value));
  if (typeof value === 'string') return BigInt(value);
  if (typeof value === 'boolean') return value ? 1n : 0n;
  throw new Error(`expected an integer, got ${JSON.stringify(value)}`);
}

function floatValue(value: unknown): number {
  return typeof value === 'string' ? Number(value) : (value as number);
}

function writeScalar(w: Writer, type: string, value: unknown): void {
  switch (type) {
    case 'string':
      w.bytes(utf8.encode(value as string));
      return;
    case 'bytes':
      w.bytes(Buffer.from(value as string, 'base64'));
      return;
    case 'bool':
      w.byte(value ? 1 : 0);
      return;
    case 'double':
      w.fixed(8, (v) => v.setFloat64(0, floatValue(value), true));
      return;
    case 'float':
      w.fixed(4, (v) => v.setFloat32(0, floatValue(value), true));
      return;
    case 'fixed64':
    case 'sfixed64':
      w.fixed(8, (v) => v.setBigUint64(0, BigInt.asUintN(64, integer(value)), true));
      return;
    case 'fixed32':
    case 'sfixed32':
      w.fixed(4, (v) => v.setUint32(0, Number(BigInt.asUintN(32, integer(value))), true));
      return;
    case 'sint32':
    case 'sint64': {
      const n = integer(value);
      w.varint(n >= 0n ? n << 1n : (-n << 1n) - 1n);
      return;
    }
    default:
      w.varint(integer(value));
  }
}

function isDefaultScalar(value: unknown): boolean {
  return value === 0 || value === '' || value === false || value === '0';
}

function enumNumber(enumName: string, value: unknown): number {
  if (typeof value === 'number') return value;
  const n = envoyApi().enum(enumName)?.values[value as string];
  if (n === undefined) throw new Error(`unknown value '${String(value)}' of enum ${enumName}`);
  return n;
}

function schemaMessage(typeName: string): Message {
  const message = envoyApi().message(typeName);
  if (!message) throw new Error(`${typeName} is not in Envoy's API schema`);
  return message;
}

/** The message's fields of a value in special JSON form (durations, wrappers, Struct, Any...). */
function specialToFields(typeName: string, value: unknown): Json {
  const wrapped = WRAPPERS[typeName];
  if (wrapped) return { value };
  switch (typeName) {
    case DURATION:
    case TIMESTAMP: {
      const text = value as string;
      const parts = typeName === DURATION ? parseDurationString(text) : timestampParts(text);
      if (!parts) throw new Error(`not a ${typeName}: ${text}`);
      return { seconds: parts.seconds.toString(), nanos: parts.nanos };
    }
    case FIELD_MASK:
      return { paths: (value as string).split(',').filter((p) => p !== '') };
    case STRUCT:
      return {
        fields: Object.fromEntries(Object.entries(value as Json).map(([k, v]) => [k, v])),
      };
    case LIST_VALUE:
      return { values: value as unknown[] };
    case ANY: {
      const { '@type': url, ...rest } = value as Json;
      const inner = String(url).slice(String(url).lastIndexOf('/') + 1);
      const payload = hasSpecialJson(inner) ? rest.value : rest;
      return { type_url: url, value: Buffer.from(encodeMessage(inner, payload)).toString('base64') };
    }
    default:
      return value as Json;
  }
}

function timestampParts(text: string): { seconds: bigint; nanos: number } | undefined {
  const m = /^(.*?)(?:\.(\d{1,9}))?(Z|[+-]\d\d:\d\d)$/.exec(text);
  if (!m) return undefined;
  const ms = Date.parse(`${m[1]}${m[3]}`);
  if (Number.isNaN(ms)) return undefined;
  return { seconds: BigInt(Math.floor(ms / 1000)), nanos: Number((m[2] ?? '').padEnd(9, '0')) };
}

function writeValue(w: Writer, value: unknown): void {
  // google.protobuf.Value: null_value=1, number_value=2, string_value=3, bool_value=4, struct_value=5, list_value=6
  if (value === null || value === undefined) {
    w.tag(1, VARINT);
    w.smallVarint(0);
  } else if (typeof value === 'number') {
    w.tag(2, FIXED64);
    writeScalar(w, 'double', value);
  } else if (typeof value === 'string') {
    w.tag(3, LENGTH_DELIMITED);
    writeScalar(w, 'string', value);
  } else if (typeof value === 'boolean') {
    w.tag(4, VARINT);
    w.byte(value ? 1 : 0);
  } else if (Array.isArray(value)) {
    w.tag(6, LENGTH_DELIMITED);
    w.bytes(encodeMessage(LIST_VALUE, value));
  } else {
    w.tag(5, LENGTH_DELIMITED);
    w.bytes(encodeMessage(STRUCT, value));
  }
}

function isPackedAny(value: unknown): value is PackedAny {
  return (value as PackedAny | undefined)?.value instanceof Uint8Array;
}

function writeField(w: Writer, field: Field, value: unknown): void {
  if (field.kind === 'message') {
    w.tag(field.id, LENGTH_DELIMITED);
    if (field.type === ANY && isPackedAny(value)) {
      // Already-encoded resources (a control plane encodes each once per snapshot).
      const any = new Writer();
      any.tag(1, LENGTH_DELIMITED);
      any.bytes(utf8.encode(value.type_url));
      any.tag(2, LENGTH_DELIMITED);
      any.bytes(value.value);
      w.bytes(any.finish());
      return;
    }
    w.bytes(encodeMessage(field.type, value));
  } else if (field.kind === 'enum') {
    w.tag(field.id, VARINT);
    w.varint(BigInt(enumNumber(field.type, value)));
  } else {
    w.tag(field.id, wireTypeOf(field.type));
    writeScalar(w, field.type, value);
  }
}

function writeMapEntry(w: Writer, field: Field, key: string, value: unknown): void {
  const entry = new Writer();
  entry.tag(1, wireTypeOf(field.map as string));
  writeScalar(entry, field.map as string, field.map === 'bool' ? key === 'true' : key);
  writeField(entry, { ...field, id: 2, repeated: undefined, map: undefined } as Field, value);
  w.tag(field.id, LENGTH_DELIMITED);
  w.bytes(entry.finish());
}

/**
 * Encodes a normalized (proto3-JSON) value of the message `typeName` — its special JSON form for
 * well-known types (`"5s"` for a Duration, a plain object for a Struct). An `Any` may also be
 * given already packed (PackedAny).
 */
export function encodeMessage(typeName: string, value: unknown): Uint8Array {
  if (typeName === VALUE) {
    const w = new Writer();
    writeValue(w, value);
    return w.finish();
  }
  const fields = hasSpecialJson(typeName) ? specialToFields(typeName, value) : (value as Json);
  const message = schemaMessage(typeName);
  const w = new Writer();
  for (const [key, v] of Object.entries(fields ?? {})) {
    if (v === undefined || key === '@type') continue;
    const field = message.field(key);
    if (!field) throw new Error(`${typeName} has no field '${key}'`);
    if (field.map) {
      for (const [k, entry] of Object.entries(v as Json)) writeMapEntry(w, field, k, entry);
    } else if (field.repeated) {
      const list = v as unknown[];
      if (list.length === 0) continue;
      const packable =
        field.kind === 'enum' || (field.kind === 'scalar' && wireTypeOf(field.type) !== LENGTH_DELIMITED);
      if (packable) {
        const packed = new Writer();
        for (const item of list) {
          if (field.kind === 'enum') packed.varint(BigInt(enumNumber(field.type, item)));
          else writeScalar(packed, field.type, item);
        }
        w.tag(field.id, LENGTH_DELIMITED);
        w.bytes(packed.finish());
      } else {
        for (const item of list) writeField(w, field, item);
      }
    } else {
      // proto3 leaves default scalars out, unless the field tracks presence or sits in a oneof.
      if (field.kind !== 'message' && !field.presence && !field.oneof) {
        if (field.kind === 'enum' ? enumNumber(field.type, v) === 0 : isDefaultScalar(v)) continue;
      }
      writeField(w, field, v);
    }
  }
  return w.finish();
}

// ---------------------------------------------------------------------------------------------
// Reading

class Reader {
  pos = 0;
  private readonly view: DataView;
  constructor(readonly buf: Uint8Array) {
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  }

  get done(): boolean {
    return this.pos >= this.buf.length;
  }

  varint(): bigint {
    let result = 0n;
    let shift = 0n;
    for (;;) {
      if (this.pos >= this.buf.length) throw new Error('truncated varint');
      const b = this.buf[this.pos++] as number;
      result |= BigInt(b & 0x7f) << shift;
      if (b < 0x80) return result;
      shift += 7n;
      if (shift > 63n) throw new Error('varint too long');
    }
  }

  length(): number {
    const n = Number(this.varint());
    if (this.pos + n > this.buf.length) throw new Error('truncated length-delimited field');
    return n;
  }

  bytes(): Uint8Array {
    const n = this.length();
    const out = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  fixed(size: 4 | 8): DataView {
    if (this.pos + size > this.buf.length) throw new Error('truncated fixed-width field');
    const view = new DataView(this.view.buffer, this.view.byteOffset + this.pos, size);
    this.pos += size;
    return view;
  }

  skip(wireType: number): void {
    switch (wireType) {
      case VARINT:
        this.varint();
        return;
      case FIXED64:
        this.fixed(8);
        return;
      case LENGTH_DELIMITED:
        this.pos += this.length();
        return;
      case FIXED32:
        this.fixed(4);
        return;
      default:
        throw new Error(`unsupported wire type ${wireType}`);
    }
  }
}

/** A 64-bit value as the normalized form keeps it: a number when exact, a decimal string beyond 2^53. */
function int64Json(n: bigint): number | string {
  const asNumber = Number(n);
  return Number.isSafeInteger(asNumber) ? asNumber : n.toString();
}

function floatJson(n: number): number | string {
  if (Number.isNaN(n)) return 'NaN';
  if (!Number.isFinite(n)) return n > 0 ? 'Infinity' : '-Infinity';
  return n;
}

function readScalar(r: Reader, type: string): unknown {
  switch (type) {
    case 'string':
      return utf8Decoder.decode(r.bytes());
    case 'bytes':
      return Buffer.from(r.bytes()).toString('base64');
    case 'bool':
      return r.varint() !== 0n;
    case 'double':
      return floatJson(r.fixed(8).getFloat64(0, true));
    case 'float':
      return floatJson(Math.fround(r.fixed(4).getFloat32(0, true)));
    case 'fixed64':
      return int64Json(r.fixed(8).getBigUint64(0, true));
    case 'sfixed64':
      return int64Json(r.fixed(8).getBigInt64(0, true));
    case 'fixed32':
      return r.fixed(4).getUint32(0, true);
    case 'sfixed32':
      return r.fixed(4).getInt32(0, true);
    case 'int32':
      return Number(BigInt.asIntN(32, r.varint()));
    case 'uint32':
      return Number(BigInt.asUintN(32, r.varint()));
    case 'int64':
      return int64Json(BigInt.asIntN(64, r.varint()));
    case 'uint64':
      return int64Json(BigInt.asUintN(64, r.varint()));
    case 'sint32':
    case 'sint64': {
      const v = r.varint();
      return int64Json(v & 1n ? -((v + 1n) >> 1n) : v >> 1n);
    }
    default:
      throw new Error(`unknown scalar type ${type}`);
  }
}

function enumName(enumType: string, n: number): string | number {
  const values = envoyApi().enum(enumType)?.values ?? {};
  for (const [name, value] of Object.entries(values)) if (value === n) return name;
  return n; // proto3 enums are open
}

function readSingular(r: Reader, field: Field, wireType: number, packedAny = false): unknown {
  if (field.kind === 'message') {
    if (wireType !== LENGTH_DELIMITED) throw new Error(`${field.fullName}: expected a message`);
    const bytes = r.bytes();
    return packedAny && field.type === ANY ? packedAnyOf(bytes) : decodeMessage(field.type, bytes);
  }
  if (field.kind === 'enum') return enumName(field.type, Number(BigInt.asIntN(32, r.varint())));
  return readScalar(r, field.type);
}

function readMapEntry(bytes: Uint8Array, field: Field): [string, unknown] {
  const r = new Reader(bytes);
  let key: unknown = field.map === 'bool' ? false : field.map === 'string' ? '' : 0;
  let value: unknown;
  const valueField = { ...field, id: 2, repeated: undefined, map: undefined } as Field;
  while (!r.done) {
    const tag = Number(r.varint());
    const id = tag >>> 3;
    if (id === 1) key = readScalar(r, field.map as string);
    else if (id === 2) value = readSingular(r, valueField, tag & 7);
    else r.skip(tag & 7);
  }
  if (value === undefined && field.kind === 'message') value = decodeMessage(field.type, EMPTY);
  return [
    String(key),
    value ?? (field.kind === 'enum' ? enumName(field.type, 0) : defaultScalar(field.type)),
  ];
}

function defaultScalar(type: string): unknown {
  if (type === 'string' || type === 'bytes') return '';
  if (type === 'bool') return false;
  return 0;
}

/** The special JSON form of a well-known type, from its decoded fields. */
function fieldsToSpecial(typeName: string, fields: Json): unknown {
  const wrapped = WRAPPERS[typeName];
  if (wrapped) return fields.value ?? defaultScalar(wrapped);
  switch (typeName) {
    case DURATION:
      return formatDurationParts({
        seconds: BigInt((fields.seconds ?? 0) as string | number),
        nanos: Number(fields.nanos ?? 0),
      });
    case TIMESTAMP: {
      const ms = Number(fields.seconds ?? 0) * 1000;
      const nanos = Number(fields.nanos ?? 0);
      const base = new Date(ms).toISOString().slice(0, 19);
      return nanos ? `${base}.${String(nanos).padStart(9, '0').replace(/0+$/, '')}Z` : `${base}Z`;
    }
    case FIELD_MASK:
      return ((fields.paths ?? []) as string[]).join(',');
    case STRUCT:
      return fields.fields ?? {};
    case LIST_VALUE:
      return fields.values ?? [];
    case ANY: {
      const url = (fields.type_url ?? '') as string;
      const inner = url.slice(url.lastIndexOf('/') + 1);
      if (!envoyApi().message(inner)) {
        throw new ConfigError(`cannot decode an Any of unknown type '${url}'`, { fieldPath: '"@type"' });
      }
      const decoded = decodeMessage(inner, Buffer.from((fields.value ?? '') as string, 'base64'));
      return hasSpecialJson(inner)
        ? { '@type': typeUrl(inner), value: decoded }
        : { '@type': typeUrl(inner), ...(decoded as Json) };
    }
    default:
      return fields;
  }
}

/** An Any left packed: its type URL and the bytes of the message it holds. */
export interface PackedAny {
  type_url: string;
  value: Uint8Array;
}

function packedAnyOf(bytes: Uint8Array): PackedAny {
  const r = new Reader(bytes);
  const any: PackedAny = { type_url: '', value: EMPTY };
  while (!r.done) {
    const tag = Number(r.varint());
    if (tag >>> 3 === 1) any.type_url = utf8Decoder.decode(r.bytes());
    else if (tag >>> 3 === 2) any.value = r.bytes();
    else r.skip(tag & 7);
  }
  return any;
}

function readValue(bytes: Uint8Array): unknown {
  const r = new Reader(bytes);
  let out: unknown = null;
  while (!r.done) {
    const tag = Number(r.varint());
    switch (tag >>> 3) {
      case 1:
        r.varint();
        out = null;
        break;
      case 2:
        out = r.fixed(8).getFloat64(0, true);
        break;
      case 3:
        out = utf8Decoder.decode(r.bytes());
        break;
      case 4:
        out = r.varint() !== 0n;
        break;
      case 5:
        out = decodeMessage(STRUCT, r.bytes());
        break;
      case 6:
        out = decodeMessage(LIST_VALUE, r.bytes());
        break;
      default:
        r.skip(tag & 7);
    }
  }
  return out;
}

/**
 * Decodes the message `typeName` into its normalized proto3-JSON form (fields in field-number
 * order, defaults left out, well-known types in their JSON form). Unknown fields are skipped, as
 * protobuf does.
 */
export function decodeMessage(typeName: string, bytes: Uint8Array): unknown {
  return decode(typeName, bytes, false);
}

/**
 * Decodes a message whose own `Any` fields stay packed (PackedAny), e.g. a DiscoveryResponse, so
 * that each resource can be decoded, validated and rejected on its own.
 */
export function decodeEnvelope(typeName: string, bytes: Uint8Array): unknown {
  return decode(typeName, bytes, true);
}

function decode(typeName: string, bytes: Uint8Array, packedAny: boolean): unknown {
  if (typeName === VALUE) return readValue(bytes);
  const message = schemaMessage(typeName);
  const byId = new Map(message.fields.map((f) => [f.id, f]));
  const values = new Map<Field, unknown>();
  const r = new Reader(bytes);
  while (!r.done) {
    const tag = Number(r.varint());
    const wireType = tag & 7;
    const field = byId.get(tag >>> 3);
    if (!field) {
      r.skip(wireType);
      continue;
    }
    if (field.map) {
      const entries = (values.get(field) ?? {}) as Json;
      const [k, v] = readMapEntry(r.bytes(), field);
      entries[k] = v;
      values.set(field, entries);
    } else if (field.repeated) {
      const list = (values.get(field) ?? []) as unknown[];
      const packed =
        wireType === LENGTH_DELIMITED &&
        field.kind !== 'message' &&
        field.type !== 'string' &&
        field.type !== 'bytes';
      if (packed) {
        const inner = new Reader(r.bytes());
        while (!inner.done)
          list.push(readSingular(inner, field, wireTypeOf(field.kind === 'enum' ? 'enum' : field.type)));
      } else {
        list.push(readSingular(r, field, wireType, packedAny));
      }
      values.set(field, list);
    } else if (field.kind === 'message' && values.has(field)) {
      // A message field seen twice is merged; config messages in practice arrive once.
      values.set(field, { ...(values.get(field) as Json), ...(readSingular(r, field, wireType) as Json) });
    } else {
      if (field.oneof)
        for (const other of message.fields) if (other.oneof === field.oneof) values.delete(other);
      values.set(field, readSingular(r, field, wireType, packedAny));
    }
  }
  const out: Json = {};
  for (const field of message.fields) {
    if (!values.has(field)) continue;
    const v = values.get(field);
    // Keep what proto3 JSON would print: defaults of plain scalars are dropped.
    if (
      field.kind === 'scalar' &&
      !field.repeated &&
      !field.map &&
      !field.presence &&
      !field.oneof &&
      isDefaultScalar(v)
    )
      continue;
    if (
      field.kind === 'enum' &&
      !field.repeated &&
      !field.presence &&
      !field.oneof &&
      enumNumber(field.type, v) === 0
    )
      continue;
    out[field.name] = v;
  }
  return hasSpecialJson(typeName) ? fieldsToSpecial(typeName, out) : out;
}
