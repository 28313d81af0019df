/**
 * nginx.conf tokenizer, a behavioural port of ngx_conf_read_token()
 * (src/core/ngx_conf_file.c), plus the Lua-block lexer of lua-nginx-module
 * (ngx_http_lua_conf_read_lua_token() in ngx_http_lua_directive.c and the
 * generated matcher in ngx_http_lua_lex.c).
 *
 * nginx reads the file through a 4096-byte buffer and a few of its errors
 * ("too long parameter", "Lua code block missing the closing long bracket ...,
 * the inlined Lua code may be too long") depend on where the buffer ends. We
 * keep the whole file in memory but track where nginx's buffer would end
 * (`ConfSource.last`) so those errors fire exactly when nginx's would.
 */
import { ConfigError } from './errors.js';

/** NGX_CONF_BUFFER: size of nginx's configuration read buffer. */
export const NGX_CONF_BUFFER = 4096;

const LF = 10;
const CR = 13;
const TAB = 9;
const SPACE = 32;
const SEMI = 59;
const LBRACE = 123;
const RBRACE = 125;
const HASH = 35;
const BACKSLASH = 92;
const DQUOTE = 34;
const SQUOTE = 39;
const DOLLAR = 36;
const RPAREN = 41;

/** One configuration file being read (nginx's ngx_conf_file_t). */
export class ConfSource {
  /** File contents as a binary (latin1) string: one char per byte. */
  readonly text: string;
  readonly size: number;
  /** Name used in messages. */
  readonly name: string;
  /** Current line (cf->conf_file->line). */
  line = 1;
  /** Read position (b->pos), absolute offset in `text`. */
  pos = 0;
  /** End of the emulated read buffer (b->last), absolute offset. */
  last = 0;

  /** Text of nginx's -g option (ngx_conf_param()): one buffer, line numbers start at 0. */
  readonly param: boolean;

  constructor(text: string, name: string, param = false) {
    this.text = text;
    this.size = text.length;
    this.name = name;
    this.param = param;
    if (param) {
      this.line = 0;
      this.last = this.size;
    }
  }

  error(detail: string, code: 'syntax' | 'lua_block' = 'syntax'): ConfigError {
    return new ConfigError(detail, this.name, this.line, code);
  }
}

export type TokenRc = 'ok' | 'block_start' | 'block_done' | 'file_done';

export interface Token {
  /** ok: words ended by ';'; block_start: by '{'; block_done: '}'; file_done: EOF. */
  rc: TokenRc;
  words: string[];
}

function isSpace(ch: number): boolean {
  return ch === SPACE || ch === TAB || ch === CR || ch === LF;
}

/**
 * Copies a word, undoing the escapes nginx undoes: \" \' \\ lose their
 * backslash, \t \r \n become control characters; any other backslash is kept
 * together with the character after it.
 */
export function unescapeWord(text: string, from: number, to: number): string {
  const w = text.slice(from, to);
  let i = w.indexOf('\\');
  if (i < 0) return w;
  let out = '';
  let seg = 0;
  while (i >= 0) {
    const next = w.charCodeAt(i + 1);
    if (next === DQUOTE || next === SQUOTE || next === BACKSLASH) {
      out += w.slice(seg, i) + w[i + 1];
      seg = i + 2;
    } else if (next === 116 /* t */ || next === 114 /* r */ || next === 110 /* n */) {
      out += w.slice(seg, i) + (next === 116 ? '\t' : next === 114 ? '\r' : '\n');
      seg = i + 2;
    }
    // any other backslash is kept, and the char after it is an ordinary char
    i = w.indexOf('\\', i + 2);
  }
  return out + w.slice(seg);
}

/** Lexer state of one ngx_conf_read_token() call. */
interface TokState {
  needSpace: boolean;
  lastSpace: boolean;
  sharp: boolean;
  variable: boolean;
  quoted: boolean;
  sQuoted: boolean;
  dQuoted: boolean;
  start: number;
  startLine: number;
}

