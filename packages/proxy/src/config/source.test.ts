import { describe, expect, it } from 'vitest';
import { ConfigError } from './errors.js';
import { formatOf, parseConfig, parseConfigDocuments } from './source.js';

const yaml = (text: string) => parseConfig(text, 'envoy.yaml', 'yaml');

function errorOf(run: () => unknown): ConfigError {
  try {
    run();
  } catch (e) {
    if (e instanceof ConfigError) return e;
    throw e;
  }
  throw new Error('expected a ConfigError');
}

describe('YAML scalars, as Envoy converts them', () => {
  it('keeps floats and durations as the text written (Envoy converts by field type later)', () => {
    expect(yaml('a: 0.25s\nb: 1.0\nc: 1e3').value).toEqual({ a: '0.25s', b: '1.0', c: '1e3' });
  });

  it('reads yes/no/on/off/y/n in lower, Capitalized and UPPER case as booleans', () => {
    expect(yaml('a: yes\nb: Off\nc: Y\nd: TRUE\ne: nO').value).toEqual({
      a: true,
      b: false,
      c: true,
      d: true,
      e: 'nO',
    });
  });

  it('makes int32-sized integers numbers and larger ones decimal strings', () => {
    expect(yaml('a: 80\nb: -3\nc: 0x1F\nd: 4294967296').value).toEqual({
      a: 80,
      b: -3,
      c: 31,
      d: '4294967296',
    });
  });

  it('keeps quoted and block scalars as strings', () => {
    expect(yaml('a: "3"\nb: \'true\'\nc: |\n  x\n').value).toEqual({ a: '3', b: 'true', c: 'x\n' });
  });

  it('reads ~, null and nothing as null, and keys as written', () => {
    expect(yaml('a: ~\nb:\n1: x\non: z').value).toEqual({ a: null, b: null, 1: 'x', on: 'z' });
  });

  it('resolves anchors and aliases', () => {
    expect(yaml('a: &t {x: 1}\nb: *t').value).toEqual({ a: { x: 1 }, b: { x: 1 } });
  });
});

describe('positions', () => {
  const doc = yaml('static_resources:\n  clusters:\n  - name: a\n    conect_timeout: 1s\n    empty:\n');

  it('finds the value, or the key, of a path (1-based)', () => {
    const path = ['static_resources', 'clusters', 0, 'conect_timeout'];
    expect(doc.locate(path, 'key')).toEqual({ line: 4, column: 5 });
    expect(doc.locate(path, 'value')).toEqual({ line: 4, column: 21 });
  });

  it('points at the key of an empty value', () => {
    expect(doc.locate(['static_resources', 'clusters', 0, 'empty'], 'value')).toEqual({ line: 5, column: 5 });
  });

  it('points at the nearest existing node for a missing key', () => {
    expect(doc.locate(['static_resources', 'clusters', 0, 'missing'], 'key')).toEqual({ line: 3, column: 5 });
  });

  it('locates nodes in JSON too', () => {
    const json = parseConfig('{\n  "admin": {\n    "address": 5\n  }\n}', 'envoy.json', 'json');
    expect(json.value).toEqual({ admin: { address: 5 } });
    expect(json.locate(['admin', 'address'], 'value')).toEqual({ line: 3, column: 16 });
  });
});

describe('syntax errors', () => {
  it('reports malformed YAML with its line and column', () => {
    const error = errorOf(() => yaml('a:\n  b: 1\n c: 2\n'));
    expect(error.message).toMatch(/^envoy\.yaml:3:2: malformed YAML: /);
    expect([error.line, error.column]).toEqual([3, 2]);
  });

  it('refuses duplicate keys', () => {
    expect(errorOf(() => yaml('a: 1\na: 2\n')).message).toMatch(
      /^envoy\.yaml:2:1: malformed YAML: Map keys must be unique/,
    );
  });

  it('reports malformed JSON with its line and column', () => {
    const error = errorOf(() => parseConfig('{\n  "a": 1,\n  }\n', 'envoy.json', 'json'));
    expect(error.message).toMatch(/^envoy\.json:3:3: malformed JSON: /);
  });

  it('refuses several YAML documents in one config', () => {
    expect(errorOf(() => yaml('a: 1\n---\nb: 2\n')).message).toContain('holds 2 documents');
  });

  it('splits a stream into its documents, "..." included, on request', () => {
    expect(
      parseConfigDocuments('node: {id: x}\n...\n  clusters: []\n', 'x.yaml').map((d) => d.value),
    ).toEqual([{ node: { id: 'x' } }, { clusters: [] }]);
  });
});

describe('format by file name, as Envoy picks it', () => {
  it.each([
    ['envoy.yaml', 'yaml'],
    ['envoy.YML', 'yaml'],
    ['envoy.json', 'json'],
    ['eds.conf', 'json'],
  ])('%s is %s', (path, format) => {
    expect(formatOf(path)).toBe(format);
  });
});
