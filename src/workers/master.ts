// The master: pid file, shared dict zones, listening sockets, the workers, and nginx's signals
// (TERM/INT fast stop, QUIT graceful stop, HUP reload, USR1 reopen logs).
//
// Two ways to run workers (docs/ARCHITECTURE.md, "Workers"):
//  - in-process: `worker_processes 1` or `master_process off` runs the one worker in the main
//    thread, exactly as a single-worker server would, with nothing in between;
//  - threads: N worker_threads, each a full Worker (own Lua VM, own transport) listening on its own
//    descriptor of the shared sockets (listeners.ts), zones shared as SharedArrayBuffers. The main
//    thread runs no Lua: it owns signals, restarts crashed workers and reloads.
// A reload (HUP) always starts a new generation of worker threads and retires the old workers
// gracefully, so an in-process server switches to threads at its first reload.
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { Worker as Thread } from 'node:worker_threads';
import { watch, type FSWatcher } from 'chokidar';
import { loadConfig, ConfigError, type LoadedConfig } from '../config/load.js';
import { Worker } from './worker.js';
import { logError, errorLog, levelFromName, Level } from '../log/errorlog.js';
import { reopenAccessLogs, flushAccessLogs } from '../log/accesslog.js';
import { ensureZones } from '../ngx/shdict.js';
import { SharedDict, type SharedDictHandle } from '../shdict/index.js';
import { Binder, type ListenSpec, type RawHandle } from './listeners.js';
import type { InitCall } from '../ngx/shdict.js';
import type { ToMaster, ToWorker, WorkerThreadData } from './thread.js';

export interface StartOptions {
  confPath: string;
  prefix: string;
  globals: string | null;
  watch: boolean;
  /** -e FILE: overrides error_log */
  errlog: string | null;
}

export interface RunningServer {
  stop(graceful: boolean): Promise<void>;
}

/** The distinct listening sockets of a configuration. */
export function listenSpecs(loaded: LoadedConfig): ListenSpec[] {
  const seen = new Map<string, ListenSpec>();
  for (const s of loaded.main.http!.servers) {
    for (const l of s.listens) {
      const key = l.unix ? `unix:${l.unix}` : `${l.host ?? '*'}:${l.port}`;
      if (seen.has(key)) continue;
      const listen: net.ListenOptions = l.unix ? { path: l.unix } : l.host ? { port: l.port, host: l.host } : { port: l.port };
      seen.set(key, { key, port: l.unix ? 0 : l.port, listen });
    }
  }
  return [...seen.values()];
}

/** One worker thread. */
interface Slot {
  id: number;
  gen: Generation;
  thread: Thread;
  tid: number;
  /** its Lua state is ready (init_by_lua ran or was replayed) */
  booted: boolean;
  ready: boolean;
  /** we asked it to stop */
  stopping: boolean;
  exited: boolean;
  startedAt: number;
  error: string | null;
}

interface Generation {
  loaded: LoadedConfig;
  count: number;
  zones: SharedDictHandle[];
  specs: ListenSpec[];
  /** init_by_lua's shared dict calls, once the generation's first worker ran it */
  initLog: InitCall[] | null;
  /** started by a reload (HUP) rather than by the server's start */
  reload: boolean;
  slots: Slot[];
  retiring: boolean;
}

interface Listener {
  spec: ListenSpec;
  /** the in-process worker's server, or a descriptor the master keeps to make copies */
  keeper: RawHandle | net.Server;
}

const BUNDLE = __filename;

class Master {
  private listeners = new Map<string, Listener>();
  private inproc: Worker | null = null;
  private gen: Generation | null = null;
  private old: Generation[] = [];
  private stopping = false;
  private reloading = false;
  private unixPaths = new Set<string>();

  constructor(
    private loaded: LoadedConfig,
    private readonly opts: StartOptions,
  ) {}

  private errlogFor(loaded: LoadedConfig): { path: string | null; level: number } {
    const el = loaded.main.errorLog;
    const p = this.opts.errlog ?? el.path;
    return { path: p === 'stderr' ? null : p, level: levelFromName(el.level) };
  }