/** The "buffer full" check nginx makes before refilling its buffer. */
function refill(src: ConfSource, st: TokState, words: string[]): Token | null {
  if (src.last >= src.size) {
    if (words.length > 0 || !st.lastSpace) {
      if (src.param) throw src.error('unexpected end of parameter, expecting ";"');
      throw src.error('unexpected end of file, expecting ";" or "}"');
    }
    return { rc: 'file_done', words };
  }
  if (src.pos - st.start === NGX_CONF_BUFFER) {
    src.line = st.startLine;
    if (!st.dQuoted && !st.sQuoted) {
      throw src.error(`too long parameter "${src.text.substr(st.start, 10)}..." started`);
    }
    const q = st.dQuoted ? '"' : "'";
    throw src.error(`too long parameter, probably missing terminating "${q}" character`);
  }
  src.last = Math.min(src.size, st.start + NGX_CONF_BUFFER);
  return null;
}

/**
 * Reads one directive's words, up to and including its terminator.
 * Port of ngx_conf_read_token(); quirks kept on purpose:
 *  - a quoted word must be followed by whitespace, ';', '{' or ')'
 *    (anything else: `unexpected "X"`); ')' then starts a word of its own;
 *  - '#' starts a comment only where a new word could start;
 *  - '{' right after '$' inside a word does not end it (`a${b}`), but a word
 *    that *starts* with '$' is not flagged, so a bare `${x}` splits at '{';
 *  - a backslash makes the next char ordinary (it can escape ';', '{', ' '),
 *    the backslash itself is only removed for \" \' \\ \t \r \n.
 */
export function readToken(src: ConfSource): Token {
  const text = src.text;
  const words: string[] = [];
  const st: TokState = {
    needSpace: false,
    lastSpace: true,
    sharp: false,
    variable: false,
    quoted: false,
    sQuoted: false,
    dQuoted: false,
    start: src.pos,
    startLine: src.line,
  };

  for (;;) {
    if (src.pos >= src.last) {
      const done = refill(src, st, words);
      if (done) return done;
    }

    const ch = text.charCodeAt(src.pos++);

    if (ch === LF) {
      src.line++;
      st.sharp = false;
    }
    if (st.sharp) continue;
    if (st.quoted) {
      st.quoted = false;
      continue;
    }

    if (st.needSpace) {
      if (isSpace(ch)) {
        st.lastSpace = true;
        st.needSpace = false;
        continue;
      }
      if (ch === SEMI) return { rc: 'ok', words };
      if (ch === LBRACE) return { rc: 'block_start', words };
      if (ch !== RPAREN) throw src.error(`unexpected "${String.fromCharCode(ch)}"`);
      // `if ($a = "b")`: the ')' becomes a word of its own (falls through)
      st.lastSpace = true;
      st.needSpace = false;
    }

    if (st.lastSpace) {
      if (isSpace(ch)) continue;
      st.start = src.pos - 1;
      st.startLine = src.line;
      switch (ch) {
        case SEMI:
        case LBRACE:
          if (words.length === 0) throw src.error(`unexpected "${String.fromCharCode(ch)}"`);
          return { rc: ch === LBRACE ? 'block_start' : 'ok', words };
        case RBRACE:
          if (words.length !== 0) throw src.error('unexpected "}"');
          return { rc: 'block_done', words };
        case HASH:
          st.sharp = true;
          continue;
        case BACKSLASH:
          st.quoted = true;
          st.lastSpace = false;
          continue;
        case DQUOTE:
          st.start++;
          st.dQuoted = true;
          st.lastSpace = false;
          continue;
        case SQUOTE:
          st.start++;
          st.sQuoted = true;
          st.lastSpace = false;
          continue;
        default:
          st.lastSpace = false;
          continue;
      }
    }

    if (ch === LBRACE && st.variable) continue;
    st.variable = false;
    if (ch === BACKSLASH) {
      st.quoted = true;
      continue;
    }
    if (ch === DOLLAR) {
      st.variable = true;
      continue;
    }

    let found = false;
    if (st.dQuoted) {
      if (ch === DQUOTE) {
        st.dQuoted = false;
        st.needSpace = true;
        found = true;
      }
    } else if (st.sQuoted) {
      if (ch === SQUOTE) {
        st.sQuoted = false;
        st.needSpace = true;
        found = true;
      }
    } else if (isSpace(ch) || ch === SEMI || ch === LBRACE) {
      st.lastSpace = true;
      found = true;
    }

    if (found) {
      words.push(unescapeWord(text, st.start, src.pos - 1));
      if (ch === SEMI) return { rc: 'ok', words };
      if (ch === LBRACE) return { rc: 'block_start', words };
    }
  }
}

