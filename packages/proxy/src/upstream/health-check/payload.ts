/**
 * Health-check payloads (`HealthCheck.Payload`) and Envoy's `PayloadMatcher`.
 *
 * A payload is `text`, which Envoy's API defines as *hex-encoded* bytes ("000000FF"), or
 * `binary`, raw bytes — base64 in JSON/YAML, as proto3 JSON writes `bytes`. (The brief that
 * introduced this module called `binary` the hex form; Envoy's proto is followed here.)
 */
import type { Payload } from '../../config/types.js';

export function payloadBytes(p: Payload, field: string): Buffer {
  if (p.text !== undefined) {
    if (p.text.length === 0 || p.text.length % 2 !== 0 || !/^[0-9a-fA-F]+$/.test(p.text)) {
      throw new Error(
        `${field}.text: '${p.text}' is not hex-encoded bytes (for example "50494E47" for "PING")`,
      );
    }
    return Buffer.from(p.text, 'hex');
  }
  if (p.binary !== undefined) return Buffer.from(p.binary, 'base64');
  throw new Error(`${field}: a payload needs 'text' (hex) or 'binary' (base64)`);
}

/** Whether every expected segment occurs in `data`, in order, each after the previous one. */
export function payloadMatches(expected: readonly Buffer[], data: Buffer): boolean {
  let start = 0;
  for (const segment of expected) {
    const at = data.indexOf(segment, start);
    if (at < 0) return false;
    start = at + segment.length;
  }
  return true;
}
