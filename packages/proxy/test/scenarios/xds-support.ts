/**
 * What the dynamic-configuration labs need beyond harness.ts: the lab's mounted directories
 * (config-source paths inside a container mapped to the lab directory), the course's ways of
 * changing a watched file, and bootstraps assembled from the excerpts the notes quote.
 */
import fs from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { type AddressMap, fixture, request } from './harness.js';

/** Points config-source paths under a container directory (`/etc/envoy/conf.d`) at a host directory. */
export function mountPaths(yamlText: string, mounts: Record<string, string>): string {
  let out = yamlText;
  for (const [inContainer, onHost] of Object.entries(mounts)) out = out.replaceAll(inContainer, onHost);
  return out;
}

/** Writes a discovery file with its addresses mapped for `self` (the container it is mounted in). */
export function writeResourceFile(map: AddressMap, file: string, yamlText: string, self: string): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, map.remapConfig(yamlText, map.ip(self)));
}

/** The course's `mv eds.yaml bak; mv bak eds.yaml`: the file moves away and back onto its name. */
export function mvTrick(file: string): void {
  const bak = path.join(path.dirname(file), 'bak');
  fs.renameSync(file, bak);
  fs.renameSync(bak, file);
}

/** Replaces a file atomically: the new content is written elsewhere and renamed onto the name. */
export function atomicReplace(file: string, content: string): void {
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.tmp`);
  fs.writeFileSync(tmp, content);
  fs.renameSync(tmp, file);
}

/** A bootstrap from the YAML documents the notes quote for one file (excerpts split by `...`), merged. */
export function mergedDocuments(...texts: string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const text of texts) {
    for (const doc of YAML.parseAllDocuments(text)) {
      const value = doc.toJS() as Record<string, unknown> | null;
      if (!value) continue;
      for (const [k, v] of Object.entries(value)) {
        const prev = out[k];
        out[k] =
          prev && typeof prev === 'object' && !Array.isArray(prev) && typeof v === 'object'
            ? { ...(prev as object), ...(v as object) }
            : v;
      }
    }
  }
  return out;
}

/** The admin block every day-14 front proxy has. */
export function frontAdmin(): Record<string, unknown> {
  return YAML.parse(fixture('day14a-common-front-proxy.admin.yaml')) as Record<string, unknown>;
}

/** Which `ServerName` answered a request through the proxy. */
export async function servedBy(url: string): Promise<string> {
  const r = await request(url);
  return /ServerName: ([^,\n]+)/.exec(r.body)?.[1] ?? `status ${r.status}`;
}

/** The value of one stat from `/stats`, or undefined. */
export async function stat(admin: string, name: string): Promise<number | undefined> {
  const text = (await request(`${admin}/stats?filter=^${name.replaceAll('.', '\\.')}$`)).body;
  const m = new RegExp(`^${name.replaceAll('.', '\\.')}: (\\d+)$`, 'm').exec(text);
  return m ? Number(m[1]) : undefined;
}
