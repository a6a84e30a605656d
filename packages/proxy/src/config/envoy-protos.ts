/**
 * Envoy's v3 API as meshcraft-proxy sees it: every message, enum and extension name of the protos
 * that ship in `@grpc/grpc-js-xds`, with their protoc-gen-validate rules and deprecation marks.
 *
 * The package build writes this schema to `dist/envoy-api.json` (scripts/build-envoy-api.mjs), which
 * loads in a few milliseconds. Without it (tests run from `src/`) the .proto files are parsed at
 * first use instead, which takes about half a second.
 */

import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

export type ScalarType =
  | 'double'
  | 'float'
  | 'int32'
  | 'int64'
  | 'uint32'
  | 'uint64'
  | 'sint32'
  | 'sint64'
  | 'fixed32'
  | 'fixed64'
  | 'sfixed32'
  | 'sfixed64'
  | 'bool'
  | 'string'
  | 'bytes';

/** protoc-gen-validate rules of one field, as written in the proto (`(validate.rules).string = {min_len: 1}`). */
export interface Rules {
  [kind: string]: { [rule: string]: unknown } | undefined;
}

export interface FieldSchema {
  name: string;
  id: number;
  kind: 'scalar' | 'enum' | 'message';
  /** A scalar type, or the full name of the enum or message. */
  type: string;
  repeated?: true;
  /** Key type of a `map<>` field. */
  map?: ScalarType;
  /** Only when the proto sets `json_name`; otherwise the default lowerCamelCase name applies. */
  json?: string;
  oneof?: string;
  /** proto3 `optional`: the field tracks presence even for a default value. */
  presence?: true;
  rules?: Rules;
  /** `true`, or the API minor version that deprecated it (`"3.0"`). */
  deprecated?: string | true;
  /** Envoy refuses the field unless a runtime override allows it. */
  disallowed?: true;
}

export interface OneofSchema {
  name: string;
  fields: string[];
  /** `(validate.required)`: exactly one member must be set. */
  required?: true;
}

export interface MessageSchema {
  /** The .proto file it is declared in (Envoy names it in deprecation warnings). */
  file?: string;
  fields: FieldSchema[];
  oneofs?: OneofSchema[];
  /** The v2 message this v3 message replaces. */
  previous?: string;
  /** Field names removed from the API (mostly v2 fields). */
  reserved?: string[];
}

export interface EnumSchema {
  values: Record<string, number>;
  deprecated?: string[];
  disallowed?: string[];
}

export interface EnvoyApiSchema {
  version: number;
  /** Version of @grpc/grpc-js-xds whose protos this schema was built from. */
  grpcJsXds: string;
  messages: Record<string, MessageSchema>;
  enums: Record<string, EnumSchema>;
  /** `[extension name, config message]` from the protos' `[#extension: ...]` tags. */
  extensions: [string, string][];
}

/** A field with everything the validator asks of it computed once. */
export interface Field extends FieldSchema {
  json: string;
  /** `envoy.config.cluster.v3.Cluster.connect_timeout`, as Envoy names fields in messages. */
  fullName: string;
  message: Message;
}

export interface Message {
  name: string;
  file?: string;
  /** In field-number order, the order Envoy's config_dump prints them in. */
  fields: Field[];
  oneofs: OneofSchema[];
  previous?: string;
  reserved: string[];
  /** Looks a field up by its proto name or its JSON (lowerCamelCase) name. */
  field(name: string): Field | undefined;
}

export interface LoadInfo {
  source: 'json' | 'proto';
  ms: number;
}

/** The proto3 JSON name protoc derives from a field name (`consecutive_5xx` → `consecutive5xx`). */
export function jsonName(name: string): string {
  let out = '';
  let upper = false;
  for (const ch of name) {
    if (ch === '_') upper = true;
    else {
      out += upper ? ch.toUpperCase() : ch;
      upper = false;
    }
  }
  return out;
}

export class EnvoyApi {
  private readonly messages = new Map<string, Message>();
  private v2ToV3?: Map<string, string>;

  constructor(
    readonly schema: EnvoyApiSchema,
    readonly loadInfo: LoadInfo,
  ) {}

  message(name: string): Message | undefined {
    const cached = this.messages.get(name);
    if (cached) return cached;
    const schema = this.schema.messages[name];
    if (!schema) return undefined;
    const byName = new Map<string, Field>();
    const message: Message = {
      name,
      file: schema.file,
      fields: [],
      oneofs: schema.oneofs ?? [],
      previous: schema.previous,
      reserved: schema.reserved ?? [],
      field: (key) => byName.get(key),
    };
    for (const f of schema.fields) {
      const field: Field = { ...f, json: f.json ?? jsonName(f.name), fullName: `${name}.${f.name}`, message };
      message.fields.push(field);
      byName.set(field.name, field);
      if (!byName.has(field.json)) byName.set(field.json, field);
    }
    this.messages.set(name, message);
    return message;
  }

  enum(name: string): EnumSchema | undefined {
    return this.schema.enums[name];
  }

  messageNames(): string[] {
    return Object.keys(this.schema.messages);
  }

  /** The v3 message that replaced a v2 one (`envoy.api.v2.Cluster` → `envoy.config.cluster.v3.Cluster`). */
  v3Replacement(v2Name: string): string | undefined {
    if (!this.v2ToV3) {
      this.v2ToV3 = new Map();
      for (const [name, message] of Object.entries(this.schema.messages)) {
        if (message.previous) this.v2ToV3.set(message.previous, name);
      }
    }
    return this.v2ToV3.get(v2Name);
  }
}

const builtSchema = fileURLToPath(new URL('../envoy-api.json', import.meta.url));

interface SchemaSource {
  buildEnvoyApiSchema(): { schema: EnvoyApiSchema };
}

function loadFromProtos(): EnvoyApiSchema {
  // The same code the package build runs; loaded lazily because only source checkouts need it.
  const source = createRequire(import.meta.url)('../../scripts/envoy-api-source.mjs') as SchemaSource;
  return source.buildEnvoyApiSchema().schema;
}

let api: EnvoyApi | undefined;

/** Envoy's API schema, loaded once per process (from dist/envoy-api.json when the package is built). */
export function envoyApi(): EnvoyApi {
  if (api) return api;
  const started = performance.now();
  const fromJson = existsSync(builtSchema);
  const schema = fromJson
    ? (JSON.parse(readFileSync(builtSchema, 'utf8')) as EnvoyApiSchema)
    : loadFromProtos();
  api = new EnvoyApi(schema, { source: fromJson ? 'json' : 'proto', ms: performance.now() - started });
  return api;
}
