/**
 * nginx.conf parser: builds the Directive tree, expands `include` (globs
 * sorted, relative paths resolved against the conf prefix, i.e. the directory
 * of the main configuration file) and lexes *_by_lua_block bodies as Lua.
 *
 * Port of ngx_conf_parse(): nginx runs every directive's handler as soon as
 * its ';' or '{' is read, so errors surface in file order. Validation
 * (validate.ts) is plugged in through ParseHooks to keep that order.
 */
import * as fs from 'node:fs';
import * as nodePath from 'node:path';
import { FREEFORM_BLOCKS, isLuaBlockName, type Directive, type ParseHooks } from './ast.js';
import { ConfigError, errnoSuffix } from './errors.js';
import { expandGlob, hasGlobMagic, toFs } from './glob.js';
import { ConfSource, readLuaBlock, readToken } from './lexer.js';
import { createValidator, type Validation } from './validate.js';

export type { Directive, ParseHooks } from './ast.js';

export interface ParseOptions {
  /** nginx's -p prefix: a relative config path is resolved against it (default: cwd). */
  prefix?: string;
  /** Run validate.ts while parsing (default true). */
  validate?: boolean;
  /** Extra hooks, called after the validator's. */
  hooks?: ParseHooks;
  /**
   * nginx's -g option: directives parsed before the file, in the main
   * context, sharing its duplicate checks; errors say "in command line".
   */
  globals?: string;
  /**
   * Run the checks that need the whole configuration (the events block).
   * Default: true for parseConfig, false for parseConfigString.
   */
  complete?: boolean;
}

/** nginx gives up long before this (it runs out of file descriptors). */
const MAX_INCLUDE_DEPTH = 200;

/** A JS string's UTF-8 bytes as a binary string. */
function latin1(text: string): string {
  return Buffer.from(text, 'utf8').toString('latin1');
}

function withSlash(p: string): string {
  return p.endsWith('/') ? p : p + '/';
}

/**
 * Where nginx would look for the main file and its includes:
 * `file` = prefix + path unless absolute (ngx_conf_full_name()),
 * `confPrefix` = directory of that file, with a trailing slash.
 */
export function resolveConfPath(path: string, prefix?: string): { file: string; confPrefix: string } {
  const base = withSlash(prefix ?? process.cwd());
  const file = path.startsWith('/') ? path : base + path;
  return { file, confPrefix: file.slice(0, file.lastIndexOf('/') + 1) };
}

/** Reads a file as nginx would, as a binary string; errors worded like nginx. */
function readConfFile(file: string, from: ConfSource | null): string {
  let fd: number;
  try {
    fd = fs.openSync(toFs(file), 'r');
  } catch (e) {
    const detail = `open() "${file}" failed${errnoSuffix(e)}`;
    throw new ConfigError(detail, from ? from.name : '', from ? from.line : 0, 'io');
  }
  try {
    return fs.readFileSync(fd).toString('latin1');
  } catch (e) {
    // nginx logs read errors at [crit] without a conf location
    throw new ConfigError(`pread() "${file}" failed${errnoSuffix(e)}`, '', 0, 'io', 'crit');
  } finally {
    fs.closeSync(fd);
  }
}

function composeHooks(a: ParseHooks | null, b: ParseHooks | undefined): ParseHooks {
  if (!a) return b ?? {};
  if (!b) return a;
  return {
    directive(d, p, hasBlock) {
      a.directive?.(d, p, hasBlock);
      b.directive?.(d, p, hasBlock);
    },
    luaBlock(d, p) {
      a.luaBlock?.(d, p);
      b.luaBlock?.(d, p);
    },
    blockEnd(d, p) {
      a.blockEnd?.(d, p);
      b.blockEnd?.(d, p);
    },
  };
}

class Parser {
  private depth = 0;

  constructor(
    private readonly confPrefix: string,
    private readonly hooks: ParseHooks,
  ) {}

  parseFile(file: string, parents: Directive[], out: Directive[], from: ConfSource | null): void {
    if (this.depth >= MAX_INCLUDE_DEPTH) {
      throw new ConfigError(`open() "${file}" failed (24: Too many open files)`, from?.name ?? '', from?.line ?? 0, 'io');
    }
    const src = new ConfSource(readConfFile(file, from), file);
    this.depth++;
    try {
      this.parseBody(src, false, parents, out);
    } finally {
      this.depth--;
    }
  }

