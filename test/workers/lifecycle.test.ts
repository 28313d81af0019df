// The master's job on a real server: restarting a worker that died, reloading on HUP without
// losing shared dicts, graceful (QUIT) and fast (TERM) stops, premature timers, and the switch
// from one in-process worker to worker threads at the first reload.
import { describe, it, expect } from 'vitest';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { startMulti, pollBody, sleep } from './helpers.js';

const DICT = 'lua_shared_dict dogs 1m;';

describe('worker restart', () => {
  it('a worker that exits (os.exit) is logged like nginx and replaced; the dict survives', async () => {
    const srv = await startMulti(
      `
        location = /set { content_by_lua_block { ngx.shared.dogs:set("k", "kept") ngx.say("ok") } }
        location = /id { content_by_lua_block { ngx.say(ngx.worker.id(), " ", tostring(ngx.shared.dogs:get("k")), " ", G) } }
        location = /die { content_by_lua_block { os.exit(3) } }
      `,
      { main: 'worker_processes 2;', http: `${DICT}\ninit_by_lua_block { G = "g" }` },
    );
    try {
      expect((await srv.get('/set')).body).toBe('ok\n');
      const r = await srv.get('/die', 5000);
      expect(r.status).toBe(0); // the connection died with its worker
      const log = await srv.waitLog(/worker process (\d+) exited with code 3[\s\S]*start worker process/);
      const dead = /worker process (\d+) exited with code 3/.exec(log)![1];
      expect(log).toMatch(/\[notice\] \d+#\d+: worker process \d+ exited with code 3/);
      // both worker ids serve again, with the dict and init_by_lua's globals
      const seen = new Set<string>();
      const end = Date.now() + 20000;
      while (seen.size < 2 && Date.now() < end) seen.add((await srv.get('/id')).body);
      expect([...seen].sort()).toEqual(['0 kept g\n', '1 kept g\n']);
      // the replacement is a new thread
      const started = [...log.matchAll(/start worker process (\d+)/g)].map((m) => m[1]);
      expect(started).not.toContain(undefined);
      expect(started.length).toBe(3);
      expect(started.slice(2)).not.toContain(dead);
    } finally {
      await srv.stop();
    }
  });
});

describe('reload (HUP)', () => {
  it('new workers serve the new configuration, the shared dict keeps its contents, old workers drain', async () => {
    const srv = await startMulti(
      `
        location = /v { content_by_lua_block { local d = ngx.shared.dogs ngx.say(VERSION, " ", d:incr("hits", 1, 0), " ", d:get("init_runs")) } }
      `,
      { main: 'worker_processes 2;', http: `${DICT}\ninit_by_lua_block { VERSION = "one" ngx.shared.dogs:incr("init_runs", 1, 0) }` },
    );
    try {
      expect((await srv.get('/v')).body).toBe('one 1 1\n');
      expect((await srv.get('/v')).body).toBe('one 2 1\n');
      const conf = path.join(srv.prefix, 'conf/nginx.conf');
      fs.writeFileSync(conf, fs.readFileSync(conf, 'utf8').replace('VERSION = "one"', 'VERSION = "two"'));
      srv.signal('SIGHUP');
      await srv.waitLog(/reconfiguring[\s\S]*gracefully shutting down[\s\S]*exited with code 0[\s\S]*exited with code 0/);
      // init_by_lua ran again for the new generation (nginx does too), the counter went on
      expect((await srv.get('/v')).body).toBe('two 3 2\n');
    } finally {
      await srv.stop();
    }
  });

  it('an invalid configuration is logged and the old workers keep serving', async () => {
    const srv = await startMulti(`location = /t { content_by_lua_block { ngx.say("still here") } }`, { main: 'worker_processes 2;' });
    try {
      const conf = path.join(srv.prefix, 'conf/nginx.conf');
      fs.writeFileSync(conf, fs.readFileSync(conf, 'utf8').replace('location = /t {', 'location = /t { bogus_directive on;'));
      srv.signal('SIGHUP');
      await srv.waitLog(/\[emerg\].*bogus_directive/);
      expect((await srv.get('/t')).body).toBe('still here\n');
      expect(srv.errorLog()).not.toMatch(/gracefully shutting down/);
    } finally {
      await srv.stop();
    }
  });

  it('one in-process worker hands over to worker threads at the first reload', async () => {
    const srv = await startMulti(
      `location = /v { content_by_lua_block { ngx.say(ngx.worker.count(), " ", (ngx.shared.dogs:incr("n", 1, 0))) } }`,
      { http: DICT },
    );
    try {
      expect((await srv.get('/v')).body).toBe('1 1\n');
      const conf = path.join(srv.prefix, 'conf/nginx.conf');
      fs.writeFileSync(conf, `worker_processes 2;\n${fs.readFileSync(conf, 'utf8')}`);
      srv.signal('SIGHUP');
      await srv.waitLog(/start worker process \d+[\s\S]*start worker process \d+/);
      const body = await pollBody(srv, '/v', (b) => b.startsWith('2 '));
      expect(Number(body.split(' ')[1])).toBeGreaterThanOrEqual(2);
    } finally {
      await srv.stop();
    }
  });
});

describe('stopping', () => {
  it('QUIT lets in-flight requests and running timers finish, fires pending timers as premature, then runs exit_worker_by_lua', async () => {
    const srv = await startMulti(
      `location = /slow {
          content_by_lua_block {
              ngx.timer.at(0, function(premature)
                  ngx.sleep(0.6)
                  ngx.log(ngx.NOTICE, "running timer done, premature=", premature)
              end)
              ngx.sleep(0.5)
              ngx.say("finished")
          }
      }`,
      {
        main: 'worker_processes 2;',
        http: `${DICT}
    init_worker_by_lua_block {
        ngx.timer.at(3600, function(premature)
            ngx.log(ngx.NOTICE, "timer premature=", premature, " exiting=", ngx.worker.exiting())
            ngx.shared.dogs:incr("premature", 1, 0)
        end)
    }
    exit_worker_by_lua_block {
        ngx.log(ngx.NOTICE, "exit_worker premature timers: ", ngx.shared.dogs:get("premature"))
    }`,
      },
    );
    const inflight = srv.get('/slow');
    await sleep(150);
    srv.signal('SIGQUIT');
    const r = await inflight;
    expect(r.status).toBe(200);
    expect(r.body).toBe('finished\n');
    expect(await srv.exited()).toBe(0);
    const log = srv.errorLog();
    expect(log.match(/timer premature=true exiting=true/g)?.length).toBe(2);
    expect(log).toMatch(/exit_worker premature timers: [12]/);
    // a timer callback running at QUIT time finished before its worker ran exit_worker_by_lua
    expect(log).toMatch(/running timer done, premature=false[\s\S]*exit_worker premature timers/);
    // every worker logged its exit; the master last
    expect(log.match(/\[notice\] \d+#\d+: exit\n/g)?.length).toBe(3);
    expect(log.trimEnd().split('\n').pop()).toMatch(new RegExp(`${srv.proc.pid}#${srv.proc.pid}: exit$`));
    expect(fs.existsSync(path.join(srv.prefix, 'logs/nginx.pid'))).toBe(false);
    await srv.stop();
  });

  it('TERM does not wait for in-flight requests', async () => {
    const srv = await startMulti(`location = /slow { content_by_lua_block { ngx.sleep(5) ngx.say("finished") } }`, {
      main: 'worker_processes 2;',
    });
    const inflight = srv.get('/slow');
    await sleep(150);
    srv.signal('SIGTERM');
    expect(await srv.exited()).toBe(0);
    const r = await inflight;
    expect(r.body).not.toBe('finished\n');
    await srv.stop();
  });
});
