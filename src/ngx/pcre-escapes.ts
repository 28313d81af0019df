// The PCRE parser's escape sequences: escapes outside classes (\d \s \h \v \R \X \b \A \z \G \Q
// \p{..}, back references \1 \g{..} \k<..>), Unicode properties, and single-character escapes
// (\n \xhh \x{..} \o{..} \ooo \cX ...) that classes use as well.
import { Kind, BackRef, type Flags } from './pcre-types.js';
import { isDigit, isHex, isAlpha, isWordChar, emitRanges, complement, propertyClass, propertyLatin1, SPACE, HSPACE_8, HSPACE_U, VSPACE_8, VSPACE_U } from './pcre-charsets.js';
import { ParserState } from './pcre-parser-state.js';

/** Escapes that stand for one control character: \a \e \f \n \r \t. */
const CONTROL_ESCAPES = new Map<number, number>([
  [0x61, 0x07],
  [0x65, 0x1b],
  [0x66, 0x0c],
  [0x6e, 0x0a],
  [0x72, 0x0d],
  [0x74, 0x09],
]);

export class EscapeParser extends ParserState {
  /** An escape outside a class. pos is at the backslash. */
  parseEscape(f: Flags): [Kind, number] {
    const one = this.utf ? 2 : 1;
    this.pos++;
    if (this.pos >= this.len) this.err('\\ at end of pattern', this.len);
    const c = this.p.charCodeAt(this.pos);
    const push = (s: string, k = Kind.Item, m = one): [Kind, number] => {
      this.pos++;
      this.out.push(s);
      return [k, m];
    };
    switch (c) {
      case 0x64: // d
        return push('\\d');
      case 0x44:
        return push('\\D');
      case 0x77:
        return push('\\w');
      case 0x57:
        return push('\\W');
      case 0x73: // s
        return push('[' + emitRanges(SPACE, this.utf) + ']');
      case 0x53:
        return push('[^' + emitRanges(SPACE, this.utf) + ']');
      case 0x68: // h
        return push('[' + emitRanges(this.utf ? HSPACE_U : HSPACE_8, this.utf) + ']');
      case 0x48:
        return push('[^' + emitRanges(this.utf ? HSPACE_U : HSPACE_8, this.utf) + ']');
      case 0x76: // v
        return push('[' + emitRanges(this.utf ? VSPACE_U : VSPACE_8, this.utf) + ']');
      case 0x56:
        return push('[^' + emitRanges(this.utf ? VSPACE_U : VSPACE_8, this.utf) + ']');
      case 0x52: // R
        return push('(?:\\r\\n|[' + emitRanges(this.utf ? VSPACE_U : VSPACE_8, this.utf) + '])', Kind.Item, 2);
      case 0x58: // X
        return push(this.utf ? '(?:\\r\\n|\\P{M}\\p{M}*)' : '(?:\\r\\n|[\\s\\S])', Kind.Item, Infinity);
      case 0x4e: // N
        if (this.code(this.pos + 1) === 0x7b && !/^\{\d+(?:,\d*)?\}/.test(this.p.slice(this.pos + 1, this.pos + 40))) {
          this.err('PCRE does not support \\L, \\l, \\N{name}, \\U, or \\u', this.pos + 1);
        }
        return push('[^\\n]');
      case 0x43: // C: one data unit; in UTF mode approximated by one character
        return push('[\\s\\S]');
      case 0x62: // b
        return push('\\b', Kind.Anchor, 0);
      case 0x42:
        return push('\\B', Kind.Anchor, 0);
      case 0x41: // A
        return push('^', Kind.Anchor, 0);
      case 0x7a: // z
        return push('(?![\\s\\S])', Kind.Anchor, 0);
      case 0x5a: // Z
        return push('(?=\\n?(?![\\s\\S]))', Kind.Anchor, 0);
      case 0x47: // G
        this.anchoredStart = true;
        this.pos++;
        return [Kind.Anchor, 0];
      case 0x4b: // K
        this.err('\\K (reset match start) is not supported', this.pos + 1);
      // falls through
      case 0x51: // Q
        this.pos++;
        this.inQuote = true;
        return [Kind.None, 0];
      case 0x45: // E
        this.pos++;
        return [Kind.None, 0];
      case 0x70: // p
      case 0x50: {
        this.seeCaseExact();
        const inner = this.readProperty(c === 0x50);
        if (this.utf) this.out.push(inner.neg ? `[^${inner.cls}]` : `[${inner.cls}]`);
        else {
          const r = propertyLatin1(inner.cls);
          this.out.push('[' + emitRanges(inner.neg ? complement(r, this.maxCp) : r, false) + ']');
        }
        return [Kind.Item, one];
      }
      case 0x67: // g
        return this.parseGRef(f);
      case 0x6b: {
        // k
        const open = this.code(this.pos + 1);
        const term = open === 0x3c ? 0x3e : open === 0x27 ? 0x27 : open === 0x7b ? 0x7d : -1;
        if (term < 0) this.err('\\k is not followed by a braced, angle-bracketed, or quoted name', this.pos + 1);
        this.pos += 2;
        const name = this.readName(term);
        this.addRef(new BackRef(0, name, this.pos), f);
        return [Kind.Item, Infinity];
      }
    }
    if (c >= 0x31 && c <= 0x39) {
      // \1..\9 and up: a back reference, or an octal escape, or a literal 8/9
      let k = this.pos;
      let n = 0;
      while (isDigit(this.code(k))) {
        n = n * 10 + this.code(k) - 0x30;
        if (n > 0xffff) this.err('number is too big', k);
        k++;
      }
      if (n < 8 || n <= this.groups.length - 1) {
        this.pos = k;
        this.addRef(new BackRef(n, null, k), f);
        return [Kind.Item, Infinity];
      }
      if (c >= 0x38) {
        this.pos++;
        return [Kind.Item, this.emitLiteral(c, f)];
      }
    }
    const cp = this.escapeChar(f, false);
    return [Kind.Item, this.emitLiteral(cp, f)];
  }

