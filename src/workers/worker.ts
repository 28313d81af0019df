// A worker: one Lua VM, one transport on the shared listening sockets, and the glue between the
// transport's exchanges and the request phases. With worker_processes 1 it runs in the main thread.
import * as path from 'node:path';
import type * as net from 'node:net';
import { lua, lauxlib } from '../lua/fengari.js';
import type { HttpConf, LuaCode, MainConf, ServerConf } from '../config/model.js';
import { createTransport, type Exchange, type Transport, type ClientErrorInfo } from '../http/transport.js';
import { Request, Framing, type OutputSink } from '../http/request.js';
import { runPhases, internalRedirect, namedRedirect } from '../http/phases.js';
import { findServer } from '../http/location.js';
import { finalize, dateHeader, serverTokens, output, endRequest, sendHeader, closeRequest } from '../http/output.js';
import { runLuaLog } from '../http/lua-handlers.js';
import { subrequestDone } from '../http/subrequest.js';
import { timers } from '../ngx/timer.js';
import { watchClientAbort } from '../ngx/abort.js';
import { storeBody, removeBodyFile } from '../http/body-file.js';
import { DevMode } from './dev.js';
import { createLuaRuntime } from '../lua/runtime.js';
import type { LuaVM } from '../lua/vm.js';
import { LuaTask, TaskEnd, startTask, type TaskHost } from '../lua/scheduler.js';
import { logError, Level, type LogContext } from '../log/errorlog.js';
import { writeAccessLog, flushAccessLogs } from '../log/accesslog.js';
import { evalComplex, compileComplex } from '../http/complex.js';
import '../config/apply-core.js';
import '../config/apply-lua.js';
import '../config/apply-proxy.js';
import '../http/core-filters.js';
import '../modules/echo.js';
import '../modules/headers-more.js';
import '../modules/set-misc-directives.js';

export interface WorkerOptions {
  id: number;
  count: number;
  /** this worker's generation was started by a reload (HUP), not by the server's start: nginx ran
   * its init_by_lua in the master process then, where ngx.worker.id() is nil (worker-api.ts) */
  reload?: boolean;
  /** listening sockets to serve, already bound (shared between workers) or to create */
  listeners: { server?: net.Server; listen?: net.ListenOptions; port: number }[];
  /** development mode (--watch or lua_code_cache off): what to watch and how to reload config */
  dev?: { luaFiles: string[] } | null;
}

interface PortServers {
  servers: ServerConf[];
  def: ServerConf;
}

export class Worker {
  readonly http: HttpConf;
  readonly vm: LuaVM;
  readonly hooks = this;
  private transport: Transport | null = null;
  private readonly byPort = new Map<number, PortServers>();
  exiting = false;
  /** hot reload of Lua files and config (null in production) */
  devMode: DevMode | null = null;

  constructor(
    readonly conf: MainConf,
    readonly declaredVars: Set<string>,
    readonly opts: WorkerOptions,
  ) {
    this.http = conf.http!;
    const rt = createLuaRuntime(
      { packagePath: this.http.luaPackagePath, packageCPath: this.http.luaPackageCPath, prefix: conf.prefix },
      this,
      this.http.luaInstructionBudget,
    );
    this.vm = rt.vm;
    if (opts.dev) this.devMode = new DevMode({ vm: this.vm, ...opts.dev });
    for (const s of this.http.servers) {
      for (const l of s.listens) {
        let e = this.byPort.get(l.port);
        if (!e) this.byPort.set(l.port, (e = { servers: [], def: s }));
        e.servers.push(s);
        if (l.defaultServer) e.def = s;
      }
    }
  }

