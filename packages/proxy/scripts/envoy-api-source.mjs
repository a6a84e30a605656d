// Builds meshcraft-proxy's compact schema of Envoy's v3 API from the .proto files that ship in
// @grpc/grpc-js-xds. Used at package build time (scripts/build-envoy-api.mjs writes the result to
// dist/envoy-api.json) and, when that file is missing (tests run from src/), at run time.
//
// This is plain JavaScript because the build runs it before `tsc`; src/config/envoy-protos.ts
// declares the shape it produces (EnvoyApiSchema).

import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const protobuf = require('protobufjs');

export const SCHEMA_VERSION = 1;

const packageDir = join(dirname(fileURLToPath(import.meta.url)), '..');

function protoDirs() {
  const deps = join(dirname(require.resolve('@grpc/grpc-js-xds/package.json')), 'deps');
  const protobufjsDir = dirname(require.resolve('protobufjs/package.json'));
  return {
    envoy: join(deps, 'envoy-api'),
    includes: [
      join(deps, 'envoy-api'),
      join(deps, 'xds'),
      join(deps, 'googleapis'),
      join(deps, 'protoc-gen-validate'),
      protobufjsDir, // google/protobuf/*.proto
    ],
  };
}

/**
 * Envoy accepts extension configs wrapped in a TypedStruct, which no Envoy proto imports.
 */
const EXTRA_FILES = ['udpa/type/v1/typed_struct.proto', 'xds/type/v3/typed_struct.proto'];

/** v2-era packages (`.../v2/`, `.../v2alpha/`, `.../v1alpha1/`): Envoy v3 rejects them, so we do not load them. */
const V2_ERA_PATH = /\/v[12](alpha\d*)?\//;

/**
 * Imports that grpc-js-xds does not ship. Files that (transitively) need them are skipped, which
 * removes only OpenCensus/OpenTelemetry/Prometheus-specific messages.
 */
const MISSING_IMPORT = /^(opencensus|opentelemetry|io\/prometheus)\//;

function listProtoFiles(dir) {
  const out = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...listProtoFiles(path));
    else if (entry.name.endsWith('.proto')) out.push(path);
  }
  return out;
}

function importsOf(text) {
  return [...text.matchAll(/^\s*import\s+(?:public\s+|weak\s+)?"([^"]+)"\s*;/gm)].map((m) => m[1]);
}

/** The v3 .proto files (paths relative to the envoy-api root) whose imports can all be satisfied. */
function loadableEnvoyFiles(envoyDir) {
  const texts = new Map();
  for (const abs of listProtoFiles(envoyDir)) {
    const rel = relative(envoyDir, abs).split(sep).join('/');
    if (!V2_ERA_PATH.test(`/${rel}`)) texts.set(rel, readFileSync(abs, 'utf8'));
  }
  const broken = new Set();
  let changed = true;
  while (changed) {
    changed = false;
    for (const [file, text] of texts) {
      if (broken.has(file)) continue;
      if (importsOf(text).some((imp) => MISSING_IMPORT.test(imp) || broken.has(imp))) {
        broken.add(file);
        changed = true;
      }
    }
  }
  return {
    files: [...texts.keys()].filter((f) => !broken.has(f)).sort(),
    skipped: [...broken].sort(),
    texts,
  };
}

function mergeOptionObjects(target, source) {
  for (const [key, value] of Object.entries(source)) {
    const existing = target[key];
    if (existing && typeof existing === 'object' && !Array.isArray(existing) && typeof value === 'object') {
      mergeOptionObjects(existing, value);
    } else if (existing !== undefined) {
      target[key] = [].concat(existing, value);
    } else {
      target[key] = value;
    }
  }
  return target;
}

/** protobufjs keeps structured options in `parsedOptions` (flattened `options` lose repeated values and `gt {}`). */
function structuredOptions(object) {
  const merged = {};
  for (const entry of object.parsedOptions ?? []) mergeOptionObjects(merged, structuredClone(entry));
  return merged;
}

