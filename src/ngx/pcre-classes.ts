// The PCRE parser's character classes: [...] with ranges, negation, POSIX [:name:] classes, set
// escapes (\d \s \h \v \p{..}) and \Q..\E inside, emitted as one JS class (case-expanded when needed).
import { CaseMode, type Flags } from './pcre-types.js';
import { type Ranges, POSIX, complement, normalize, emitRanges, caseVariants, addCaseRanges, hasCased, propertyLatin1, SPACE, HSPACE_8, HSPACE_U, VSPACE_8, VSPACE_U } from './pcre-charsets.js';
import { EscapeParser } from './pcre-escapes.js';

export class ClassParser extends EscapeParser {
  /** `[:name:]`-like syntax at pos (which is at '['): returns the end index (after ']') or -1. */
  posixAt(at: number): number {
    const term = this.code(at + 1);
    if (term !== 0x3a && term !== 0x2e && term !== 0x3d) return -1;
    for (let k = at + 2; k < this.len; k++) {
      const c = this.p.charCodeAt(k);
      if (c === 0x5c && (this.code(k + 1) === 0x5d || this.code(k + 1) === 0x5c)) {
        k++;
        continue;
      }
      if (c === 0x5d) return -1;
      if (c === term && this.code(k + 1) === 0x5d) return k + 2;
      if (c === 0x5b && (this.code(k + 1) === 0x3a || this.code(k + 1) === 0x2e || this.code(k + 1) === 0x3d)) return -1;
    }
    return -1;
  }

  parseClass(f: Flags): void {
    const open = this.pos;
    if (this.posixAt(open) >= 0) this.err('POSIX named classes are supported only within a class', open);
    this.pos++;
    let neg = false;
    if (this.code() === 0x5e) {
      neg = true;
      this.pos++;
    }
    if (this.jsCompat && this.code() === 0x5d) {
      this.pos++;
      this.out.push(neg ? '[\\s\\S]' : '(?!)');
      return;
    }
    let ranges: Ranges = [];
    let extra = '';
    let cased = false;
    let first = true;
    let quote = false;
    for (;;) {
      if (this.pos >= this.len) this.err('missing terminating ] for character class', this.len);
      let c = this.p.charCodeAt(this.pos);
      let single = -1;
      if (quote) {
        if (c === 0x5c && this.code(this.pos + 1) === 0x45) {
          quote = false;
          this.pos += 2;
          continue;
        }
        single = this.cpAt(this.pos);
        this.pos += this.width(single);
      } else if (c === 0x5d && !first) {
        this.pos++;
        break;
      } else if (c === 0x5b && this.posixAt(this.pos) >= 0) {
        const end = this.posixAt(this.pos);
        const term = this.code(this.pos + 1);
        if (term !== 0x3a) this.err('POSIX collating elements are not supported', this.pos);
        let name = this.p.slice(this.pos + 2, end - 2);
        let pneg = false;
        if (name.startsWith('^')) {
          pneg = true;
          name = name.slice(1);
        }
        let r = POSIX[name];
        if (r === undefined) this.err('unknown POSIX class name', this.pos + 2);
        if (f.i && (name === 'upper' || name === 'lower')) r = POSIX.alpha;
        if (name === 'upper' || name === 'lower') cased = true;
        ranges = ranges.concat(pneg ? complement(r, this.maxCp) : r);
        this.pos = end;
        first = false;
        continue;
      } else if (c === 0x5c) {
        this.pos++;
        if (this.pos >= this.len) this.err('\\ at end of pattern', this.len);
        c = this.p.charCodeAt(this.pos);
        const set = this.classEscapeSet(c, f);
        if (set === 'quote') {
          quote = true;
          first = false;
          continue;
        }
        if (set === 'none') {
          first = false;
          continue;
        }
        if (set !== null) {
          if (typeof set === 'string') {
            extra += set;
          } else ranges = ranges.concat(set);
          first = false;
          continue;
        }
        single = this.classEscapeChar(c, f);
      } else {
        single = this.cpAt(this.pos);
        this.pos += this.width(single);
      }
      first = false;
      // a range?
      if (this.code() === 0x2d && this.pos + 1 < this.len && this.code(this.pos + 1) !== 0x5d && !quote) {
        const save = this.pos;
        this.pos++;
        let hi: number;
        const d = this.code();
        if (d === 0x5c) {
          this.pos++;
          if (this.pos >= this.len) this.err('\\ at end of pattern', this.len);
          const e = this.p.charCodeAt(this.pos);
          if (e === 0x45 || e === 0x51) {
            // \E or \Q after '-': the hyphen is literal (PCRE does the same for \Q\E)
            this.pos = save;
            this.addSingle(ranges, single, f);
            if (caseVariants(single, this.utf).length > 0) cased = true;
            continue;
          }
          const set = this.classEscapeSet(e, f, true);
          if (set !== null) this.err('invalid range in character class', this.pos);
          hi = this.classEscapeChar(e, f);
        } else if (d === 0x5b && this.posixAt(this.pos) >= 0) {
          this.err('invalid range in character class', this.posixAt(this.pos) - 1);
        } else {
          hi = this.cpAt(this.pos);
          this.pos += this.width(hi);
        }
        if (hi < single) this.err('range out of order in character class', this.pos - 1);
        ranges.push(single, hi);
        if (hasCased(single, hi, this.utf)) cased = true;
        continue;
      }
      this.addSingle(ranges, single, f);
      if (caseVariants(single, this.utf).length > 0) cased = true;
    }
    if (cased) this.seeCase(f);
    if (f.i && this.mode === CaseMode.Manual) ranges = addCaseRanges(ranges, this.utf);
    const body = emitRanges(normalize(ranges), this.utf) + extra;
    this.out.push((neg ? '[^' : '[') + body + ']');
  }

