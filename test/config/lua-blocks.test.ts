import { describe, expect, test } from 'vitest';
import { luaLex, LuaTok, NGX_CONF_BUFFER } from '../../src/config/lexer.js';
import { luaChunkName, luaChunkTag, directiveChunkName } from '../../src/config/chunkname.js';
import { errorOf, messageOf, raw } from './helpers.js';

function lua(body: string): string {
  const t = raw(`content_by_lua_block {${body}}\nnext;`);
  expect(t[0].luaBlock).toBe(true);
  expect(t[1].name).toBe('next');
  return t[0].args[0];
}

describe('Lua block bodies are lexed as Lua', () => {
  const cases: [string, string][] = [
    ['braces in double quotes', ` ngx.say("}{}") `],
    ['braces in single quotes', ` ngx.say('}') `],
    ['escaped quotes', String.raw` ngx.say("\"}") ngx.say('\'}') `],
    ['long strings', ' ngx.say([[}]]) ngx.say([==[ ]] } ]=] ]==]) '],
    ['line comments', '\n -- } it\'s "unbalanced\n ngx.say(1)\n'],
    ['long comments', '\n --[[ } \n } ]] --[=[ ]] } ]=] x = 1\n'],
    ['nested tables', '\n local t = { a = { 1, 2 }, b = {} }\n'],
    ['compact one-liner', 'ngx.say("hello, world", {"!"})'],
    ['stray closing bracket', ' ]=] '],
    ['a quote inside a long string', ' print([[Hey, it is "!]]) '],
    ['a "[" without long bracket', ' local a = t[1] .. s[ [[x]] ] '],
  ];
  for (const [name, body] of cases) {
    test(name, () => expect(lua(body)).toBe(body));
  }

  test('the body is the verbatim text between the braces', () => {
    const t = raw('content_by_lua_block {\n    ngx.say("hello")\n}');
    expect(t[0].args).toEqual(['\n    ngx.say("hello")\n']);
  });

  test('set_by_lua_block keeps its variable argument first', () => {
    const [d] = raw('set_by_lua_block $res { return 1+1 }');
    expect(d.args).toEqual(['$res', ' return 1+1 ']);
  });

  test('only *_by_lua_block directives get the Lua lexer', () => {
    const [d] = raw('my_block { a "}"; }');
    expect(d.block).toEqual([{ name: 'a', args: ['}'], file: 'nginx.conf', line: 1 }]);
  });

  test('quirk: a string is not a string across a newline', () => {
    // lua-nginx-module's lexer stops a quoted string at LF, so this '}' closes the block
    const t = raw('log_by_lua_block { a = "x\n}\nnext;');
    expect(t[0].args[0]).toBe(' a = "x\n');
    expect(t[1]).toMatchObject({ name: 'next', line: 3 });
  });
});

describe('Lua block lines', () => {
  test('line is the line of "{", endLine that of the closing "}"', () => {
    const t = raw('\n\ninit_by_lua_block {\n  a()\n  b()\n}\nx;');
    expect(t[0]).toMatchObject({ line: 3, endLine: 6 });
    expect(t[1].line).toBe(7);
  });

  test('opening brace on its own line', () => {
    const t = raw('content_by_lua_block\n\n{ x }');
    expect(t[0].line).toBe(3);
  });

  test('lines inside long strings and comments are counted', () => {
    const t = raw('content_by_lua_block {\n[[\n\n]] --[==[\n]==]\n}\ny;');
    expect(t[0].endLine).toBe(6);
    expect(t[1].line).toBe(7);
  });
});

describe('Lua block errors', () => {
  test('missing closing long bracket (comment)', () => {
    const e = errorOf(() => raw('location = /t {\n  content_by_lua_block {\n    ngx.say(--[[hello, world")\n  }\n}\n'));
    expect(e.message).toBe(
      'Lua code block missing the closing long bracket "]]", the inlined Lua code may be too long in nginx.conf:3',
    );
    expect(e.code).toBe('lua_block');
  });

  test('missing closing long bracket (string with level)', () => {
    expect(messageOf(() => raw('a_by_lua_block {\n\n x = [==[ ]] ]=]\n}\n'))).toBe(
      'Lua code block missing the closing long bracket "]==]", the inlined Lua code may be too long in nginx.conf:3',
    );
  });

  test('the closing long bracket must be within the read buffer', () => {
    const filler = 'x'.repeat(NGX_CONF_BUFFER);
    expect(messageOf(() => raw(`a_by_lua_block { s = [[${filler}]] }`))).toMatch(
      /^Lua code block missing the closing long bracket "\]\]", the inlined Lua code may be too long in nginx.conf:1$/,
    );
    // a shorter long string is fine
    expect(lua(` s = [[${'y'.repeat(1500)}]] `)).toContain('yyy');
  });

  test('unexpected end of file reports the line of the last "{"', () => {
    expect(messageOf(() => raw('x;\ncontent_by_lua_block {\n  local t = {\n  a = 1\n'))).toBe(
      'unexpected end of file, expecting terminating characters for lua code block in nginx.conf:3',
    );
  });

  test('a ";" after the block is a syntax error', () => {
    expect(messageOf(() => raw('content_by_lua_block { x };'))).toBe('unexpected ";" in nginx.conf:1');
  });
});

describe('luaLex', () => {
  test('leftmost match, first alternative wins', () => {
    const s = 'ab --[[c]] "x"';
    expect(luaLex(s, 0, s.length)).toEqual([3, 7, LuaTok.LongComment]);
    const c = 'q --[=x\n}';
    expect(luaLex(c, 0, c.length)).toEqual([2, 7, LuaTok.CommentLine]);
  });

  test('a string open at the window end does not match', () => {
    const s = 'a "b } c';
    expect(luaLex(s, 0, s.length)).toEqual([5, 6, LuaTok.RightCurly]);
    expect(luaLex('x = y', 0, 5)).toBeNull();
  });
});

describe('chunk names', () => {
  test('tag', () => {
    expect(luaChunkTag('content_by_lua_block')).toBe('content_by_lua');
    expect(luaChunkTag('set_by_lua')).toBe('set_by_lua');
  });

  test('nginx.conf, files under the conf prefix, others', () => {
    expect(luaChunkName('content_by_lua', '/p/conf/nginx.conf', 42, '/p/conf/')).toBe('=content_by_lua(nginx.conf:42)');
    expect(luaChunkName('access_by_lua', '/p/conf/sub/a.conf', 7, '/p/conf/')).toBe('=access_by_lua(sub/a.conf:7)');
    expect(luaChunkName('log_by_lua', '/etc/x.conf', 3, '/p/conf/')).toBe('=log_by_lua(/etc/x.conf:3)');
    const long = '/very/long/directory/name/that/goes/on/and/on/lua.conf';
    expect(luaChunkName('content_by_lua', long, 12, '/p/')).toBe(
      '=content_by_lua(...' + long.slice(long.length - 56 + 'content_by_lua'.length + 2 + 3) + ':12)',
    );
  });

  test('from a directive', () => {
    const [d] = raw('\nheader_filter_by_lua_block { x }');
    expect(directiveChunkName({ ...d, file: '/p/conf/nginx.conf' }, '/p/conf/')).toBe('=header_filter_by_lua(nginx.conf:2)');
  });
});
