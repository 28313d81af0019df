// The rewrite module's per-location script (set, rewrite, return, if, break) plus the directives
// that run in it in config order: set_by_lua* and set-misc's set_*. Compiled at config load into
// ScriptOps, executed synchronously in the (server_)rewrite phase.
import * as fs from 'node:fs';
import type { Request } from './request.js';
import type { LocationConf, LuaCode } from '../config/model.js';
import { evalComplex, type Complex } from './complex.js';
import { getVariable, setVariable } from './variables.js';
import { finalize } from './output.js';
import { logError, Level } from '../log/errorlog.js';
import { fsPath } from './static.js';

export const enum ScriptResult {
  Continue = 0,
  Break = 1,
  Done = 2,
}

export type Cond =
  | { kind: 'var'; value: Complex }
  | { kind: 'cmp'; value: Complex; neg: boolean; rhs: Complex }
  | { kind: 'regex'; value: Complex; neg: boolean; re: RegExp }
  | { kind: 'file'; value: Complex; neg: boolean; test: 'f' | 'd' | 'e' | 'x' };

export type ScriptOp =
  | { op: 'set'; name: string; value: Complex }
  | { op: 'rewrite'; re: RegExp; replacement: Complex; flag: 'last' | 'break' | 'redirect' | 'permanent' | null; redirect: boolean; noArgs: boolean }
  | { op: 'return'; code: number; text: Complex | null }
  | { op: 'if'; cond: Cond; loc: LocationConf }
  | { op: 'break' }
  /** set_by_lua / set-misc: computed by a module function */
  | { op: 'fn'; name: string; args: Complex[]; fn: (req: Request, args: string[]) => string | null | undefined; lua?: LuaCode };

/** Run ops in order; `return`/redirects finalise the request (Done). */
export function runScript(req: Request, ops: ScriptOp[]): ScriptResult {
  for (let i = 0; i < ops.length; i++) {
    const op = ops[i];
    switch (op.op) {
      case 'set': {
        // changeable built-ins ($args, $limit_rate...) go through their setter, like nginx's
        const v = evalComplex(req, op.value);
        if (setVariable(req, op.name, v, req.worker.declaredVars) !== 'ok') req.vars.set(op.name, v);
        break;
      }
      case 'fn': {
        const args = op.args.map((a) => evalComplex(req, a));
        const v = op.fn(req, args);
        if (req.finalized) return ScriptResult.Done;
        if (v === undefined) {
          // the function failed (NGX_ERROR): ndk's script code stops with a 500
          finalize(req, 500);
          return ScriptResult.Done;
        }
        req.vars.set(op.name, v);
        break;
      }
      case 'break':
        return ScriptResult.Break;
      case 'return':
        return doReturn(req, op.code, op.text);
      case 'rewrite': {
        const r = doRewrite(req, op);
        if (r !== ScriptResult.Continue || req.finalized) return req.finalized ? ScriptResult.Done : r;
        break;
      }
      case 'if': {
        if (!testCond(req, op.cond)) break;
        // the "if" block acts as a nested location: its own script runs, then its settings apply
        req.loc = op.loc;
        const r = runScript(req, op.loc.script);
        if (r !== ScriptResult.Continue) return r;
        break;
      }
    }
  }
  return ScriptResult.Continue;
}

function doReturn(req: Request, code: number, text: Complex | null): ScriptResult {
  if (code === 444) {
    finalize(req, 444);
    return ScriptResult.Done;
  }
  const value = text ? evalComplex(req, text) : null;
  if (code >= 301 && code <= 308 && code !== 304 && value !== null) {
    req.headersOut.setRedirect(value);
    finalize(req, code);
    return ScriptResult.Done;
  }
  if (value !== null) {
    req.worker.hooks.sendText(req, code, value);
    return ScriptResult.Done;
  }
  finalize(req, code);
  return ScriptResult.Done;
}

function doRewrite(req: Request, op: Extract<ScriptOp, { op: 'rewrite' }>): ScriptResult {
  const m = op.re.exec(req.uri);
  if (m === null) return ScriptResult.Continue;
  req.captures = Array.from(m);
  let target = evalComplex(req, op.replacement);
  if (op.redirect) {
    if (!op.noArgs && req.args && !target.includes('?')) target += '?' + req.args;
    req.headersOut.setRedirect(target);
    finalize(req, op.flag === 'permanent' ? 301 : 302);
    return ScriptResult.Done;
  }
  const q = target.indexOf('?');
  if (q >= 0) {
    const newArgs = target.slice(q + 1);
    req.args = op.noArgs || !req.args ? newArgs : newArgs + (newArgs ? '&' : '') + req.args;
    req.hasArgs = req.args !== '';
    target = target.slice(0, q);
  } else if (op.noArgs) {
    req.args = '';
    req.hasArgs = false;
  }
  req.uri = target;
  req.uriChanged = true;
  if (op.flag === 'last') return ScriptResult.Break;
  if (op.flag === 'break') {
    req.uriChanged = false;
    return ScriptResult.Break;
  }
  return ScriptResult.Continue;
}

export function testCond(req: Request, c: Cond): boolean {
  const v = evalComplex(req, c.value);
  switch (c.kind) {
    case 'var':
      return v !== '' && v !== '0';
    case 'cmp':
      return (v === evalComplex(req, c.rhs)) !== c.neg;
    case 'regex': {
      const m = c.re.exec(v);
      if (m !== null && !c.neg) req.captures = Array.from(m);
      return (m !== null) !== c.neg;
    }
    case 'file': {
      let ok = false;
      try {
        const st = fs.statSync(fsPath(v));
        ok = c.test === 'f' ? st.isFile() : c.test === 'd' ? st.isDirectory() : c.test === 'x' ? (st.mode & 0o111) !== 0 : true;
      } catch {
        ok = false;
      }
      return ok !== c.neg;
    }
  }
}

/** Variables read for logging errors in scripts (kept for symmetry with nginx's messages). */
export function scriptVar(req: Request, name: string): string | null {
  const v = getVariable(req, name);
  if (v === null) logError(Level.Info, `using uninitialized "${name}" variable`, req);
  return v;
}
