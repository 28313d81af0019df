// The PCRE parser proper: alternatives, sequences, quantifiers (lazy, possessive), atoms, groups of
// every kind (capturing, named, lookaround, atomic, option-setting, comments, verbs), and `finish`,
// which numbers the JS groups and assembles the JS source. Escapes and classes are parsed by the
// layers it extends (pcre-escapes.ts, pcre-classes.ts).
import { Kind, Group, BackRef, PARENS_NEST_LIMIT, MAX_QUANT, type Flags, type Piece, type ParseResult } from './pcre-types.js';
import { isDigit, isWordChar } from './pcre-charsets.js';
import { ClassParser } from './pcre-classes.js';

/** Inline option letters (?imsxUJX) and the flag each one sets. */
const OPTION_LETTERS = new Map<number, keyof Flags>([
  [0x69, 'i'],
  [0x6d, 'm'],
  [0x73, 's'],
  [0x78, 'x'],
  [0x55, 'U'],
  [0x4a, 'J'],
  [0x58, 'X'],
]);

export class Parser extends ClassParser {
  parse(flags: Flags): number {
    const max = this.parseAlt(flags);
    if (this.pos < this.len) {
      // only a ')' can stop the top level early
      this.err('unmatched parentheses', this.pos);
    }
    return max;
  }

  parseAlt(f: Flags): number {
    let max = 0;
    for (;;) {
      const m = this.parseSeq(f);
      if (m > max) max = m;
      if (this.code() === 0x7c /* | */) {
        this.out.push('|');
        this.pos++;
        continue;
      }
      return max;
    }
  }

  parseSeq(f: Flags): number {
    let total = 0;
    for (;;) {
      if (!this.inQuote && f.x) this.skipExtended();
      if (this.pos >= this.len) break;
      const c = this.p.charCodeAt(this.pos);
      if (this.inQuote) {
        if (c === 0x5c && this.code(this.pos + 1) === 0x45 /* \E */) {
          this.inQuote = false;
          this.pos += 2;
          continue;
        }
      } else if (c === 0x7c || c === 0x29) break;
      const start = this.out.length;
      let kind: Kind;
      let amax: number;
      if (this.inQuote) {
        const cp = this.cpAt(this.pos);
        this.pos += this.width(cp);
        amax = this.emitLiteral(cp, f);
        kind = Kind.Item;
        if (this.code() === 0x5c && this.code(this.pos + 1) === 0x45) {
          this.inQuote = false;
          this.pos += 2;
        } else if (this.inQuote) {
          total += amax;
          continue;
        }
      } else {
        [kind, amax] = this.parseAtom(f, c);
      }
      total += this.quantify(f, kind, amax, start);
    }
    return total;
  }

  /** Parse a quantifier after an atom, if any; returns the atom's contribution to the max length. */
  quantify(f: Flags, kind: Kind, amax: number, start: number): number {
    if (f.x) this.skipExtended();
    const q = this.readQuantifier();
    if (q === null) return amax;
    if (kind === Kind.None || kind === Kind.Anchor) this.err('nothing to repeat', q.at);
    let lazy = false;
    let possessive = false;
    const c = this.code();
    if (c === 0x3f /* ? */) {
      lazy = true;
      this.pos++;
    } else if (c === 0x2b /* + */) {
      possessive = true;
      this.pos++;
    }
    if (f.U && !possessive) lazy = !lazy;
    if (q.min === 0 && q.max === 1) {
      // X? as (?:X|): JS refuses an iteration that matches the empty string (so (a*)? would leave
      // the group unset, and an empty alternative would be skipped); PCRE accepts it
      if (lazy) this.out.splice(start, 0, '(?:|');
      else this.out.splice(start, 0, '(?:');
      this.out.push(lazy ? ')' : '|)');
    } else {
      if (kind === Kind.Look) {
        this.out.splice(start, 0, '(?:');
        this.out.push(')');
      }
      const qs = q.min === 0 && q.max === Infinity ? '*' : q.min === 1 && q.max === Infinity ? '+' : q.max === Infinity ? `{${q.min},}` : q.min === q.max ? `{${q.min}}` : `{${q.min},${q.max}}`;
      this.out.push(lazy ? qs + '?' : qs);
    }
    if (possessive && this.lookbehind === 0) {
      // X*+ as (?:(?=(X*))\N): the lookahead is atomic, the backreference consumes what it matched
      const g = new Group(null);
      const ref = new BackRef(-1, null, 0);
      (ref as any).group = g;
      this.out.splice(start, 0, '(?:(?=', g);
      this.out.push('))', ref, ')');
    }
    if (f.x) this.skipExtended();
    const again = this.readQuantifier(true);
    if (again !== null) this.err('nothing to repeat', again.at);
    return q.max === 0 || amax === 0 ? 0 : amax * q.max;
  }

