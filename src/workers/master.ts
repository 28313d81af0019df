// The master: pid file, init_by_lua, the worker(s), and nginx's signals
// (TERM/INT fast stop, QUIT graceful stop, HUP reload, USR1 reopen logs).
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { LoadedConfig } from '../config/load.js';
import { Worker } from './worker.js';
import { logError, errorLog, Level } from '../log/errorlog.js';
import { reopenAccessLogs, flushAccessLogs } from '../log/accesslog.js';

export interface StartOptions {
  confPath: string;
  prefix: string;
  globals: string | null;
  watch: boolean;
}

export interface RunningServer {
  stop(graceful: boolean): Promise<void>;
}

function listenersOf(loaded: LoadedConfig) {
  const seen = new Map<string, { listen: { port: number; host?: string; path?: string }; port: number }>();
  for (const s of loaded.main.http!.servers) {
    for (const l of s.listens) {
      const key = l.unix ?? `${l.host ?? '*'}:${l.port}`;
      if (seen.has(key)) continue;
      const listen = l.unix ? { path: l.unix, port: 0 } : l.host ? { port: l.port, host: l.host } : { port: l.port };
      seen.set(key, { listen, port: l.port });
    }
  }
  return [...seen.values()];
}

export async function startServer(loaded: LoadedConfig, opts: StartOptions): Promise<RunningServer> {
  const main = loaded.main;
  if (main.workerProcesses > 1) {
    logError(Level.Warn, `worker_processes ${main.workerProcesses}: multi-worker mode is not available yet, running 1 worker`);
  }
  for (const d of main.unimplemented) {
    logError(Level.Warn, `"${d.name}" directive is accepted but not implemented by tsresty yet in ${d.file}:${d.line}`);
  }
  const worker = new Worker(main, loaded.declaredVars, { id: 0, count: 1, listeners: listenersOf(loaded) });
  const http = main.http!;
  if (http.initByLua) worker.runTopLevel(http.initByLua, 'init');
  await worker.start();
  try {
    fs.mkdirSync(path.dirname(main.pid), { recursive: true });
    fs.writeFileSync(main.pid, `${process.pid}\n`);
  } catch (e) {
    logError(Level.Emerg, `open() "${main.pid}" failed (${(e as Error).message})`);
  }
  logError(Level.Notice, `tsresty/0.1.0 started, pid ${process.pid}`);

  let stopping = false;
  const stop = async (graceful: boolean): Promise<void> => {
    if (stopping && graceful) return;
    stopping = true;
    if (graceful) {
      logError(Level.Notice, 'gracefully shutting down');
      const limit = main.workerShutdownTimeout;
      const timer = limit > 0 ? setTimeout(() => finish(), limit) : null;
      await worker.stop(true);
      if (timer) clearTimeout(timer);
    } else {
      void worker.stop(false);
    }
    finish();
  };
  const finish = (): void => {
    flushAccessLogs();
    try {
      fs.unlinkSync(main.pid);
    } catch {
      // already gone
    }
    logError(Level.Notice, 'exit');
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop(false));
  process.on('SIGINT', () => void stop(false));
  process.on('SIGQUIT', () => void stop(true));
  process.on('SIGUSR1', () => {
    errorLog.reopen();
    reopenAccessLogs();
  });
  process.on('SIGHUP', () => {
    logError(Level.Notice, 'signal 1 (SIGHUP) received: configuration reload is not available yet, keeping the current configuration');
  });
  void opts;
  return { stop };
}
