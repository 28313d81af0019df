// Subrequests (ngx_http_subrequest): a child request run through the phases at an internal URI.
// Its output is either captured (ngx.location.capture) or inserted into the parent's response at
// the point it was issued (echo_location), in issue order, like nginx's postpone filter.
import { Request, type OutputSink, type Framing } from './request.js';
import { runPhases, PHASE_SERVER_REWRITE } from './phases.js';
import { sendHeader } from './output.js';
import { logError, Level } from '../log/errorlog.js';

export interface SubrequestOptions {
  method?: string;
  args?: string | null;
  body?: Buffer | null;
  /** without `body`: forward the parent's request body (echo_location and POST/PUT captures) */
  inheritBody?: boolean;
  /** 'share': the parent's variables (nginx default); 'copy': a snapshot; 'fresh': none */
  vars?: 'share' | 'copy' | 'fresh';
  /** variables to set in the subrequest before it runs */
  setVars?: Map<string, string>;
  /** registry ref of a table to use as the subrequest's ngx.ctx */
  ctxRef?: number;
  /** true: output goes into the parent's response; false: captured */
  inline: boolean;
  /** prefix of the "subrequests cycle" error line ("lua " for ngx.location.capture) */
  logPrefix?: string;
}

/** nginx limits subrequest nesting (NGX_HTTP_MAX_SUBREQUESTS is about count; depth 200 in 1.13+) */
const MAX_DEPTH = 50;

interface Slot {
  sr: Request | null;
  chunks: Uint8Array[];
  done: boolean;
  end: boolean;
}

export function startSubrequest(parent: Request, uri: string, opts: SubrequestOptions, onDone: (sr: Request) => void): Request | null {
  let depth = 0;
  for (let p: Request | null = parent; p && p !== p.main; p = p.parent) depth++;
  if (depth >= MAX_DEPTH) {
    logError(Level.Err, `${opts.logPrefix ?? ''}subrequests cycle while processing "${uri}"`, parent);
    return null;
  }
  const sr = new Request(parent.worker, parent.conn, null);
  sr.main = parent.main;
  sr.parent = parent;
  sr.method = opts.method ?? 'GET';
  sr.protocol = parent.protocol;
  sr.httpVersion = parent.httpVersion;
  sr.requestLine = parent.main.requestLine;
  sr.unparsedUri = opts.args ? `${uri}?${opts.args}` : uri;
  // a copy: ngx.req.set_header in a subrequest must not change the parent's headers
  sr.headersIn = parent.headersIn.slice();
  sr.rawHeader = parent.rawHeader;
  sr.startTime = Date.now();
  sr.server = parent.server;
  sr.loc = parent.server.root;
  sr.internal = true;
  sr.setUriAndArgs(uri);
  if (opts.args != null) {
    sr.args = opts.args;
    sr.hasArgs = opts.args !== '';
  }
  if (opts.vars === 'share' || opts.vars === undefined) sr.vars = parent.vars;
  else if (opts.vars === 'copy') sr.vars = new Map(parent.vars);
  if (opts.setVars) for (const [k, v] of opts.setVars) sr.vars.set(k, v);
  if (opts.body != null) {
    sr.body = opts.body;
    sr.bodyRead = true;
  } else if (opts.inheritBody !== false) {
    if (parent.bodyRead) {
      // sr->request_body = r->request_body: in memory or in its temp file
      sr.body = parent.body;
      sr.bodyFile = parent.bodyFile;
      sr.bodyRead = true;
    }
  } else sr.bodyRead = true;
  if (opts.ctxRef) sr.ctxRef = opts.ctxRef;
  sr.onSubrequestDone = onDone;
  if (opts.inline) {
    sr.sink = inlineSink;
    (parent.postponed ??= []).push({ sr, chunks: [], done: false, end: false } as never);
  } else {
    sr.sink = captureSink;
    sr.captureBody = [];
  }
  sr.phase = PHASE_SERVER_REWRITE;
  // nginx posts subrequests to run after the current handler returns
  setImmediate(runSubrequest, sr);
  return sr;
}

function runSubrequest(sr: Request): void {
  if (sr.main.finalized && sr.main.finished) {
    subrequestDone(sr);
    return;
  }
  try {
    runPhases(sr);
  } catch (e) {
    sr.worker.internalFailure(sr, e);
  }
}

/** Called from the worker's cleanup when a subrequest is finalised. */
export function subrequestDone(sr: Request): void {
  const cb = sr.onSubrequestDone;
  if (!cb) return;
  sr.onSubrequestDone = null;
  cb(sr);
}

// ---- output ordering (the postpone filter) -------------------------------------------------------

/** A request's output after its body filters: straight on, or queued behind pending subrequests. */
export function deliver(req: Request, data: Uint8Array | null, end: boolean): void {
  const q = req.postponed as Slot[] | null;
  if (q === null || q.length === 0) {
    passOn(req, data, end);
    return;
  }
  let last = q[q.length - 1];
  if (last.sr !== null) {
    last = { sr: null, chunks: [], done: true, end: false };
    q.push(last);
  }
  if (data !== null && data.length > 0) last.chunks.push(data);
  if (end) last.end = true;
  drain(req);
}

function passOn(req: Request, data: Uint8Array | null, end: boolean): void {
  if (!req.headerSent) sendHeader(req);
  if (data !== null && data.length > 0) req.sink.write(req, data);
  if (end) req.sink.end(req);
}

function drain(p: Request): void {
  const q = p.postponed as Slot[];
  while (q.length > 0) {
    const s = q[0];
    for (let i = 0; i < s.chunks.length; i++) passOn(p, s.chunks[i], false);
    s.chunks.length = 0;
    if (s.sr !== null && !s.done) return;
    q.shift();
    if (s.end) {
      passOn(p, null, true);
      return;
    }
  }
}

function slotOf(sr: Request): Slot | null {
  const q = sr.parent!.postponed as Slot[] | null;
  if (!q) return null;
  for (const s of q) if (s.sr === sr) return s;
  return null;
}

const inlineSink: OutputSink = {
  sendHeader(_req: Request, _framing: Framing): void {
    // nginx's header filter ignores subrequests: their status/headers stay on the subrequest
  },
  write(sr: Request, data: Uint8Array): void {
    const s = slotOf(sr);
    if (s === null) return;
    s.chunks.push(data);
    drain(sr.parent!);
  },
  end(sr: Request): void {
    const s = slotOf(sr);
    if (s === null) return;
    s.done = true;
    drain(sr.parent!);
  },
  flush(sr: Request, cb): void {
    const p = sr.parent!;
    p.sink.flush(p, cb);
  },
  abort(sr: Request): void {
    inlineSink.end(sr);
  },
};

const captureSink: OutputSink = {
  sendHeader(): void {},
  write(sr: Request, data: Uint8Array): void {
    sr.captureBody!.push(data);
  },
  end(sr: Request): void {
    // the last buffer arrived (a body filter clearing eof leaves the capture truncated)
    sr.ext.captureEnded = true;
  },
  flush(_sr: Request, cb): void {
    if (cb) cb();
  },
  abort(sr: Request): void {
    sr.ext.aborted = true;
  },
};
