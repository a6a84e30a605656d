/**
 * A YAML highlighter for the configs meshcraft renders (block style, as `yaml.stringify` writes
 * them): keys, strings, numbers, booleans/null, comments and list dashes. Line by line, no
 * grammar: rendered configs never use flow collections spanning lines or multi-line scalars other
 * than `|` blocks, whose lines read as plain text.
 */
export type TokenKind = 'key' | 'string' | 'number' | 'literal' | 'comment' | 'punct' | 'plain';

export interface Token {
  kind: TokenKind;
  text: string;
}

const KEY = /^(\s*)(- )?((?:"[^"]*"|'[^']*'|[^\s#'"][^:#]*?)):(?=\s|$)/;
const NUMBER = /^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?$/;
const LITERAL = /^(?:true|false|null|~)$/;

function scalar(text: string): Token[] {
  if (text === '') return [];
  const lead = text.match(/^\s*/)![0];
  let body = text.slice(lead.length);
  let comment = '';
  const hash = body.indexOf('#', Math.max(0, body.search(/(^|\s)#/)));
  if (/(^|\s)#/.test(body) && !/^["']/.test(body)) {
    comment = body.slice(hash);
    body = body.slice(0, hash);
  }
  const out: Token[] = [];
  if (lead) out.push({ kind: 'plain', text: lead });
  const trimmed = body.trimEnd();
  const trail = body.slice(trimmed.length);
  if (trimmed) {
    const kind: TokenKind = /^["']/.test(trimmed)
      ? 'string'
      : NUMBER.test(trimmed)
        ? 'number'
        : LITERAL.test(trimmed)
          ? 'literal'
          : /^[|>][-+]?$/.test(trimmed) || /^[[{]/.test(trimmed)
            ? 'punct'
            : 'string';
    out.push({ kind, text: trimmed });
  }
  if (trail) out.push({ kind: 'plain', text: trail });
  if (comment) out.push({ kind: 'comment', text: comment });
  return out;
}

export function highlightLine(line: string): Token[] {
  if (/^\s*#/.test(line)) return [{ kind: 'comment', text: line }];
  const m = KEY.exec(line);
  if (m) {
    const out: Token[] = [];
    if (m[1]) out.push({ kind: 'plain', text: m[1] });
    if (m[2]) out.push({ kind: 'punct', text: m[2] });
    out.push({ kind: 'key', text: m[3]! }, { kind: 'punct', text: ':' });
    return [...out, ...scalar(line.slice(m[0].length))];
  }
  const dash = /^(\s*)(- ?)(.*)$/.exec(line);
  if (dash && (dash[2] === '- ' || dash[3] === '')) {
    const out: Token[] = [];
    if (dash[1]) out.push({ kind: 'plain', text: dash[1] });
    out.push({ kind: 'punct', text: dash[2]! });
    return [...out, ...scalar(dash[3]!)];
  }
  return scalar(line);
}

export function highlightYaml(text: string): Token[][] {
  return text.replace(/\n$/, '').split('\n').map(highlightLine);
}
