/**
 * Reading Envoy config the way Envoy accepted it in the course: a single mapping where a list is
 * expected, lower-case enums, numbers and booleans written as strings, durations as `"0.25s"` or
 * `{seconds, nanos}`, legacy filter names. Used by import and by the semantic summary, so both
 * see the course's files the same way Envoy did. Browser-safe.
 */

export type J = Record<string, unknown>;

export function isObj(v: unknown): v is J {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** A repeated field: a list, or a single mapping written where a list belongs. */
export function list(v: unknown): unknown[] {
  if (v === undefined || v === null) return [];
  return Array.isArray(v) ? v : [v];
}

export function objList(v: unknown): J[] {
  return list(v).filter(isObj);
}

export function obj(v: unknown): J {
  return isObj(v) ? v : {};
}

export function str(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return undefined;
}

/** Wrapper types and quoted numbers (`"3"`, `{value: 49}`) → number. */
export function num(v: unknown): number | undefined {
  if (isObj(v) && 'value' in v) return num(v.value);
  if (typeof v === 'number' && Number.isFinite(v)) return v;
  if (typeof v === 'string' && /^-?\d+(\.\d+)?$/.test(v.trim())) return Number(v);
  return undefined;
}

export function bool(v: unknown): boolean | undefined {
  if (isObj(v) && 'value' in v) return bool(v.value);
  if (typeof v === 'boolean') return v;
  if (v === 'true') return true;
  if (v === 'false') return false;
  return undefined;
}

/** Enum names are case-insensitive in the course's files. */
export function enumName(v: unknown): string | undefined {
  return typeof v === 'string' ? v.toUpperCase() : undefined;
}

/** `"0.25s"`, `"250ms"`, `{seconds: 1, nanos: 5e8}`, `5` (seconds) → milliseconds. */
export function durationMs(v: unknown): number | undefined {
  if (typeof v === 'number') return v * 1000;
  if (typeof v === 'string') {
    const m = /^\s*(\d+(?:\.\d+)?)\s*(s|ms|m|h)?\s*$/.exec(v);
    if (!m) return undefined;
    const unit = { s: 1000, ms: 1, m: 60_000, h: 3_600_000 }[(m[2] ?? 's') as 's'];
    return Math.round(Number(m[1]) * unit * 1e6) / 1e6;
  }
  if (isObj(v)) return (num(v.seconds) ?? 0) * 1000 + (num(v.nanos) ?? 0) / 1e6;
  return undefined;
}

/** A duration in the lab document's form: whole seconds as `10s`, fractions as `0.25s`, under a millisecond not at all. */
export function labDuration(v: unknown): string | undefined {
  const ms = durationMs(v);
  if (ms === undefined) return undefined;
  return `${Number((ms / 1000).toFixed(9))}s`;
}

const FILTER_ALIASES: Record<string, string> = {
  'envoy.http_connection_manager': 'envoy.filters.network.http_connection_manager',
  'envoy.tcp_proxy': 'envoy.filters.network.tcp_proxy',
  'envoy.router': 'envoy.filters.http.router',
  'envoy.filters.udp_listener.udp_proxy': 'envoy.filters.udp_listener.udp_proxy',
};

const TYPE_TO_FILTER: Record<string, string> = {
  'envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager':
    'envoy.filters.network.http_connection_manager',
  'envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy': 'envoy.filters.network.tcp_proxy',
  'envoy.extensions.filters.http.router.v3.Router': 'envoy.filters.http.router',
  'envoy.extensions.filters.udp.udp_proxy.v3.UdpProxyConfig': 'envoy.filters.udp_listener.udp_proxy',
};

/** The extension a filter entry selects: by its `@type` when it has one (names are free text), else by name. */
export function filterKind(f: J): string {
  const t = str(obj(f.typed_config)['@type']);
  if (t) {
    const key = t.replace(/^type\.googleapis\.com\//, '');
    if (TYPE_TO_FILTER[key]) return TYPE_TO_FILTER[key]!;
  }
  const name = str(f.name) ?? '';
  return FILTER_ALIASES[name] ?? name;
}

/** Whether the upstream protocol is HTTP/2: the legacy cluster field or the v3 protocol options. */
export function clusterUsesHttp2(c: J): boolean {
  if (c.http2_protocol_options !== undefined) return true;
  const opts = obj(
    obj(c.typed_extension_protocol_options)['envoy.extensions.upstreams.http.v3.HttpProtocolOptions'],
  );
  return obj(opts.explicit_http_config).http2_protocol_options !== undefined;
}

/** A header or query-parameter matcher as one (kind, value) pair, whichever of Envoy's spellings it used. */
export function stringMatcher(m: J): { kind: string; value?: string; ignoreCase?: boolean } {
  const sm = isObj(m.string_match) ? m.string_match : undefined;
  if (sm) {
    for (const k of ['exact', 'prefix', 'suffix', 'contains'])
      if (sm[k] !== undefined) return { kind: k, value: str(sm[k]), ignoreCase: bool(sm.ignore_case) };
    if (sm.safe_regex !== undefined)
      return { kind: 'regex', value: str(obj(sm.safe_regex).regex), ignoreCase: bool(sm.ignore_case) };
  }
  for (const k of ['exact', 'prefix', 'suffix', 'contains'])
    if (m[`${k}_match`] !== undefined) return { kind: k, value: str(m[`${k}_match`]) };
  if (m.safe_regex_match !== undefined) return { kind: 'regex', value: str(obj(m.safe_regex_match).regex) };
  if (m.present_match !== undefined) return { kind: 'present', value: String(bool(m.present_match) ?? true) };
  return { kind: 'present', value: 'true' };
}

/** A DataSource as (file | inline). */
export function dataSource(v: unknown): { file: string } | { inline: string } | undefined {
  const d = obj(v);
  if (typeof d.filename === 'string') return { file: d.filename };
  if (typeof d.inline_string === 'string') return { inline: d.inline_string };
  if (typeof d.inline_bytes === 'string') return { inline: d.inline_bytes };
  return undefined;
}

export function typeUrl(v: unknown): string {
  return (str(obj(v)['@type']) ?? '').replace(/^type\.googleapis\.com\//, '');
}