  // ---- start ---------------------------------------------------------------------------------

  async start(): Promise<void> {
    const main = this.loaded.main;
    for (const a of main.startupAlerts) logError(Level.Alert, a);
    for (const d of main.unimplemented) {
      logError(Level.Warn, `"${d.name}" directive is accepted but not implemented by tsresty yet in ${d.file}:${d.line}`);
    }
    const specs = listenSpecs(this.loaded);
    if (main.workerProcesses <= 1 || !main.masterProcess) await this.startInProcess(specs);
    else await this.startThreads(specs);
    this.writePid();
    logError(Level.Notice, `tsresty/0.1.0 started, pid ${process.pid}`);
    this.installSignals();
    if (this.devMode(this.loaded)) this.watchConfig();
  }

  /** --watch, or lua_code_cache off somewhere (OpenResty's development switch, made cheap here) */
  private devMode(loaded: LoadedConfig): boolean {
    return this.opts.watch || loaded.codeCacheOff;
  }

  private configWatcher: FSWatcher | null = null;

  /** Development mode: a saved config file is re-read, validated and swapped in like a HUP. */
  private watchConfig(): void {
    const files = this.loaded.configFiles;
    const w = watch(files, { ignoreInitial: true, persistent: false });
    let timer: NodeJS.Timeout | null = null;
    w.on('change', (file) => {
      if (timer) clearTimeout(timer);
      timer = setTimeout(() => {
        timer = null;
        const t0 = performance.now();
        logError(Level.Notice, `configuration file ${file} changed`);
        void this.reload().then(() => logError(Level.Notice, `configuration reload after a change to ${file} took ${(performance.now() - t0).toFixed(1)} ms`));
      }, 15);
    });
    w.on('error', (e) => logError(Level.Warn, `file watcher: ${(e as Error).message}`));
    this.configWatcher = w;
  }

  private async startInProcess(specs: ListenSpec[]): Promise<void> {
    const main = this.loaded.main;
    ensureZones(main.http!.sharedDicts);
    const listeners: { server: net.Server; port: number }[] = specs.map((spec) => ({ server: net.createServer({ allowHalfOpen: true }), port: spec.port }));
    const worker = new Worker(main, this.loaded.declaredVars, {
      id: 0, count: 1, listeners, dev: this.devMode(this.loaded) ? { luaFiles: this.loaded.luaFiles } : null,
    });
    // the file watches first: between listen() and the transport attaching, connections would
    // have no handler, so nothing asynchronous may happen in that window
    if (worker.devMode) await worker.devMode.ready;
    // init_by_lua before the sockets are bound, as nginx runs it while reading the configuration
    if (main.http!.initByLua) worker.runTopLevel(main.http!.initByLua, 'init');
    // a connection accepted before the transport attached waits (its bytes stay buffered in the
    // socket until a 'data' listener comes) and is handed over
    const held: [net.Server, net.Socket][] = [];
    const holds = listeners.map(({ server }) => (s: net.Socket): void => {
      held.push([server, s]);
    });
    for (let i = 0; i < specs.length; i++) {
      const spec = specs[i];
      const server = listeners[i].server;
      server.on('connection', holds[i]);
      await listenInProcess(server, spec);
      if (spec.listen.path) this.unixPaths.add(spec.listen.path);
      this.listeners.set(spec.key, { spec, keeper: server });
    }
    await worker.start();
    this.inproc = worker;
    listeners.forEach(({ server }, i) => server.off('connection', holds[i]));
    for (const [server, sock] of held) server.emit('connection', sock);
  }

