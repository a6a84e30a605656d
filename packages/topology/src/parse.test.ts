import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { MAX_LAB_BYTES, parseLab, parseLabObject, stringifyLab } from './parse.js';
import { API_VERSION, type Lab } from './schema.js';

const HC = readFileSync(new URL('../../../labs/health-check-with-http.lab.yaml', import.meta.url), 'utf8');

function errors(text: string) {
  const r = parseLab(text);
  expect(r.lab).toBeUndefined();
  return r.issues.filter((i) => i.severity === 'error');
}

describe('parseLab', () => {
  it('reads a library lab', () => {
    const r = parseLab(HC);
    expect(r.issues).toEqual([]);
    expect(r.lab?.metadata.name).toBe('health-check-with-http');
  });

  it('reports malformed YAML with its line and column', () => {
    const [e] = errors('apiVersion: meshcraft.io/v1alpha1\nkind: Lab\nmetadata: {name: x\n  title: y\n');
    expect(e!.message).toMatch(/^not valid YAML: /);
    expect(e!.line).toBeGreaterThanOrEqual(3);
    expect(e!.column).toBeGreaterThan(0);
  });

  it('rejects duplicate keys, which YAML allows silently otherwise', () => {
    expect(errors(`apiVersion: ${API_VERSION}\nkind: Lab\nkind: Lab\n`)[0]!.message).toMatch(
      /not valid YAML/,
    );
  });

  it('names the kind when the file is not a lab', () => {
    const [e] = errors(`apiVersion: ${API_VERSION}\nkind: Deployment\n`);
    expect(e).toMatchObject({ at: 'kind', line: 2 });
    expect(e!.message).toMatch(/kind 'Deployment' is not a lab/);
  });

  it('refuses a newer apiVersion and says to upgrade', () => {
    const [e] = errors(HC.replace(API_VERSION, 'meshcraft.io/v2'));
    expect(e!.message).toMatch(/written for meshcraft.io\/v2, newer than this meshcraft .*upgrade meshcraft/);
    expect(errors(HC.replace(API_VERSION, 'meshcraft.io/v1beta1'))[0]!.message).toMatch(/newer/);
    expect(errors(HC.replace(API_VERSION, 'example.com/v1'))[0]!.message).toMatch(
      /not a meshcraft lab version/,
    );
    expect(errors(HC.replace(`apiVersion: ${API_VERSION}\n`, ''))[0]!.message).toMatch(
      /'apiVersion' is missing/,
    );
  });

  it('says which field is wrong, where, and what it should be', () => {
    const bad = HC.replace('      port: 9901\n', '      port: 99999\n').replace(
      'discovery: STRICT_DNS',
      'discovery: MAGIC',
    );
    const es = errors(bad);
    const port = es.find((e) => e.at.endsWith('admin.port'))!;
    expect(port.message).toBe("'port' must be a port number from 1 to 65535");
    expect(port.nodeId).toBe('envoy');
    expect(port.line).toBe(bad.split('\n').findIndex((l) => l.includes('99999')) + 1);
    const discovery = es.find((e) => e.at.endsWith('discovery'))!;
    expect(discovery.message).toMatch(
      /'discovery' must be one of 'STATIC', 'STRICT_DNS', 'LOGICAL_DNS', 'EDS', not 'MAGIC'/,
    );
  });

  it('names unknown fields so a typo is found', () => {
    const [e] = errors(
      HC.replace('      discovery: STRICT_DNS', '      discovery: STRICT_DNS\n      lbPolicyy: RANDOM'),
    );
    expect(e!.message).toMatch(/unknown field 'lbPolicyy'/);
    expect(e!.nodeId).toBe('web_cluster_01');
  });

  it('refuses 10 MB of junk quickly, with a message', () => {
    const junk = 'x'.repeat(10 * 1024 * 1024);
    const start = performance.now();
    const [e] = errors(junk);
    expect(performance.now() - start).toBeLessThan(200);
    expect(e!.message).toMatch(/10\.0 MB, larger than any lab/);
    expect(MAX_LAB_BYTES).toBeLessThan(junk.length);
  });

  it('refuses binary data, empty files, alias bombs and absurd nesting', () => {
    expect(errors('\u0000\u0001binary')[0]!.message).toMatch(/binary data/);
    expect(errors('  \n')[0]!.message).toMatch(/empty/);
    const bomb = ['a: &a [x, x, x, x, x, x, x, x, x]'];
    for (let i = 0; i < 8; i++)
      bomb.push(
        `${String.fromCharCode(98 + i)}: &${String.fromCharCode(98 + i)} [${Array(9)
          .fill(`*${String.fromCharCode(97 + i)}`)
          .join(', ')}]`,
      );
    expect(errors(bomb.join('\n'))[0]!.message).toMatch(/could not read the file as YAML|not valid YAML/);
    expect(errors(`${'['.repeat(5000)}${']'.repeat(5000)}`)[0]!.message).toMatch(
      /nests deeper|not valid YAML|could not read/,
    );
  });

  it('refuses a document that contains itself through an alias, where no cycle is allowed', () => {
    const text = HC.replace('spec:\n', 'spec: &spec\n').replace('  edges:\n', '  edges:\n    - *spec\n');
    expect(errors(text)[0]!.message).toMatch(/contains itself/);
    const raw = HC.replace(
      '      admin:\n        port: 9901\n',
      '      raw: { mode: merge, bootstrap: &b { loop: [*b] } }\n      admin:\n        port: 9901\n',
    );
    expect(errors(raw)[0]!.message).toMatch(/contains itself/);
  });

  it('accepts JSON, which is YAML', () => {
    const lab = parseLab(HC).lab!;
    expect(parseLab(JSON.stringify(lab)).lab).toEqual(lab);
  });

  it('returns a lab only when there is no error', () => {
    const r = parseLabObject({
      ...parseLab(HC).lab!,
      spec: { nodes: [], edges: [{ kind: 'route', id: 'e', from: { node: 'x', route: 'r' }, to: 'y' }] },
    });
    expect(r.lab).toBeUndefined();
    expect(r.issues[0]!.message).toMatch(/'x' is not a node of this lab/);
  });
});

describe('stringifyLab', () => {
  it('writes keys in the schema order, so saves are stable and diff well', () => {
    const lab = parseLab(HC).lab!;
    const shuffled = JSON.parse(JSON.stringify(lab), (_k, v) =>
      v && typeof v === 'object' && !Array.isArray(v) ? Object.fromEntries(Object.entries(v).reverse()) : v,
    ) as Lab;
    expect(stringifyLab(shuffled)).toBe(stringifyLab(lab));
    expect(stringifyLab(lab).split('\n').slice(0, 2)).toEqual([`apiVersion: ${API_VERSION}`, 'kind: Lab']);
    expect(stringifyLab(lab)).toMatch(/- kind: frontProxy\n {6}id: envoy\n/);
  });

  it('round-trips: what it writes parses back to the same lab', () => {
    const lab = parseLab(HC).lab!;
    expect(parseLab(stringifyLab(lab)).lab).toEqual(lab);
    expect(parseLab(stringify(lab)).lab).toEqual(lab);
  });
});
