// Package build step (runs before tsc): writes dist/envoy-api.json, the schema of Envoy's v3 API
// that meshcraft-proxy validates configuration against, so the proxy does not parse ~360 .proto
// files at every start.

import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { buildEnvoyApiSchema, defaultSchemaPath } from './envoy-api-source.mjs';

const { schema, files, skipped, ms } = buildEnvoyApiSchema();
const json = JSON.stringify(schema);
mkdirSync(dirname(defaultSchemaPath), { recursive: true });
writeFileSync(defaultSchemaPath, json);
console.log(
  `envoy-api: ${files} .proto files → ${Object.keys(schema.messages).length} messages, ` +
    `${Object.keys(schema.enums).length} enums, ${schema.extensions.length} extensions ` +
    `(${(json.length / 1024).toFixed(0)} KiB) in ${ms.toFixed(0)} ms; ` +
    `skipped ${skipped.length} whose imports are not shipped: ${skipped.join(', ')}`,
);