const SCALARS = new Set([
  'double',
  'float',
  'int32',
  'int64',
  'uint32',
  'uint64',
  'sint32',
  'sint64',
  'fixed32',
  'fixed64',
  'sfixed32',
  'sfixed64',
  'bool',
  'string',
  'bytes',
]);

function stripDot(name) {
  return name.startsWith('.') ? name.slice(1) : name;
}

function defaultJsonName(name) {
  let out = '';
  let upper = false;
  for (const ch of name) {
    if (ch === '_') upper = true;
    else if (upper) {
      out += ch.toUpperCase();
      upper = false;
    } else out += ch;
  }
  return out;
}

function convertField(field) {
  field.resolve();
  const opts = structuredOptions(field);
  const out = { name: field.name, id: field.id };
  if (SCALARS.has(field.type)) {
    out.kind = 'scalar';
    out.type = field.type;
  } else {
    out.kind = field.resolvedType instanceof protobuf.Enum ? 'enum' : 'message';
    out.type = stripDot(field.resolvedType.fullName);
  }
  if (field.map) out.map = field.keyType;
  else if (field.repeated) out.repeated = true;
  const jsonName = field.options?.json_name;
  if (jsonName && jsonName !== defaultJsonName(field.name)) out.json = jsonName;
  if (field.partOf && !field.options?.proto3_optional) out.oneof = field.partOf.name;
  if (field.options?.proto3_optional) out.presence = true;
  if (opts['(validate.rules)']) out.rules = opts['(validate.rules)'];
  if (field.options?.deprecated)
    out.deprecated = field.options['(envoy.annotations.deprecated_at_minor_version)'] ?? true;
  if (field.options?.['(envoy.annotations.disallowed_by_default)']) out.disallowed = true;
  return out;
}

function convertType(type) {
  const out = {
    file: type.filename ? type.filename.split(/[\\/]/).pop() : undefined,
    fields: type.fieldsArray.map(convertField).sort((a, b) => a.id - b.id),
  };
  const oneofs = type.oneofsArray
    .filter((o) => !o.fieldsArray.every((f) => f.options?.proto3_optional))
    .map((o) => {
      const entry = { name: o.name, fields: o.fieldsArray.map((f) => f.name) };
      if (o.options?.['(validate.required)']) entry.required = true;
      return entry;
    });
  if (oneofs.length > 0) out.oneofs = oneofs;
  const previous = type.options?.['(udpa.annotations.versioning).previous_message_type'];
  if (previous) out.previous = previous;
  const reservedNames = (type.reserved ?? []).filter((r) => typeof r === 'string');
  if (reservedNames.length > 0) out.reserved = reservedNames;
  return out;
}

function convertEnum(en) {
  const out = { values: { ...en.values } };
  const deprecated = [];
  const disallowed = [];
  for (const [name, opts] of Object.entries(en.valuesOptions ?? {})) {
    if (opts?.deprecated) deprecated.push(name);
    if (opts?.['(envoy.annotations.disallowed_by_default_enum)']) disallowed.push(name);
  }
  if (deprecated.length > 0) out.deprecated = deprecated;
  if (disallowed.length > 0) out.disallowed = disallowed;
  return out;
}

function collect(namespace, messages, enums) {
  for (const nested of namespace.nestedArray) {
    if (nested instanceof protobuf.Type) messages[stripDot(nested.fullName)] = convertType(nested);
    else if (nested instanceof protobuf.Enum) enums[stripDot(nested.fullName)] = convertEnum(nested);
    if (nested.nestedArray) collect(nested, messages, enums);
  }
}

/**
 * Extension names from the `[#extension: name]` doc tags. A tag inside a message names that nested
 * message. A tag at a file's head names the file's configuration message: the first top-level
 * message after the tag that is not a helper of another message (FaultAbort is a field of
 * HTTPFault, the fault filter's config) and not a per-route override. Uses by messages that carry
 * their own tag do not count (EnvoyMobileHttpConnectionManager wraps HttpConnectionManager).
 */
