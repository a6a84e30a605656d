/**
 * Envoy's matchers: RE2 regexes (`safe_regex`, google_re2), StringMatcher, HeaderMatcher and
 * QueryParameterMatcher, compiled once from config into small predicate objects.
 *
 * Regexes run on RE2 (compiled to wasm) rather than JS RegExp so that a pattern means exactly
 * what it means in Envoy: RE2 syntax, no backtracking features, linear time.
 */
import { RE2 } from 're2-wasm';
import type { HeaderMatcher, QueryParameterMatcher, RegexMatcher, StringMatcher } from '../config/types.js';
import type { HeaderMap } from '../http/headers.js';

export class RegexCompileError extends Error {}

/** A compiled `RegexMatcher`; `fullMatch` is Envoy's semantics for matchers ("the whole value"). */
export class Regex {
  private readonly full: RE2;
  private readonly partial: RE2;
  constructor(readonly pattern: string) {
    try {
      this.full = new RE2(`^(?:${pattern})$`, 'u');
      this.partial = new RE2(pattern, 'gu');
    } catch (err) {
      throw new RegexCompileError(`invalid RE2 regex '${pattern}': ${(err as Error).message}`);
    }
  }

  fullMatch(value: string): boolean {
    return this.full.test(value);
  }

  /** Global substitution with RE2 `\1`-style group references, as `regex_rewrite` uses. */
  replaceAll(value: string, substitution: string): string {
    this.partial.lastIndex = 0;
    return value.replace(this.partial as unknown as RegExp, (...args: unknown[]) => {
      const groups = args.slice(0, -2) as string[];
      return substitution.replace(/\\(\d)/g, (_, d: string) => groups[Number(d)] ?? '');
    });
  }
}

export function compileRegex(m: RegexMatcher): Regex {
  return new Regex(m.regex);
}

export type StringPredicate = (value: string) => boolean;

/** StringMatcher: exactly one of exact/prefix/suffix/safe_regex/contains, with `ignore_case`. */
export function compileStringMatcher(m: StringMatcher): StringPredicate {
  const ic = m.ignore_case === true;
  const norm = (s: string) => (ic ? s.toLowerCase() : s);
  if (m.exact !== undefined) {
    const want = norm(m.exact);
    return (v) => norm(v) === want;
  }
  if (m.prefix !== undefined) {
    const want = norm(m.prefix);
    return (v) => norm(v).startsWith(want);
  }
  if (m.suffix !== undefined) {
    const want = norm(m.suffix);
    return (v) => norm(v).endsWith(want);
  }
  if (m.contains !== undefined) {
    const want = norm(m.contains);
    return (v) => norm(v).includes(want);
  }
  if (m.safe_regex) {
    // Envoy ignores ignore_case for regexes (the pattern carries its own flags).
    const re = compileRegex(m.safe_regex);
    return (v) => re.fullMatch(v);
  }
  return () => false;
}

export type HeaderPredicate = (headers: HeaderMap) => boolean;

/**
 * HeaderMatcher. Envoy matches against all values of the header joined with commas; a missing
 * header fails every value matcher (unless `treat_missing_header_as_empty`), `present_match`
 * checks presence, and `invert_match` flips the result (a missing header then matches).
 */
export function compileHeaderMatcher(m: HeaderMatcher): HeaderPredicate {
  const name = m.name.toLowerCase();
  const invert = m.invert_match === true;
  let valueMatch: StringPredicate | undefined;
  if (m.exact_match !== undefined) valueMatch = compileStringMatcher({ exact: m.exact_match });
  else if (m.prefix_match !== undefined) valueMatch = compileStringMatcher({ prefix: m.prefix_match });
  else if (m.suffix_match !== undefined) valueMatch = compileStringMatcher({ suffix: m.suffix_match });
  else if (m.contains_match !== undefined) valueMatch = compileStringMatcher({ contains: m.contains_match });
  else if (m.safe_regex_match) valueMatch = compileStringMatcher({ safe_regex: m.safe_regex_match });
  else if (m.string_match) valueMatch = compileStringMatcher(m.string_match);
  else if (m.range_match) {
    const { start, end } = m.range_match;
    valueMatch = (v) => /^-?\d+$/.test(v) && Number(v) >= start && Number(v) < end;
  }
  if (!valueMatch) {
    // present_match (true or unset: presence; false: absence).
    const wantPresent = m.present_match !== false;
    return (h) => (h.has(name) === wantPresent) !== invert;
  }
  const match = valueMatch;
  const missingAsEmpty = m.treat_missing_header_as_empty === true;
  return (h) => {
    const v = h.getJoined(name);
    if (v === undefined) {
      if (missingAsEmpty) return match('') !== invert;
      return invert;
    }
    return match(v) !== invert;
  };
}

/** Query string → first decoded value per name (Envoy matches the first occurrence). */
export function parseQuery(query: string): Map<string, string> {
  const out = new Map<string, string>();
  if (!query) return out;
  for (const part of query.split('&')) {
    if (!part) continue;
    const eq = part.indexOf('=');
    const rawName = eq < 0 ? part : part.slice(0, eq);
    const rawValue = eq < 0 ? '' : part.slice(eq + 1);
    const name = safeDecode(rawName);
    if (!out.has(name)) out.set(name, safeDecode(rawValue));
  }
  return out;
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s.replace(/\+/g, ' '));
  } catch {
    return s;
  }
}

export type QueryPredicate = (query: Map<string, string>) => boolean;

export function compileQueryParameterMatcher(m: QueryParameterMatcher): QueryPredicate {
  if (m.string_match) {
    const match = compileStringMatcher(m.string_match);
    return (q) => {
      const v = q.get(m.name);
      return v !== undefined && match(v);
    };
  }
  // present_match, or no matcher at all: presence.
  return (q) => q.has(m.name);
}
