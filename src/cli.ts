// tsresty command line, with nginx's flags and meanings:
//   tsresty [-p PREFIX] [-c CONF] [-g DIRECTIVES] [-e ERRLOG] [-t|-T] [-q] [-s SIGNAL] [-v|-V]
import * as fs from 'node:fs';
import * as path from 'node:path';
import { loadConfig, ConfigError } from './config/load.js';
import { errorLog, levelFromName, Level, logError } from './log/errorlog.js';
import { startServer, type RunningServer } from './workers/master.js';
import { isWorkerThread, runWorkerThread } from './workers/thread.js';

const VERSION = '0.1.0';

interface CliOptions {
  prefix: string;
  conf: string | null;
  globals: string | null;
  errlog: string | null;
  test: boolean;
  dump: boolean;
  quiet: boolean;
  signal: string | null;
  watch: boolean;
}

function usage(): string {
  return `tsresty version: tsresty/${VERSION} (nginx/1.22.1 compatible)
Usage: tsresty [-?hvVtTq] [-s signal] [-p prefix] [-e filename] [-c filename] [-g directives] [--watch]

Options:
  -?,-h         : this help
  -v            : show version and exit
  -V            : show version and configure options then exit
  -t            : test configuration and exit
  -T            : test configuration, dump it and exit
  -q            : suppress non-error messages during configuration testing
  -s signal     : send signal to a master process: stop, quit, reopen, reload
  -p prefix     : set prefix path (default: current directory)
  -e filename   : set error log file (default: logs/error.log)
  -c filename   : set configuration file (default: conf/nginx.conf)
  -g directives : set global directives out of configuration file
  --watch       : development mode: reload Lua and config files when they change
`;
}

function parseArgs(argv: string[]): CliOptions {
  const o: CliOptions = { prefix: process.cwd(), conf: null, globals: null, errlog: null, test: false, dump: false, quiet: false, signal: null, watch: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = (): string => {
      const v = argv[++i];
      if (v === undefined) fatal(`option "${a}" requires ${a === '-s' ? 'signal name' : a === '-p' ? 'directory name' : a === '-g' ? 'parameter' : 'file name'}`);
      return v;
    };
    switch (a) {
      case '-p': o.prefix = path.resolve(value()); break;
      case '-c': o.conf = value(); break;
      case '-g': o.globals = value(); break;
      case '-e': o.errlog = value(); break;
      case '-t': o.test = true; break;
      case '-T': o.test = true; o.dump = true; break;
      case '-q': o.quiet = true; break;
      case '-s': o.signal = value(); break;
      case '--watch': o.watch = true; break;
      case '-v':
        process.stderr.write(`tsresty version: tsresty/${VERSION}\n`);
        process.exit(0);
      // falls through (process.exit does not return)
      case '-V':
        process.stderr.write(`tsresty version: tsresty/${VERSION}\nnode ${process.version}, fengari 0.1.5, llhttp (undici wasm)\n`);
        process.exit(0);
      // falls through
      case '-h':
      case '-?':
        process.stderr.write(usage());
        process.exit(0);
      // falls through
      default:
        fatal(`invalid option: "${a.replace(/^-/, '')}"`);
    }
  }
  return o;
}

function fatal(msg: string): never {
  process.stderr.write(`nginx: [emerg] ${msg}\n`);
  process.exit(1);
}

/** `-s stop|quit|reload|reopen`: signal the running master through its pid file. */
function sendSignal(pidFile: string, name: string): never {
  const sig = { stop: 'SIGTERM', quit: 'SIGQUIT', reload: 'SIGHUP', reopen: 'SIGUSR1' }[name] as NodeJS.Signals | undefined;
  if (!sig) fatal(`invalid option: "-s ${name}"`);
  let pid: number;
  try {
    pid = Number(fs.readFileSync(pidFile, 'utf8').trim());
  } catch (e) {
    fatal(`open() "${pidFile}" failed (2: No such file or directory)`);
  }
  if (!(pid > 0)) fatal(`invalid PID number "" in "${pidFile}"`);
  try {
    process.kill(pid, sig);
  } catch (e) {
    fatal(`kill(${pid}, ${sig}) failed (3: No such process)`);
  }
  process.exit(0);
}

function main(): void {
  const o = parseArgs(process.argv.slice(2));
  const confPath = path.resolve(o.prefix, o.conf ?? 'conf/nginx.conf');
  const defaultErrlog = o.errlog ? path.resolve(o.prefix, o.errlog) : path.join(o.prefix, 'logs/error.log');
  try {
    errorLog.open(defaultErrlog, Level.Notice);
  } catch {
    errorLog.open(null, Level.Notice);
  }
  let loaded;
  try {
    loaded = loadConfig(confPath, o.prefix, o.globals);
  } catch (e) {
    const msg = e instanceof ConfigError ? `[${e.level}] ${e.message}` : `[emerg] ${(e as Error).message}`;
    process.stderr.write(`nginx: ${msg}\n`);
    logError(Level.Emerg, msg.replace(/^\[\w+\] /, ''));
    if (o.test) process.stderr.write(`nginx: configuration file ${confPath} test failed\n`);
    process.exit(1);
  }
  if (o.signal) sendSignal(loaded.main.pid, o.signal);
  if (o.test) {
    if (o.dump) process.stdout.write(`# configuration file ${confPath}:\n${fs.readFileSync(confPath, 'utf8')}\n`);
    if (!o.quiet) {
      process.stderr.write(`nginx: the configuration file ${confPath} syntax is ok\nnginx: configuration file ${confPath} test is successful\n`);
    }
    process.exit(0);
  }
  const el = loaded.main.errorLog;
  try {
    errorLog.open(o.errlog ? defaultErrlog : el.path, levelFromName(el.level));
  } catch (e) {
    fatal(`open() "${el.path}" failed (${(e as Error).message})`);
  }
  let server: RunningServer;
  startServer(loaded, { confPath, prefix: o.prefix, globals: o.globals, watch: o.watch, errlog: o.errlog ? defaultErrlog : null })
    .then((s) => {
      server = s;
    })
    .catch((e) => {
      const msg = e instanceof ConfigError ? e.message : (e as Error).message;
      // lua-nginx-module logs a failing init_by_lua at [error] (and nginx then gives up)
      const initError = msg.startsWith('init_by_lua error: ');
      process.stderr.write(`nginx: [${initError ? 'error' : 'emerg'}] ${msg}\n`);
      logError(initError ? Level.Err : Level.Emerg, msg);
      process.exit(1);
    });
  void server!;
}

if (isWorkerThread()) {
  // a worker thread started by the master (the bundle is the threads' entry point too)
  runWorkerThread().catch((e) => {
    logError(Level.Alert, `worker failed to start: ${(e as Error)?.stack ?? e}`);
    process.exit(1);
  });
} else {
  main();
}