function scanExtensions(root, envoyDir, files, texts, messages) {
  const byFile = new Map();
  const index = (ns) => {
    for (const nested of ns.nestedArray) {
      if (nested instanceof protobuf.Type && nested.filename) {
        const file = relative(envoyDir, nested.filename).split(sep).join('/');
        const list = byFile.get(file) ?? [];
        list.push(nested);
        byFile.set(file, list);
      }
      if (nested.nestedArray) index(nested);
    }
  };
  index(root);
  const users = new Map();
  for (const [name, message] of Object.entries(messages)) {
    for (const field of message.fields) {
      if (field.kind !== 'message') continue;
      const list = users.get(field.type) ?? new Set();
      list.add(name);
      users.set(field.type, list);
    }
  }
  const tags = [];
  for (const file of files) {
    const text = texts.get(file);
    const types = byFile.get(file);
    if (!types) continue;
    const typeNamed = (name) => types.find((t) => t.name === name);
    for (const tag of text.matchAll(/^([ \t]*)\/\/.*\[#extension:\s*([\w.]+)\s*\]/gm)) {
      const after = text.slice(tag.index);
      tags.push({
        name: tag[2],
        nested: tag[1] !== '',
        next: typeNamed(/^\s*message\s+(\w+)/m.exec(after)?.[1]),
        topLevel: [...after.matchAll(/^message\s+(\w+)/gm)].map((m) => typeNamed(m[1])).filter(Boolean),
      });
    }
  }
  const extensions = [];
  for (const tag of tags) {
    const otherTagged = new Set(
      tags.filter((t) => t !== tag && t.next && t.next !== tag.next).map((t) => stripDot(t.next.fullName)),
    );
    const isHelper = (type) =>
      [...(users.get(stripDot(type.fullName)) ?? [])].some((user) => !otherTagged.has(user));
    const candidates = [tag.next, ...tag.topLevel].filter(Boolean);
    const chosen = tag.nested
      ? tag.next
      : (candidates.find((t) => !isHelper(t) && !/PerRoute/.test(t.name)) ?? tag.next);
    if (chosen) extensions.push([tag.name, stripDot(chosen.fullName)]);
  }
  // A few names are tagged in two files (a helper proto, or a pre-v3 package next to the v3 one):
  // keep the message nothing else uses, preferring the envoy.extensions package.
  const rank = ([, type]) => (users.has(type) ? 2 : 0) + (type.startsWith('envoy.extensions.') ? 0 : 1);
  const best = new Map();
  for (const entry of extensions) {
    const current = best.get(entry[0]);
    if (!current || rank(entry) < rank(current)) best.set(entry[0], entry);
  }
  return [...best.values()].sort((a, b) => a[0].localeCompare(b[0]));
}

/**
 * Parses Envoy's v3 API protos and returns the schema meshcraft-proxy validates against, plus what
 * was skipped and how long it took.
 */
export function buildEnvoyApiSchema() {
  const started = performance.now();
  const dirs = protoDirs();
  const { files, skipped, texts } = loadableEnvoyFiles(dirs.envoy);
  const root = new protobuf.Root();
  root.resolvePath = (_origin, target) => {
    for (const dir of dirs.includes) {
      const candidate = join(dir, target);
      if (existsSync(candidate)) return candidate;
    }
    return target;
  };
  for (const file of [...files, ...EXTRA_FILES]) root.loadSync(file, { keepCase: true });
  root.resolveAll();
  const messages = {};
  const enums = {};
  collect(root, messages, enums);
  const schema = {
    version: SCHEMA_VERSION,
    grpcJsXds: require('@grpc/grpc-js-xds/package.json').version,
    messages,
    enums,
    extensions: scanExtensions(root, dirs.envoy, files, texts, messages),
  };
  return { schema, files: files.length, skipped, ms: performance.now() - started };
}

export const defaultSchemaPath = join(packageDir, 'dist', 'envoy-api.json');
