import { describe, expect, test } from 'vitest';
import { acceptedDirectives, validateConfig } from '../../src/config/validate.js';
import { DIRECTIVES, lookupDirective, markImplemented, specFor } from '../../src/config/directives.js';
import { errorOf, full, inServer, messageOf, raw } from './helpers.js';

const loc = (body: string): string => `location /t {\n${body}\n}`;

describe('generic directive checks (ngx_conf_handler)', () => {
  test('unknown directive', () => {
    const e = errorOf(() => inServer('listen 80;\nfoo bar;'));
    expect(e.message).toBe('unknown directive "foo" in nginx.conf:5');
    expect(e.code).toBe('unknown_directive');
  });

  test('not allowed here', () => {
    expect(messageOf(() => full('events {}\nhttp { listen 80; }'))).toBe(
      '"listen" directive is not allowed here in nginx.conf:2',
    );
    expect(messageOf(() => inServer('proxy_pass http://a;'))).toBe(
      '"proxy_pass" directive is not allowed here in nginx.conf:4',
    );
    expect(messageOf(() => full('events {}\nhttp { worker_processes 2; }'))).toBe(
      '"worker_processes" directive is not allowed here in nginx.conf:2',
    );
    expect(messageOf(() => full('events {}\nhttp {}\ncontent_by_lua_block { }'))).toBe(
      '"content_by_lua_block" directive is not allowed here in nginx.conf:3',
    );
    // if-in-server is not a location
    expect(messageOf(() => inServer('if ($a) {\n  echo x;\n}'))).toBe(
      '"echo" directive is not allowed here in nginx.conf:5',
    );
  });

  test('one name, several modules: the entry allowed here is used', () => {
    expect(() =>
      full('events {}\nhttp {\n upstream u { server 127.0.0.1:80; keepalive_timeout 5s; }\n keepalive_timeout 5 6;\n}'),
    ).not.toThrow();
    expect(messageOf(() => full('events {}\nhttp {\n upstream u { server a; keepalive_timeout 5 6; }\n}'))).toBe(
      'invalid number of arguments in "keepalive_timeout" directive in nginx.conf:3',
    );
  });

  test('not terminated by ";" / has no opening "{"', () => {
    expect(messageOf(() => inServer(loc('echo {\n}')))).toBe('directive "echo" is not terminated by ";" in nginx.conf:5');
    expect(messageOf(() => inServer('location /;'))).toBe('directive "location" has no opening "{" in nginx.conf:4');
    expect(messageOf(() => inServer(loc("content_by_lua_block 'ngx.say(1)';")))).toBe(
      'directive "content_by_lua_block" has no opening "{" in nginx.conf:5',
    );
  });

  test('invalid number of arguments', () => {
    const arity = (s: string, name: string, line = 5) =>
      expect(messageOf(() => inServer(loc(s)))).toBe(`invalid number of arguments in "${name}" directive in nginx.conf:${line}`);
    arity('root a b;', 'root');
    arity('lua_code_cache;', 'lua_code_cache');
    arity('lua_code_cache on off;', 'lua_code_cache');
    arity('internal 1;', 'internal');
    arity('echo_duplicate 1;', 'echo_duplicate');
    arity('content_by_lua_block x { }', 'content_by_lua_block');
    arity('rewrite a b c d;', 'rewrite');
    arity('more_set_headers;', 'more_set_headers');
    expect(messageOf(() => inServer('listen;'))).toBe('invalid number of arguments in "listen" directive in nginx.conf:4');
    // TAKEn never accepts more than 7 arguments (NGX_CONF_MAX_ARGS)
    expect(() => inServer(loc('echo 1 2 3 4 5 6 7 8 9;'))).not.toThrow();
  });

  test('errors come in file order, before later syntax errors', () => {
    expect(messageOf(() => full('events {}\nhttp {\n bogus;\n server { listen 1 }\n'))).toBe(
      'unknown directive "bogus" in nginx.conf:3',
    );
    // context is checked before the Lua body is lexed
    expect(messageOf(() => full('events {}\ncontent_by_lua_block { --[[ unterminated\n}'))).toBe(
      '"content_by_lua_block" directive is not allowed here in nginx.conf:2',
    );
  });
});

