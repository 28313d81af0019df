/**
 * Checks a configuration against the directive table the way nginx's
 * ngx_conf_handler() and the modules' set handlers do, with nginx's wording:
 *   unknown directive "x"
 *   "x" directive is not allowed here
 *   directive "x" is not terminated by ";"
 *   directive "x" has no opening "{"
 *   invalid number of arguments in "x" directive
 *   "x" directive is duplicate
 *   invalid value "v" in "x" directive, it must be "on" or "off"
 * plus a few handler-level checks (locations, upstreams, lua_shared_dict, ...).
 *
 * Used as parser hooks (so errors come out in nginx's order) or on a finished
 * tree (validateConfig).
 */
import { FREEFORM_BLOCKS, type Directive, type ParseHooks } from './ast.js';
import { ConfigError, type ConfigErrorCode, type ConfigErrorLevel } from './errors.js';
import {
  lookupDirective,
  specFor,
  type ArgRule,
  type Context,
  type DirectiveSpec,
} from './directives.js';
import { ngxAtoi, ngxParseOffset, ngxParseSize, ngxParseTime } from './values.js';
import { checkHttpBlock, checkLocation, checkUpstreamEnd } from './validate-http.js';

export type BlockContext = Context | 'freeform' | null;

/** The context children of `parents` live in (nginx's cf->cmd_type). */
export function contextOf(parents: readonly Directive[]): BlockContext {
  const n = parents.length;
  if (n === 0) return 'main';
  const p = parents[n - 1];
  switch (p.name) {
    case 'events':
      return 'events';
    case 'http':
      return 'http';
    case 'server':
      return 'srv';
    case 'location':
      return 'loc';
    case 'if':
      return n >= 2 && parents[n - 2].name === 'server' ? 'sif' : 'lif';
    case 'limit_except':
      return 'lmt';
    case 'upstream':
      return 'ups';
  }
  return FREEFORM_BLOCKS.has(p.name) ? 'freeform' : null;
}

/** NGX_CONF_MAX_ARGS */
const MAX_ARGS = 8;

function arityOk(rule: ArgRule, n: number): boolean {
  if (rule.any) return true;
  if (rule.flag) return n === 1;
  if (rule.min !== undefined) return n >= rule.min;
  if (n + 1 > MAX_ARGS) return false;
  return rule.counts !== undefined && rule.counts.includes(n);
}

function fail(
  d: Directive,
  detail: string,
  code: ConfigErrorCode,
  line = d.line,
  level: ConfigErrorLevel = 'emerg',
): never {
  throw new ConfigError(detail, d.file, line, code, level);
}

/** Number of nginx-level arguments (a Lua block's source is not one of them). */
function nginxArgCount(d: Directive): number {
  return d.luaBlock ? d.args.length - 1 : d.args.length;
}

/** Checks a slot's value like ngx_conf_set_*_slot; returns the error text (rv) or null. */
function slotError(spec: DirectiveSpec, d: Directive): string | null {
  const v = d.args[0] ?? '';
  switch (spec.slot) {
    case 'flag': {
      const l = v.toLowerCase();
      if (l === 'on' || l === 'off') return null;
      return fail(d, `invalid value "${v}" in "${d.name}" directive, it must be "on" or "off"`, 'invalid_value');
    }
    case 'num':
      return ngxAtoi(v) === null ? 'invalid number' : null;
    case 'size':
      return ngxParseSize(v) === null ? 'invalid value' : null;
    case 'off':
      return ngxParseOffset(v) === null ? 'invalid value' : null;
    case 'msec':
    case 'sec':
      return ngxParseTime(v, spec.slot === 'sec') === null ? 'invalid value' : null;
    case 'enum':
      if (spec.values!.includes(v.toLowerCase())) return null;
      // ngx_conf_set_enum_slot() logs this at [warn], then fails
      return fail(d, `invalid value "${v}"`, 'invalid_value', d.line, 'warn');
    case 'bufs': {
      const num = ngxAtoi(v);
      const sz = ngxParseSize(d.args[1] ?? '');
      return !num || !sz ? 'invalid value' : null;
    }
    default:
      return null;
  }
}

