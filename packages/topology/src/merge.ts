/**
 * Merging raw Envoy JSON over rendered config (the escape hatches `raw: {mode: merge}` and `extra`).
 * Mappings merge key by key; lists of named things (listeners, clusters, secrets, layers, virtual
 * hosts) merge entry by entry on `name`, new names appended; any other list, and any scalar, is
 * replaced by the overlay. Browser-safe.
 */

type Json = unknown;

function isPlainObject(v: Json): v is Record<string, Json> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function isNamedList(v: Json): v is Record<string, Json>[] {
  return Array.isArray(v) && v.length > 0 && v.every((e) => isPlainObject(e) && typeof e.name === 'string');
}

export function deepMerge(base: Json, overlay: Json): Json {
  if (isPlainObject(base) && isPlainObject(overlay)) {
    const out: Record<string, Json> = { ...base };
    for (const [k, v] of Object.entries(overlay)) out[k] = k in base ? deepMerge(base[k], v) : v;
    return out;
  }
  if (isNamedList(base) && isNamedList(overlay)) {
    const out = base.map((e) => {
      const o = overlay.find((x) => x.name === e.name);
      return o ? deepMerge(e, o) : e;
    });
    for (const o of overlay) if (!base.some((e) => e.name === o.name)) out.push(o);
    return out;
  }
  return overlay;
}