  readQuantifier(peek = false): { min: number; max: number; at: number } | null {
    const at = this.pos;
    const c = this.code();
    if (c === 0x2a) {
      if (!peek) this.pos++;
      return { min: 0, max: Infinity, at };
    }
    if (c === 0x2b) {
      if (!peek) this.pos++;
      return { min: 1, max: Infinity, at };
    }
    if (c === 0x3f) {
      if (!peek) this.pos++;
      return { min: 0, max: 1, at };
    }
    if (c !== 0x7b) return null;
    const m = /^\{(\d+)(?:(,)(\d*))?\}/.exec(this.p.slice(at, at + 40));
    if (m === null) return null;
    if (peek) return { min: 0, max: 0, at };
    const min = Number(m[1]);
    const max = m[2] === undefined ? min : m[3] === '' ? Infinity : Number(m[3]);
    if (min > MAX_QUANT || (max !== Infinity && max > MAX_QUANT)) this.err('number too big in {} quantifier', at + m[0].length - 1);
    if (max < min) this.err('numbers out of order in {} quantifier', at + m[0].length - 1);
    this.pos = at + m[0].length;
    return { min, max, at };
  }

  parseAtom(f: Flags, c: number): [Kind, number] {
    const one = this.utf ? 2 : 1;
    switch (c) {
      case 0x28: // (
        return this.parseGroup(f);
      case 0x5b: // [
        this.parseClass(f);
        return [Kind.Item, one];
      case 0x5c: // backslash
        return this.parseEscape(f);
      case 0x2e: // .
        this.pos++;
        this.out.push(f.s ? '[\\s\\S]' : '[^\\n]');
        return [Kind.Item, one];
      case 0x5e: // ^
        this.pos++;
        this.out.push(f.m ? '(?:^|(?<=\\n)(?=[\\s\\S]))' : '^');
        return [Kind.Anchor, 0];
      case 0x24: // $
        this.pos++;
        this.out.push(f.m ? '(?![^\\n])' : '(?=\\n?(?![\\s\\S]))');
        return [Kind.Anchor, 0];
      case 0x2a:
      case 0x2b:
      case 0x3f:
        this.err('nothing to repeat', this.pos);
      // falls through (err never returns)
      case 0x7b: // {
        if (this.readQuantifier(true) !== null) this.err('nothing to repeat', this.pos);
        break;
      case 0x5d: // ]
        if (this.jsCompat) this.err('] is an invalid data character in JavaScript compatibility mode', this.pos);
        break;
    }
    const cp = this.cpAt(this.pos);
    this.pos += this.width(cp);
    return [Kind.Item, this.emitLiteral(cp, f)];
  }

  // ---- groups ----