// ---------------------------------------------------------------------------
// Lua blocks (*_by_lua_block { ... })

/** Token kinds of lua-nginx-module's block lexer, in its priority order. */
export enum LuaTok {
  LeftCurly = 0,
  RightCurly = 1,
  LongString = 2, // [[ or [==[ ... (until the matching close)
  LongComment = 3, // --[[ ... ]]
  RightLongBracket = 4, // a stray ]] / ]==] (ignored)
  CommentLine = 5, // -- to end of line
  DoubleQuoted = 6,
  SingleQuoted = 7,
}

const MINUS = 45;
const LBRACKET = 91;
const RBRACKET = 93;
const EQUALS = 61;

/** Index just past `[=*[` starting at `p` (a '['), or -1 if incomplete. */
function longBracketEnd(t: string, p: number, to: number, close: number): number {
  let i = p + 1;
  while (i < to && t.charCodeAt(i) === EQUALS) i++;
  return i < to && t.charCodeAt(i) === close ? i + 1 : -1;
}

/** Index just past a quoted string opened at `p`; -1 if it is not closed on this line. */
function quotedEnd(t: string, p: number, to: number, quote: number): number {
  for (let i = p + 1; i < to; i++) {
    const c = t.charCodeAt(i);
    if (c === quote) return i + 1;
    if (c === LF) return -1;
    if (c === BACKSLASH) {
      // any char but LF may follow a backslash (a "\<newline>" ends the match)
      if (i + 1 >= to || t.charCodeAt(i + 1) === LF) return -1;
      i++;
    }
  }
  return -1;
}

/**
 * The matcher of ngx_http_lua_lex.c: leftmost match in t[from, to) of
 *   {  }  \[=*\[  --\[=*\[  \]=*\]  --[^\n]*  "..."  '...'
 * (first alternative wins at equal start). A match must lie entirely inside
 * the window; a string that is still open at the window end does not match,
 * so the scan resumes at the next char (a '}' inside it may then match).
 * Returns [start, end, kind] or null.
 */
export function luaLex(t: string, from: number, to: number): [number, number, LuaTok] | null {
  for (let p = from; p < to; p++) {
    const c = t.charCodeAt(p);
    let e = -1;
    switch (c) {
      case LBRACE:
        return [p, p + 1, LuaTok.LeftCurly];
      case RBRACE:
        return [p, p + 1, LuaTok.RightCurly];
      case LBRACKET:
        e = longBracketEnd(t, p, to, LBRACKET);
        if (e >= 0) return [p, e, LuaTok.LongString];
        break;
      case RBRACKET:
        e = longBracketEnd(t, p, to, RBRACKET);
        if (e >= 0) return [p, e, LuaTok.RightLongBracket];
        break;
      case MINUS:
        if (p + 1 < to && t.charCodeAt(p + 1) === MINUS) {
          if (p + 2 < to && t.charCodeAt(p + 2) === LBRACKET) {
            e = longBracketEnd(t, p + 2, to, LBRACKET);
            if (e >= 0) return [p, e, LuaTok.LongComment];
          }
          e = t.indexOf('\n', p + 2);
          return [p, e < 0 || e > to ? to : e, LuaTok.CommentLine];
        }
        break;
      case DQUOTE:
      case SQUOTE:
        e = quotedEnd(t, p, to, c);
        if (e >= 0) return [p, e, c === DQUOTE ? LuaTok.DoubleQuoted : LuaTok.SingleQuoted];
        break;
    }
  }
  return null;
}

