// ngx.pipe and resty.shell through a real server: spawning with argv tables and shell strings,
// line/bytes/any/all reads on stdout and stderr, stdin writes and shutdown, merge_stderr, exit
// codes and signals, timeouts, busy and closed states.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { startTsresty } from './support.js';
import type { TestServer } from '../support/server.js';

let srv: TestServer;

const loc = (name: string, body: string) => `
        location = /${name} {
            content_by_lua_block {
                local ngx_pipe = require "ngx.pipe"
${body}
            }
        }`;

beforeAll(async () => {
  srv = await startTsresty(
    [
      loc('wc', `
                local proc = assert(ngx_pipe.spawn({ "wc", "-c" }))
                for i = 1, 4 do assert(proc:write(("1234"):rep(512))) end
                ngx.say(proc:write({ "ab", "cd" }))
                assert(proc:shutdown("stdin"))
                ngx.say(proc:stdout_read_line())
                ngx.say(proc:wait())
                ngx.say(proc:wait())
                ngx.say(proc:write("late"))`),
      loc('reads', `
                local proc = assert(ngx_pipe.spawn("printf 'l1\\\\r\\\\nl2\\\\nabcdefgh'; printf 'oops' >&2; exit 3"))
                ngx.say(proc:stdout_read_line())
                ngx.say(proc:stdout_read_line())
                ngx.say(proc:stdout_read_bytes(3))
                ngx.say(proc:stdout_read_any(100))
                ngx.say(proc:stdout_read_line())
                ngx.say(proc:stderr_read_all())
                ngx.say(proc:wait())
                ngx.say(proc:pid() > 0)`),
      loc('partial', `
                local proc = assert(ngx_pipe.spawn({ "printf", "no newline" }))
                ngx.say(proc:stdout_read_line())
                proc = assert(ngx_pipe.spawn({ "printf", "short" }))
                ngx.say(proc:stdout_read_bytes(10))`),
      loc('merge', `
                local proc = assert(ngx_pipe.spawn({ "sh", "-c", "echo out; sleep 0.05; echo err >&2" }, { merge_stderr = true }))
                ngx.say(proc:stdout_read_all())
                ngx.say(proc:stderr_read_all())
                ngx.say(proc:shutdown("stderr"))`),
      loc('signal', `
                local proc = assert(ngx_pipe.spawn({ "sleep", "5" }))
                ngx.say(proc:kill(15))
                ngx.say(proc:wait())
                ngx.say(proc:kill(15))
                ngx.say(pcall(proc.kill, proc, "TERM"))`),
      loc('timeouts', `
                local proc = assert(ngx_pipe.spawn({ "sleep", "1" }))
                proc:set_timeouts(nil, 50, nil, 50)
                ngx.say(proc:stdout_read_line())
                ngx.say(proc:wait())
                proc:kill(9)
                proc = assert(ngx_pipe.spawn({ "sh", "-c", "sleep 5; echo never" }, { stdout_read_timeout = 30 }))
                local co = ngx.thread.spawn(function() return proc:stdout_read_all() end)
                ngx.sleep(0.01)
                ngx.say(proc:stdout_read_line())
                ngx.say(proc:shutdown("stdout"))
                ngx.say(ngx.thread.wait(co))
                ngx.say(proc:stdout_read_line())
                proc:kill(9)`),
      loc('missing', `
                ngx.say(ngx_pipe.spawn({ "/no/such/program" }))
                ngx.say(ngx_pipe.spawn({ "no-such-program-anywhere" }))
                local proc = ngx_pipe.spawn({ "env" }, { environ = { "FOO=bar" } })
                ngx.say(proc:stdout_read_all())`),
      loc('shell', `
                local shell = require "resty.shell"
                ngx.say(shell.run([[printf hello; printf he >&2]]))
                ngx.say(shell.run({ "cat" }, "from stdin"))
                ngx.say(shell.run("exit 7"))
                ngx.say(shell.run("sleep 3", nil, 100))
                local ok, out, err, reason = shell.run("yes", nil, 5000, 1000)
                ngx.say(ok, " ", #out <= 1000, " ", reason)`),
    ].join('\n'),
  );
});

afterAll(async () => {
  await srv?.stop();
});

async function get(p: string): Promise<string> {
  const r = await srv.request(p, { timeoutMs: 15000 });
  expect(r.status).toBe(200);
  return r.body;
}

describe('ngx.pipe', () => {
  it('feeds wc through stdin and reads its output', async () => {
    expect(await get('/wc')).toBe('4\n8196\ntrueexit0\nnilexited\nnilclosed\n');
  });

  it('line (CR LF stripped), bytes, any, all and stderr reads; exit status', async () => {
    expect(await get('/reads')).toBe('l1\nl2\nabc\ndefgh\nnilclosed\noops\nfalseexit3\ntrue\n');
  });

  it('partial data on a stream closed early', async () => {
    expect(await get('/partial')).toBe('nilclosedno newline\nnilclosedshort\n');
  });

  it('merge_stderr', async () => {
    expect(await get('/merge')).toBe('out\nerr\n\nnilmerged to stdout\nnilmerged to stdout\n');
  });

  it('kill and signals', async () => {
    expect(await get('/signal')).toBe('true\nfalsesignal15\nnilexited\nfalsebad signal arg: number expected\n');
  });

  it('timeouts, busy readers, shutdown aborting a reader', async () => {
    expect(await get('/timeouts')).toBe('niltimeout\nniltimeout\nnilpipe busy reading\ntrue\ntruenilaborted\nnilclosed\n');
  });

  it('spawn failures and environ', async () => {
    expect(await get('/missing')).toBe('nilexecvp failed: No such file or directory\nnilexecvp failed: No such file or directory\nFOO=bar\n\n');
  });
});

describe('resty.shell', () => {
  it('runs commands: output, stdin, exit codes, timeouts, output limits', async () => {
    expect(await get('/shell')).toBe(
      [
        'truehellohe' + 'exit0',
        'truefrom stdin' + 'exit0',
        'falseexit7',
        'falsefailed to wait for process: timeoutnil',
        'false true failed to read stdout: too much data',
        '',
      ].join('\n'),
    );
  });
});
