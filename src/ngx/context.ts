// Which request (if any) the running Lua code belongs to, and lua-nginx-module's per-phase API
// restrictions ("API disabled in the context of log_by_lua*").
import { currentTask } from '../lua/scheduler.js';
import { luaError, type LuaState } from '../lua/bridge.js';
import type { Request } from '../http/request.js';

/** Context kinds as bits, so API functions check membership with one AND. */
export const Ctx = {
  set: 1 << 0,
  rewrite: 1 << 1,
  server_rewrite: 1 << 2,
  access: 1 << 3,
  content: 1 << 4,
  log: 1 << 5,
  header_filter: 1 << 6,
  body_filter: 1 << 7,
  timer: 1 << 8,
  init_worker: 1 << 9,
  balancer: 1 << 10,
  init: 1 << 11,
  exit_worker: 1 << 12,
} as const;

export type CtxName = keyof typeof Ctx;

/** Where cosockets, sleep and other yielding APIs may run. */
export const YIELDABLE = Ctx.rewrite | Ctx.server_rewrite | Ctx.access | Ctx.content | Ctx.timer;
export const REQUEST_PHASES = Ctx.set | Ctx.rewrite | Ctx.server_rewrite | Ctx.access | Ctx.content | Ctx.log | Ctx.header_filter | Ctx.body_filter | Ctx.balancer;
export const ALL = (1 << 13) - 1;

/** The context name for messages: "set_by_lua*", "ngx.timer", "init_by_lua*"... */
export function contextLabel(kind: string): string {
  if (kind === 'timer') return 'ngx.timer';
  return `${kind}_by_lua*`;
}

export function currentKind(): string {
  const t = currentTask();
  return t === null ? 'init' : t.kind;
}

/** Raise OpenResty's error when the running context is not in `mask`. */
export function checkContext(L: LuaState, mask: number): void {
  const kind = currentKind();
  const bit = (Ctx as Record<string, number>)[kind] ?? 0;
  if ((bit & mask) === 0) luaError(L, `API disabled in the context of ${contextLabel(kind)}`);
}

/** The request of the running code, or a Lua error "no request found". */
export function getRequest(L: LuaState): Request {
  const t = currentTask();
  const r = t === null ? null : (t.req as Request | null);
  if (r == null) luaError(L, 'no request found');
  return r;
}

export function maybeRequest(): Request | null {
  const t = currentTask();
  return t === null ? null : ((t.req as Request | null) ?? null);
}

/** Where log lines of the running code belong: its request, or a timer's "context: ngx.timer". */
export function currentLogContext(): import('../log/errorlog.js').LogContext | null {
  const t = currentTask();
  if (t === null) return null;
  return (t.req as Request | null) ?? ((t as unknown as { log?: import('../log/errorlog.js').LogContext }).log ?? null);
}