function countLines(src: ConfSource, from: number, to: number): void {
  const t = src.text;
  let i = t.indexOf('\n', from);
  while (i >= 0 && i < to) {
    src.line++;
    i = t.indexOf('\n', i + 1);
  }
}

interface LuaCtx {
  /** ctx->start_line: line of the last '{' seen (reported on EOF). */
  startLine: number;
  /** Token texts; their concatenation is the block body plus the final '}'. */
  parts: string[];
}

const EOF_LUA = 'unexpected end of file, expecting terminating characters for lua code block';
const TOO_LONG_LUA = 'too long lua code block, probably missing terminating characters';

/** One ngx_http_lua_conf_read_lua_token() call. */
function readLuaToken(src: ConfSource, ctx: LuaCtx): LuaTok {
  const t = src.text;
  let start = src.pos;
  const startLine = src.line;
  const half = NGX_CONF_BUFFER / 2;

  for (;;) {
    // keep at least half a buffer of lookahead, as lua-nginx-module does
    if (src.pos >= src.last || (src.last - src.pos < half && src.last < src.size)) {
      if (src.last >= src.size) {
        src.line = ctx.startLine;
        throw src.error(EOF_LUA, 'lua_block');
      }
      if (src.last - start === NGX_CONF_BUFFER) {
        src.line = startLine;
        throw src.error(TOO_LONG_LUA, 'lua_block');
      }
      src.last = Math.min(src.size, start + NGX_CONF_BUFFER);
    }

    const m = luaLex(t, src.pos, src.last);
    if (!m) {
      if (src.last >= src.size) {
        src.line = ctx.startLine;
        throw src.error(EOF_LUA, 'lua_block');
      }
      if (src.last - src.pos === NGX_CONF_BUFFER) {
        src.line = startLine;
        throw src.error(TOO_LONG_LUA, 'lua_block');
      }
      // Quirk kept: lua-nginx-module moves the unmatched rest to the buffer
      // start and resumes lexing *after* it (its lines are not counted).
      start = src.pos;
      const newLast = Math.min(src.size, src.pos + NGX_CONF_BUFFER);
      src.pos = src.last;
      src.last = newLast;
      continue;
    }

    let [mStart, mEnd] = m;
    const kind = m[2];
    if (kind === LuaTok.LongString || kind === LuaTok.LongComment) {
      countLines(src, src.pos, mStart);
      src.pos = mStart;
      const open = kind === LuaTok.LongComment ? mStart + 2 : mStart;
      const close = ']' + '='.repeat(mEnd - open - 2) + ']';
      // the closing bracket must be inside the current buffer
      const q = t.slice(mEnd, src.last).indexOf(close);
      if (q < 0) {
        throw src.error(
          `Lua code block missing the closing long bracket "${close}", ` +
            'the inlined Lua code may be too long',
          'lua_block',
        );
      }
      mEnd = mEnd + q + close.length;
    }
    countLines(src, src.pos, mEnd);
    src.pos = mEnd;
    ctx.parts.push(t.slice(start, mEnd));
    return kind;
  }
}

export interface LuaBlockBody {
  /** The Lua source: everything between the outer braces. */
  source: string;
  /** Line of the closing '}'. */
  endLine: number;
}

/**
 * Lexes a Lua block body. Call right after readToken() returned
 * 'block_start' for a *_by_lua_block directive (src.pos is just past '{').
 * Port of ngx_http_lua_conf_lua_block_parse(): braces are counted outside
 * Lua strings, long strings and comments; the block ends at the '}' that
 * balances the opening one.
 */
export function readLuaBlock(src: ConfSource): LuaBlockBody {
  const ctx: LuaCtx = { startLine: src.line, parts: [] };
  let level = 1;
  for (;;) {
    const kind = readLuaToken(src, ctx);
    if (kind === LuaTok.LeftCurly) {
      ctx.startLine = src.line;
      level++;
    } else if (kind === LuaTok.RightCurly) {
      level--;
      if (level === 0) {
        const body = ctx.parts.join('');
        return { source: body.slice(0, -1), endLine: src.line };
      }
    }
  }
}