class Validator implements ParseHooks {
  /** block (or ROOT) -> dup key -> name of the directive that set it */
  private readonly seen = new WeakMap<object, Map<string, string>>();
  private readonly root = {};
  readonly shdicts = new Map<string, number>();
  readonly upstreams = new Set<string>();
  private sawEvents = false;

  directive(d: Directive, parents: readonly Directive[], hasBlock: boolean): void {
    const ctx = contextOf(parents);
    if (ctx === 'freeform') return;
    const specs = lookupDirective(d.name);
    if (!specs) fail(d, `unknown directive "${d.name}"`, 'unknown_directive');
    const spec = ctx === null ? undefined : specFor(d.name, ctx);
    if (!spec) fail(d, `"${d.name}" directive is not allowed here`, 'not_allowed');
    if (!spec.block && hasBlock) fail(d, `directive "${d.name}" is not terminated by ";"`, 'not_terminated');
    if (spec.block && !hasBlock) fail(d, `directive "${d.name}" has no opening "{"`, 'no_opening_brace');
    if (!arityOk(spec.args, nginxArgCount(d))) {
      fail(d, `invalid number of arguments in "${d.name}" directive`, 'arity');
    }
    if (d.name === 'events' && ctx === 'main') this.sawEvents = true;
    // a Lua block's handler runs after its body is read (luaBlock hook)
    if (!(spec.block && d.name.endsWith('_by_lua_block'))) this.handler(d, spec, parents, false);
  }

  luaBlock(d: Directive, parents: readonly Directive[]): void {
    const ctx = contextOf(parents);
    const spec = ctx && ctx !== 'freeform' ? specFor(d.name, ctx) : undefined;
    if (spec) this.handler(d, spec, parents, true);
  }

  blockEnd(d: Directive, parents: readonly Directive[]): void {
    if (d.name === 'upstream' && contextOf(parents) === 'http') checkUpstreamEnd(d);
    if (d.name === 'http' && parents.length === 0) checkHttpBlock(d);
  }

  /** End of the whole configuration (ngx_event_init_conf). */
  finish(): void {
    if (!this.sawEvents) throw new ConfigError('no "events" section in configuration', '', 0, 'semantic');
  }

  /** What the directive's set handler would check. `luaRaw`: called from a Lua block parse. */
  private handler(d: Directive, spec: DirectiveSpec, parents: readonly Directive[], luaRaw: boolean): void {
    // lua-nginx-module's block parser logs a handler's error string as is,
    // at the line of the closing '}' (e.g. just "is duplicate in f:L")
    const line = luaRaw ? (d.endLine ?? d.line) : d.line;
    const rv = (msg: string, code: ConfigErrorCode): never =>
      fail(d, luaRaw ? msg : `"${d.name}" directive ${msg}`, code, line);

    if (spec.check === 'base32_alphabet') this.checkBase32(d);
    const scope = parents.length ? parents[parents.length - 1] : this.root;
    const key = spec.dupKey ?? (spec.slot ? spec.name : spec.check === 'root_alias' ? 'root' : undefined);
    if (key !== undefined) {
      let m = this.seen.get(scope);
      if (!m) this.seen.set(scope, (m = new Map()));
      const prev = m.get(key);
      if (prev !== undefined) {
        if (spec.check === 'root_alias' && prev !== d.name) {
          fail(d, `"${d.name}" directive is duplicate, "${prev}" directive was specified earlier`, 'duplicate');
        }
        rv('is duplicate', 'duplicate');
      }
      m.set(key, d.name);
    }
    const err = slotError(spec, d);
    if (err) rv(err, 'invalid_value');
    if (spec.check) this.check(spec, d, parents, line);
  }

