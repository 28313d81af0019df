// Types shared by the parts of the PCRE -> JS RegExp translator (see pcre.ts): the public result,
// options and error, the inline-option flags, the kinds of items the parser emits, and PCRE's
// compile-time limits.

export class PcreError extends Error {
  /** offset in the pattern string where PCRE would report the error (pattern.length = at the end) */
  readonly offset: number;
  constructor(message: string, offset: number) {
    super(message);
    this.offset = offset;
  }
}

export interface NamedGroup {
  name: string;
  group: number;
}

export interface Translated {
  source: string;
  /** JS flags: a subset of "iu" (callers add g/y/d as they need) */
  flags: string;
  /** number of PCRE capturing groups */
  captures: number;
  /** JS group number of PCRE group n at index n (index 0 = 0), or null when they are the same */
  groupMap: number[] | null;
  /** PCRE's name table: sorted by name, then group number */
  names: NamedGroup[];
  /** the pattern uses \G: it can only match at the start offset */
  anchoredStart: boolean;
  /** UTF mode (option u/U or a leading (*UTF8)) */
  utf: boolean;
  /** upper bound of a match's length in pattern-string units (Infinity when unbounded) */
  maxLength: number;
  /** the pattern has backreferences (PCRE's DFA matcher cannot run it) */
  backrefs: boolean;
}

export interface TranslateOptions {
  /** emit JS named groups (?<name>...) when names are unique (default true) */
  jsNames?: boolean;
}

export interface Flags {
  i: boolean;
  m: boolean;
  s: boolean;
  x: boolean;
  U: boolean; // ungreedy
  J: boolean; // duplicate names allowed
  X: boolean; // PCRE_EXTRA: unknown escapes are errors
}

export const enum Kind {
  None, // nothing repeatable was emitted: option setting, comment, \Q, \E
  Anchor, // zero-width, not repeatable: ^ $ \b \B \A \z \Z \G
  Look, // lookaround assertion: repeatable after wrapping in (?:)
  Item,
}

export class Group {
  js = 0;
  constructor(readonly name: string | null) {}
}

export class BackRef {
  constructor(
    readonly num: number,
    readonly name: string | null,
    readonly offset: number,
  ) {}
}

export type Piece = string | Group | BackRef;

export const MAX_NAME = 32;
export const PARENS_NEST_LIMIT = 250;
export const MAX_QUANT = 65535;

export const enum CaseMode {
  Flag, // case handled by the JS `i` flag (or not at all)
  Manual, // case expanded in the emitted source
}

/** What the parser produces: a Translated without `utf` (the caller knows it), plus `caseSeen`. */
export interface ParseResult extends Omit<Translated, 'utf'> {
  caseSeen: number; // bit 1: a cased item under !i, bit 2: under i
}
