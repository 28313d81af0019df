// Regexes written in nginx.conf (location ~, rewrite, if, server_name ~) are PCRE; they are
// translated to JS RegExp once at load. A pattern that cannot be translated is a config error.
import type { Directive } from './ast.js';
import { ConfigError } from './errors.js';
import { translatePcre } from '../ngx/pcre.js';

export function compileConfigRegex(d: Directive, pattern: string, caseless: boolean): RegExp {
  try {
    const t = translatePcre(pattern, caseless ? 'i' : '');
    return new RegExp(t.source, t.flags);
  } catch (e) {
    throw new ConfigError(`pcre_compile() failed: ${(e as Error).message} in "${pattern}"`, d.file, d.line);
  }
}