  private check(spec: DirectiveSpec, d: Directive, parents: readonly Directive[], line: number): void {
    switch (spec.check) {
      case 'lua_code':
        if (d.args[d.args.length - 1] === '') {
          fail(d, 'invalid location config: no runnable Lua code', 'semantic', line, 'error');
        }
        return;
      case 'lua_shared_dict':
        return this.checkSharedDict(d);
      case 'set_var':
        if (!d.args[0].startsWith('$')) fail(d, `invalid variable name "${d.args[0]}"`, 'invalid_value');
        return;
      case 'root_alias': {
        const p = parents[parents.length - 1];
        if (d.name === 'alias' && p && p.name === 'location' && p.args.length === 1 && p.args[0].startsWith('@')) {
          fail(d, 'the "alias" directive cannot be used inside the named location', 'not_allowed');
        }
        return;
      }
      case 'ups_keepalive': {
        const n = ngxAtoi(d.args[0]);
        if (!n) fail(d, `invalid value "${d.args[0]}" in "${d.name}" directive`, 'invalid_value');
        return;
      }
      case 'location':
        return checkLocation(d, parents);
      case 'upstream': {
        // ngx_http_upstream_add(): names compare case-insensitively
        const name = d.args[0].toLowerCase();
        if (this.upstreams.has(name)) fail(d, `duplicate upstream "${d.args[0]}"`, 'duplicate');
        this.upstreams.add(name);
        return;
      }
    }
  }

  private checkBase32(d: Directive): void {
    const len = d.args[0].length;
    if (len !== 32) {
      fail(d, `"set_base32_alphabet" directive takes an alphabet of ${len} bytes but 32 expected`, 'invalid_value');
    }
  }

  /** ngx_http_lua_shared_dict() + ngx_shared_memory_add(). */
  private checkSharedDict(d: Directive): void {
    const [name, sizeArg] = d.args;
    if (name === '') fail(d, `invalid lua shared dict name "${name}"`, 'invalid_value');
    const size = ngxParseSize(sizeArg);
    if (size === null || size <= 8191) fail(d, `invalid lua shared dict size "${sizeArg}"`, 'invalid_value');
    const prev = this.shdicts.get(name);
    if (prev !== undefined) {
      if (prev !== size) {
        fail(d, `the size ${size} of shared memory zone "${name}" conflicts with already declared size ${prev}`, 'duplicate');
      }
      fail(d, `lua_shared_dict "${name}" is already defined as "${name}"`, 'duplicate');
    }
    this.shdicts.set(name, size);
  }
}

export interface Validation extends Required<ParseHooks> {
  /** Checks that need the whole configuration; call after parsing. */
  finish(): void;
}

/** Parser hooks performing nginx's checks as the configuration is read. */
export function createValidator(): Validation {
  const v = new Validator();
  return {
    directive: (d, p, b) => v.directive(d, p, b),
    luaBlock: (d, p) => v.luaBlock(d, p),
    blockEnd: (d, p) => v.blockEnd(d, p),
    finish: () => v.finish(),
  };
}

/** Validates a tree produced with `validate: false`, in document order. */
export function validateConfig(tree: readonly Directive[]): void {
  const v = createValidator();
  const walk = (list: readonly Directive[], parents: Directive[]): void => {
    for (const d of list) {
      if (contextOf(parents) === 'freeform') {
        if (d.block) fail(d, 'unexpected "{"', 'syntax');
        continue;
      }
      v.directive(d, parents, d.block !== undefined || d.luaBlock === true);
      if (d.luaBlock) v.luaBlock(d, parents);
      else if (d.block) {
        walk(d.block, parents.concat(d));
        v.blockEnd(d, parents);
      }
    }
  };
  walk(tree, []);
  v.finish();
}

/**
 * Names of directives used in `tree` whose table status is still 'accepted'
 * (parsed and validated, but not implemented by the runtime).
 */
export function acceptedDirectives(tree: readonly Directive[]): Set<string> {
  const out = new Set<string>();
  const walk = (list: readonly Directive[], parents: Directive[]): void => {
    const ctx = contextOf(parents);
    if (ctx === 'freeform') return;
    for (const d of list) {
      const spec = (ctx && specFor(d.name, ctx)) || lookupDirective(d.name)?.[0];
      if (spec && spec.status === 'accepted') out.add(d.name);
      if (d.block) walk(d.block, parents.concat(d));
    }
  };
  walk(tree, []);
  return out;
}