  addSingle(ranges: Ranges, cp: number, f: Flags): void {
    ranges.push(cp, cp);
    if (f.i && this.mode === CaseMode.Manual) for (const v of caseVariants(cp, this.utf)) ranges.push(v, v);
  }

  /**
   * For a class escape that stands for a set: its ranges or its JS class text; 'quote' for \Q, 'none'
   * for \E, null for a single character (pos unchanged then). Advances past set escapes.
   */
  classEscapeSet(c: number, f: Flags, peekOnly = false): Ranges | string | 'quote' | 'none' | null {
    let r: Ranges | string | 'quote' | 'none' | null = null;
    switch (c) {
      case 0x64:
        r = '\\d';
        break;
      case 0x44:
        r = '\\D';
        break;
      case 0x77:
        r = '\\w';
        break;
      case 0x57:
        r = '\\W';
        break;
      case 0x73:
        r = SPACE;
        break;
      case 0x53:
        r = complement(SPACE, this.maxCp);
        break;
      case 0x68:
        r = this.utf ? HSPACE_U : HSPACE_8;
        break;
      case 0x48:
        r = complement(this.utf ? HSPACE_U : HSPACE_8, this.maxCp);
        break;
      case 0x76:
        r = this.utf ? VSPACE_U : VSPACE_8;
        break;
      case 0x56:
        r = complement(this.utf ? VSPACE_U : VSPACE_8, this.maxCp);
        break;
      case 0x70:
      case 0x50: {
        if (peekOnly) return '\\p';
        this.seeCaseExact();
        const inner = this.readProperty(c === 0x50);
        if (this.utf) {
          if (!inner.neg) return inner.cls;
          // a negated property inside a class: enumerate is too big; use the JS negated escape
          if (/^\\p\{[^}]+\}$/.test(inner.cls)) return '\\P' + inner.cls.slice(2);
          this.err('negated compound property inside a class is not supported', this.pos);
        }
        const lr = propertyLatin1(inner.cls);
        return inner.neg ? complement(lr, this.maxCp) : lr;
      }
      case 0x42:
      case 0x52:
      case 0x58:
        this.err('invalid escape sequence in character class', this.pos + 1);
      // falls through
      case 0x4e:
        this.err('\\N is not supported in a class', this.pos + 1);
      // falls through
      case 0x51:
        if (peekOnly) return null;
        r = 'quote';
        break;
      case 0x45:
        if (peekOnly) return null;
        r = 'none';
        break;
    }
    void f;
    if (r !== null && !peekOnly) this.pos++;
    return r;
  }

  /** A single character inside a class, pos at the char after the backslash. */
  classEscapeChar(c: number, f: Flags): number {
    if (c === 0x62) {
      this.pos++;
      return 0x08;
    }
    if (c === 0x38 || c === 0x39) {
      this.pos++;
      return c;
    }
    if (c === 0x67 || c === 0x6b) {
      this.pos++;
      return c;
    }
    return this.escapeChar(f, true);
  }
}