  private async startThreads(specs: ListenSpec[]): Promise<void> {
    const gen = this.newGeneration(this.loaded, specs, false);
    const binder = new Binder(gen.count + 1);
    let handles: RawHandle[][];
    try {
      // the threads boot their Lua VMs (and the first one runs init_by_lua) before the sockets are
      // bound, so that a client that can connect gets served soon
      this.spawnGeneration(gen);
      await this.whenAll(gen, (s) => s.booted);
      handles = await binder.bind(specs);
    } catch (e) {
      this.abortGeneration(gen);
      throw e;
    } finally {
      binder.close();
    }
    specs.forEach((spec, i) => {
      this.listeners.set(spec.key, { spec, keeper: handles[i][gen.count] });
      if (spec.listen.path) this.unixPaths.add(spec.listen.path);
    });
    for (const slot of gen.slots) this.post(slot, { t: 'listen', fds: handles.map((h) => h[slot.id].fd) });
    try {
      await this.whenReady(gen);
    } catch (e) {
      this.abortGeneration(gen);
      throw e;
    }
    this.gen = gen;
  }

  private newGeneration(loaded: LoadedConfig, specs: ListenSpec[], reload: boolean): Generation {
    const main = loaded.main;
    return {
      loaded,
      count: Math.max(1, main.workerProcesses),
      zones: ensureZones(main.http!.sharedDicts),
      specs,
      initLog: main.http!.initByLua ? null : [],
      reload,
      slots: [],
      retiring: false,
    };
  }

  private spawnGeneration(gen: Generation): void {
    for (let id = 0; id < gen.count; id++) gen.slots.push(this.spawn(gen, id, id === 0 && gen.initLog === null, null));
  }

  private spawn(gen: Generation, id: number, runInit: boolean, fds: number[] | null): Slot {
    const data: WorkerThreadData = {
      tsresty: 'worker',
      id,
      count: gen.count,
      reload: gen.reload,
      confPath: this.opts.confPath,
      prefix: this.opts.prefix,
      globals: this.opts.globals,
      errlog: this.errlogFor(gen.loaded),
      zones: gen.zones,
      runInit,
      initLog: runInit ? null : gen.initLog,
      fds,
      ports: gen.specs.map((s) => s.port),
      shutdownTimeout: gen.loaded.main.workerShutdownTimeout,
      watch: this.devMode(gen.loaded),
    };
    const thread = new Thread(BUNDLE, { workerData: data });
    const slot: Slot = { id, gen, thread, tid: thread.threadId, booted: false, ready: false, stopping: false, exited: false, startedAt: Date.now(), error: null };
    logError(Level.Notice, `start worker process ${slot.tid}`);
    thread.on('message', (m: ToMaster) => this.onMessage(slot, m));
    thread.on('error', (e) => {
      slot.error = (e as Error)?.stack ?? String(e);
    });
    thread.on('exit', (code) => this.onExit(slot, code));
    return slot;
  }

  private post(slot: Slot, m: ToWorker): void {
    if (!slot.exited) slot.thread.postMessage(m);
  }

  private onMessage(slot: Slot, m: ToMaster): void {
    const gen = slot.gen;
    switch (m.t) {
      case 'init':
        if (m.ok) {
          gen.initLog = m.log;
          for (const s of gen.slots) if (s !== slot) this.post(s, { t: 'init-log', log: m.log });
        } else {
          slot.error = m.error;
        }
        break;
      case 'booted':
        slot.booted = true;
        break;
      case 'ready':
        slot.ready = true;
        break;
      case 'failed':
        slot.error = m.error;
        break;
    }
    this.wake();
  }

  private waiters: (() => void)[] = [];

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  /** Resolves when every worker of `gen` accepts; rejects with the first worker's start error. */
  private whenReady(gen: Generation): Promise<void> {
    return this.whenAll(gen, (s) => s.ready);
  }

  /** Resolves when `ok` holds for every worker of `gen`; rejects when one failed or exited. */
  private async whenAll(gen: Generation, ok: (s: Slot) => boolean): Promise<void> {
    for (;;) {
      const bad = gen.slots.find((s) => s.error !== null || s.exited);
      if (bad) throw new Error(bad.error ?? `worker process ${bad.tid} exited while starting`);
      if (gen.slots.every(ok)) return;
      await new Promise<void>((r) => this.waiters.push(r));
    }
  }

