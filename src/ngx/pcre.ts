// PCRE -> JavaScript RegExp translation, shared by ngx.re.* (src/ngx/re.ts) and nginx.conf regexes
// (src/config/regex.ts).
//
// nginx and lua-nginx-module compile with PCRE1 (8.x); tsresty executes with V8's irregexp. Rather than
// rewriting the pattern text, we parse PCRE syntax ourselves, so that compile errors carry PCRE's own
// messages and offsets, and emit a JS source whose meaning does not depend on JS flags:
//  - `.` becomes [^\n] (or [\s\S] under s), `^` `$` \A \z \Z become lookarounds with PCRE's newline
//    rules ($ also matches before a final \n), \s \h \v \R are PCRE's ASCII/latin1 sets, not JS's;
//  - inline options (?i) (?m) (?s) (?x) (?U) (?J) (?X), global or group-scoped, are applied while
//    parsing. Caselessness uses the JS `i` flag when it is the same over the whole pattern, otherwise
//    letters and classes are expanded ([aA]);
//  - atomic groups (?>X) and possessive quantifiers X*+ use the exact idiom (?=(X))\N; these helper
//    groups shift JS group numbers, so `groupMap` maps PCRE group numbers back;
//  - named groups become plain groups plus a PCRE-ordered name table (so duplicate names work); with
//    `jsNames` they keep their JS names for callers that read `match.groups`.
// Patterns are strings of characters: in byte mode (no UTF) one char per byte (latin1, as ngx.re
// passes them) and the JS regex has no `u` flag; in UTF mode the decoded text, and the regex gets `u`.
//
// Not translatable (a PcreError says so): recursion and subroutine calls, conditional groups, branch
// reset (?|...), \K, backtracking verbs other than (*FAIL)/(*F). Approximations: \G is honoured only
// as "match starts at the start offset" (`anchoredStart`); backreferences to unset groups match the
// empty string (JS) instead of failing; captures inside a repeated group are reset on each iteration
// (JS); an iteration of *, + or {n,m} that matches the empty string is dropped by JS where PCRE keeps
// it and stops looping (X? is emitted as (?:X|) so that one case is exact); lookbehinds may be
// variable-length (a superset of PCRE); inside lookbehinds atomic groups are plain groups; newline
// conventions other than LF are ignored; lua_regex_match_limit (PCRE's backtracking budget) has no
// JS equivalent.
//
// The translator is split by job: pcre-types.ts (shared types), pcre-charsets.ts (character sets and
// case folding), and the parser in layers, each extending the previous one: pcre-parser-state.ts
// (cursor, emitted pieces, groups), pcre-escapes.ts, pcre-classes.ts, pcre-parser.ts (sequences,
// quantifiers, groups). This file holds the entry points.
import { PcreError, CaseMode, type Flags, type ParseResult, type Translated, type TranslateOptions } from './pcre-types.js';
import { Parser } from './pcre-parser.js';

export { PcreError } from './pcre-types.js';
export type { NamedGroup, Translated, TranslateOptions } from './pcre-types.js';

/** Leading (*VERB) settings PCRE accepts at the start of a pattern. */
const START_VERBS = /^\(\*(UTF8|UTF|UCP|NO_START_OPT|NO_AUTO_POSSESS|CR|LF|CRLF|ANYCRLF|ANY|BSR_ANYCRLF|BSR_UNICODE|LIMIT_MATCH=\d+|LIMIT_RECURSION=\d+)\)/;

/** The length of the leading (*...) settings and whether they ask for UTF mode. */
export function leadingVerbs(pattern: string): { skip: number; utf: boolean } {
  let skip = 0;
  let utf = false;
  for (;;) {
    const m = START_VERBS.exec(pattern.slice(skip, skip + 40));
    if (m === null) return { skip, utf };
    if (m[1] === 'UTF8' || m[1] === 'UTF') utf = true;
    skip += m[0].length;
  }
}

const JS_ERRORS: [RegExp, string][] = [
  [/Unterminated group/i, 'missing )'],
  [/Unmatched '\)'/i, 'unmatched parentheses'],
  [/Nothing to repeat/i, 'nothing to repeat'],
  [/Unterminated character class/i, 'missing terminating ] for character class'],
  [/numbers out of order/i, 'numbers out of order in {} quantifier'],
  [/Range out of order/i, 'range out of order in character class'],
  [/\\ at end of pattern/i, '\\ at end of pattern'],
  [/Invalid group/i, 'unrecognized character after (? or (?-'],
  [/Duplicate capture group name/i, 'two named subpatterns have the same name'],
  [/Invalid named (capture )?reference/i, 'reference to non-existent subpattern'],
  [/Invalid property name/i, 'unknown property name after \\P or \\p'],
  [/Incomplete quantifier|Lone quantifier/i, 'nothing to repeat'],
  [/Invalid escape|Invalid Unicode escape|Invalid class escape/i, 'unrecognized character follows \\'],
];

/** Map a JS RegExp SyntaxError to PCRE wording (only reached if the translation itself is wrong). */
export function pcreMessageForJsError(e: Error): string {
  for (const [re, msg] of JS_ERRORS) if (re.test(e.message)) return msg;
  return 'internal error: ' + e.message.replace(/^Invalid regular expression: /, '');
}

/**
 * Translate a PCRE pattern into a JS RegExp source and flags. `opts` uses ngx.re's option letters;
 * the ones that matter here are i m s x u U (UTF-8) J (JavaScript compat) D (duplicate names).
 * Throws PcreError with PCRE's message and offset for invalid or untranslatable patterns.
 */
export function translatePcre(pattern: string, opts: string, topts?: TranslateOptions): Translated {
  const lead = leadingVerbs(pattern);
  const utf = lead.utf || opts.includes('u') || opts.includes('U');
  const jsCompat = opts.includes('J');
  const base: Flags = { i: opts.includes('i'), m: opts.includes('m'), s: opts.includes('s'), x: opts.includes('x'), U: false, J: opts.includes('D'), X: false };
  const jsNames = topts?.jsNames ?? true;
  const run = (mode: CaseMode): { r: ParseResult; p: Parser } => {
    const p = new Parser(pattern, utf, jsCompat, mode, jsNames);
    p.pos = lead.skip;
    const flags = { ...base };
    const max = p.parse(flags);
    if (p.inQuote) p.inQuote = false; // \Q without \E runs to the end: fine
    return { r: p.finish('', max), p };
  };
  let { r } = run(CaseMode.Flag);
  let flags = '';
  if (r.caseSeen === 3) r = run(CaseMode.Manual).r;
  else if (r.caseSeen === 2) flags += 'i';
  if (utf) flags += 'u';
  try {
    new RegExp(r.source, flags);
  } catch (e) {
    throw new PcreError(pcreMessageForJsError(e as Error), pattern.length);
  }
  return {
    source: r.source,
    flags,
    captures: r.captures,
    groupMap: r.groupMap,
    names: r.names,
    anchoredStart: r.anchoredStart,
    utf,
    maxLength: r.maxLength,
    backrefs: r.backrefs,
  };
}