  /** \g forms: \gN \g{N} \g-N \g{-N} \g{name}; \g<..> \g'..' are subroutine calls. */
  parseGRef(f: Flags): [Kind, number] {
    const at = this.pos;
    this.pos++;
    let c = this.code();
    if (c === 0x3c || c === 0x27) this.err('recursion and subroutine calls are not supported', this.pos);
    let braced = false;
    if (c === 0x7b) {
      braced = true;
      this.pos++;
      c = this.code();
    }
    let neg = false;
    if (c === 0x2d || (c === 0x2b && !braced)) {
      neg = c === 0x2d;
      this.pos++;
    }
    if (isDigit(this.code())) {
      let n = 0;
      while (isDigit(this.code())) {
        n = n * 10 + this.code() - 0x30;
        if (n > 0xffff) this.err('number is too big', this.pos);
        this.pos++;
      }
      if (braced) {
        if (this.code() !== 0x7d) this.err('\\g is not followed by a braced, angle-bracketed, or quoted name/number or by a plain number', this.pos);
        this.pos++;
      }
      if (n === 0) this.err('a numbered reference must not be zero', this.pos);
      if (neg) {
        n = this.groups.length - n; // relative: \g{-1} is the most recently opened group
        if (n <= 0) this.err('reference to non-existent subpattern', this.pos);
      }
      this.addRef(new BackRef(n, null, this.pos), f);
      return [Kind.Item, Infinity];
    }
    if (braced && !neg && isWordChar(this.code())) {
      const name = this.readName(0x7d);
      this.addRef(new BackRef(0, name, this.pos), f);
      return [Kind.Item, Infinity];
    }
    this.err('\\g is not followed by a braced, angle-bracketed, or quoted name/number or by a plain number', at + 1);
  }

  readProperty(negated: boolean): { cls: string; neg: boolean } {
    this.pos++;
    let name: string;
    if (this.code() === 0x7b) {
      const end = this.p.indexOf('}', this.pos);
      if (end < 0) this.err('malformed \\P or \\p sequence', this.len);
      name = this.p.slice(this.pos + 1, end);
      this.pos = end + 1;
    } else {
      if (this.pos >= this.len) this.err('malformed \\P or \\p sequence', this.len);
      name = this.p[this.pos];
      this.pos++;
    }
    let neg = negated;
    if (name.startsWith('^')) {
      neg = !neg;
      name = name.slice(1);
    }
    const cls = propertyClass(name);
    if (cls === null) this.err('unknown property name after \\P or \\p', this.pos);
    return { cls, neg };
  }

