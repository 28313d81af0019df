/**
 * The configuration AST shared by the parser, the validator and the runtime.
 *
 * Strings are "binary strings": nginx.conf is read as bytes and every byte
 * becomes one UTF-16 code unit (latin1 decoding), so no byte sequence is
 * altered. Use `Buffer.from(arg, 'latin1')` to get the exact bytes back (e.g.
 * for Lua sources, header values, echo output).
 */
export interface Directive {
  name: string;
  /** Arguments after nginx's unescaping; `$var`/`${var}` kept verbatim. */
  args: string[];
  /** File as nginx names it (conf prefix + relative include path, unnormalized). */
  file: string;
  /**
   * Line nginx attributes to the directive: the line of its terminating ';'
   * or opening '{' (what nginx prints in "... in file:LINE" for this directive).
   * For *_by_lua_block it is the line of the opening '{', which is also the line
   * lua-nginx-module puts in the chunk name (`content_by_lua(nginx.conf:LINE)`).
   * For one-line `content_by_lua '...';` it is the line of the ';'.
   */
  line: number;
  /** Children of a `{ ... }` block (absent for simple and Lua-block directives). */
  block?: Directive[];
  /** Line of the closing '}' for blocks and Lua blocks. */
  endLine?: number;
  /**
   * Set for `*_by_lua_block { ... }`: the last argument is the Lua source, the
   * exact text between the outer braces (braces excluded, nothing trimmed).
   */
  luaBlock?: boolean;
}

/**
 * Callbacks the parser invokes in nginx's order of evaluation. nginx runs each
 * directive's handler as soon as its ';' or '{' is read, so e.g. an unknown
 * directive is reported even if the file has a syntax error further down.
 */
export interface ParseHooks {
  /**
   * A directive's words have been read. `hasBlock` tells whether it ended
   * with '{'. `d.block` is not filled yet; for Lua blocks the source is not
   * lexed yet (nginx checks context/arity before the Lua lexer runs).
   */
  directive?(d: Directive, parents: readonly Directive[], hasBlock: boolean): void;
  /** A *_by_lua_block body was lexed; its source is the last argument. */
  luaBlock?(d: Directive, parents: readonly Directive[]): void;
  /** The closing '}' of a regular block was read. */
  blockEnd?(d: Directive, parents: readonly Directive[]): void;
}

/** Directive names whose body nginx lexes as Lua (ngx_http_lua_conf_lua_block_parse). */
export function isLuaBlockName(name: string): boolean {
  return name.endsWith('_by_lua_block');
}

/**
 * Blocks whose body is not a list of directives but is handed to a custom
 * handler (nginx's cf->handler): `types`, `map`, ... Their entries are kept as
 * Directive nodes (first word = name) but never looked up in the table.
 */
export const FREEFORM_BLOCKS: ReadonlySet<string> = new Set([
  'types',
  'map',
  'geo',
  'split_clients',
  'charset_map',
]);
