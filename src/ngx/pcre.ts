// PCRE -> JavaScript RegExp translation (the common subset; see ngx/re.ts for the Lua API).
export interface Translated {
  source: string;
  flags: string;
}

/** Translate a PCRE pattern with ngx.re-style option letters into a JS RegExp source + flags. */
export function translatePcre(pattern: string, opts: string): Translated {
  let flags = 'd';
  if (opts.includes('i')) flags += 'i';
  if (opts.includes('m')) flags += 'm';
  if (opts.includes('s')) flags += 's';
  let src = pattern;
  // (?i) (?s) (?m) at the very start apply to the whole pattern
  const lead = /^\(\?([imsx]+)\)/.exec(src);
  if (lead) {
    for (const f of lead[1]) if (f !== 'x' && !flags.includes(f)) flags += f;
    src = src.slice(lead[0].length);
  }
  src = src.replace(/\(\?P</g, '(?<').replace(/\\A/g, '^').replace(/\\[zZ]/g, '$(?![\\s\\S])');
  new RegExp(src, flags); // throws SyntaxError on what JS cannot compile
  return { source: src, flags };
}