  private abortGeneration(gen: Generation): void {
    gen.retiring = true;
    for (const s of gen.slots) {
      s.stopping = true;
      void s.thread.terminate();
    }
  }

  private onExit(slot: Slot, code: number): void {
    slot.exited = true;
    const gen = slot.gen;
    const expected = slot.stopping || gen.retiring || this.stopping;
    // nginx: a signal is an alert, an exit code a notice; code 2 means "do not respawn me"
    if (slot.error !== null && !expected) {
      logError(Level.Alert, `worker process ${slot.tid} failed: ${slot.error}`);
      logError(Level.Alert, `worker process ${slot.tid} exited on uncaught exception`);
    } else if (code === 2 && !expected) {
      logError(Level.Alert, `worker process ${slot.tid} exited with fatal code 2 and cannot be respawned`);
    } else {
      logError(Level.Notice, `worker process ${slot.tid} exited with code ${code}`);
    }
    // a worker that died in the middle of a shared dict operation must not leave its zone locked
    for (const z of gen.zones) {
      if (SharedDict.forceUnlock(z, slot.tid)) logError(Level.Alert, `shared memory zone "${z.name}" was locked by ${slot.tid}`);
    }
    this.wake();
    if (expected || gen !== this.gen || (code === 2 && slot.error === null)) {
      this.maybeFinished();
      return;
    }
    // nginx respawns a worker that died; one that dies right after starting waits a little first
    const delay = Date.now() - slot.startedAt < 1000 ? 1000 : 0;
    setTimeout(() => void this.respawn(slot), delay);
  }

  private async respawn(dead: Slot): Promise<void> {
    const gen = dead.gen;
    if (this.stopping || gen !== this.gen || gen.initLog === null) return;
    let handles: RawHandle[][];
    const binder = new Binder(1);
    try {
      handles = await binder.dup(gen.specs.map((s) => this.keeperHandle(s.key)));
    } catch (e) {
      logError(Level.Alert, `could not respawn worker process: ${(e as Error).message}`);
      return;
    } finally {
      binder.close();
    }
    if (this.stopping || gen !== this.gen) return;
    const slot = this.spawn(gen, dead.id, false, handles.map((h) => h[0].fd));
    gen.slots[gen.slots.indexOf(dead)] = slot;
  }

  private keeperHandle(key: string): RawHandle {
    const k = this.listeners.get(key)!.keeper;
    return k instanceof net.Server ? ((k as unknown as { _handle: RawHandle })._handle) : k;
  }

  // ---- reload ----------------------------------------------------------------------------------

  private async reload(): Promise<void> {
    if (this.stopping) return;
    if (this.reloading) {
      logError(Level.Notice, 'reconfiguring is already in progress');
      return;
    }
    this.reloading = true;
    try {
      await this.doReload();
    } finally {
      this.reloading = false;
    }
  }

