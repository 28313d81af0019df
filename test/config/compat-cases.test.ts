// Every configuration of the conformance suite, wrapped in Test::Nginx's
// template, must parse and validate; the ones the reference nginx refused
// for configuration reasons must fail with the message it printed.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { parseConfig } from '../../src/config/parser.js';
import { ConfigError } from '../../src/config/errors.js';
import { loadCases, writePrefix } from './gen-conf.js';

// ../shared sits beside the repository (CI's layout and the developers')
const CASES_DIR = [path.resolve(__dirname, '../../../shared/compat/cases'), '/work/shared/compat/cases'].find((d) => fs.existsSync(d)) ?? '';
const haveCases = CASES_DIR !== '';
const cases = haveCases ? loadCases(CASES_DIR) : [];
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'tsresty-conf-'));
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

/** must_die cases that die later, at runtime (Lua errors in init, missing resty.core). */
const RUNTIME_DEATHS = new Set(['086-init-by.t#12', '086-init-by.t#13', '161-load-resty-core.t#5']);

function emergPatterns(c: (typeof cases)[number]): RegExp[] {
  const out: RegExp[] = [];
  for (const p of c.logs?.error_log ?? []) {
    if ('re' in p && p.re.includes('emerg')) {
      // Python's lazy ".*?" and \d work the same in JS; strip the log-line prefix
      out.push(new RegExp(p.re.replace(/^\\\[emerg\\\] (\\d\+#\\d\+: |\.\*\? )?/, '')));
    }
  }
  return out;
}

describe.skipIf(!haveCases)('compat suite configurations', () => {
  let n = 0;
  for (const c of cases) {
    const prefix = path.join(work, `c${n++}`, 'servroot');
    const dies = c.must_die && !RUNTIME_DEATHS.has(c.id);
    test(`${c.id}${dies ? ' (must die)' : ''}`, () => {
      let err: unknown;
      try {
        writePrefix(c, prefix);
        parseConfig('conf/nginx.conf', { prefix });
      } catch (e) {
        err = e;
      } finally {
        fs.rmSync(path.dirname(prefix), { recursive: true, force: true });
      }
      if (!dies) {
        expect(err).toBeUndefined();
        return;
      }
      expect(err).toBeInstanceOf(ConfigError);
      if (process.env.SHOW_DEATHS) console.log(c.id, (err as ConfigError).message);
      for (const re of emergPatterns(c)) expect((err as ConfigError).message).toMatch(re);
    });
  }
});
