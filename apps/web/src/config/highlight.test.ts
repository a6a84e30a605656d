import { describe, expect, it } from 'vitest';
import { highlightLine, highlightYaml } from './highlight.js';

const kinds = (line: string) => highlightLine(line).map((t) => `${t.kind}:${t.text}`);

describe('highlightYaml', () => {
  it('splits keys, punctuation and typed scalars', () => {
    expect(kinds('  port_value: 80')).toEqual([
      'plain:  ',
      'key:port_value',
      'punct::',
      'plain: ',
      'number:80',
    ]);
    expect(kinds('- name: listener_0')).toEqual([
      'punct:- ',
      'key:name',
      'punct::',
      'plain: ',
      'string:listener_0',
    ]);
    expect(kinds('    prefix: "/"')).toEqual([
      'plain:    ',
      'key:prefix',
      'punct::',
      'plain: ',
      'string:"/"',
    ]);
    expect(kinds('  enabled: true # on')).toEqual([
      'plain:  ',
      'key:enabled',
      'punct::',
      'plain: ',
      'literal:true',
      'plain: ',
      'comment:# on',
    ]);
  });

  it('keeps every character of the text, in order', () => {
    const text =
      'static_resources:\n  listeners:\n    - name: l0\n      address: { socket_address: { port_value: 80 } }\n# end\n';
    expect(
      highlightYaml(text)
        .map((line) => line.map((t) => t.text).join(''))
        .join('\n'),
    ).toBe(text.trimEnd());
  });

  it('reads a list item without a key as a scalar', () => {
    expect(kinds('  - "*"')).toEqual(['plain:  ', 'punct:- ', 'string:"*"']);
    expect(kinds('  - 8080')).toEqual(['plain:  ', 'punct:- ', 'number:8080']);
  });
});
