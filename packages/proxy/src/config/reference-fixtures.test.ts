/**
 * The acceptance bar: every Envoy config quoted in the course notes (shared/reference/*.md), kept
 * verbatim under test/fixtures/reference/. The v3 ones must load unchanged; the ones the notes
 * themselves call malformed, or that are schema listings, must be refused with a useful message.
 */

import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ConfigError } from './errors.js';
import {
  loadBootstrap,
  loadDiscoveryResponseFile,
  normalizeResource,
  RESOURCE_TYPES,
  validateDocument,
} from './load.js';
import { normalizeMessage } from './proto-json.js';
import { formatOf, type ParsedConfig, parseConfig, parseConfigDocuments } from './source.js';

interface Fixture {
  file: string;
  source: string;
  type?: string;
  types?: string[];
  shape?: 'list';
  excerpt?: boolean;
  expect: 'valid' | 'invalid';
  protoValid?: boolean;
  error?: string;
  line?: number;
  column?: number;
  note?: string;
}

const fixturesDir = fileURLToPath(new URL('../../test/fixtures/reference/', import.meta.url));
const manifest = JSON.parse(readFileSync(join(fixturesDir, 'manifest.json'), 'utf8')) as {
  fixtures: Fixture[];
  excluded: { source: string; why: string }[];
};
const referenceDir = '/work/shared/reference';

const BOOTSTRAP = 'envoy.config.bootstrap.v3.Bootstrap';
const DISCOVERY_RESPONSE = 'envoy.service.discovery.v3.DiscoveryResponse';

function documentsOf(fixture: Fixture): ParsedConfig[] {
  const path = join(fixturesDir, fixture.file);
  const text = readFileSync(path, 'utf8');
  return formatOf(path) === 'json' ? [parseConfig(text, path, 'json')] : parseConfigDocuments(text, path);
}

/** A list entry as a document of its own, still located in the file. */
function entryOf(doc: ParsedConfig, index: number, value: unknown): ParsedConfig {
  return { file: doc.file, value, locate: (path, at) => doc.locate([index, ...path], at) };
}

/** Loads a fixture the way the proxy would: bootstraps with -c, xDS files as a subscription reads them. */
function load(fixture: Fixture): void {
  const path = join(fixturesDir, fixture.file);
  if (fixture.type === BOOTSTRAP) {
    loadBootstrap({ path });
    return;
  }
  if (fixture.type === DISCOVERY_RESPONSE) {
    loadDiscoveryResponseFile(path);
    return;
  }
  const docs = documentsOf(fixture);
  const types = fixture.types ?? [fixture.type as string];
  expect(docs).toHaveLength(types.length);
  docs.forEach((doc, d) => {
    const type = types[d] as string;
    if (fixture.shape !== 'list') {
      validateDocument(type, doc, { excerpt: fixture.excerpt });
      return;
    }
    (doc.value as unknown[]).forEach((entry, i) => {
      if (RESOURCE_TYPES.includes(type)) normalizeResource(type, entry, `[${i}]`);
      else validateDocument(type, entryOf(doc, i, entry));
    });
  });
}

function loadError(fixture: Fixture): ConfigError {
  try {
    load(fixture);
  } catch (e) {
    if (e instanceof ConfigError) return e;
    throw e;
  }
  throw new Error(`${fixture.file} loaded, but Envoy refuses it`);
}

describe('course configs (shared/reference)', () => {
  const valid = manifest.fixtures.filter((f) => f.expect === 'valid');
  const invalid = manifest.fixtures.filter((f) => f.expect === 'invalid');

  it('covers every file in the fixture directory', () => {
    const files = readdirSync(fixturesDir).filter((f) => f !== 'manifest.json');
    expect(files.sort()).toEqual(manifest.fixtures.map((f) => f.file).sort());
  });

  it.each(valid.map((f) => [f.file, f] as const))('%s loads unchanged', (_, fixture) => {
    expect(() => load(fixture)).not.toThrow();
  });

  it.each(invalid.map((f) => [f.file, f] as const))('%s is refused with a helpful message', (_, fixture) => {
    const error = loadError(fixture);
    expect(error.message).toContain(fixture.error);
    expect(error.message).toContain(fixture.file);
    if (fixture.line !== undefined)
      expect([error.line, error.column]).toEqual([fixture.line, fixture.column ?? error.column]);
    else expect(error.line).toBeGreaterThan(0);
  });

  it.each(invalid.filter((f) => f.protoValid).map((f) => [f.file, f] as const))(
    '%s fails only a cross-reference check: every message in it is valid',
    (_, fixture) => {
      for (const doc of documentsOf(fixture)) {
        expect(() => normalizeMessage(fixture.type as string, doc.value)).not.toThrow();
      }
    },
  );
});

// The notes live outside the repository; where they are available, check the copies are verbatim.
describe.skipIf(!existsSync(referenceDir))('fixtures are verbatim copies of the notes', () => {
  const fence = /^(\s*)```(\w*)\s*$/;

  function blockAt(mdFile: string, fenceLine: number): string {
    const lines = readFileSync(join(referenceDir, mdFile), 'utf8').split('\n');
    const indent = fence.exec(lines[fenceLine - 1] ?? '')?.[1]?.length ?? 0;
    const body: string[] = [];
    for (let i = fenceLine; !/^\s*```\s*$/.test(lines[i] ?? '```'); i++)
      body.push((lines[i] ?? '').slice(indent));
    return `${body.join('\n')}\n`;
  }

  it.each(manifest.fixtures.map((f) => [f.file, f] as const))('%s', (_, fixture) => {
    const [mdFile, line] = fixture.source.split(':') as [string, string];
    expect(readFileSync(join(fixturesDir, fixture.file), 'utf8')).toBe(blockAt(mdFile, Number(line)));
  });

  it('every Envoy config block of the notes is a fixture or excluded with a reason', () => {
    const known = new Set([...manifest.fixtures, ...manifest.excluded].map((f) => f.source));
    const envoyKeys =
      /static_resources|dynamic_resources|clusters:|listeners:|admin:|resources:|"cluster"|socket_address|health_checks|circuit_breakers|route_config|common_lb_config|layered_runtime/;
    const uncovered: string[] = [];
    for (const mdFile of readdirSync(referenceDir).filter((f) => f.endsWith('.md'))) {
      const lines = readFileSync(join(referenceDir, mdFile), 'utf8').split('\n');
      for (let i = 0; i < lines.length; i++) {
        const open = fence.exec(lines[i] ?? '');
        if (!open) continue;
        let end = i + 1;
        while (end < lines.length && !/^\s*```\s*$/.test(lines[end] ?? '')) end++;
        const body = lines.slice(i + 1, end).join('\n');
        const compose = /^\s*services:/m.test(body);
        if (['yaml', 'json'].includes(open[2] ?? '') && envoyKeys.test(body) && !compose) {
          if (!known.has(`${mdFile}:${i + 1}`)) uncovered.push(`${mdFile}:${i + 1}`);
        }
        i = end;
      }
    }
    expect(uncovered).toEqual([]);
  });
});
