/**
 * Bad input never throws: arbitrary text, arbitrary values, mutated library labs and mutated lab
 * directories all come back as issues. And whatever passes validation renders.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { exportLab, importProject, type Lab, parseLab, parseLabObject, stringifyLab } from '../src/index.js';
import { loadLibrary } from '../src/node.js';
import { LIBRARY_DIR, renderDocker } from './helpers.js';

const labs = loadLibrary(LIBRARY_DIR).map((e) => e.lab as Lab);
const RUNS = Number(process.env.FUZZ_RUNS ?? 150);

/** Every path into a JSON value, containers included. */
function paths(
  v: unknown,
  prefix: (string | number)[] = [],
  out: (string | number)[][] = [],
): (string | number)[][] {
  out.push(prefix);
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) paths(v[i], [...prefix, i], out);
  } else if (v && typeof v === 'object')
    for (const [k, x] of Object.entries(v)) paths(x, [...prefix, k], out);
  return out;
}

type Mutation = { at: number; op: 'set' | 'delete' | 'duplicate'; value: unknown };

function mutate(lab: Lab, mutations: Mutation[]): unknown {
  const doc = structuredClone(lab) as unknown as Record<string, unknown>;
  for (const m of mutations) {
    const all = paths(doc).filter((p) => p.length > 0);
    const path = all[m.at % all.length]!;
    const parent = path
      .slice(0, -1)
      .reduce<Record<string | number, unknown>>(
        (o, k) => o[k] as Record<string | number, unknown>,
        doc,
      ) as Record<string | number, unknown> & unknown[];
    const key = path[path.length - 1]!;
    if (m.op === 'delete') {
      if (Array.isArray(parent)) parent.splice(key as number, 1);
      else delete parent[key];
    } else if (m.op === 'duplicate' && Array.isArray(parent))
      parent.push(structuredClone(parent[key as number]));
    else parent[key] = m.value;
  }
  return doc;
}

const mutation = fc.record({
  at: fc.nat(),
  op: fc.constantFrom('set', 'delete', 'duplicate') as fc.Arbitrary<Mutation['op']>,
  value: fc.oneof(
    fc.jsonValue(),
    fc.constantFrom('', '0.0.0.0', '127.0.0.1', '*', 80, 9901, -1, 1e9, null, 'STRICT_DNS', 'x'.repeat(300)),
  ),
});

/** Checks the one promise bad input gets: issues come back, nothing is thrown, and a valid result renders. */
function survives(value: unknown): void {
  const r = parseLabObject(value);
  expect(Array.isArray(r.issues)).toBe(true);
  if (r.lab) renderDocker(r.lab);
  else expect(r.issues.some((i) => i.severity === 'error')).toBe(true);
}

describe('fuzzing the parser', { timeout: 600_000 }, () => {
  it('arbitrary text is refused with issues, never an exception', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string(),
          fc.string({ unit: 'binary' }),
          fc.string({
            unit: fc.constantFrom(
              '[',
              ']',
              '{',
              '}',
              ':',
              '-',
              ' ',
              '\n',
              '&a',
              '*a',
              '!!',
              '"',
              "'",
              '#',
              '|',
              'a',
            ),
          }),
        ),
        (text) => {
          const r = parseLab(text);
          expect(r.lab).toBeUndefined();
          expect(r.issues.length).toBeGreaterThan(0);
        },
      ),
      { numRuns: RUNS },
    );
  });

  it('arbitrary values are refused with issues, never an exception', () => {
    fc.assert(
      fc.property(fc.anything(), (v) => survives(v)),
      { numRuns: RUNS },
    );
  });

  it('mutated library labs come back as issues, or as labs that render', () => {
    fc.assert(
      fc.property(fc.constantFrom(...labs), fc.array(mutation, { minLength: 1, maxLength: 4 }), (lab, ms) =>
        survives(mutate(lab, ms)),
      ),
      { numRuns: RUNS * 3 },
    );
  });

  it('mutated lab text comes back as issues, or as a lab that renders', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...labs),
        fc.nat(),
        fc.nat({ max: 40 }),
        fc.string({ maxLength: 8 }),
        (lab, at, cut, insert) => {
          const text = stringifyLab(lab);
          const i = at % text.length;
          const r = parseLab(text.slice(0, i) + insert + text.slice(i + cut));
          if (r.lab) renderDocker(r.lab);
          else expect(r.issues.some((x) => x.severity === 'error')).toBe(true);
        },
      ),
      { numRuns: RUNS * 3 },
    );
  });

  it('mutated exported projects import to issues, or to labs that render, and never crash the importer', () => {
    const projects = labs.map((lab) => exportLab(lab, { includeLab: false }).files);
    fc.assert(
      fc.property(
        fc.constantFrom(...projects),
        fc.nat(),
        fc.nat(),
        fc.nat({ max: 60 }),
        fc.string({ maxLength: 12 }),
        (files, which, at, cut, insert) => {
          const names = Object.keys(files).filter((f) => f.endsWith('.yaml'));
          const name = names[which % names.length]!;
          const text = files[name]!;
          const i = at % text.length;
          const r = importProject(
            { ...files, [name]: text.slice(0, i) + insert + text.slice(i + cut) },
            { name: 'fuzz' },
          );
          expect(r.issues.find((x) => /could not be imported/.test(x.message))).toBeUndefined();
          if (r.lab) renderDocker(r.lab);
        },
      ),
      { numRuns: RUNS * 2 },
    );
  });
});