  parseGroup(f: Flags): [Kind, number] {
    const open = this.pos;
    this.pos++; // (
    if (this.code() === 0x2a /* * */) return this.parseVerb(open);
    if (this.code() !== 0x3f /* ? */) {
      const g = this.newCapture(null);
      return this.groupBody(f, [g], ')', Kind.Item, open);
    }
    this.pos++; // ?
    const c = this.code();
    switch (c) {
      case 0x3a: // (?:
        this.pos++;
        return this.groupBody(f, ['(?:'], ')', Kind.Item, open);
      case 0x3d: // (?=
        this.pos++;
        return this.groupBody(f, ['(?='], ')', Kind.Look, open);
      case 0x21: // (?!
        this.pos++;
        return this.groupBody(f, ['(?!'], ')', Kind.Look, open);
      case 0x3e: {
        // (?> atomic
        this.pos++;
        if (this.lookbehind > 0) return this.groupBody(f, ['(?:'], ')', Kind.Item, open);
        const g = new Group(null);
        const ref = new BackRef(-1, null, 0);
        (ref as any).group = g;
        const r = this.groupBody(f, ['(?:(?=', g], '))', Kind.Item, open);
        this.out.push(ref, ')');
        return r;
      }
      case 0x7c: // (?|
        this.err('branch reset groups (?|...) are not supported', this.pos);
      // falls through
      case 0x23: {
        // (?# comment
        const end = this.p.indexOf(')', this.pos);
        if (end < 0) this.err('missing ) after comment', this.len);
        this.pos = end + 1;
        return [Kind.None, 0];
      }
      case 0x28: // (?(
        this.err('conditional groups (?(...)...) are not supported', this.pos);
      // falls through
      case 0x43: {
        // (?C callout: no callout function is ever set, so it does nothing
        let k = this.pos + 1;
        while (isDigit(this.code(k))) k++;
        if (Number(this.p.slice(this.pos + 1, k) || '0') > 255) this.err('number after (?C is > 255', k);
        if (this.code(k) !== 0x29) this.err('closing ) for (?C expected', k);
        this.pos = k + 1;
        return [Kind.None, 0];
      }
      case 0x50: {
        // (?P<name> (?P=name) (?P>name)
        const d = this.code(this.pos + 1);
        if (d === 0x3c) {
          this.pos += 2;
          return this.namedGroup(f, 0x3e, open);
        }
        if (d === 0x3d) {
          this.pos += 2;
          const name = this.readName(0x29);
          this.addRef(new BackRef(0, name, this.pos), f);
          return [Kind.Item, Infinity];
        }
        if (d === 0x3e) this.err('recursion and subroutine calls are not supported', this.pos);
        this.err('unrecognized character after (?P', this.pos + 1);
      }
      // falls through
      case 0x3c: {
        // (?<= (?<! (?<name>
        const d = this.code(this.pos + 1);
        if (d === 0x3d || d === 0x21) {
          this.pos += 2;
          this.lookbehind++;
          try {
            return this.groupBody(f, [d === 0x3d ? '(?<=' : '(?<!'], ')', Kind.Look, open);
          } finally {
            this.lookbehind--;
          }
        }
        this.pos++;
        if (!isWordChar(d)) this.err(d === 0x3e ? 'subpattern name expected' : 'unrecognized character after (?<', this.pos);
        return this.namedGroup(f, 0x3e, open);
      }
      case 0x27: // (?'name'
        this.pos++;
        return this.namedGroup(f, 0x27, open);
      case 0x52: // (?R
      case 0x26: // (?&name
        this.err('recursion and subroutine calls are not supported', this.pos);
      // falls through
      default:
        if (isDigit(c) || ((c === 0x2b || c === 0x2d) && isDigit(this.code(this.pos + 1)))) {
          this.err('recursion and subroutine calls are not supported', this.pos);
        }
        return this.optionGroup(f, open);
    }
  }

  /** (?imsxJUX-imsxJUX) or (?imsx-imsx:...) */
  optionGroup(f: Flags, open: number): [Kind, number] {
    const nf: Flags = { ...f };
    let on = true;
    for (;;) {
      const c = this.code();
      if (c < 0) this.err('missing )', this.len);
      this.pos++;
      const flag = OPTION_LETTERS.get(c);
      if (flag !== undefined) {
        nf[flag] = on;
        continue;
      }
      switch (c) {
        case 0x2d: // -
          on = false;
          continue;
        case 0x29: // ) : the change lasts to the end of the enclosing group (all its branches)
          Object.assign(f, nf);
          return [Kind.None, 0];
        case 0x3a: // :
          return this.groupBody(nf, ['(?:'], ')', Kind.Item, open, true);
        default:
          this.err('unrecognized character after (? or (?-', this.pos - 1);
      }
    }
  }

