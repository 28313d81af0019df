import { describe, expect, test } from 'vitest';
import { ConfSource, readToken, unescapeWord, NGX_CONF_BUFFER } from '../../src/config/lexer.js';
import { errorOf, messageOf, raw } from './helpers.js';

function tokens(text: string): { rc: string; words: string[] }[] {
  const src = new ConfSource(text, 'f.conf');
  const out: { rc: string; words: string[] }[] = [];
  for (;;) {
    const t = readToken(src);
    out.push(t);
    if (t.rc === 'file_done') return out;
  }
}

describe('tokens', () => {
  test('words, terminators, blocks', () => {
    expect(tokens('a b\tc\r\n d;\nblk x {\n}\n')).toEqual([
      { rc: 'ok', words: ['a', 'b', 'c', 'd'] },
      { rc: 'block_start', words: ['blk', 'x'] },
      { rc: 'block_done', words: [] },
      { rc: 'file_done', words: [] },
    ]);
  });

  test('terminators glued to words', () => {
    expect(tokens('a b;c{}')).toEqual([
      { rc: 'ok', words: ['a', 'b'] },
      { rc: 'block_start', words: ['c'] },
      { rc: 'block_done', words: [] },
      { rc: 'file_done', words: [] },
    ]);
  });

  test('# starts a comment only where a word may start', () => {
    const t = raw('# top\na b#c; # trailing ; {\n  #x;\nd "#e";');
    expect(t.map((d) => [d.name, ...d.args])).toEqual([
      ['a', 'b#c'],
      ['d', '#e'],
    ]);
  });

  test('quoted words, empty quotes', () => {
    const [d] = raw(`set $a "x y" 'z;{}' "" '';`);
    expect(d.args).toEqual(['$a', 'x y', 'z;{}', '', '']);
  });

  test('quotes span lines', () => {
    const [d] = raw(`content_by_lua '\n  ngx.say("hi")\n';`);
    expect(d.args).toEqual(['\n  ngx.say("hi")\n']);
    expect(d.line).toBe(3);
  });

  test('a quoted word may be followed by ";", "{", ")" or space only', () => {
    expect(messageOf(() => raw(`a "b"c;`))).toBe('unexpected "c" in nginx.conf:1');
    expect(messageOf(() => raw(`a\n'b'\n'c'd;`))).toBe('unexpected "d" in nginx.conf:3');
    const [d] = raw('if ($a = "b") { }');
    expect(d.args).toEqual(['($a', '=', 'b', ')']);
  });

  test('a quote inside a word is an ordinary char', () => {
    const [d] = raw(`a b"c d'e;`);
    expect(d.args).toEqual([`b"c`, `d'e`]);
  });
});

describe('escapes', () => {
  test('nginx unescapes \\" \\\' \\\\ \\t \\r \\n and keeps other backslashes', () => {
    const [d] = raw(String.raw`echo "a\"b" 'c\'d' "e\\f" "\t\r\n" "\d\$x" x\y;`);
    expect(d.args).toEqual(['a"b', "c'd", 'e\\f', '\t\r\n', '\\d\\$x', 'x\\y']);
  });

  test('unquoted words: a backslash protects the next char (kept unless special)', () => {
    const [d] = raw(String.raw`a b\;c d\ e f\{g h\"i;`);
    expect(d.args).toEqual(['b\\;c', 'd\\ e', 'f\\{g', 'h"i']);
  });

  test('escaped quote does not close', () => {
    const [d] = raw(String.raw`a "x\"y\\" 'p\'q';`);
    expect(d.args).toEqual(['x"y\\', "p'q"]);
  });

  test('unescapeWord', () => {
    const s = String.raw`\\n\n\q`;
    expect(unescapeWord(s, 0, s.length)).toBe('\\n\n\\q');
  });
});

describe('variables', () => {
  test('$var and ${var} are kept verbatim', () => {
    const [d] = raw('return 200 "$a ${b}c"; ');
    expect(d.args).toEqual(['200', '$a ${b}c']);
    const [e] = raw('set $x a${b}c$d;');
    expect(e.args).toEqual(['$x', 'a${b}c$d']);
  });

  test('quirk: a word starting with "${" splits at "{" (nginx does the same)', () => {
    const t = raw('a ${b} c;\n}', { hooks: {} });
    expect(t[0]).toMatchObject({ name: 'a', args: ['$'], block: [{ name: 'b}', args: ['c'] }] });
  });
});

describe('structure errors', () => {
  test('unexpected "}"', () => {
    expect(messageOf(() => raw('a;\n}'))).toBe('unexpected "}" in nginx.conf:2');
    expect(messageOf(() => raw('a b }'))).toBe('unexpected "}" in nginx.conf:1');
  });

  test('unexpected ";" and "{" with no directive name', () => {
    expect(messageOf(() => raw('a;\n ;'))).toBe('unexpected ";" in nginx.conf:2');
    expect(messageOf(() => raw('{ a; }'))).toBe('unexpected "{" in nginx.conf:1');
  });

  test('unexpected end of file', () => {
    expect(messageOf(() => raw('a b'))).toBe('unexpected end of file, expecting ";" or "}" in nginx.conf:1');
    expect(messageOf(() => raw('a {\n b;\n'))).toBe('unexpected end of file, expecting "}" in nginx.conf:3');
  });

  test('unbalanced quotes run to the end of the file', () => {
    const e = errorOf(() => raw('a "b;\nc;\n'));
    expect(e.message).toBe('unexpected end of file, expecting ";" or "}" in nginx.conf:3');
    expect(e.code).toBe('syntax');
  });

  test('too long parameter', () => {
    const long = 'x'.repeat(NGX_CONF_BUFFER + 10);
    expect(messageOf(() => raw(`a ${long};`))).toBe('too long parameter "xxxxxxxxxx..." started in nginx.conf:1');
    expect(messageOf(() => raw(`a\n"${long}";`))).toBe(
      'too long parameter, probably missing terminating """ character in nginx.conf:2',
    );
    // exactly fitting the buffer is fine
    expect(raw(`a ${'y'.repeat(4000)};`)[0].args[0].length).toBe(4000);
  });
});

describe('line numbers', () => {
  test('a directive is attributed to the line of its ";" or "{"', () => {
    const t = raw('a\n b\n c;\nd\n{\n e;\n\n}\n');
    expect(t[0].line).toBe(3);
    expect(t[1]).toMatchObject({ name: 'd', line: 5, endLine: 8 });
    expect(t[1].block![0].line).toBe(6);
  });

  test('escaped newlines still count', () => {
    const t = raw('a b\\\nc;\nd;');
    expect(t[0].args).toEqual(['b\\\nc']);
    expect(t[1].line).toBe(3);
  });
});
