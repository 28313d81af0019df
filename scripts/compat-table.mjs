#!/usr/bin/env node
// Prints the README's "Conformance figures" table from a conformance run's results
// (.compat/results.json, written by `npm run compat`), so the figures are copied, never retyped.
//
//   node scripts/compat-table.mjs [results.json]
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const file = process.argv[2] ?? path.join(root, '.compat/results.json');
const { results } = JSON.parse(fs.readFileSync(file, 'utf8'));

/** [row label, tags counted in it] in the README's order */
const AREAS = [
  ['content (phase:content)', ['phase:content']],
  ['access', ['phase:access']],
  ['rewrite', ['phase:rewrite']],
  ['server_rewrite', ['phase:server_rewrite']],
  ['set_by_lua', ['phase:set']],
  ['init / init_worker', ['phase:init', 'phase:init_worker']],
  ['header_filter', ['phase:header_filter']],
  ['body_filter', ['phase:body_filter']],
  ['log phase', ['phase:log']],
  ['output', ['output']],
  ['exit', ['exit']],
  ['exec/redirect', ['exec_redirect']],
  ['ngx.var', ['ngx_var']],
  ['ngx.req headers', ['req_headers']],
  ['ngx.req body', ['req_body']],
  ['ngx.req uri args', ['uri_args']],
  ['ngx.req misc', ['req_misc']],
  ['ngx.header / resp', ['resp_headers']],
  ['ngx.ctx', ['ctx']],
  ['ngx.re', ['regex']],
  ['codecs', ['codec']],
  ['time', ['time']],
  ['subrequests', ['subrequest']],
  ['shared dict', ['shdict']],
  ['timers', ['timer']],
  ['workers', ['worker', 'multi_worker']],
  ['cosockets', ['cosocket']],
  ['tcp', ['tcp_socket']],
  ['udp', ['udp_socket']],
  ['ngx.req.socket', ['req_socket']],
  ['light threads', ['uthread']],
  ['sleep', ['sleep']],
  ['semaphore', ['semaphore']],
  ['coroutines', ['coroutine']],
  ['on_abort / client abort', ['on_abort', 'client_abort']],
  ['echo module', ['echo']],
  ['headers-more', ['headers_more']],
  ['set-misc', ['set_misc']],
  ['proxy', ['proxy']],
  ['upstream / balancer', ['upstream', 'balancer']],
  ['error_page', ['error_page']],
  ['nginx core directives', ['nginx_core']],
  ['raw requests / pipelining', ['raw_request', 'pipelined']],
  ['LuaJIT dialect (lua51)', ['lua51']],
  ['code cache off', ['code_cache_off']],
];

const pct = (a, b) => (b ? ((100 * a) / b).toFixed(1) : '0.0') + '%';
const passed = results.filter((r) => r.status === 'pass').length;
const logPass = results.filter((r) => r.log_status === 'pass').length;
const logFail = results.filter((r) => r.log_status === 'fail').length;
console.log(`**${passed}/${results.length} cases pass (${pct(passed, results.length)})**; the secondary error-log score is`);
console.log(`${logPass} passed, ${logFail} failed.`);
console.log('');
console.log('| area | tags | passed | rate |');
console.log('|---|---|---|---|');
for (const [label, tags] of AREAS) {
  const inArea = results.filter((r) => (r.tags ?? []).some((t) => tags.includes(t)));
  const ok = inArea.filter((r) => r.status === 'pass').length;
  console.log(`| ${label} | ${tags.join(', ')} | ${ok}/${inArea.length} | ${pct(ok, inArea.length)} |`);
}