  parseVerb(open: number): [Kind, number] {
    const m = /^\*([A-Z_]*)(?::([^)]*))?\)/.exec(this.p.slice(this.pos, this.pos + 64));
    if (m === null) this.err('(*VERB) not recognized or malformed', this.pos + 1);
    const verb = m[1];
    if (verb === 'FAIL' || verb === 'F') {
      if (m[2] !== undefined) this.err('an argument is not allowed for (*ACCEPT), (*FAIL), or (*COMMIT)', this.pos + m[0].length - 1);
      this.pos += m[0].length;
      this.out.push('(?!)');
      return [Kind.Item, 0];
    }
    if (['ACCEPT', 'COMMIT', 'PRUNE', 'SKIP', 'THEN', 'MARK', ''].includes(verb)) {
      this.err(`backtracking control verb (*${verb || 'MARK'}) is not supported`, open);
    }
    this.err('(*VERB) not recognized or malformed', this.pos + 1 + verb.length);
  }

  namedGroup(f: Flags, term: number, open: number): [Kind, number] {
    const name = this.readName(term);
    if (!f.J && this.names.some((n) => n.name === name)) this.err('two named subpatterns have the same name', this.pos - 1);
    const g = this.newCapture(name);
    return this.groupBody(f, [g], ')', Kind.Item, open);
  }

  /** Emit the head, parse alternatives with a copy of the flags, expect ')' and emit the tail. */
  groupBody(f: Flags, head: Piece[], tail: string, kind: Kind, open: number, ownFlags = false): [Kind, number] {
    for (const h of head) this.out.push(h);
    const inner = ownFlags ? f : { ...f };
    if (++this.depth > PARENS_NEST_LIMIT) this.err('parentheses are too deeply nested', this.pos);
    const max = this.parseAlt(inner);
    this.depth--;
    if (this.code() !== 0x29) this.err('missing )', this.len);
    void open;
    this.pos++;
    this.out.push(tail);
    return [kind, kind === Kind.Look ? 0 : max];
  }

  finish(flags: string, maxLength: number): ParseResult {
    // forward references are checked once all groups are known
    const ncap = this.groups.length - 1;
    for (const r of this.refs) {
      if (r.name !== null) {
        const n = this.names.find((x) => x.name === r.name);
        if (n === undefined) this.err('reference to non-existent subpattern', r.offset);
        (r as any).resolved = n.group;
      } else if (r.num > ncap) this.err('reference to non-existent subpattern', r.offset);
    }
    // number the JS groups in order of their opening parentheses
    let js = 0;
    for (const p of this.out) if (p instanceof Group) p.js = ++js;
    const dup = new Set<string>();
    let hasDup = false;
    for (const n of this.names) {
      if (dup.has(n.name)) hasDup = true;
      dup.add(n.name);
    }
    const useNames = this.jsNames && !hasDup;
    let src = '';
    for (const p of this.out) {
      if (typeof p === 'string') src += p;
      else if (p instanceof Group) src += useNames && p.name !== null ? `(?<${p.name}>` : '(';
      else {
        const g: Group = (p as any).group ?? this.groups[(p as any).resolved ?? p.num];
        src += `(?:\\${g.js})`;
      }
    }
    let identity = true;
    const map: number[] = [0];
    for (let n = 1; n <= ncap; n++) {
      map.push(this.groups[n].js);
      if (this.groups[n].js !== n) identity = false;
    }
    const names = this.names.slice().sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : a.group - b.group));
    return {
      source: src,
      flags,
      captures: ncap,
      groupMap: identity ? null : map,
      names,
      anchoredStart: this.anchoredStart,
      maxLength,
      caseSeen: this.caseSeen,
      backrefs: this.refs.length > 0,
    };
  }
}
