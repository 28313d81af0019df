// Development mode (tsresty --watch, or lua_code_cache off anywhere): chokidar watches the config
// files, every *_by_lua_file and every Lua module that gets required. A Lua edit is live on the
// next request; a config edit asks the master to re-read, validate and swap the configuration.
// One log line per reload names the files and how long the swap took.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { runtimeDir } from '../lua/vm.js';
import { watch, type FSWatcher } from 'chokidar';
import { CodeReloader } from '../lua/reload.js';
import { logError, Level } from '../log/errorlog.js';
import type { LuaVM } from '../lua/vm.js';

export interface DevHost {
  vm: LuaVM;
  /** *_by_lua_file paths known from the configuration (without $variables) */
  luaFiles: string[];
  /** nginx.conf and its includes (the master watches them; workers pass none) */
  configFiles?: string[];
  /** re-read and swap the configuration; resolves false when it was invalid and kept */
  reloadConfig?(): Promise<boolean>;
}

/** Directories of the user's lua_package_path templates ("/x/lua/?.lua" -> "/x/lua"), not the
 *  runtime's own lua/ directory or the current directory. */
function moduleDirs(vm: LuaVM): string[] {
  const dirs = new Set<string>();
  const rt = runtimeDir();
  for (const t of vm.packagePath().split(';')) {
    const q = t.indexOf('?');
    if (q <= 0) continue;
    const dir = path.resolve(path.dirname(t.slice(0, q) + 'x'));
    if (dir === process.cwd() || dir.startsWith(rt) || !fs.existsSync(dir)) continue;
    dirs.add(dir);
  }
  return [...dirs];
}

/** Debounce window for editors that write a file in several steps. */
const SETTLE_MS = 15;

export class DevMode {
  readonly reloader: CodeReloader;
  /** resolves once the initial watches are in place (the server listens only after that, so
   *  an edit made right after start-up is not missed) */
  readonly ready: Promise<void>;
  private readonly watcher: FSWatcher;
  private readonly pending = new Map<string, NodeJS.Timeout>();
  private readonly configFiles: Set<string>;

  constructor(private readonly host: DevHost) {
    this.configFiles = new Set((host.configFiles ?? []).map((f) => path.resolve(f)));
    // module directories are watched from the start, so a module's first edit is never missed
    // while a watch on its file is still being set up
    const initial = [...this.configFiles, ...host.luaFiles.map((f) => path.resolve(f)), ...moduleDirs(host.vm)];
    this.watcher = watch(initial, {
      ignoreInitial: true,
      persistent: false,
      depth: 0,
    });
    // watches are not persistent (they must not keep a stopping server alive), so while the
    // initial scan runs nothing else may hold the event loop open yet: keep it alive until ready
    this.ready = initial.length === 0
      ? Promise.resolve()
      : new Promise((resolve) => {
        const keepAlive = setInterval(() => {}, 1000);
        this.watcher.once('ready', () => {
          clearInterval(keepAlive);
          resolve();
        });
      });
    this.reloader = new CodeReloader(host.vm, (file) => this.watcher.add(file));
    this.watcher.on('change', (file) => this.changed(path.resolve(file)));
    this.watcher.on('add', (file) => this.changed(path.resolve(file)));
    this.watcher.on('error', (e) => logError(Level.Warn, `file watcher: ${(e as Error).message}`));
  }

  /** The last compile error of any watched Lua file, for development 500 pages. */
  lastError(): string | null {
    for (const e of this.reloader.errors.values()) return e;
    return null;
  }

  close(): Promise<void> {
    for (const t of this.pending.values()) clearTimeout(t);
    return this.watcher.close();
  }

  private changed(file: string): void {
    const t = this.pending.get(file);
    if (t) clearTimeout(t);
    this.pending.set(file, setTimeout(() => this.apply(file), SETTLE_MS));
  }

  private apply(file: string): void {
    this.pending.delete(file);
    const t0 = performance.now();
    if (this.configFiles.has(file) && this.host.reloadConfig) {
      void this.host.reloadConfig().then((ok) => {
        const ms = (performance.now() - t0).toFixed(1);
        if (ok) logError(Level.Notice, `reloaded configuration after a change to ${file} in ${ms} ms`);
      });
      return;
    }
    const r = this.reloader.fileChanged(file);
    const ms = (performance.now() - t0).toFixed(1);
    if (!r.ok) {
      logError(Level.Err, `not reloading ${file}, keeping the last good version: ${r.error}`);
      return;
    }
    if (!r.chunk && r.modules.length === 0) return; // a file in a watched directory that nothing loaded
    const what = [r.chunk ? 'chunk' : '', r.modules.length ? `modules ${r.modules.join(', ')}` : ''].filter(Boolean).join(' and ');
    logError(Level.Notice, `reloaded ${file} (${what}) in ${ms} ms`);
  }
}