describe('slots: values and duplicates', () => {
  test('flags must be on or off', () => {
    const e = errorOf(() => inServer(loc('lua_code_cache maybe;')));
    expect(e.message).toBe('invalid value "maybe" in "lua_code_cache" directive, it must be "on" or "off" in nginx.conf:5');
    expect(() => inServer(loc('lua_code_cache OFF;'))).not.toThrow();
  });

  test('is duplicate', () => {
    expect(messageOf(() => inServer(loc('root /a;\nroot /b;')))).toBe('"root" directive is duplicate in nginx.conf:6');
    expect(messageOf(() => inServer(loc('alias /a;\nroot /b;')))).toBe(
      '"root" directive is duplicate, "alias" directive was specified earlier in nginx.conf:6',
    );
    expect(messageOf(() => inServer(loc('lua_code_cache on;\nlua_code_cache on;')))).toBe(
      '"lua_code_cache" directive is duplicate in nginx.conf:6',
    );
    expect(messageOf(() => inServer(loc('proxy_pass http://a;\nproxy_pass http://b;')))).toBe(
      '"proxy_pass" directive is duplicate in nginx.conf:6',
    );
    expect(messageOf(() => full('events {}\nevents {}'))).toBe('"events" directive is duplicate in nginx.conf:2');
    // per block: a location may override the server's value
    expect(() => inServer('root /a;\n' + loc('root /b;'))).not.toThrow();
    // repeatable directives
    expect(() => inServer(loc('echo a;\necho b;\nadd_header A b;\nadd_header A c;\nset $a 1;\nset $a 2;'))).not.toThrow();
  });

  test('the content_by_lua* family shares one slot', () => {
    expect(messageOf(() => inServer(loc("content_by_lua 'a()';\ncontent_by_lua_file x.lua;")))).toBe(
      '"content_by_lua_file" directive is duplicate in nginx.conf:6',
    );
  });

  test('Lua block handlers report errors raw, at the closing brace', () => {
    expect(messageOf(() => inServer(loc('content_by_lua_block { a() }\ncontent_by_lua_block {\n b()\n}')))).toBe(
      'is duplicate in nginx.conf:8',
    );
    const e = errorOf(() => inServer(loc('access_by_lua_block {}')));
    expect(e.message).toBe('invalid location config: no runnable Lua code in nginx.conf:5');
    expect(e.level).toBe('error');
    expect(() => inServer(loc('access_by_lua_block { }'))).not.toThrow();
  });

  test('number, size and time values', () => {
    expect(messageOf(() => full('events { worker_connections 1; }\nhttp { lua_max_pending_timers many; }'))).toBe(
      '"lua_max_pending_timers" directive invalid number in nginx.conf:2',
    );
    expect(messageOf(() => inServer(loc('client_body_buffer_size 1x;')))).toBe(
      '"client_body_buffer_size" directive invalid value in nginx.conf:5',
    );
    expect(messageOf(() => inServer(loc('lua_socket_read_timeout 1y;')))).toBe(
      '"lua_socket_read_timeout" directive invalid value in nginx.conf:5',
    );
    expect(messageOf(() => inServer(loc('proxy_buffers 0 4k;')))).toBe('"proxy_buffers" directive invalid value in nginx.conf:5');
    expect(() =>
      inServer(loc('client_max_body_size 1g;\nlua_socket_read_timeout "1h 30m 100ms";\nsend_timeout 60;\nproxy_buffers 8 4k;')),
    ).not.toThrow();
  });

  test('enum values are reported at [warn] level', () => {
    const e = errorOf(() => inServer(loc('server_tokens maybe;')));
    expect(e.message).toBe('invalid value "maybe" in nginx.conf:5');
    expect(e.level).toBe('warn');
    expect(() => inServer(loc('server_tokens BUILD;\nclient_body_in_file_only clean;'))).not.toThrow();
  });
});

