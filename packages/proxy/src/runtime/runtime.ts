/**
 * Envoy's layered runtime: an ordered list of layers (static, disk, admin), later layers
 * overriding earlier ones. Components read keys with a default, so a key that no layer sets
 * behaves as the config says; `/runtime_modify` writes the admin layer, which is how the
 * console's traffic-split sliders move `weighted_clusters` with `runtime_key_prefix`.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { FractionalPercent, LayeredRuntime, Struct } from '../config/types.js';

interface Layer {
  name: string;
  kind: 'static' | 'disk' | 'admin';
  values: Map<string, string>;
}

export class RuntimeError extends Error {}

/** Flattens `{health_check: {min_interval: 5}}` to `health_check.min_interval = "5"`, as Envoy does. */
export function flattenStruct(
  struct: Struct,
  prefix = '',
  out = new Map<string, string>(),
): Map<string, string> {
  for (const [k, v] of Object.entries(struct)) {
    const key = prefix ? `${prefix}.${k}` : k;
    if (v !== null && typeof v === 'object' && !Array.isArray(v)) {
      // Envoy's FractionalPercent in a static layer stays one value; other objects nest.
      const o = v as Record<string, unknown>;
      if ('numerator' in o) out.set(key, JSON.stringify(o));
      else flattenStruct(o as Struct, key, out);
    } else if (Array.isArray(v)) {
      throw new RuntimeError(`runtime key '${key}': lists are not valid runtime values`);
    } else {
      out.set(key, v === null ? '' : String(v));
    }
  }
  return out;
}

/** Reads a disk layer: every file under `<root>/<subdirectory>` is a key named by its path with dots. */
function readDiskLayer(root: string, subdirectory: string | undefined): Map<string, string> {
  const values = new Map<string, string>();
  const base = path.join(root, subdirectory ?? '');
  const walk = (dir: string, prefix: string) => {
    let entries: fs.Dirent[];
    try {
      entries = fs.readdirSync(dir, { withFileTypes: true });
    } catch {
      return; // a missing runtime directory is an empty layer, as in Envoy
    }
    for (const e of entries) {
      if (e.name.startsWith('.')) continue;
      const key = prefix ? `${prefix}.${e.name}` : e.name;
      const p = path.join(dir, e.name);
      if (e.isDirectory()) walk(p, key);
      else values.set(key, fs.readFileSync(p, 'utf8').trim());
    }
  };
  walk(base, '');
  return values;
}

export class Runtime {
  private readonly layers: Layer[] = [];
  private merged = new Map<string, string>();
  private readonly listeners: (() => void)[] = [];

  constructor(config: LayeredRuntime | undefined, serviceCluster = '') {
    for (const l of config?.layers ?? []) {
      if (l.static_layer) {
        this.layers.push({ name: l.name, kind: 'static', values: flattenStruct(l.static_layer) });
      } else if (l.disk_layer) {
        const d = l.disk_layer;
        const root = d.symlink_root ?? '';
        const sub = d.append_service_cluster
          ? path.join(d.subdirectory ?? '', serviceCluster)
          : d.subdirectory;
        this.layers.push({ name: l.name, kind: 'disk', values: readDiskLayer(root, sub) });
      } else if (l.admin_layer) {
        this.layers.push({ name: l.name, kind: 'admin', values: new Map() });
      } else {
        // rtds_layer is refused by the feature gate before we get here.
        throw new RuntimeError(`runtime layer '${l.name}' has no supported layer kind`);
      }
    }
    this.remerge();
  }

  /** Whether `/runtime_modify` has a layer to write to. */
  hasAdminLayer(): boolean {
    return this.layers.some((l) => l.kind === 'admin');
  }

  /** `POST /runtime_modify?key=value`: sets (or with an empty value, removes) keys in the admin layer. */
  modify(changes: Record<string, string>): void {
    const admin = this.adminLayer();
    if (!admin) throw new RuntimeError('No admin layer specified');
    for (const [k, v] of Object.entries(changes)) {
      if (v === '') admin.values.delete(k);
      else admin.values.set(k, v);
    }
    this.remerge();
  }

  /** What `/runtime_modify` has set (the admin layer's values), for worker processes to mirror. */
  adminOverrides(): Record<string, string> {
    return Object.fromEntries(this.adminLayer()?.values ?? []);
  }

  /** The layer `/runtime_modify` writes: the last admin layer. */
  private adminLayer(): Layer | undefined {
    return [...this.layers].reverse().find((l) => l.kind === 'admin');
  }

  onChange(cb: () => void): void {
    this.listeners.push(cb);
  }

  private remerge(): void {
    const merged = new Map<string, string>();
    for (const l of this.layers) for (const [k, v] of l.values) merged.set(k, v);
    this.merged = merged;
    for (const cb of this.listeners) cb();
  }

  get(key: string): string | undefined {
    return this.merged.get(key);
  }

  getInteger(key: string, fallback: number): number {
    const v = this.merged.get(key);
    if (v === undefined || !/^-?\d+(\.\d+)?$/.test(v)) return fallback;
    return Math.trunc(Number(v));
  }

  getDouble(key: string, fallback: number): number {
    const v = this.merged.get(key);
    if (v === undefined || v === '' || Number.isNaN(Number(v))) return fallback;
    return Number(v);
  }

  getBoolean(key: string, fallback: boolean): boolean {
    const v = this.merged.get(key);
    if (v === 'true') return true;
    if (v === 'false') return false;
    return fallback;
  }

  /**
   * Envoy's `featureEnabled`: whether `random` (an integer draw) lands under the percentage the
   * key holds — either a plain number (percent of 100) or a FractionalPercent — or the default.
   */
  featureEnabled(key: string | undefined, fallback: FractionalPercent, random: number): boolean {
    let fp = fallback;
    const v = key ? this.merged.get(key) : undefined;
    if (v !== undefined) {
      if (v.startsWith('{')) {
        try {
          fp = JSON.parse(v) as FractionalPercent;
        } catch {
          fp = fallback;
        }
      } else if (/^\d+$/.test(v)) {
        fp = { numerator: Number(v), denominator: 'HUNDRED' };
      }
    }
    const denominator =
      fp.denominator === 'MILLION' ? 1_000_000 : fp.denominator === 'TEN_THOUSAND' ? 10_000 : 100;
    return random % denominator < Math.min(fp.numerator ?? 0, denominator);
  }

  /** The JSON `/runtime` prints: per key, one string per layer ("" where unset) and the final value. */
  dump(): { entries: Record<string, { layer_values: string[]; final_value: string }>; layers: string[] } {
    const keys = new Set<string>();
    for (const l of this.layers) for (const k of l.values.keys()) keys.add(k);
    const entries: Record<string, { layer_values: string[]; final_value: string }> = {};
    for (const k of [...keys].sort()) {
      entries[k] = {
        layer_values: this.layers.map((l) => l.values.get(k) ?? ''),
        final_value: this.merged.get(k) ?? '',
      };
    }
    return { entries, layers: this.layers.map((l) => l.name) };
  }
}
