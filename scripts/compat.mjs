// Runs the OpenResty conformance suite (../shared/compat) against dist/cli.js, with the redis and
// memcached backends its cases expect, and prints the per-area pass rates.
//   npm run compat [-- --only shdict --id '043-*' ...]   (extra args go to run.py)
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const compat = path.resolve(root, '../shared/compat');
if (!fs.existsSync(path.join(compat, 'run.py'))) {
  console.error(`conformance suite not found at ${compat}`);
  process.exit(2);
}

const children = [];
function startBackend(cmd, args) {
  if (spawnSync('sh', ['-c', `command -v ${cmd}`]).status !== 0) {
    console.error(`note: ${cmd} not installed; cases that need it will fail`);
    return;
  }
  const c = spawn(cmd, args, { stdio: 'ignore' });
  c.on('error', () => {});
  children.push(c);
}
startBackend('redis-server', ['--port', '19879', '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no']);
startBackend('memcached', ['-p', '19811', '-U', '19811', '-l', '127.0.0.1', ...(process.getuid?.() === 0 ? ['-u', 'root'] : [])]);

fs.mkdirSync(path.join(root, '.compat'), { recursive: true });
const args = [
  path.join(compat, 'run.py'),
  '--cases', path.join(compat, 'cases'),
  '--server-cmd', `${process.execPath} ${path.join(root, 'dist/cli.js')} -p {prefix} -c conf/nginx.conf`,
  '--results', path.join(root, '.compat/results.json'),
  '--stop-grace', '1',
  '--quiet',
  ...process.argv.slice(2),
];
const run = spawn('python3', args, { stdio: 'inherit' });
const stop = () => children.forEach((c) => c.kill('SIGTERM'));
run.on('exit', (code) => {
  stop();
  process.exit(code ?? 1);
});
process.on('SIGINT', () => {
  run.kill('SIGINT');
  stop();
});