describe('handler checks', () => {
  test('set needs a variable name', () => {
    expect(messageOf(() => inServer(loc('set a 1;')))).toBe('invalid variable name "a" in nginx.conf:5');
  });

  test('lua_shared_dict', () => {
    const http = (s: string) => () => full(`events {}\nhttp {\n${s}\n}`);
    expect(messageOf(http('lua_shared_dict dogs 4k;'))).toBe('invalid lua shared dict size "4k" in nginx.conf:3');
    expect(messageOf(http('lua_shared_dict "" 1m;'))).toBe('invalid lua shared dict name "" in nginx.conf:3');
    expect(messageOf(http('lua_shared_dict dogs 1m;\nlua_shared_dict dogs 1m;'))).toBe(
      'lua_shared_dict "dogs" is already defined as "dogs" in nginx.conf:4',
    );
    expect(messageOf(http('lua_shared_dict dogs 1m;\nlua_shared_dict dogs 2m;'))).toBe(
      'the size 2097152 of shared memory zone "dogs" conflicts with already declared size 1048576 in nginx.conf:4',
    );
  });

  test('locations', () => {
    expect(messageOf(() => inServer('location ~~ /a {}'))).toBe('invalid location modifier "~~" in nginx.conf:4');
    expect(messageOf(() => inServer('location /a {\n location /b {}\n}'))).toBe(
      'location "/b" is outside location "/a" in nginx.conf:5',
    );
    expect(messageOf(() => inServer('location = /a {\n location /a/b {}\n}'))).toBe(
      'location "/a/b" cannot be inside the exact location "/a" in nginx.conf:5',
    );
    expect(messageOf(() => inServer('location /a {\n location @n {}\n}'))).toBe(
      'named location "@n" can be on the server level only in nginx.conf:5',
    );
    expect(messageOf(() => inServer('location @n {\n alias /x;\n}'))).toBe(
      'the "alias" directive cannot be used inside the named location in nginx.conf:5',
    );
    expect(() => inServer('location /a {\n location /a/b {}\n location ~ ^/x {}\n}\nlocation = /a {}')).not.toThrow();
  });

  test('duplicate locations are found when the http block ends', () => {
    const e = errorOf(() => full('events {}\nhttp {\n server {\n  location /t {}\n  location ^~ /t {}\n }\n bogus;\n}'));
    // nginx reports the unknown directive first: locations are checked after the whole http block
    expect(e.message).toBe('unknown directive "bogus" in nginx.conf:7');
    expect(messageOf(() => full('events {}\nhttp {\n server {\n  location /t {}\n  location ^~ /t {}\n }\n}'))).toBe(
      'duplicate location "/t" in nginx.conf:5',
    );
  });

  test('upstreams', () => {
    expect(messageOf(() => full('events {}\nhttp {\n upstream u {\n  keepalive 2;\n }\n}'))).toBe(
      'no servers are inside upstream in nginx.conf:5',
    );
    expect(messageOf(() => full('events {}\nhttp {\n upstream u { server a; }\n upstream U { server b; }\n}'))).toBe(
      'duplicate upstream "U" in nginx.conf:4',
    );
    expect(messageOf(() => full('events {}\nhttp {\n upstream u { server a; keepalive 0; }\n}'))).toBe(
      'invalid value "0" in "keepalive" directive in nginx.conf:3',
    );
  });

  test('an events block is required', () => {
    const e = errorOf(() => full('http {}'));
    expect(e.message).toBe('no "events" section in configuration');
  });
});

describe('validateConfig on a raw tree', () => {
  test('same checks, same order', () => {
    const t = raw('events {}\nhttp { server { location /t { content_by_lua_block { a() } echo x; } } }');
    expect(() => validateConfig(t)).not.toThrow();
    const bad = raw('events {}\nhttp { server { location /t { content_by_lua_block x { a() } } } }');
    expect(errorOf(() => validateConfig(bad)).message).toBe(
      'invalid number of arguments in "content_by_lua_block" directive in nginx.conf:2',
    );
  });
});

describe('the table', () => {
  test('covers the Lua, echo, headers-more and set-misc directives', () => {
    for (const n of [
      'content_by_lua_block', 'rewrite_by_lua_no_postpone', 'lua_shared_dict', 'balancer_by_lua_block',
      'ssl_certificate_by_lua_file', 'exit_worker_by_lua_block', 'server_rewrite_by_lua_block',
      'echo_foreach_split', 'echo_end', 'more_clear_input_headers', 'set_quote_json_str', 'set_hmac_sha256',
      'set_encode_base64url', 'tsresty_lua_instruction_budget', 'tsresty_lua_allow_cosocket_everywhere',
    ]) {
      expect(lookupDirective(n), n).toBeDefined();
    }
    expect(DIRECTIVES.every((d) => d.status === 'accepted' || d.status === 'implemented')).toBe(true);
    expect(specFor('server', 'ups')?.module).toBe('http_upstream');
    expect(specFor('server', 'http')?.block).toBe(true);
  });

  test('acceptedDirectives and markImplemented', () => {
    const t = inServer(loc('echo hi;\nmore_clear_headers Date;'));
    const before = acceptedDirectives(t);
    expect([...before].sort()).toEqual(['echo', 'events', 'http', 'location', 'more_clear_headers', 'server']);
    markImplemented('more_clear_headers');
    expect(acceptedDirectives(t).has('more_clear_headers')).toBe(false);
    lookupDirective('more_clear_headers')!.forEach((s) => ((s as { status: string }).status = 'accepted'));
    expect(() => markImplemented('no_such_thing')).toThrow();
  });
});