  private async doReload(): Promise<void> {
    logError(Level.Notice, 'reconfiguring');
    let loaded: LoadedConfig;
    try {
      loaded = loadConfig(this.opts.confPath, this.opts.prefix, this.opts.globals);
    } catch (e) {
      const msg = e instanceof ConfigError ? e.message : (e as Error).message;
      logError(e instanceof ConfigError && e.level === 'error' ? Level.Err : Level.Emerg, msg);
      return;
    }
    const el = this.errlogFor(loaded);
    try {
      errorLog.open(el.path, el.level);
    } catch (e) {
      logError(Level.Emerg, `open() "${el.path}" failed (${(e as Error).message})`);
      return;
    }
    const specs = listenSpecs(loaded);
    const gen = this.newGeneration(loaded, specs, true);
    // descriptors: copies of the sockets kept from the last configuration, new binds for new ones
    const kept = specs.filter((s) => this.listeners.has(s.key));
    const fresh = specs.filter((s) => !this.listeners.has(s.key));
    const bySpec = new Map<string, RawHandle[]>();
    const binder = new Binder(gen.count + 1);
    let posted = false;
    try {
      this.spawnGeneration(gen);
      const keptHandles = await binder.dup(kept.map((s) => this.keeperHandle(s.key)));
      kept.forEach((s, i) => bySpec.set(s.key, keptHandles[i]));
      await this.whenAll(gen, (s) => s.booted);
      const freshHandles = await binder.bind(fresh);
      fresh.forEach((s, i) => bySpec.set(s.key, freshHandles[i]));
      for (const slot of gen.slots) this.post(slot, { t: 'listen', fds: specs.map((s) => bySpec.get(s.key)![slot.id].fd) });
      posted = true;
      await this.whenReady(gen);
    } catch (e) {
      logError(Level.Err, `reload failed, keeping the running workers: ${(e as Error).message}`);
      this.abortGeneration(gen);
      // descriptors handed to the new workers are theirs (they close with the threads); the rest
      // are closed here
      for (const hs of bySpec.values()) hs.forEach((h, i) => (!posted || i === gen.count) && h.close());
      for (const s of fresh) if (s.listen.path && bySpec.has(s.key)) safeUnlink(s.listen.path);
      return;
    } finally {
      binder.close();
    }
    // the new generation serves: retire the old one
    const oldListeners = this.listeners;
    this.listeners = new Map();
    for (const s of specs) {
      const prev = oldListeners.get(s.key);
      this.listeners.set(s.key, { spec: s, keeper: bySpec.get(s.key)![gen.count] });
      if (prev) oldListeners.delete(s.key);
      if (s.listen.path) this.unixPaths.add(s.listen.path);
    }
    const retired = this.gen;
    const inproc = this.inproc;
    this.gen = gen;
    this.inproc = null;
    this.loaded = loaded;
    if (retired) {
      this.old.push(retired);
      this.retire(retired);
    }
    if (inproc) await inproc.stop(true, this.loaded.main.workerShutdownTimeout);
    // sockets no longer configured close when the last old worker has let go of them
    for (const l of oldListeners.values()) {
      if (!(l.keeper instanceof net.Server)) l.keeper.close();
      if (l.spec.listen.path) {
        this.unixPaths.delete(l.spec.listen.path);
        safeUnlink(l.spec.listen.path);
      }
    }
  }

  private retire(gen: Generation): void {
    gen.retiring = true;
    for (const s of gen.slots) {
      s.stopping = true;
      this.post(s, { t: 'stop', graceful: true });
    }
    const limit = gen.loaded.main.workerShutdownTimeout;
    if (limit > 0) {
      // the workers close lingering connections at the limit themselves; this catches a stuck one
      setTimeout(() => {
        for (const s of gen.slots) if (!s.exited) void s.thread.terminate();
      }, limit + 2000).unref();
    }
  }

  // ---- stop --------------------------------------------------------------------------------------

  private finishWaiters: (() => void)[] = [];

  private maybeFinished(): void {
    this.old = this.old.filter((g) => g.slots.some((s) => !s.exited));
    if (!this.allExited()) return;
    const w = this.finishWaiters;
    this.finishWaiters = [];
    for (const f of w) f();
  }

  private allExited(): boolean {
    const gens = this.gen ? [this.gen, ...this.old] : this.old;
    return gens.every((g) => g.slots.every((s) => s.exited));
  }

  async stop(graceful: boolean): Promise<void> {
    void this.configWatcher?.close();
    if (this.stopping && graceful) return;
    const already = this.stopping;
    this.stopping = true;
    const main = this.loaded.main;
    if (!already) logError(Level.Notice, graceful ? 'gracefully shutting down' : 'exiting');
    const gens = this.gen ? [this.gen, ...this.old] : [...this.old];
    for (const g of gens) {
      g.retiring = true;
      for (const s of g.slots) {
        s.stopping = true;
        this.post(s, { t: 'stop', graceful });
      }
    }
    const done = new Promise<void>((r) => {
      this.finishWaiters.push(r);
      this.maybeFinished();
    });
    const inproc = this.inproc ? this.inproc.stop(graceful, main.workerShutdownTimeout) : Promise.resolve();
    // fast stop: workers get a second to run exit_worker_by_lua, then they are terminated
    const limit = graceful ? (main.workerShutdownTimeout > 0 ? main.workerShutdownTimeout + 2000 : 0) : 1000;
    const timer = limit > 0 ? setTimeout(() => {
      for (const g of gens) for (const s of g.slots) if (!s.exited) void s.thread.terminate();
    }, limit) : null;
    await Promise.all([done, inproc]);
    if (timer) clearTimeout(timer);
    this.finish();
  }