  /**
   * A single-character escape (pos at the char after the backslash); returns its code point.
   * Handles \a \e \f \n \r \t \0 \ooo \xhh \x{...} \o{...} \cX \u (JS compat) and literal escapes.
   */
  escapeChar(f: Flags, inClass: boolean): number {
    const c = this.p.charCodeAt(this.pos);
    const control = CONTROL_ESCAPES.get(c);
    if (control !== undefined) {
      this.pos++;
      return control;
    }
    switch (c) {
      case 0x78: {
        // x
        this.pos++;
        if (this.jsCompat) {
          if (isHex(this.code()) && isHex(this.code(this.pos + 1))) {
            const v = parseInt(this.p.slice(this.pos, this.pos + 2), 16);
            this.pos += 2;
            return v;
          }
          return 0x78;
        }
        if (this.code() === 0x7b) {
          let k = this.pos + 1;
          while (isHex(this.code(k))) k++;
          if (this.code(k) === 0x7d) {
            if (k === this.pos + 1) this.err('digits missing in \\x{} or \\o{}', k);
            const v = parseInt(this.p.slice(this.pos + 1, k), 16);
            this.pos = k + 1;
            return this.checkCp(v, k);
          }
          this.err('non-hex character in \\x{} (closing brace missing?)', k);
        }
        let v = 0;
        for (let n = 0; n < 2 && isHex(this.code()); n++) {
          v = v * 16 + parseInt(this.p[this.pos], 16);
          this.pos++;
        }
        return v;
      }
      case 0x6f: {
        // o{...}
        this.pos++;
        if (this.code() !== 0x7b) this.err('missing opening brace after \\o', this.pos);
        let k = this.pos + 1;
        while (this.code(k) >= 0x30 && this.code(k) <= 0x37) k++;
        if (this.code(k) !== 0x7d) this.err('non-octal character in \\o{} (closing brace missing?)', k);
        if (k === this.pos + 1) this.err('digits missing in \\x{} or \\o{}', k);
        const v = parseInt(this.p.slice(this.pos + 1, k), 8);
        this.pos = k + 1;
        return this.checkCp(v, k);
      }
      case 0x63: {
        // cX
        this.pos++;
        if (this.pos >= this.len) this.err('\\c at end of pattern', this.len);
        let x = this.p.charCodeAt(this.pos);
        if (x > 127) this.err('\\c must be followed by an ASCII character', this.pos);
        this.pos++;
        if (x >= 0x61 && x <= 0x7a) x -= 32;
        return x ^ 0x40;
      }
      case 0x4c: // L
      case 0x6c: // l
      case 0x55: // U
      case 0x75: // u
        if (this.jsCompat) {
          if (c === 0x55) {
            this.pos++;
            return 0x55;
          }
          if (c === 0x75) {
            this.pos++;
            if (/^[0-9A-Fa-f]{4}/.test(this.p.slice(this.pos, this.pos + 4))) {
              const v = parseInt(this.p.slice(this.pos, this.pos + 4), 16);
              this.pos += 4;
              return this.checkCp(v, this.pos);
            }
            return 0x75;
          }
        }
        this.err('PCRE does not support \\L, \\l, \\N{name}, \\U, or \\u', this.pos + 1);
    }
    if (c >= 0x30 && c <= 0x37) {
      // octal: up to three digits
      let v = 0;
      let n = 0;
      while (n < 3 && this.code() >= 0x30 && this.code() <= 0x37) {
        v = v * 8 + this.code() - 0x30;
        this.pos++;
        n++;
      }
      if (!this.utf && v > 0xff) this.err('octal value is greater than \\377 in 8-bit non-UTF-8 mode', this.pos);
      return v;
    }
    if (isAlpha(c) || isDigit(c)) {
      if (f.X) this.err('unrecognized character follows \\', this.pos + 1);
      this.pos++;
      return c;
    }
    void inClass;
    const cp = this.cpAt(this.pos);
    this.pos += this.width(cp);
    return cp;
  }

  checkCp(v: number, at: number): number {
    if (v > (this.utf ? 0x10ffff : 0xff)) this.err('character value in \\x{} or \\o{} is too large', at);
    if (this.utf && v >= 0xd800 && v <= 0xdfff) this.err('disallowed Unicode code point (>= 0xd800 && <= 0xdfff)', at);
    return v;
  }
}