  /** Run a top-level chunk (init_by_lua, init_worker_by_lua) to completion; throws on error. */
  runTopLevel(code: LuaCode, kind: string): void {
    let ref: number;
    try {
      ref = code.kind === 'file' ? this.vm.compileFile(code.path!) : (code.ref ||= this.vm.compile(code.code, code.chunkName));
    } catch (e) {
      // lua-nginx-module reports load errors like run-time ones: "init_by_lua error: <msg>"
      throw new Error(`${kind}_by_lua error: ${(e as Error).message}`);
    }
    let failure: string | null = null;
    const host: TaskHost = {
      taskDone(_t, end, err) {
        if (end === TaskEnd.Error) failure = err;
      },
    };
    const task = new LuaTask(host, kind, null);
    // ngx.log lines of init_worker / exit_worker end with ", context: init_worker_by_lua*"
    if (kind !== 'init') (task as unknown as { log: LogContext }).log = { connSerial: () => 0, logSuffix: () => `, context: ${kind}_by_lua*` };
    startTask(task, ref, 0);
    if (failure !== null) throw new Error(`${kind}_by_lua error: ${failure}`);
  }

  async start(): Promise<void> {
    if (this.devMode) await this.devMode.ready;
    if (this.http.initWorkerByLua) {
      try {
        this.runTopLevel(this.http.initWorkerByLua, 'init_worker');
      } catch (e) {
        logError(Level.Err, (e as Error).message);
      }
    }
    const first = this.http.servers[0];
    const s = first.root.s;
    this.transport = createTransport({
      listeners: this.opts.listeners.map((l) => {
        const def = this.byPort.get(l.port)?.def ?? first;
        return {
          server: l.server,
          listen: l.listen,
          options: {
            clientHeaderTimeout: def.clientHeaderTimeout,
            clientBodyTimeout: def.root.s.clientBodyTimeout,
            sendTimeout: def.root.s.sendTimeout,
            keepaliveTimeout: def.root.s.keepaliveTimeout,
            keepaliveRequests: def.root.s.keepaliveRequests,
            largeHeaderBufferSize: def.largeHeaderBuffers.size,
            largeHeaderBuffers: def.largeHeaderBuffers.num,
            postponeOutput: def.root.s.postponeOutput,
            serverTokens: def.root.s.serverTokens === 'off' ? 'nginx' : 'nginx/1.22.1',
          },
        };
      }),
      onRequest: (x) => this.onRequest(x),
      onClientError: (info) => this.onClientError(info),
      onInternalError: (err) => logError(Level.Alert, `internal error: ${(err as Error)?.stack ?? err}`),
    });
    void s;
    await this.transport.ready;
  }

  /**
   * Graceful (QUIT, reload): stop accepting, fire pending timers with premature = true, let
   * in-flight requests finish (those still running after `forceAfterMs`, nginx's
   * worker_shutdown_timeout, are closed; 0 = wait), then run exit_worker_by_lua.
   * Fast (TERM): close every connection now, then the same timers and exit_worker_by_lua.
   */
  stop(graceful: boolean, forceAfterMs = 0): Promise<void> {
    if (this.stopping === null) this.stopping = this.doStop(graceful, forceAfterMs);
    else if (!graceful && this.transport) void this.transport.close(0);
    return this.stopping;
  }

  private stopping: Promise<void> | null = null;

  private async doStop(graceful: boolean, forceAfterMs: number): Promise<void> {
    this.exiting = true;
    void this.devMode?.close();
    const closed = this.transport ? this.transport.close(graceful ? (forceAfterMs > 0 ? forceAfterMs : undefined) : 0) : Promise.resolve();
    timers.expireAll();
    if (graceful) {
      await closed;
      // like an nginx worker, wait for timer callbacks still running (sleeping, on a socket), up to
      // worker_shutdown_timeout when one is set
      const end = forceAfterMs > 0 ? Date.now() + forceAfterMs : Infinity;
      while (timers.running > 0 && Date.now() < end) await new Promise((r) => setTimeout(r, 10));
    }
    if (this.http.exitWorkerByLua) {
      try {
        this.runTopLevel(this.http.exitWorkerByLua, 'exit_worker');
      } catch (e) {
        logError(Level.Err, (e as Error).message);
      }
    }
    flushAccessLogs();
  }

  private onClientError(info: ClientErrorInfo): void {
    if (info.code === 'eof' || info.code === 'ECONNRESET') return;
    const level = info.status === 408 ? Level.Info : Level.Info;
    logError(level, `${info.reason}, client: ${info.remoteAddress}, server: , request: "${info.requestLine}"`);
  }

