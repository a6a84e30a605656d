import type { EnvoyApiSchema } from '../src/config/envoy-protos.js';

export declare const SCHEMA_VERSION: number;
export declare const defaultSchemaPath: string;
export declare function buildEnvoyApiSchema(): {
  schema: EnvoyApiSchema;
  files: number;
  skipped: string[];
  ms: number;
};
