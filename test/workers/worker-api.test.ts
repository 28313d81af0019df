// ngx.worker.id/count/pid in init_by_lua, where lua-nginx-module has no worker yet. It runs
// init_by_lua in the process that becomes the master; ngx.worker.id() answers from nginx's
// process type then: while nginx starts it is still NGX_PROCESS_SINGLE and id() is 0 (ngx_worker's
// initial value), on a reload (HUP) the master is NGX_PROCESS_MASTER and id() is nil. Checked
// against nginx 1.22.1 + lua-nginx-module 0.10.23. count() is worker_processes and pid() the
// master's pid in both cases. Every worker inherits that state, so all of them must see the same.
import { describe, it, expect } from 'vitest';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { startMulti, pollBody, type MultiServer } from './helpers.js';

const HTTP = `
    lua_shared_dict dogs 1m;
    init_by_lua_block {
        GEN = "one"
        INIT = tostring(ngx.worker.id()) .. " " .. tostring(ngx.worker.count()) .. " " .. tostring(ngx.worker.pid())
        -- a path that depends on the id: every worker must take the one the first one took
        ngx.shared.dogs:incr("init_id_" .. tostring(ngx.worker.id()), 1, 0)
    }
    init_worker_by_lua_block {
        INIT_WORKER = ngx.worker.id()
    }
`;

const SERVER = `
        location = /w {
            content_by_lua_block {
                ngx.say(INIT, " | ", INIT_WORKER, " ", ngx.worker.id(), " ", ngx.worker.count(), " ", GEN)
            }
        }
`;

/** Bodies of /w until every worker id (0..count-1) answered. */
async function allWorkers(srv: MultiServer, count: number, gen: string): Promise<string[]> {
  const seen = new Map<string, string>();
  const end = Date.now() + 20000;
  while (seen.size < count && Date.now() < end) {
    const b = (await srv.get('/w')).body;
    if (!b.trimEnd().endsWith(` ${gen}`)) continue;
    const id = b.split(' | ')[1].split(' ')[1];
    seen.set(id, b);
  }
  return [...seen.keys()].sort().map((k) => seen.get(k)!);
}

async function reload(srv: MultiServer, edit: (conf: string) => string): Promise<void> {
  const conf = path.join(srv.prefix, 'conf/nginx.conf');
  fs.writeFileSync(conf, edit(fs.readFileSync(conf, 'utf8')));
  srv.signal('SIGHUP');
}

describe('ngx.worker in init_by_lua', () => {
  it('worker threads: id() is 0 at startup and nil at a reload, in every worker; count() and the master pid() work', async () => {
    const srv = await startMulti(SERVER, { main: 'worker_processes 2;', http: HTTP });
    try {
      const pid = srv.proc.pid;
      expect(await allWorkers(srv, 2, 'one')).toEqual([`0 2 ${pid} | 0 0 2 one\n`, `0 2 ${pid} | 1 1 2 one\n`]);

      await reload(srv, (c) => c.replace('GEN = "one"', 'GEN = "two"'));
      await pollBody(srv, '/w', (b) => b.endsWith(' two\n'));
      expect(await allWorkers(srv, 2, 'two')).toEqual([`nil 2 ${pid} | 0 0 2 two\n`, `nil 2 ${pid} | 1 1 2 two\n`]);
      const log = srv.errorLog();
      expect(log).not.toMatch(/different shared dict calls/);
      expect(log).not.toMatch(/\[(error|alert|crit|emerg)\]/);
    } finally {
      await srv.stop();
    }
  });

  it('one in-process worker: id() is 0 in init_by_lua, then nil once a reload moved to threads', async () => {
    const srv = await startMulti(SERVER, { http: HTTP });
    try {
      const pid = srv.proc.pid;
      expect((await srv.get('/w')).body).toBe(`0 1 ${pid} | 0 0 1 one\n`);
      await reload(srv, (c) => c.replace('GEN = "one"', 'GEN = "two"'));
      await pollBody(srv, '/w', (b) => b.endsWith(' two\n'));
      expect((await srv.get('/w')).body).toBe(`nil 1 ${pid} | 0 0 1 two\n`);
    } finally {
      await srv.stop();
    }
  });
});
