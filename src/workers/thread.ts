// A worker thread's life: load the configuration, attach the shared dict zones, build the Worker
// (its own Lua VM), bring its Lua state to where init_by_lua leaves it, listen on its descriptors,
// serve, and stop when the master says so. The master's side is master.ts.
import type * as net from 'node:net';
import { parentPort, workerData } from 'node:worker_threads';
import { loadConfig } from '../config/load.js';
import { Worker } from './worker.js';
import { errorLog, logError, Level } from '../log/errorlog.js';
import { reopenAccessLogs } from '../log/accesslog.js';
import { attachZones, startRecording, stopRecording, startReplay, stopReplay, type InitCall } from '../ngx/shdict.js';
import type { SharedDictHandle } from '../shdict/index.js';

export interface WorkerThreadData {
  tsresty: 'worker';
  id: number;
  count: number;
  /** the generation was started by a reload (WorkerOptions.reload) */
  reload: boolean;
  confPath: string;
  prefix: string;
  globals: string | null;
  errlog: { path: string | null; level: number };
  zones: SharedDictHandle[];
  /** run init_by_lua for real (the generation's first worker) and report its shared dict calls */
  runInit: boolean;
  /** otherwise replay these (null: they come in an 'init-log' message) */
  initLog: InitCall[] | null;
  /** one descriptor per listening socket (null: they come in a 'listen' message) */
  fds: number[] | null;
  ports: number[];
  shutdownTimeout: number;
  /** development mode: watch Lua files and reload them (the master watches the config) */
  watch: boolean;
}

export type ToMaster =
  | { t: 'init'; ok: true; log: InitCall[] }
  | { t: 'init'; ok: false; error: string }
  | { t: 'booted' }
  | { t: 'ready' }
  | { t: 'failed'; error: string };

export type ToWorker =
  | { t: 'init-log'; log: InitCall[] }
  | { t: 'listen'; fds: number[] }
  | { t: 'stop'; graceful: boolean }
  | { t: 'reopen' };

export function isWorkerThread(): boolean {
  return parentPort !== null && (workerData as WorkerThreadData | null)?.tsresty === 'worker';
}

const inbox: ToWorker[] = [];
let wakeup: (() => void) | null = null;
let worker: Worker | null = null;

function post(m: ToMaster): void {
  parentPort!.postMessage(m);
}

/** The next message of type `t` (messages of other types stay queued). */
async function next<T extends ToWorker['t']>(t: T): Promise<Extract<ToWorker, { t: T }>> {
  for (;;) {
    const i = inbox.findIndex((m) => m.t === t);
    if (i >= 0) return inbox.splice(i, 1)[0] as Extract<ToWorker, { t: T }>;
    await new Promise<void>((r) => (wakeup = r));
  }
}

function onMessage(m: ToWorker): void {
  if (m.t === 'stop') {
    void stop(m.graceful);
    return;
  }
  if (m.t === 'reopen') {
    errorLog.reopen();
    reopenAccessLogs();
    return;
  }
  inbox.push(m);
  const w = wakeup;
  wakeup = null;
  if (w) w();
}

let stopping = false;

async function stop(graceful: boolean): Promise<void> {
  const data = workerData as WorkerThreadData;
  if (stopping && graceful) return;
  stopping = true;
  if (graceful) logError(Level.Notice, 'gracefully shutting down');
  if (worker) await worker.stop(graceful, data.shutdownTimeout);
  logError(Level.Notice, 'exiting');
  logError(Level.Notice, 'exit');
  process.exit(0);
}

export async function runWorkerThread(): Promise<void> {
  const data = workerData as WorkerThreadData;
  parentPort!.on('message', onMessage);
  try {
    errorLog.open(data.errlog.path, data.errlog.level);
  } catch {
    errorLog.open(null, data.errlog.level);
  }
  const loaded = loadConfig(data.confPath, data.prefix, data.globals);
  attachZones(data.zones);
  const w = new Worker(loaded.main, loaded.declaredVars, {
    id: data.id, count: data.count, reload: data.reload, listeners: [], dev: data.watch ? { luaFiles: loaded.luaFiles } : null,
  });
  worker = w;
  const init = loaded.main.http!.initByLua;
  if (data.runInit) {
    startRecording();
    try {
      if (init) w.runTopLevel(init, 'init');
    } catch (e) {
      stopRecording();
      post({ t: 'init', ok: false, error: (e as Error).message });
      return;
    }
    post({ t: 'init', ok: true, log: stopRecording() });
  } else if (init) {
    // the Lua state a forked nginx worker would inherit: init_by_lua again, its shared dict calls
    // answered from the first worker's record and its log lines dropped (they were logged once)
    const log = data.initLog ?? (await next('init-log')).log;
    const level = errorLog.level;
    errorLog.level = -1;
    startReplay(log);
    try {
      w.runTopLevel(init, 'init');
    } catch {
      // it failed in the first worker too, which stopped the start
    } finally {
      stopReplay();
      errorLog.level = level;
    }
  }
  if (stopping) return;
  post({ t: 'booted' });
  const fds = data.fds ?? (await next('listen')).fds;
  w.opts.listeners = fds.map((fd, i) => ({ listen: { fd } as net.ListenOptions, port: data.ports[i] }));
  try {
    await w.start();
  } catch (e) {
    post({ t: 'failed', error: (e as Error).message });
    return;
  }
  post({ t: 'ready' });
}