  private finish(): never {
    flushAccessLogs();
    safeUnlink(this.loaded.main.pid);
    for (const p of this.unixPaths) safeUnlink(p);
    logError(Level.Notice, 'exit');
    process.exit(0);
  }

  // ---- signals, pid file -------------------------------------------------------------------------

  private writePid(): void {
    const pid = this.loaded.main.pid;
    try {
      fs.mkdirSync(path.dirname(pid), { recursive: true });
      fs.writeFileSync(pid, `${process.pid}\n`);
    } catch (e) {
      logError(Level.Emerg, `open() "${pid}" failed (${(e as Error).message})`);
    }
  }

  private installSignals(): void {
    process.on('SIGTERM', () => void this.stop(false));
    process.on('SIGINT', () => void this.stop(false));
    process.on('SIGQUIT', () => void this.stop(true));
    process.on('SIGUSR1', () => {
      logError(Level.Notice, 'reopening logs');
      errorLog.reopen();
      reopenAccessLogs();
      for (const g of this.gen ? [this.gen, ...this.old] : this.old) for (const s of g.slots) this.post(s, { t: 'reopen' });
    });
    // nginx handles these; Node's default action for them would end the process
    process.on('SIGALRM', () => undefined);
    process.on('SIGIO', () => undefined);
    process.on('SIGWINCH', () => logError(Level.Notice, 'signal 28 (SIGWINCH) received: ignored (tsresty never runs as a daemon)'));
    process.on('SIGUSR2', () => logError(Level.Notice, 'signal 12 (SIGUSR2) received: binary upgrade is not supported'));
    process.on('SIGHUP', () => {
      logError(Level.Notice, 'signal 1 (SIGHUP) received, reconfiguring');
      void this.reload();
    });
  }
}

/** Binds `spec` for the in-process worker (a unix socket under a temporary name, renamed into
 *  place, so that closing the server at a reload does not unlink the path the new workers serve). */
function listenInProcess(server: net.Server, spec: ListenSpec): Promise<void> {
  const p = spec.listen.path;
  return new Promise((resolve, reject) => {
    if (p !== undefined && fs.existsSync(p)) {
      reject(new Error(`bind() to unix:${p} failed (98: Address already in use)`));
      return;
    }
    const listen = p !== undefined ? { ...spec.listen, path: `${p}.${process.pid}.tmp` } : spec.listen;
    const onError = (e: NodeJS.ErrnoException): void => {
      const where = p !== undefined ? `unix:${p}` : `${spec.listen.host ?? '0.0.0.0'}:${spec.port}`;
      reject(new Error(e.code === 'EADDRINUSE' ? `bind() to ${where} failed (98: Address already in use)` : `bind() to ${where} failed (${e.message})`));
    };
    server.once('error', onError);
    server.listen(listen, () => {
      server.off('error', onError);
      try {
        if (p !== undefined) fs.renameSync(listen.path!, p);
        resolve();
      } catch (e) {
        reject(e);
      }
    });
  });
}

function safeUnlink(p: string): void {
  try {
    fs.unlinkSync(p);
  } catch {
    // already gone
  }
}

export async function startServer(loaded: LoadedConfig, opts: StartOptions): Promise<RunningServer> {
  const m = new Master(loaded, opts);
  await m.start();
  return { stop: (graceful) => m.stop(graceful) };
}