  private onRequest(x: Exchange): void {
    const head = x.head;
    const req = new Request(this, x, x);
    req.sink = mainSink;
    req.method = head.method;
    req.httpVersion = head.httpMajor + head.httpMinor / 10;
    req.protocol = `HTTP/${head.httpMajor}.${head.httpMinor}`;
    req.unparsedUri = head.uri;
    req.requestLine = `${head.method} ${head.uri} ${req.protocol}`;
    req.headersIn = head.headers.slice();
    req.startTime = x.startTime;
    req.requestLength = x.requestLength;
    const ps = this.byPort.get(x.localPort) ?? { servers: this.http.servers, def: this.http.servers[0] };
    req.server = findServer(ps.servers, ps.def, req.headerIn('host'));
    req.loc = req.server.root;
    if (!req.server.underscoresInHeaders && req.server.ignoreInvalidHeaders) dropUnderscoreHeaders(req);
    if (!req.setUriAndArgs(head.uri)) {
      logError(Level.Info, 'client sent invalid request', req);
      finalize(req, 400);
      return;
    }
    try {
      runPhases(req);
    } catch (e) {
      this.internalFailure(req, e);
    }
  }

  internalFailure(req: Request, e: unknown): void {
    logError(Level.Alert, `internal error while processing request: ${(e as Error)?.stack ?? e}`, req);
    if (!req.finalized) finalize(req, req.headerSent ? -1 : 500);
  }

  // ---- hooks used by the phase engine and the ngx API ---------------------------------------

  errorPage(req: Request, status: number, uri: string, overwrite: number | null): boolean {
    if (req.method !== 'HEAD') req.method = 'GET';
    // nginx's ngx_http_send_error_page: "error_page 404 /x" keeps 404 as r->err_status,
    // "= 200" forces a code, a bare "=" lets the redirected location decide - from
    // r->headers_out.status, which the redirect keeps: ngx.exit(404) has set it to 404 (a Lua
    // error page then answers 404 too), nginx's own errors (a missing file, a bad request) have not
    req.status = req.exitCode === status ? status : 0;
    req.errStatus = overwrite === null ? status : overwrite === -1 ? 0 : overwrite;
    if (uri.startsWith('@')) return namedRedirect(req, uri);
    const target = evalComplex(req, compileComplex(uri));
    if (/^https?:\/\//.test(target)) {
      req.headersOut.setRedirect(target); // r->headers_out.location, like any core redirect
      req.status = 0;
      finalize(req, overwrite && overwrite > 0 ? overwrite : 302);
      return true;
    }
    const q = target.indexOf('?');
    internalRedirect(req, q < 0 ? target : target.slice(0, q), q < 0 ? null : target.slice(q + 1));
    return true;
  }

  logPhase(req: Request): void {
    if (req.main !== req) return;
    try {
      runLuaLog(req);
    } catch (e) {
      logError(Level.Err, `log_by_lua failed: ${(e as Error).message}`, req);
    }
    const al = req.loc?.s.accessLog;
    if (al) writeAccessLog(req, al.path, al.format, this.http.logFormats);
  }

  cleanup(req: Request): void {
    if (req.bodyFile !== null) removeBodyFile(req);
    this.releaseCtx(req);
    if (req.parent !== null) subrequestDone(req);
  }

  /** Drop the request's ngx.ctx table unless it belongs to someone else (capture's ctx). */
  private releaseCtx(req: Request): void {
    if (req.ctxRef !== 0 && !req.ctxShared) lauxlib.luaL_unref(this.vm.L, lua.LUA_REGISTRYINDEX, req.ctxRef);
    req.ctxRef = 0;
    req.ctxShared = false;
  }

  resetForRedirect(req: Request): void {
    // nginx clears all module contexts on an internal redirect: ngx.ctx starts empty again
    this.releaseCtx(req);
    req.ext = Object.create(null);
  }

