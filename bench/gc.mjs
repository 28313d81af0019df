#!/usr/bin/env node
// Garbage that outlives its request (not a timing benchmark): V8's --trace-gc-nvp reports per
// young-generation collection how much survived and was promoted. A request's objects should die
// young - a handler that yields (ngx.sleep, a cosocket read) keeps them across event-loop turns, so
// anything long-lived that still points at them (see docs/ARCHITECTURE.md, "garbage that must die
// young") shows up here as promoted bytes per request.
//
//   node bench/gc.mjs [--seconds 3] [--connections 50]
import { freePort, makeLoad, startRedis, startTsresty } from './lib.mjs';

const args = process.argv.slice(2);
const opt = (n, d) => (args.includes('--' + n) ? Number(args[args.indexOf('--' + n) + 1]) : d);
const load = makeLoad({ connections: opt('connections', 50), seconds: opt('seconds', 3), path: '/t' });

const redis = await startRedis();
const redisPort = redis.port;

const handlers = {
  'ngx.say': 'ngx.say(1)',
  'ngx.sleep(0)': 'ngx.sleep(0) ngx.say(1)',
  'resty.redis INCR': `local redis = require "resty.redis" local r = redis:new() r:set_timeout(1000)
      local ok, err = r:connect("127.0.0.1", ${redisPort}) local n = r:incr("gc") r:set_keepalive(10000, 100) ngx.say(n)`,
};

console.log(`load generator: ${load.describe}`);
for (const [name, body] of Object.entries(handlers)) {
  const port = await freePort();
  const s = await startTsresty(port, `location = /t { content_by_lua_block { ${body} } }`, { nodeArgs: ['--trace-gc-nvp'], stdio: ['ignore', 'pipe', 'inherit'] });
  let log = '';
  s.child.stdout.on('data', (d) => (log += d));
  await load.run(port); // warm-up
  await new Promise((r) => setTimeout(r, 200));
  const from = log.length;
  const n = await load.run(port);
  await new Promise((r) => setTimeout(r, 200));
  log = log.slice(from);
  s.child.kill('SIGTERM');
  s.cleanup();
  let scavenges = 0, allocated = 0, survived = 0, promoted = 0;
  for (const line of log.split('\n')) {
    if (!/\bgc=s\b/.test(line)) continue;
    scavenges++;
    const field = (k) => Number((new RegExp(`\\b${k}=(\\d+)`).exec(line) ?? [0, 0])[1]);
    allocated += field('allocated');
    survived += field('new_space_survived');
    promoted += field('promoted');
  }
  const per = (x) => (x / Math.max(1, n)).toFixed(0).padStart(6);
  console.log(`${name.padEnd(18)} ${String(n).padStart(7)} requests, ${String(scavenges).padStart(3)} scavenges; per request: allocated ${per(allocated)} B, survived ${per(survived)} B, promoted ${per(promoted)} B`);
}
redis.kill();
