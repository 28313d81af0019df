import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { parseConfig, resolveConfPath } from '../../src/config/parser.js';
import { expandGlob } from '../../src/config/glob.js';
import { errorOf } from './helpers.js';

let prefix: string;
const w = (rel: string, text: string): void => {
  const p = path.join(prefix, rel);
  fs.mkdirSync(path.dirname(p), { recursive: true });
  fs.writeFileSync(p, text);
};
const names = (list: { name: string }[]): string[] => list.map((d) => d.name);

beforeAll(() => {
  prefix = fs.mkdtempSync(path.join(os.tmpdir(), 'tsresty-inc-'));
});
afterAll(() => fs.rmSync(prefix, { recursive: true, force: true }));

describe('include', () => {
  test('relative paths resolve against the main file directory, globs are sorted', () => {
    w('conf/nginx.conf', 'events {}\nhttp {\n  include conf.d/*.conf;\n  include ../html/extra.inc;\n}\n');
    w('conf/conf.d/b.conf', 'server { listen 2; include snippets/s.conf; }\n');
    w('conf/conf.d/a.conf', '\n\nserver { listen 1; }\n');
    w('conf/conf.d/.hidden.conf', 'bogus;\n');
    w('conf/conf.d/c.txt', 'bogus;\n');
    w('conf/snippets/s.conf', '# from a nested include: still relative to conf/\nlocation /s { return 204; }\n');
    w('html/extra.inc', 'lua_package_path "x";');
    const t = parseConfig('conf/nginx.conf', { prefix });
    const http = t[1].block!;
    expect(names(http)).toEqual(['server', 'server', 'lua_package_path']);
    expect(http[0]).toMatchObject({ file: `${prefix}/conf/conf.d/a.conf`, line: 3 });
    expect(http[0].block![0].args).toEqual(['1']);
    expect(http[1].block![1]).toMatchObject({
      name: 'location',
      file: `${prefix}/conf/snippets/s.conf`,
      line: 2,
    });
    // the include path is kept as nginx spells it (prefix + relative path)
    expect(http[2].file).toBe(`${prefix}/conf/../html/extra.inc`);
  });

  test('a glob matching nothing is fine; a missing plain file is not', () => {
    w('conf/g.conf', 'events {}\ninclude none/*.conf;\n\ninclude missing.conf;\n');
    const e = errorOf(() => parseConfig(`${prefix}/conf/g.conf`));
    expect(e.message).toBe(
      `open() "${prefix}/conf/missing.conf" failed (2: No such file or directory) in ${prefix}/conf/g.conf:4`,
    );
    expect(e.code).toBe('io');
  });

  test('errors inside included files name that file', () => {
    w('conf/bad.conf', 'events {}\nhttp {\n include inc/bad.inc;\n}\n');
    w('conf/inc/bad.inc', 'server {\n  listen 1;\n  bogus_directive on;\n}\n');
    expect(errorOf(() => parseConfig(`${prefix}/conf/bad.conf`)).message).toBe(
      `unknown directive "bogus_directive" in ${prefix}/conf/inc/bad.inc:3`,
    );
  });

  test('an included file cannot close its includer\'s block', () => {
    w('conf/close.conf', 'events {}\nhttp {\n include inc/close.inc;\n');
    w('conf/inc/close.inc', 'server { listen 1; }\n}\n');
    expect(errorOf(() => parseConfig(`${prefix}/conf/close.conf`)).message).toBe(
      `unexpected "}" in ${prefix}/conf/inc/close.inc:2`,
    );
  });

  test('include arity and terminator', () => {
    w('conf/ar.conf', 'events {}\ninclude a b;\n');
    expect(errorOf(() => parseConfig(`${prefix}/conf/ar.conf`)).message).toBe(
      `invalid number of arguments in "include" directive in ${prefix}/conf/ar.conf:2`,
    );
    w('conf/ar2.conf', 'events {}\ninclude a {}\n');
    expect(errorOf(() => parseConfig(`${prefix}/conf/ar2.conf`, { validate: false })).message).toBe(
      `directive "include" is not terminated by ";" in ${prefix}/conf/ar2.conf:2`,
    );
  });

  test('include inside types {} (a custom-handler block)', () => {
    w('conf/mime.types', 'types {\n  text/html html htm;\n  include more.types;\n}\n');
    w('conf/more.types', 'application/json json;\n');
    w('conf/t.conf', 'events {}\nhttp { include mime.types; }\n');
    const t = parseConfig(`${prefix}/conf/t.conf`);
    const types = t[1].block![0];
    expect(types.block!.map((d) => [d.name, ...d.args])).toEqual([
      ['text/html', 'html', 'htm'],
      ['application/json', 'json'],
    ]);
  });

  test('blocks inside types are rejected', () => {
    w('conf/t2.conf', 'events {}\nhttp { types { a { } } }\n');
    expect(errorOf(() => parseConfig(`${prefix}/conf/t2.conf`)).message).toBe(
      `unexpected "{" in ${prefix}/conf/t2.conf:2`,
    );
  });

  test('the main file must exist', () => {
    const e = errorOf(() => parseConfig('conf/nope.conf', { prefix }));
    expect(e.message).toBe(`open() "${prefix}/conf/nope.conf" failed (2: No such file or directory)`);
    expect(e.file).toBe('');
  });

  test('-g globals come first, share duplicate checks, and say "in command line"', () => {
    w('conf/g1.conf', 'events {}\ndaemon off;\n');
    expect(errorOf(() => parseConfig(`${prefix}/conf/g1.conf`, { globals: 'daemon off;' })).message).toBe(
      `"daemon" directive is duplicate in ${prefix}/conf/g1.conf:2`,
    );
    const t = parseConfig(`${prefix}/conf/g1.conf`, { globals: 'pid /tmp/x.pid; worker_processes 2;' });
    expect(t.map((d) => [d.name, d.file, d.line])).toEqual([
      ['pid', 'command line', 0],
      ['worker_processes', 'command line', 0],
      ['events', `${prefix}/conf/g1.conf`, 1],
      ['daemon', `${prefix}/conf/g1.conf`, 2],
    ]);
    const msg = (g: string) => errorOf(() => parseConfig(`${prefix}/conf/g1.conf`, { globals: g })).message;
    expect(msg('events { }')).toBe('block directives are not supported in -g option in command line');
    expect(msg('pid x')).toBe('unexpected end of parameter, expecting ";" in command line');
    expect(msg('bogus 1;')).toBe('unknown directive "bogus" in command line');
  });

  test('resolveConfPath', () => {
    expect(resolveConfPath('conf/nginx.conf', '/srv/p')).toEqual({
      file: '/srv/p/conf/nginx.conf',
      confPrefix: '/srv/p/conf/',
    });
    expect(resolveConfPath('/etc/nginx.conf', '/srv/p').confPrefix).toBe('/etc/');
  });
});

describe('glob', () => {
  test('*, ?, [...] and sorting by bytes', () => {
    for (const f of ['g/B.conf', 'g/a.conf', 'g/a2.conf', 'g/b.conf', 'g/x/y.conf', 'g/z/y.conf']) w(f, '');
    const base = `${prefix}/g`;
    expect(expandGlob(`${base}/*.conf`)).toEqual([`${base}/B.conf`, `${base}/a.conf`, `${base}/a2.conf`, `${base}/b.conf`]);
    expect(expandGlob(`${base}/a?.conf`)).toEqual([`${base}/a2.conf`]);
    expect(expandGlob(`${base}/[!aB]*`)).toEqual([`${base}/b.conf`, `${base}/x`, `${base}/z`]);
    expect(expandGlob(`${base}/*/y.conf`)).toEqual([`${base}/x/y.conf`, `${base}/z/y.conf`]);
    expect(expandGlob(`${base}/nothing*`)).toEqual([]);
  });
});