  /** Read the whole request body; cb(0) on success or cb(status) after the request was finalised. */
  readBody(req: Request, cb: (status: number) => void): void {
    const x = req.main.transport as Exchange | null;
    if (req.bodyRead || x === null) {
      req.bodyRead = true;
      cb(0);
      return;
    }
    x.bodyTimeout = req.loc.s.clientBodyTimeout; // a location-level directive in nginx
    // ngx.req.set_header("Content-Length", n) before the body is read: nginx reads n bytes
    const cl = req.headerIn('content-length');
    const limit = cl !== null && /^\d{1,15}$/.test(cl) ? Number(cl) : -1;
    x.readBody(req.loc.s.clientMaxBodySize, (err, chunks) => {
      req.bodyRead = true;
      if (err === null) {
        storeBody(req, chunks && chunks.length ? (chunks.length === 1 ? chunks[0] : Buffer.concat(chunks)) : null);
        cb(0);
        return;
      }
      if (err === 'too_large') {
        logError(Level.Err, `client intended to send too large body`, req);
        finalize(req, 413);
        cb(413);
        return;
      }
      if (err === 'timeout') logError(Level.Info, 'client timed out (110: Connection timed out) while reading client request body', req);
      // nginx terminates the request: 408 / 499 in the access log, nothing sent (the connection
      // is closed by the transport)
      const status = err === 'timeout' ? 408 : err === 'invalid' ? 400 : 499;
      req.status = status;
      closeRequest(req);
      cb(status);
    }, limit);
  }

  discardBody(req: Request): void {
    const x = req.main.transport as Exchange | null;
    if (x && !req.bodyRead) x.discardBody();
    req.bodyRead = true;
  }

  /** `return CODE text`: the text as the body with default_type. */
  sendText(req: Request, code: number, text: string): void {
    req.status = code;
    req.headersOut.contentType = req.loc.s.defaultType;
    req.headersOut.contentLength = Buffer.byteLength(text, 'latin1');
    output(req, Buffer.from(text, 'latin1'), true);
    endRequest(req);
  }

  watchClientAbort(req: Request): void {
    watchClientAbort(req);
  }

  taskEnded(_req: Request, _task: LuaTask): void {
    // light threads and per-request timers will hook in here
  }

  resolveLuaFile(req: Request, code: LuaCode): string {
    const p = evalComplex(req, compileComplex(code.path!));
    return path.isAbsolute(p) ? p : path.join(this.conf.prefix, p);
  }
}

/** nginx (underscores_in_headers off, ignore_invalid_headers on, the defaults) ignores header
 *  lines whose name has an underscore; they stay in the raw header. */
function dropUnderscoreHeaders(req: Request): void {
  const h = req.headersIn;
  let i = 0;
  while (i < h.length && h[i].indexOf('_') < 0) i += 2;
  if (i >= h.length) return;
  const kept: string[] = h.slice(0, i);
  for (; i < h.length; i += 2) {
    if (h[i].indexOf('_') < 0) kept.push(h[i], h[i + 1]);
    else logError(Level.Info, `client sent invalid header line: "${h[i]}: ${h[i + 1]}"`, req);
  }
  req.headersIn = kept;
}

/** Output to the client connection through the transport's exchange. */
const mainSink: OutputSink = {
  sendHeader(req: Request, framing: Framing): void {
    const x = req.transport as Exchange;
    const h = req.headersOut;
    const flat = h.toFlat(serverTokens(req), dateHeader());
    x.writeHead(req.status, req.statusLine, flat.headers, {
      contentLength: h.contentLength >= 0 ? h.contentLength : undefined,
      chunked: req.loc.s.chunkedTransferEncoding,
      close: framing === Framing.Close || req.worker.exiting,
      headOnly: req.method === 'HEAD',
      lengthAt: flat.lengthAt,
      connectionAt: flat.connectionAt,
    });
  },
  write(req: Request, data: Uint8Array): void {
    (req.transport as Exchange).write(data);
  },
  end(req: Request): void {
    (req.transport as Exchange).end();
  },
  flush(req: Request, cb: ((err?: Error) => void) | null): void {
    (req.transport as Exchange).flush(cb ? (err) => cb(err ?? undefined) : undefined);
  },
  abort(req: Request): void {
    (req.transport as Exchange).close();
  },
};

export { sendHeader };