  /** ngx_conf_parse() for one file or block; `inBlock`: a '}' ends it. */
  private parseBody(src: ConfSource, inBlock: boolean, parents: Directive[], out: Directive[]): void {
    const parent = parents.length ? parents[parents.length - 1] : null;
    const freeform = parent !== null && FREEFORM_BLOCKS.has(parent.name);
    for (;;) {
      const tok = readToken(src);
      if (tok.rc === 'block_done') {
        if (!inBlock) throw src.error('unexpected "}"');
        return;
      }
      if (tok.rc === 'file_done') {
        if (inBlock) throw src.error('unexpected end of file, expecting "}"');
        return;
      }
      const hasBlock = tok.rc === 'block_start';
      if (hasBlock && src.param) throw src.error('block directives are not supported in -g option');
      const d: Directive = { name: tok.words[0], args: tok.words.slice(1), file: src.name, line: src.line };
      if (freeform) {
        // custom handler (types {}, map {}): no directive lookup, no nesting
        if (hasBlock) throw src.error('unexpected "{"');
        if (d.name === 'include') {
          if (d.args.length !== 1) throw src.error('invalid number of arguments in "include" directive');
          this.include(src, d, parents, out);
        } else {
          out.push(d);
        }
        continue;
      }
      this.hooks.directive?.(d, parents, hasBlock);
      if (d.name === 'include') {
        this.checkInclude(src, d, hasBlock);
        this.include(src, d, parents, out);
        continue;
      }
      out.push(d);
      if (!hasBlock) continue;
      if (isLuaBlockName(d.name)) {
        const body = readLuaBlock(src);
        d.args.push(body.source);
        d.luaBlock = true;
        d.endLine = body.endLine;
        this.hooks.luaBlock?.(d, parents);
      } else {
        d.block = [];
        const inner = parents.concat(d);
        this.parseBody(src, true, inner, d.block);
        d.endLine = src.line;
        this.hooks.blockEnd?.(d, parents);
      }
    }
  }

  /** `include` is valid everywhere; the parser checks what nginx's generic code would. */
  private checkInclude(src: ConfSource, d: Directive, hasBlock: boolean): void {
    if (hasBlock) throw src.error('directive "include" is not terminated by ";"');
    if (d.args.length !== 1) throw src.error('invalid number of arguments in "include" directive');
  }

  /** ngx_conf_include(): included directives join the current block. */
  private include(src: ConfSource, d: Directive, parents: Directive[], out: Directive[]): void {
    const arg = d.args[0];
    const file = arg.startsWith('/') ? arg : this.confPrefix + arg;
    if (!hasGlobMagic(file)) {
      this.parseFile(file, parents, out, src);
      return;
    }
    for (const match of expandGlob(file)) this.parseFile(match, parents, out, src);
  }

  parseString(text: string, name: string, out: Directive[], param = false): void {
    this.parseBody(new ConfSource(text, name, param), false, [], out);
  }
}

function makeParser(confPrefix: string, opts: ParseOptions): { parser: Parser; validator: Validation | null } {
  const validator = opts.validate === false ? null : createValidator();
  return { parser: new Parser(confPrefix, composeHooks(validator, opts.hooks)), validator };
}

/**
 * Parses (and by default validates) the main configuration file.
 * Throws ConfigError with nginx's wording on the first problem.
 */
export function parseConfig(path: string, opts: ParseOptions = {}): Directive[] {
  const { file, confPrefix } = resolveConfPath(path, opts.prefix);
  const out: Directive[] = [];
  const { parser, validator } = makeParser(confPrefix, opts);
  if (opts.globals) parser.parseString(latin1(opts.globals), 'command line', out, true);
  parser.parseFile(file, [], out, null);
  if (opts.complete !== false) validator?.finish();
  return out;
}

/**
 * Parses configuration text as if it were the file `fileName` (includes are
 * resolved against its directory, messages name `fileName`). `text` is a JS
 * string and is taken as its UTF-8 bytes, the way it would be written to disk.
 * Directives are validated unless `validate: false`; the whole-configuration
 * checks (events block) only run with `complete: true`.
 */
export function parseConfigString(text: string, fileName = 'nginx.conf', opts: ParseOptions = {}): Directive[] {
  const abs = nodePath.isAbsolute(fileName) ? fileName : withSlash(opts.prefix ?? process.cwd()) + fileName;
  const confPrefix = abs.slice(0, abs.lastIndexOf('/') + 1);
  const out: Directive[] = [];
  const { parser, validator } = makeParser(confPrefix, opts);
  parser.parseString(latin1(text), fileName, out);
  if (opts.complete === true) validator?.finish();
  return out;
}
