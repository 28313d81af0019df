// The PCRE parser's state and its basic operations, shared by its layers (escapes, classes, the
// parser proper): the cursor over the pattern, error reporting, the emitted pieces, capture groups
// and names, back references, and literal characters (with caseless expansion).
import { PcreError, Group, BackRef, MAX_NAME, CaseMode, type NamedGroup, type Piece, type Flags } from './pcre-types.js';
import { isDigit, isWordChar, isXSpace, lit, caseVariants } from './pcre-charsets.js';

export class ParserState {
  pos = 0;
  readonly len: number;
  readonly out: Piece[] = [];
  /** PCRE capture groups by number (index 0 unused) */
  readonly groups: Group[] = [new Group(null)];
  readonly names: NamedGroup[] = [];
  readonly refs: BackRef[] = [];
  anchoredStart = false;
  caseSeen = 0;
  inQuote = false;
  lookbehind = 0;
  depth = 0;
  readonly maxCp: number;

  constructor(
    readonly p: string,
    readonly utf: boolean,
    readonly jsCompat: boolean,
    readonly mode: CaseMode,
    readonly jsNames: boolean,
  ) {
    this.len = p.length;
    this.maxCp = utf ? 0x10ffff : 0xffff;
  }

  err(msg: string, at: number): never {
    throw new PcreError(msg, Math.min(at, this.len));
  }

  code(at = this.pos): number {
    return at < this.len ? this.p.charCodeAt(at) : -1;
  }

  /** Code point at pos and its width in string units. */
  cpAt(at: number): number {
    return this.utf ? this.p.codePointAt(at)! : this.p.charCodeAt(at);
  }

  width(cp: number): number {
    return cp > 0xffff ? 2 : 1;
  }

  skipExtended(): void {
    for (;;) {
      const c = this.code();
      if (c < 0) return;
      if (isXSpace(c)) {
        this.pos++;
        continue;
      }
      if (c === 0x23 /* # */) {
        while (this.pos < this.len && this.p.charCodeAt(this.pos) !== 0x0a) this.pos++;
        continue;
      }
      return;
    }
  }

  /** Note whether a cased item is matched caselessly or not (for choosing the case strategy). */
  seeCase(f: Flags): void {
    this.caseSeen |= f.i ? 2 : 1;
  }

  /** An item PCRE never matches caselessly (\p{..}): the JS `i` flag must not reach it. */
  seeCaseExact(): void {
    this.caseSeen |= 1;
  }

  emitLiteral(cp: number, f: Flags): number {
    const w = this.width(cp);
    const variants = caseVariants(cp, this.utf);
    if (variants.length > 0) {
      this.seeCase(f);
      if (f.i && this.mode === CaseMode.Manual) {
        let s = '[' + lit(cp, this.utf);
        for (const v of variants) s += lit(v, this.utf);
        this.out.push(s + ']');
        return this.utf ? 2 : w;
      }
    }
    this.out.push(lit(cp, this.utf));
    return w;
  }

  newCapture(name: string | null): Group {
    const g = new Group(name);
    this.groups.push(g);
    if (name !== null) this.names.push({ name, group: this.groups.length - 1 });
    return g;
  }

  readName(term: number): string {
    const start = this.pos;
    if (isDigit(this.code())) this.err('group name must start with a non-digit', this.pos);
    while (isWordChar(this.code())) this.pos++;
    const name = this.p.slice(start, this.pos);
    if (this.pos - start > MAX_NAME) this.err(`subpattern name is too long (maximum ${MAX_NAME} characters)`, this.pos);
    if (this.code() !== term) this.err(name.length === 0 ? 'subpattern name expected' : 'syntax error in subpattern name (missing terminator)', this.pos);
    if (name.length === 0) this.err('subpattern name expected', this.pos);
    this.pos++;
    return name;
  }

  addRef(r: BackRef, f: Flags): void {
    this.seeCase(f); // the referenced text may have letters
    this.refs.push(r);
    this.out.push(r);
  }
}
