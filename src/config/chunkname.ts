/**
 * Chunk names lua-nginx-module gives inline Lua code
 * (ngx_http_lua_gen_chunk_name() in ngx_http_lua_directive.c), e.g.
 * "=content_by_lua(nginx.conf:42)". Lua then reports errors as
 * "content_by_lua(nginx.conf:42):3: ..." where 3 is the line inside the chunk
 * (line 1 is the rest of the line holding the opening '{' or quote).
 */
import type { Directive } from './ast.js';

/** LJ_CHUNKNAME_MAX_LEN: LuaJIT keeps 60 chars, minus the fixed "=(:)". */
const MAX_LEN = 56;

/** The tag for a directive: its name without "_block" (content_by_lua_block -> content_by_lua). */
export function luaChunkTag(directiveName: string): string {
  return directiveName.endsWith('_block') ? directiveName.slice(0, -'_block'.length) : directiveName;
}

/**
 * "=tag(file:line)": a file ending in "/nginx.conf" shows as "nginx.conf",
 * a file under the conf prefix by its relative path, anything else by its
 * full path; names too long are cut from the left and start with "...".
 */
export function luaChunkName(tag: string, file: string, line: number, confPrefix: string): string {
  const reserve = tag.length + String(line).length;
  let shown: string;
  let pre = '';
  if (file.length >= 11 && file.endsWith('/nginx.conf')) {
    shown = 'nginx.conf';
  } else {
    const underPrefix = confPrefix.length > 0 && confPrefix.length < file.length && file.startsWith(confPrefix);
    shown = underPrefix ? file.slice(confPrefix.length) : file;
    const fits = underPrefix ? shown.length + reserve <= MAX_LEN : file.length + reserve <= MAX_LEN;
    if (!fits) {
      shown = file.slice(file.length - MAX_LEN + reserve + 3);
      pre = '...';
    }
  }
  return `=${tag}(${pre}${shown}:${line})`;
}

/** Chunk name for an inline Lua directive of the tree. */
export function directiveChunkName(d: Directive, confPrefix: string): string {
  return luaChunkName(luaChunkTag(d.name), d.file, d.line, confPrefix);
}
