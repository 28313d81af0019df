// Server-level settings that http{} may also set (underscores_in_headers, client_header_timeout...)
// reach every server, whether the http-level directive stands before or after the server blocks.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, expect, test } from 'vitest';
import { loadConfig } from '../../src/config/load.js';

function load(http: string) {
  const prefix = fs.mkdtempSync(path.join(os.tmpdir(), 'tsresty-conf-'));
  fs.mkdirSync(path.join(prefix, 'conf'));
  fs.writeFileSync(path.join(prefix, 'conf/nginx.conf'), `events {}\nhttp {\n${http}\n}\n`);
  try {
    return loadConfig(path.join(prefix, 'conf/nginx.conf'), prefix).main.http!.servers;
  } finally {
    fs.rmSync(prefix, { recursive: true, force: true });
  }
}

describe('http-level server settings', () => {
  test('apply to servers before and after them; a server-level one wins', () => {
    const [a, b, c] = load(`
      server { listen 8001; }
      underscores_in_headers on;
      client_header_timeout 5s;
      server { listen 8002; }
      server { listen 8003; underscores_in_headers off; client_header_timeout 7s; }`);
    expect([a.underscoresInHeaders, b.underscoresInHeaders, c.underscoresInHeaders]).toEqual([true, true, false]);
    expect([a.clientHeaderTimeout, b.clientHeaderTimeout, c.clientHeaderTimeout]).toEqual([5000, 5000, 7000]);
  });

  test('keep nginx defaults when nobody sets them', () => {
    const [s] = load('server { listen 8001; }');
    expect([s.underscoresInHeaders, s.ignoreInvalidHeaders, s.mergeSlashes, s.clientHeaderTimeout]).toEqual([false, true, true, 60000]);
  });
});
