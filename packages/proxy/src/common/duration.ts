import type { Duration } from '../config/types.js';

/**
 * Milliseconds of a normalized duration (`"0.250s"`, `"10s"`), or `fallback` when it is absent.
 * The config loader has already turned every accepted spelling into this canonical form.
 */
export function durationMs(d: Duration | undefined, fallback: number): number;
export function durationMs(d: Duration | undefined): number | undefined;
export function durationMs(d: Duration | undefined, fallback?: number): number | undefined {
  if (d === undefined) return fallback;
  const m = /^(-?\d+(?:\.\d+)?)s$/.exec(d);
  if (!m) throw new Error(`not a normalized duration: ${d}`);
  return Number(m[1]) * 1000;
}

/** The proto3-JSON spelling of a duration, as Envoy's config_dump prints it (`"0.250s"`, `"5s"`). */
export function formatDuration(ms: number): Duration {
  const negative = ms < 0;
  const totalNanos = Math.round(Math.abs(ms) * 1e6);
  const seconds = Math.floor(totalNanos / 1e9);
  const nanos = totalNanos % 1e9;
  let frac = '';
  if (nanos !== 0) {
    // proto3 JSON uses 3, 6 or 9 fractional digits.
    if (nanos % 1e6 === 0) frac = `.${String(nanos / 1e6).padStart(3, '0')}`;
    else if (nanos % 1e3 === 0) frac = `.${String(nanos / 1e3).padStart(6, '0')}`;
    else frac = `.${String(nanos).padStart(9, '0')}`;
  }
  return `${negative ? '-' : ''}${seconds}${frac}s`;
}
