/**
 * Exporting a lab as a project a learner can run anywhere with `docker compose up`: the compose
 * file, every rendered config, a script that makes the lab's certificates the way the course's
 * gencerts.sh did, the lab itself (so meshcraft can import it back exactly), and a README with
 * what to try and what to observe. Browser-safe; the Node entry writes it to a directory or zip.
 */
import type { Issue } from './issues.js';
import { buildLayout } from './layout.js';
import { LabIndex } from './model.js';
import { stringifyLab } from './parse.js';
import { dockerAddressPlan } from './plan.js';
import { type PkiRequest, type RenderOptions, type RenderResult, render } from './render/index.js';
import type { Lab } from './schema.js';

export interface ExportOptions extends RenderOptions {
  /** Include `<name>.lab.yaml` (default true); import prefers it, so a round trip is exact. */
  includeLab?: boolean;
}

export interface ExportResult {
  /** Project-relative path → file content. */
  files: Record<string, string>;
  warnings: Issue[];
}

export function exportLab(lab: Lab, opts: ExportOptions = {}): ExportResult {
  const layout = buildLayout(new LabIndex(lab));
  const rendered = render(lab, dockerAddressPlan(layout), opts);
  const files: Record<string, string> = {};
  files['docker-compose.yaml'] = rendered.compose!;
  for (const [path, content] of Object.entries(rendered.files)) files[path] = content;
  if (rendered.pki) files['gencerts.sh'] = gencertsScript(rendered.pki);
  if (opts.includeLab !== false) files[`${lab.metadata.name}.lab.yaml`] = stringifyLab(lab);
  files['README.md'] = readme(lab, rendered, opts.images ?? 'meshcraft');
  return { files: sortPaths(files), warnings: rendered.warnings };
}

function sortPaths(files: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(files).sort(([a], [b]) => a.localeCompare(b)));
}

/** openssl commands equivalent to the course's gencerts.sh, without its prompts. */
export function gencertsScript(pki: PkiRequest): string {
  const lines = [
    '#!/bin/sh',
    "# Makes the certificates this lab mounts, as the course's gencerts.sh did: a private CA and",
    '# RSA-2048 leaf certificates signed by it (CN = the certificate name), under certs/.',
    'set -eu',
    'cd "$(dirname "$0")"',
    `mkdir -p ${pki.caDir}`,
    `[ -f ${pki.caDir}ca.crt ] || openssl req -x509 -newkey rsa:4096 -nodes -days 3650 -subj '/CN=${pki.caCommonName}' \\`,
    `  -keyout ${pki.caDir}ca.key -out ${pki.caDir}ca.crt`,
    'serial=4096',
    'leaf() { # dir file-prefix common-name extended-key-usage',
    '  mkdir -p "$1"',
    '  openssl req -new -newkey rsa:2048 -nodes -subj "/CN=$3" -keyout "$1/$2.key" -out "$1/$2.csr"',
    `  printf 'extendedKeyUsage = %s\\nbasicConstraints = CA:FALSE\\n' "$4" > "$1/$2.ext"`,
    `  openssl x509 -req -in "$1/$2.csr" -CA ${pki.caDir}ca.crt -CAkey ${pki.caDir}ca.key -set_serial "$serial" \\`,
    '    -days 3650 -sha256 -extfile "$1/$2.ext" -out "$1/$2.crt"',
    '  rm -f "$1/$2.csr" "$1/$2.ext"',
    '  serial=$((serial + 1))',
    '}',
  ];
  for (const c of pki.certificates) {
    if (c.server) lines.push(`leaf ${c.dir.replace(/\/$/, '')} server '${c.commonName}' serverAuth`);
    if (c.client) lines.push(`leaf ${c.dir.replace(/\/$/, '')} client '${c.commonName}' clientAuth`);
  }
  lines.push('# Envoy runs as uid 101 in its image; let it read the keys.', 'chmod -R a+rX certs', '');
  return lines.join('\n');
}

function readme(lab: Lab, r: RenderResult, images: 'meshcraft' | 'upstream'): string {
  const m = lab.metadata;
  const out: string[] = [`# ${m.title}`, ''];
  if (m.description) out.push(m.description.trim(), '');
  out.push('## Run it', '');
  if (images === 'upstream') {
    out.push(
      "This project runs real Envoy (`envoyproxy/envoy`) and the course's images, so you can compare meshcraft-proxy with Envoy itself.",
      '',
    );
  } else {
    out.push(
      'This project runs on the meshcraft runtime image (meshcraft-proxy, a TypeScript work-alike of Envoy, and meshcraft-demoapp). The Envoy configs are plain Envoy v3 and also run on `envoyproxy/envoy`.',
      '',
    );
  }
  out.push('```sh');
  if (r.pki) out.push('sh gencerts.sh        # the certificates the proxies mount');
  out.push('docker compose up', '```', '');
  const external = r.containers.filter((c) => c.external);
  if (external.length) {
    out.push('Some containers cannot run offline:', '');
    for (const c of external) out.push(`- \`${c.name}\` (${c.external!.image}): ${c.external!.why}`);
    out.push('');
  }
  out.push('## Containers', '', '| container | role | address | aliases |', '|---|---|---|---|');
  for (const c of r.containers) {
    const addr = c.network.owner
      ? (c.network.ip ?? 'assigned by Docker')
      : `shares ${c.network.joins}'s network`;
    const aliases = c.network.owner ? c.network.aliases.join(', ') : '';
    out.push(`| ${c.name} | ${c.role} | ${addr} | ${aliases} |`);
  }
  out.push('');
  if (m.tryThis?.length) {
    out.push('## What to try', '');
    m.tryThis.forEach((s, i) => {
      out.push(`${i + 1}. ${s.say.trim()}`);
      if (s.command) out.push('', '   ```sh', `   ${s.command}`, '   ```');
      if (s.expect)
        out.push(
          '',
          '   Expect:',
          '',
          '   ```',
          ...s.expect
            .trimEnd()
            .split('\n')
            .map((l) => `   ${l}`),
          '   ```',
        );
      out.push('');
    });
  }
  if (m.observe?.length) {
    out.push('## What to observe', '');
    for (const o of m.observe) out.push(`- ${o.trim()}`);
    out.push('');
  }
  if (m.source)
    out.push(
      '## Source',
      '',
      `${m.source.reference}${m.source.section ? `, ${m.source.section}` : ''}.${m.source.notes ? ` ${m.source.notes.trim()}` : ''}`,
      '',
    );
  return out.join('\n');
}
